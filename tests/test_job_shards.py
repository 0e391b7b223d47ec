"""Training on sharded Parquet and CSV files streamed through grain.

The shards are written by the tests: 600 rows of 4 features (one of them
constant), string labels, weights, and 3 shards of 2 row groups each.
"""

import csv
import json
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from flaxheads.job import cli, data, reporting, runner, shards, streaming
from flaxheads.job import config as config_lib

# One worker runs them in turn: they compile the same train and eval steps, in this process and in the
# runs they start, and none of those runs reads a compiled program that another is still writing.
pytestmark = [pytest.mark.xdist_group('job_shards'), pytest.mark.slow]

CONFIG = str(config_lib.CONFIG_DIR / 'csv_file.py')
KILL = pathlib.Path(__file__).parent / 'kill_after_evaluation.py'
ROWS, SHARDS, FEATURES = 600, 3, ['f0', 'f1', 'f2', 'f3']
SMALL = ['train_steps=12', 'batch_size=16', 'eval_every=4', 'checkpoint_every=5', 'keep_checkpoints=2',
         'model.hidden_units=(8,)', 'progress_bar=false', 'plots=false', 'data.shuffle_buffer=200',
         'data.interleave=2', 'head.type=binary_class', 'head.n_classes=None',
         "head.label_vocabulary=('no','yes')", 'data.weight_column=w']


def make_table(seed=0):
  rng = np.random.default_rng(seed)
  x = (rng.normal(size=(ROWS, 4)) * [1, 2, 3, 0] + [0, 1, -2, 5]).astype(np.float32)  # f3 is constant
  labels = np.where(x[:, 0] + 0.5 * x[:, 1] > 0.5, 'yes', 'no')
  return {**{f: x[:, i] for i, f in enumerate(FEATURES)}, 'label': labels,
          'w': rng.uniform(0.5, 2, ROWS).astype(np.float32)}


@pytest.fixture(scope='module')
def table():
  return make_table()


