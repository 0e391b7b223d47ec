"""Bad configs and data fail with one line on stderr and a non-zero status, leaving the workdir as it was."""

import csv
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from flaxheads.job import cli
from flaxheads.job import config as config_lib

pytestmark = pytest.mark.xdist_group('job_errors')  # one worker trains the shared workdir once

CONFIG = str(config_lib.CONFIG_DIR / 'csv_file.py')


def write_csv(path, header, rows):
  with path.open('w', newline='') as f:
    csv.writer(f).writerows([header, *rows])
  return path


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  folder = tmp_path_factory.mktemp('data')
  rows = [[i % 7 / 7, i % 5 / 5, ('cat', 'dog', 'eel')[i % 3]] for i in range(30)]
  return {
      'strings': write_csv(folder / 'animals.csv', ['a', 'b', 'animal'], rows),
      'ids': write_csv(folder / 'ids.csv', ['a', 'b', 'animal'], [[a, b, i % 3] for i, (a, b, _) in enumerate(rows)]),
  }


@pytest.fixture(scope='module')
def base(data):
  return ['--config', CONFIG, f'--config.data.path={data["strings"]}', '--config.data.label_column=animal',
          "--config.head.label_vocabulary=('cat', 'dog', 'eel')", '--config.train_steps=2',
          '--config.model.hidden_units=(4,)', '--config.progress_bar=false', '--config.plots=false']


@pytest.fixture(scope='module')
def workdir(base, tmp_path_factory):
  path = tmp_path_factory.mktemp('work')
  assert cli.main(['train', *base, '--workdir', str(path)]) == 0
  return path


def snapshot(folder: pathlib.Path):
  return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
          for p in sorted(folder.rglob('*'))}


