"""Data parallelism: one training run gives the same results on every setup.

The same steps (Linen and NNX models with BatchNorm, weighted examples) on one
device, on 8 devices with ``jax.jit`` over sharded batches (``Auto`` and
``Explicit`` mesh axes), under ``jax.shard_map`` and ``jax.pmap`` with
``axis_name``, and on 2 processes of 4 devices each give the same params, batch
statistics, losses and metrics (to 1e-5).

The work runs in subprocesses (``tests/data_parallel/train_paths.py``) started
with ``--xla_force_host_platform_device_count``, so that this process needs no
particular devices. The single-process cases share one subprocess: starting
one takes about as long as a case's training.
"""

import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).parent / 'data_parallel' / 'train_paths.py'
TIMEOUT_S = 300
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def environment(devices):
  # The programs are tiny: compiling them without LLVM optimizations saves a third of the time.
  flags = (f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
           ' --xla_backend_optimization_level=0')
  return {**os.environ, 'XLA_FLAGS': flags.strip(), 'JAX_PLATFORMS': 'cpu'}


def run_script(*args, devices=8):
  return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], env=environment(devices),
                        capture_output=True, text=True, timeout=TIMEOUT_S)


def load(path):
  """``{path: {name: array}}`` from the script's ``.npz``."""
  results = {}
  with np.load(path) as data:
    for key in data.files:
      setup, name = key.split('|', 1)
      results.setdefault(setup, {})[name] = data[key]
  return results


def assert_same_as_single_device(results, setup):
  expected, actual = results['single'], results[setup]
  assert sorted(actual) == sorted(expected)
  for name, value in expected.items():
    np.testing.assert_allclose(actual[name], value, err_msg=f'{setup}: {name}', **TOLERANCE)


def assert_trained(result, evaluate=True):
  assert result['finite'].all()
  assert result['loss'][-1] < result['loss'][0]
  assert any(name.startswith('model_state') for name in result)  # batch statistics
  if evaluate:
    assert result['metrics/accuracy'] > 0.8


CASES = {  # case: (the setups compared with one device, whether it evaluates)
    'binary': (['jit_auto', 'jit_explicit', 'shard_map', 'pmap'], True),
    'multiclass': (['jit_auto', 'jit_explicit', 'shard_map', 'pmap'], True),
    'nnx': (['jit_auto', 'jit_explicit'], True),
    # Plain SGD, a SUM reduction and a regularization loss: gradients combined with the right scale.
    'sgd_sum': (['shard_map', 'pmap'], False),
}


@pytest.fixture(scope='module')
def case_results(tmp_path_factory):
  """``{case: results}`` of every case, run in turn by one subprocess."""
  out = tmp_path_factory.mktemp('data_parallel') / 'results-{case}.npz'
  proc = run_script(','.join(CASES), out)
  assert proc.returncode == 0, proc.stderr[-5000:]
  return {case: load(str(out).format(case=case)) for case in CASES}


@pytest.mark.xdist_group('data_parallel')  # one worker starts the subprocess of case_results
@pytest.mark.parametrize('case', CASES)
def test_every_setup_matches_one_device(case, case_results):
  setups, evaluate = CASES[case]
  results = case_results[case]
  assert sorted(results) == sorted(['single', *setups])
  assert_trained(results['single'], evaluate)
  for setup in setups:
    assert_same_as_single_device(results, setup)


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_device(tmp_path):
  out, port = tmp_path / 'results.npz', free_port()
  processes = [
      subprocess.Popen([sys.executable, str(SCRIPT), 'binary', str(out), '--process-id', str(i),
                        '--num-processes', '2', '--port', str(port)],
                       env=environment(4), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
      for i in range(2)]
  logs = []
  try:
    for process in processes:
      logs.append(process.communicate(timeout=TIMEOUT_S)[0])
  finally:
    for process in processes:
      if process.poll() is None:
        process.kill()
        process.wait()
  for i, (process, log) in enumerate(zip(processes, logs)):
    assert process.returncode == 0, f'process {i}:\n{log[-5000:]}'
  results = load(out)
  np.testing.assert_array_equal(results['multiprocess'].pop('devices'), [8, 4])  # global, local
  np.testing.assert_array_equal(results['multiprocess'].pop('rows'), [0, 32])  # process 0's rows
  assert_trained(results['single'])
  assert_same_as_single_device(results, 'multiprocess')
