"""A training run killed mid-way and resumed ends exactly as an uninterrupted run."""

import pathlib
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from flaxheads.job import cli, reporting, runner
from flaxheads.job import config as config_lib

CONFIG = str(config_lib.CONFIG_DIR / 'multi_class.py')  # batch statistics, plus dropout below
OVERRIDES = ['train_steps=12', 'batch_size=16', 'eval_every=4', 'checkpoint_every=5', 'keep_checkpoints=2',
             'model.hidden_units=(16,)', 'model.dropout=0.2', 'progress_bar=false', 'plots=false']
ARGS = [f'--config.{o}' for o in OVERRIDES]


def train_command(workdir, *extra):
  return ['train', '--config', CONFIG, '--workdir', str(workdir), *ARGS, *extra]


def checkpoints(workdir):
  return sorted(int(p.name) for p in (workdir / 'checkpoints').iterdir())


def final_state(workdir):
  job = runner.setup(config_lib.load(CONFIG, OVERRIDES))
  return runner.restore(job, workdir)


KILL = pathlib.Path(__file__).parent / 'kill_after_evaluation.py'


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, capsys):
  killed, whole = tmp_path / 'killed', tmp_path / 'whole'
  command = [sys.executable, str(KILL), '8', str(killed / 'checkpoints' / '5'),
             *train_command(killed)]
  process = subprocess.run(command, capture_output=True, text=True, timeout=300)
  assert process.returncode == -signal.SIGKILL, process.stderr
  assert checkpoints(killed) == [5]
  assert [r['step'] for r in reporting.read_metrics(killed)] == [4, 8]  # step 8 was never checkpointed

  assert cli.main(train_command(killed)) == 0
  assert 'resuming from step 5' in capsys.readouterr().out
  assert cli.main(train_command(whole)) == 0

  assert checkpoints(killed) == checkpoints(whole) == [10, 12]
  assert reporting.read_metrics(killed) == reporting.read_metrics(whole)
  assert [r['step'] for r in reporting.read_metrics(whole)] == [4, 8, 12]
  resumed, uninterrupted = final_state(killed), final_state(whole)
  assert int(resumed.step) == 12 and 'batch_stats' in resumed.model_state
  jax.tree.map(np.testing.assert_array_equal, resumed.params, uninterrupted.params)
  jax.tree.map(np.testing.assert_array_equal, resumed.model_state, uninterrupted.model_state)
  jax.tree.map(np.testing.assert_array_equal, resumed.opt_state, uninterrupted.opt_state)


def test_rerunning_a_finished_run_reports_it_without_training(tmp_path, capsys):
  assert cli.main(train_command(tmp_path, '--config.train_steps=2', '--config.eval_every=0')) == 0
  records = reporting.read_metrics(tmp_path)
  assert cli.main(train_command(tmp_path, '--config.train_steps=2', '--config.eval_every=0')) == 0
  assert 'final eval metrics at step 2' in capsys.readouterr().out
  assert reporting.read_metrics(tmp_path) == records and checkpoints(tmp_path) == [2]
