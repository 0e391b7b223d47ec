"""Bad sharded data fails with one line naming the file (and row), exit status 1, the workdir untouched."""

import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from flaxheads.job import cli
from flaxheads.job import config as config_lib

CONFIG = str(config_lib.CONFIG_DIR / 'csv_file.py')
N = 40


def good_table(offset=0):
  x = np.arange(offset, offset + N, dtype=np.float32)
  return {'a': x, 'b': -x, 'label': np.asarray(['no', 'yes'] * (N // 2))}


def write(folder: pathlib.Path, name: str, columns: dict) -> pathlib.Path:
  path = folder / name
  table = pa.table(columns)
  if name.endswith('.csv'):
    pa_csv.write_csv(table, path)
  else:
    pq.write_table(table, path)
  return path


@pytest.fixture(scope='module')
def files(tmp_path_factory):
  folder = tmp_path_factory.mktemp('bad')
  good = folder / 'good'
  good.mkdir()
  for i in range(2):
    write(good, f'part-{i}.parquet', good_table(i * N))
  bad = {}
  bad['schema'] = [str(good / 'part-0.parquet'), str(write(folder, 'other.parquet', {**good_table(), 'extra': np.ones(N)}))]
  bad['text_feature'] = write(folder, 'text.parquet', {**good_table(), 'b': np.asarray(['x'] * N)})
  nan = good_table()
  nan['a'][7] = np.nan
  bad['nan'] = write(folder, 'nan.parquet', nan)
  labels = good_table()
  labels['label'] = labels['label'].astype('<U5')
  labels['label'][13] = 'maybe'
  bad['label'] = write(folder, 'label.parquet', labels)
  ids = {**good_table(), 'label': np.arange(N) % 2}
  ids['label'][21] = 2
  bad['class_id'] = write(folder, 'ids.parquet', ids)
  csv_path = write(folder, 'rows.csv', good_table())
  lines = csv_path.read_text().splitlines()
  lines[5] = lines[5].replace(lines[5].split(',')[1], 'abc', 1)
  csv_path.write_text('\n'.join(lines) + '\n')
  bad['csv_value'] = csv_path
  garbage = folder / 'garbage.parquet'
  garbage.write_bytes(b'not a parquet file at all')
  bad['unreadable'] = garbage
  return good, bad


def args(path, workdir, *extra):
  return ['train', '--config', CONFIG, '--workdir', str(workdir), '--config.data.name=shards',
          f'--config.data.path={path}', '--config.head.type=binary_class', '--config.head.n_classes=None',
          "--config.head.label_vocabulary=('no','yes')", '--config.train_steps=2', '--config.progress_bar=false',
          '--config.plots=false', '--config.model.hidden_units=(4,)', *extra]


def snapshot(folder: pathlib.Path):
  return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob('*'))}


CASES = {
    'no_match': (None, "matches no files"),
    'schema': ('schema', 'has other columns than the first shard: extra differ'),
    'missing_column': (None, "has no label column 'kind' (columns: a, b, label)"),
    'text_feature': ('text_feature', "column 'b' is not numeric (string)"),
    'nan': ('nan', None),
    'label': ('label', "Labels ['maybe'] are not in label_vocabulary"),
    'class_id': ('class_id', 'row 21: Labels must be <= n_classes - 1 = 1'),
    'csv_value': ('csv_value', "rows.csv line 6: column 'b' is not a number: 'abc'"),
    'unreadable': ('unreadable', 'garbage.parquet cannot be read as parquet'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_bad_shards_are_one_line_and_write_nothing(case, files, tmp_path, capsys):
  good, bad = files
  key, message = CASES[case]
  extra = []
  if case == 'no_match':
    path = good / 'nothing-*.parquet'
    message = f'data path {path} matches no files'
  elif case == 'missing_column':
    path, extra = good / '*.parquet', ['--config.data.label_column=kind']
  else:
    path = ','.join(bad[key]) if isinstance(bad[key], list) else bad[key]
  if case == 'nan':
    message = f"data file {bad['nan']} row 7: column 'a' is not a finite number: nan"
  if case == 'label':
    message = f"data file {bad['label']} row 13: label column 'label': " + message
  assert cli.main(args(path, tmp_path, *extra)) == 1
  err = capsys.readouterr().err
  assert err.startswith('flaxheads: error: ') and err.count('\n') == 1, err
  assert message in err, err
  assert not list(tmp_path.iterdir())


def test_a_workdir_trained_on_other_data_is_left_as_it_was(files, tmp_path, capsys):
  good, bad = files
  assert cli.main(args(good / '*.parquet', tmp_path)) == 0
  before = snapshot(tmp_path)
  assert cli.main(args(good / 'part-0.parquet', tmp_path, '--config.train_steps=4')) == 1
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and 'statistics.json describes other data (path differ from the config)' in err, err
  assert snapshot(tmp_path) == before
