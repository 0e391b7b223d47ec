"""``flaxheads train`` as 2 processes of 2 CPU devices (gloo on 127.0.0.1) equals one process.

The one-process run uses 2 readers (``data.readers=2``), the readers the two
processes have between them, so it sees the same global batches.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flaxheads.job import cli, reporting, runner
from flaxheads.job import config as config_lib

# In turn on one worker: the second test's processes read the programs that the first one's compiled.
pytestmark = pytest.mark.xdist_group('multiprocess')

CONFIG = str(config_lib.CONFIG_DIR / 'csv_file.py')
TIMEOUT_S = 240
OVERRIDES = ['data.name=shards', 'train_steps=12', 'batch_size=16', 'eval_every=6', 'checkpoint_every=6',
             'model.hidden_units=(8,)', 'progress_bar=false', 'plots=false', 'data.shuffle_buffer=64',
             'head.type=regression', 'head.n_classes=None', 'head.label_vocabulary=None',
             'data.weight_column=w']


@pytest.fixture(scope='module')
def path(tmp_path_factory):
  folder = tmp_path_factory.mktemp('shards')
  rng = np.random.default_rng(0)
  for i in range(4):
    x = rng.normal(size=(100, 3)).astype(np.float32)
    pq.write_table(pa.table({'a': x[:, 0], 'b': x[:, 1], 'c': x[:, 2], 'w': rng.uniform(0.5, 2, 100),
                             'label': x @ [1., -2., 0.5] + 0.1 * rng.normal(size=100)}),
                   folder / f'part-{i}.parquet', row_group_size=50)
  return folder / '*.parquet'


def args(workdir, path, *extra):
  return ['train', '--config', CONFIG, '--workdir', str(workdir), f'--config.data.path={path}',
          *[f'--config.{o}' for o in OVERRIDES], *extra]


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def start_processes(workdir, path, *extra, devices=2):
  port = free_port()
  flags = (f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
           ' --xla_backend_optimization_level=0')
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'XLA_FLAGS': flags.strip()}
  return [subprocess.Popen([sys.executable, '-m', 'flaxheads', *args(workdir, path, *extra),
                            '--coordinator_address', f'127.0.0.1:{port}', '--num_processes', '2',
                            '--process_id', str(i)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
          for i in range(2)]


def finish(processes, timeout=TIMEOUT_S):
  logs = []
  try:
    for process in processes:
      logs.append(process.communicate(timeout=timeout)[0])
  finally:
    for process in processes:
      if process.poll() is None:
        process.kill()
        process.wait()
  return logs


def final_state(workdir, path):
  job = runner.setup(config_lib.load(CONFIG, [f'data.path={path}', *OVERRIDES]), workdir)
  return runner.restore(job, workdir)


@pytest.mark.slow
def test_two_processes_of_two_devices_equal_one_process(path, tmp_path):
  multi, single = tmp_path / 'multi', tmp_path / 'single'
  processes = start_processes(multi, path)
  logs = finish(processes)
  for i, (process, log) in enumerate(zip(processes, logs)):
    assert process.returncode == 0, f'process {i}:\n{log[-5000:]}'
  assert 'final eval metrics at step 12' in logs[0] and 'eval metrics' not in logs[1]
  assert cli.main(args(single, path, '--config.data.readers=2')) == 0

  multi_state, single_state = final_state(multi, path), final_state(single, path)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5),
               multi_state.params, single_state.params)
  records, expected = reporting.read_metrics(multi), reporting.read_metrics(single)
  assert [r['step'] for r in records] == [6, 12]  # written once, by process 0
  for got, want in zip(records, expected):
    for key, value in want['metrics'].items():
      np.testing.assert_allclose(got['metrics'][key], value, rtol=1e-5, atol=1e-5, err_msg=key)
  assert len(list((multi / 'tensorboard').iterdir())) == 1
  data_files = sorted(p.name for p in (multi / 'checkpoints' / '12' / 'data').glob('*.json'))
  assert data_files == ['process_0-of-2.json', 'process_1-of-2.json']
  states = [json.loads((multi / 'checkpoints' / '12' / 'data' / f).read_text()) for f in data_files]
  assert states[0] != states[1]  # each process its own reader


@pytest.mark.slow
def test_a_process_that_dies_makes_the_other_exit_with_an_error(path, tmp_path):
  processes = start_processes(tmp_path, path, '--config.train_steps=1000000', '--config.eval_every=0',
                              '--heartbeat_timeout=4')
  try:
    deadline = time.monotonic() + TIMEOUT_S
    while not (tmp_path / 'checkpoints' / '6').is_dir() and time.monotonic() < deadline:
      time.sleep(0.1)
    assert (tmp_path / 'checkpoints' / '6').is_dir(), 'the run did not start'
    processes[1].send_signal(signal.SIGKILL)
    started = time.monotonic()
    processes[0].wait(timeout=TIMEOUT_S)
    waited = time.monotonic() - started
  finally:
    finish(processes, timeout=10)
  assert processes[0].returncode != 0
  assert waited < 60, waited