@pytest.mark.parametrize('args, message', [
    (['--config.data.path=/no/such/file.csv'], 'data file /no/such/file.csv does not exist'),
    (['--config.data.label_column=kind'], "has no label column 'kind' (columns: a, b, animal)"),
    (["--config.head.label_vocabulary=('cat', 'dog', 'emu')"], "Labels ['eel'] are not in label_vocabulary"),
    (['--config.head.label_vocabulary=None'], 'String labels need a label_vocabulary'),
    (['--config.head.type=multiclass'], "unknown head config.head.type='multiclass'; choose from regression,"),
    (['--config.head.n_classes=4'], 'config.head: MultiClassHead: "label_vocabulary" does not have "n_classes"'),
    (['--config.optimizer.name=adamm'], "unknown optimizer config.optimizer.name='adamm'; choose from adam,"),
    (['--config.model.name=cnn'], "unknown model config.model.name='cnn'"),
    (['--config.train_step=3'], 'unknown config field config.train_step (did you mean config.train_steps?)'),
    (['--config.model.hidden=3'], 'unknown config field config.model.hidden (did you mean config.model.hidden_units?)'),
    (['--config.train_steps=many'], "config.train_steps: 'many' is not a valid int"),
    (['--config.batch_size=0'], 'config.batch_size must be positive'),
    (['--config', 'no_such_config.py'], "config file 'no_such_config.py' does not exist"),
    (['--config.model.hidden_units=(5,)'], 'does not fit the configured model and optimizer'),
    (['--num_processes=2'], 'a multi-process run needs --coordinator_address, --num_processes and --process_id'),
    (['--coordinator_address=127.0.0.1:1', '--num_processes=2', '--process_id=2'],
     '--process_id must be in [0, 2), got 2'),
    (['--coordinator_address=127.0.0.1:1', '--num_processes=2', '--process_id=0', '--heartbeat_timeout=0'],
     '--heartbeat_timeout must be at least 1 second, got 0'),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_bad_input_is_one_line_and_touches_nothing(args, message, base, workdir, capsys):
  before = snapshot(workdir)
  assert cli.main(['train', *base, '--workdir', str(workdir), *args]) == 1
  err = capsys.readouterr().err
  assert err.startswith('flaxheads: error: ') and err.count('\n') == 1, err
  assert message in err
  assert snapshot(workdir) == before


@pytest.mark.parametrize('head', [
    ['--config.head.type=binary_class', '--config.head.n_classes=None'],
    ['--config.head.n_classes=3', '--config.data.label_column=b'],  # 0.2, 0.4, ... are not class ids
])
def test_class_ids_outside_the_head_classes(head, data, base, workdir, capsys):
  before = snapshot(workdir)
  args = [*base, f'--config.data.path={data["ids"]}', '--config.head.label_vocabulary=None', *head]
  assert cli.main(['train', *args, '--workdir', str(workdir)]) == 1
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and ('Labels must be <= n_classes - 1 = 1' in err or 'whole numbers' in err), err
  assert snapshot(workdir) == before


def test_diverging_training_stops_with_one_line(base, tmp_path, capsys):
  assert cli.main(['train', *base, '--workdir', str(tmp_path), '--config.optimizer.learning_rate=1e30',
                   '--config.optimizer.name=sgd']) == 1
  err = capsys.readouterr().err
  assert re.match(r'flaxheads: error: training stopped: non-finite loss or gradients at step \d+;', err), err
  assert err.count('\n') == 1, err
  assert not list((tmp_path / 'checkpoints').iterdir())


def test_predict_input_without_a_feature_column(base, workdir, tmp_path, capsys):
  rows = write_csv(tmp_path / 'rows.csv', ['a'], [[0.5]])
  assert cli.main(['predict', *base, '--workdir', str(workdir), '--input', str(rows)]) == 1
  assert "has no feature column 'b'" in capsys.readouterr().err
  assert not (workdir / 'predictions.csv').exists()


def test_evaluate_without_checkpoints(base, tmp_path, capsys):
  assert cli.main(['evaluate', *base, '--workdir', str(tmp_path)]) == 1
  assert 'no checkpoints in' in capsys.readouterr().err
  assert not list(tmp_path.iterdir())


def test_usage_errors_exit_2(capsys):
  for argv in ([], ['fit']):
    with pytest.raises(SystemExit) as exit_info:
      cli.main(argv)
    assert exit_info.value.code == 2
  assert 'usage: flaxheads' in capsys.readouterr().err


def test_overrides_with_or_without_equals_sign():
  assert cli.split_overrides(['train', '--config.a=1', '--config.b', '2', '--workdir', 'w']) == (
      ['a=1', 'b=2'], ['train', '--workdir', 'w'])


def test_console_script_reports_one_line(tmp_path):
  script = shutil.which('flaxheads')
  command = [script] if script else [sys.executable, '-m', 'flaxheads']
  process = subprocess.run([*command, 'train', '--config.optimizer.name=nope', '--workdir', str(tmp_path)],
                           capture_output=True, text=True, timeout=120)
  assert process.returncode == 1
  assert process.stderr.splitlines() == [
      "flaxheads: error: unknown optimizer config.optimizer.name='nope'; choose from adam, adamw, sgd, "
      'adagrad, rmsprop, lion']
  assert not list(tmp_path.iterdir())


def test_a_bundled_config_by_name_and_where_a_missing_one_was_looked_for(capsys):
  assert config_lib.resolve_path('binary_class') == config_lib.CONFIG_DIR / 'binary_class.py'
  assert config_lib.resolve_path('configs/binary_class.py').read_text().startswith('"""Breast cancer')
  assert cli.main(['train', '--config', 'binary_clas']) == 1
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and f'bundled configs {config_lib.CONFIG_DIR}: binary_class, ' in err, err


def test_the_command_without_the_job_extra_names_it():
  script = "import sys; sys.modules['orbax'] = None; from flaxheads.job import entry; sys.exit(entry.main(['train']))"
  process = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120)
  assert process.returncode == 1
  assert process.stderr.splitlines() == [
      "flaxheads: error: the flaxheads command needs the 'job' extra (orbax is not installed): "
      "python -m pip install 'flaxheads[job]'"]


@pytest.mark.parametrize('head, message', [
    (["--config.head.label_vocabulary=('cat', 'dog', 'emu')"], "line 4: label column 'animal': Labels ['eel']"),
    (['--config.head.type=binary_class', '--config.head.n_classes=None', '--config.data.path=ids',
      '--config.head.label_vocabulary=None'], ': Labels must be <= n_classes - 1 = 1'),
], ids=['vocabulary', 'class_id'])
def test_label_errors_name_the_line(head, message, data, base, tmp_path, capsys):
  head = [f'--config.data.path={data["ids"]}' if h == '--config.data.path=ids' else h for h in head]
  assert cli.main(['train', *base, '--workdir', str(tmp_path), *head]) == 1
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and message in err, err
  line = int(err.split(' line ')[1].split(':')[0])
  assert (line - 2) % 3 == 2  # a row with label 'eel' (id 2)
  assert not list(tmp_path.iterdir())


def test_predict_names_the_missing_columns_of_bundled_data(tmp_path, capsys):
  config = ['--config', 'binary_class', '--workdir', str(tmp_path), '--config.train_steps=1',
            '--config.progress_bar=false', '--config.plots=false', '--config.model.hidden_units=(4,)']
  assert cli.main(['train', *config]) == 0
  rows = write_csv(tmp_path / 'rows.csv', ['mean radius', 'worst area'], [[10.0, 500.0]])
  assert cli.main(['predict', *config, '--input', str(rows)]) == 1
  err = capsys.readouterr().err
  assert err.count('\n') == 1 and "has no feature columns 'mean texture', 'mean perimeter'," in err, err
  assert 'np.str_' not in err and 'the rows need the columns mean radius, mean texture, ' in err


def test_fewer_train_steps_than_the_workdir_has_is_an_error(base, workdir, capsys):
  before = snapshot(workdir)
  assert cli.main(['train', *base, '--workdir', str(workdir), '--config.train_steps=1']) == 1
  err = capsys.readouterr().err
  assert 'is already past config.train_steps=1: its latest checkpoint is at step 2' in err, err
  assert snapshot(workdir) == before


def test_version(capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(['--version'])
  assert exit_info.value.code == 0
  assert capsys.readouterr().out.strip() == f'flaxheads {__import__("flaxheads").__version__}'
