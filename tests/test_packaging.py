"""A wheel of the project, installed into a fresh virtual environment, runs ``flaxheads train`` anywhere.

The environment reuses the interpreter's site packages (jax, flax, the ``job``
extra) so nothing is downloaded; flaxheads itself comes only from the wheel,
and the command runs from an empty directory with ``PYTHONPATH`` unset.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(command, cwd, env=None):
  process = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
  assert process.returncode == 0, f'{command}:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}'
  return process


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
  base = tmp_path_factory.mktemp('packaging')
  wheels = base / 'wheels'
  run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(wheels),
       str(ROOT)], cwd=base)
  (wheel,) = wheels.glob('flaxheads-*.whl')
  env_dir = base / 'venv'
  run([sys.executable, '-m', 'venv', '--system-site-packages', '--without-pip', str(env_dir)], cwd=base)
  python = env_dir / 'bin' / 'python'
  run([str(python), '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', '--ignore-installed', str(wheel)], cwd=base)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['PATH'] = f'{env_dir / "bin"}{os.pathsep}{env["PATH"]}'
  return env_dir, env


@pytest.mark.packaging
@pytest.mark.slow
def test_installed_wheel_trains_a_bundled_config_by_name(venv, tmp_path):
  env_dir, env = venv
  where = run([str(env_dir / 'bin' / 'python'), '-c', 'import flaxheads; print(flaxheads.__file__)'],
              cwd=tmp_path, env=env).stdout.strip()
  assert where.startswith(str(env_dir)), where  # the wheel's copy, not a source tree
  small = ['--config.train_steps=3', '--config.eval_every=0', '--config.checkpoint_every=3',
           '--config.progress_bar=false', '--config.plots=false', '--config.model.hidden_units=(8,)']
  process = run([str(env_dir / 'bin' / 'flaxheads'), 'train', '--config', 'binary_class', *small],
                cwd=tmp_path, env=env)
  assert 'final eval metrics at step 3' in process.stdout
  workdir = tmp_path / 'workdir' / 'binary_class'
  assert sorted(p.name for p in (workdir / 'checkpoints').iterdir()) == ['3']
  assert json.loads((workdir / 'config.json').read_text())['head']['thresholds'] == [0.3, 0.7]


def test_the_library_imports_none_of_the_job_extra():
  code = ('import sys, flaxheads; from flaxheads.job import entry; '
          'print(sorted(m for m in entry.JOB_MODULES if m in sys.modules))')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120, check=True)
  assert out.stdout.strip() == '[]'