@pytest.fixture(scope='module')
def files(table, tmp_path_factory):
  folder = tmp_path_factory.mktemp('shards')
  for i in range(SHARDS):
    part = pa.table({k: v[i::SHARDS] for k, v in table.items()})
    pq.write_table(part, folder / f'part-{i}.parquet', row_group_size=ROWS // SHARDS // 2)
    pa_csv.write_csv(part, folder / f'part-{i}.csv')
  return folder


def overrides(path, *extra):
  return [f'data.name=shards', f'data.path={path}', *SMALL, *extra]


def command(workdir, path, *extra):
  return ['train', '--config', CONFIG, '--workdir', str(workdir),
          *[f'--config.{o}' for o in overrides(path, *extra)]]


def shard_rows(table, part):
  """The rows of shard ``part`` as a dict of arrays, with their row numbers in it."""
  return {k: v[part::SHARDS] for k, v in table.items()}


def held_out(path, n, seed=0, fraction=0.2):
  return shards.row_unit(str(path), np.arange(n), seed) < fraction


def train_rows_x(table, folder, suffix):
  parts = []
  for i in range(SHARDS):
    rows = shard_rows(table, i)
    x = np.stack([rows[f] for f in FEATURES], axis=1)
    parts.append(x[~held_out(folder / f'part-{i}{suffix}', len(x))])
  return np.concatenate(parts)


def load(path, workdir=None, *extra):
  config = config_lib.load(CONFIG, overrides(path, *extra))
  return runner.setup(config, workdir)


@pytest.mark.parametrize('suffix', ['.parquet', '.csv'])
def test_statistics_of_the_streaming_pass_equal_numpy_on_the_train_rows(suffix, table, files):
  job = load(files / f'*{suffix}')
  x = train_rows_x(table, files, suffix)
  assert len(job.dataset.train) == len(x) and len(job.dataset.train) + len(job.dataset.eval) == ROWS
  np.testing.assert_allclose(job.dataset.mean, x.mean(axis=0), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(job.dataset.std, np.where(x.std(axis=0) > 0, x.std(axis=0), 1), rtol=1e-6)
  assert job.dataset.std[3] == 1  # a constant feature is not scaled


def test_one_unshuffled_reader_yields_the_rows_of_the_file_in_order(table, files):
  path = files / 'part-1.parquet'
  job = load(path, None, 'data.shuffle_buffer=0', 'data.interleave=1', 'batch_size=7')
  batches = job.dataset.train_batches(7, 0)
  got = np.concatenate([next(batches).features['x'] for _ in range(20)])
  rows = shard_rows(table, 1)
  x = np.stack([rows[f] for f in FEATURES], axis=1)[~held_out(path, ROWS // SHARDS)]
  np.testing.assert_allclose(got, ((x - job.dataset.mean) / job.dataset.std)[:140], rtol=1e-6, atol=1e-6)
  batches.close()


def test_an_epoch_of_shuffled_batches_is_every_train_row_once(table, files):
  job = load(files / '*.parquet', None, 'data.shuffle_buffer=1', 'data.interleave=1', 'batch_size=1')
  batches = job.dataset.train_batches(1, 0)
  n = len(job.dataset.train)
  got = np.concatenate([next(batches).features['x'] for _ in range(n)])
  x = (train_rows_x(table, files, '.parquet') - job.dataset.mean) / job.dataset.std
  order = lambda a: a[np.lexsort(a.T[::-1])]
  np.testing.assert_allclose(order(got), order(x), rtol=1e-6, atol=1e-6)
  assert not np.allclose(got, x)  # shuffled
  batches.close()


def test_streamed_evaluation_equals_the_in_memory_path_on_the_same_rows(table, files, tmp_path):
  path = files / '*.parquet'
  assert cli.main(command(tmp_path, path, 'train_steps=8')) == 0
  final = reporting.read_metrics(tmp_path)[-1]
  job = load(path, tmp_path)
  state = runner.restore(job, tmp_path)
  parts = [shard_rows(table, i) for i in range(SHARDS)]
  picks = [held_out(files / f'part-{i}.parquet', ROWS // SHARDS) for i in range(SHARDS)]
  pick = lambda key: np.concatenate([p[key][m] for p, m in zip(parts, picks)])
  x = np.stack([pick(f) for f in FEATURES], axis=1)
  rows = data.Split({'x': ((x - job.dataset.mean) / job.dataset.std).astype(np.float32), 'weight': pick('w')},
                    job.head.encode_labels(pick('label')))
  in_memory = reporting.to_python(runner.evaluate_split(job, state, rows))
  assert final['examples'] == len(x)
  assert sorted(in_memory) == sorted(final['metrics'])
  for key, value in in_memory.items():
    np.testing.assert_allclose(final['metrics'][key], value, rtol=1e-6, atol=1e-6, err_msg=key)
  stored = json.loads((tmp_path / 'statistics.json').read_text())
  np.testing.assert_array_equal(np.float32(stored['mean']), job.dataset.mean)


def test_a_parquet_list_column_is_multi_label_labels(tmp_path):
  rng = np.random.default_rng(1)
  x = rng.normal(size=(90, 3)).astype(np.float32)
  tags = [[t for t, on in zip('abc', row > 0) if on] for row in x]
  pq.write_table(pa.table({'x0': x[:, 0], 'x1': x[:, 1], 'x2': x[:, 2], 'label': tags}), tmp_path / 'tags.parquet')
  args = ['--config', CONFIG, '--workdir', str(tmp_path / 'work'), '--config.data.name=shards',
          f'--config.data.path={tmp_path / "tags.parquet"}', '--config.head.type=multi_label',
          "--config.head.label_vocabulary=('a','b','c')", '--config.train_steps=3', '--config.progress_bar=false',
          '--config.plots=false', '--config.model.hidden_units=(4,)']
  assert cli.main(['train', *args]) == 0
  assert cli.main(['predict', *args]) == 0
  with (tmp_path / 'work' / 'predictions.csv').open() as f:
    header = next(csv.reader(f))
  assert {'probabilities_2', 'classes_2'} <= set(header)


def final_state(workdir, path, *extra):
  job = load(path, workdir, *extra)
  return runner.restore(job, workdir)


def assert_same_state(a, b):
  for part in ('params', 'opt_state', 'model_state'):
    jax.tree.map(np.testing.assert_array_equal, getattr(a, part), getattr(b, part))


@pytest.mark.parametrize('suffix', ['.parquet', '.csv'])
def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(suffix, files, tmp_path, capsys):
  path = files / f'*{suffix}'
  killed, whole = tmp_path / 'killed', tmp_path / 'whole'
  process = subprocess.run([sys.executable, str(KILL), '8', str(killed / 'checkpoints' / '5'),
                            *command(killed, path)], capture_output=True, text=True, timeout=300)
  assert process.returncode == -signal.SIGKILL, process.stderr
  assert [r['step'] for r in reporting.read_metrics(killed)] == [4, 8]
  assert cli.main(command(killed, path)) == 0
  assert 'resuming from step 5' in capsys.readouterr().out
  assert cli.main(command(whole, path)) == 0
  assert reporting.read_metrics(killed) == reporting.read_metrics(whole)
  assert_same_state(final_state(killed, path), final_state(whole, path))


def test_sigterm_saves_the_current_step_and_the_rerun_ends_as_an_uninterrupted_run(files, tmp_path):
  path = files / '*.parquet'
  stopped, whole = tmp_path / 'stopped', tmp_path / 'whole'
  process = subprocess.Popen([sys.executable, '-m', 'flaxheads', *command(stopped, path, 'train_steps=100000',
                                                                           'eval_every=0')],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.monotonic() + 120
    while not (stopped / 'checkpoints' / '5').is_dir() and time.monotonic() < deadline:
      time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
  finally:
    if process.poll() is None:
      process.kill()
  assert process.returncode == 143, err
  (line,) = err.splitlines()
  step = int(line.split('after step ')[1].split(',')[0])
  assert line == (f'flaxheads: stopped by SIGTERM after step {step}, saved in '
                  f'{stopped.absolute() / "checkpoints" / str(step)}; run the same command again to resume from it')
  names = {p.name for p in (stopped / 'checkpoints').iterdir()}
  assert str(step) in names and not any('tmp' in n for n in names), names
  end = f'train_steps={step + 3}'
  assert cli.main(command(stopped, path, end, 'eval_every=0')) == 0
  assert cli.main(command(whole, path, end, 'eval_every=0')) == 0
  assert_same_state(final_state(stopped, path, end), final_state(whole, path, end))
