"""The boosted-trees configs: train, resume, evaluate and predict with XGBoost and LightGBM."""

import csv
import json

import numpy as np
import pytest

from flaxheads.job import cli
from flaxheads.job import config as config_lib

pytest.importorskip('xgboost')
pytest.importorskip('lightgbm')

BINARY = str(config_lib.CONFIG_DIR / 'boosted_trees.py')
MULTI_CLASS = str(config_lib.CONFIG_DIR / 'boosted_trees_multi_class.py')
SMALL = ['--config.eval_every=2', '--config.checkpoint_every=2', '--config.progress_bar=false',
         '--config.plots=false', '--config.trees.num_threads=1']


def run(command, config, workdir, *extra):
  return cli.main([command, '--config', config, '--workdir', str(workdir), *SMALL, *extra])


def records(workdir):
  return [json.loads(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]


def rows(path):
  with path.open() as f:
    return list(csv.DictReader(f))


@pytest.mark.parametrize('config,library', [(BINARY, 'xgboost'), (MULTI_CLASS, 'lightgbm')],
                         ids=['binary-xgboost', 'multi_class-lightgbm'])
def test_trains_resumes_evaluates_and_predicts(config, library, tmp_path, capsys):
  whole, resumed = tmp_path / 'whole', tmp_path / 'resumed'
  lib = f'--config.trees.library={library}'
  assert run('train', config, whole, '--config.train_steps=4', lib) == 0
  out = capsys.readouterr().out
  assert 'final eval metrics at step 4' in out and 'boosted trees' in out
  assert [r['step'] for r in records(whole)] == [2, 4]
  assert 'accuracy' in records(whole)[-1]['metrics']
  assert sorted(p.name for p in (whole / 'checkpoints').iterdir()) == ['2', '4']
  assert list((whole / 'tensorboard').glob('events.out.tfevents.*'))

  assert run('train', config, resumed, '--config.train_steps=2', lib) == 0
  assert run('train', config, resumed, '--config.train_steps=4', lib) == 0
  assert 'resuming from round 2' in capsys.readouterr().out
  assert records(resumed) == records(whole)

  for workdir in (whole, resumed):
    assert run('predict', config, workdir, '--config.train_steps=4', lib) == 0
  predicted = rows(whole / 'predictions.csv')
  assert predicted == rows(resumed / 'predictions.csv')
  assert {'row', 'class_ids', 'classes', 'probabilities_0'} <= set(predicted[0])
  assert len(predicted) == records(whole)[-1]['examples']

  assert run('evaluate', config, whole, lib, '--split', 'eval') == 0
  evaluation = json.loads((whole / 'evaluation_eval.json').read_text())
  assert evaluation['step'] == 4
  np.testing.assert_allclose(evaluation['metrics']['accuracy'], records(whole)[-1]['metrics']['accuracy'])


def test_plots(tmp_path):
  assert run('train', BINARY, tmp_path, '--config.train_steps=2', '--config.plots=true') == 0
  assert sorted(p.name for p in (tmp_path / 'plots').iterdir()) == [
      'eval_precision_recall.png', 'eval_reliability.png', 'eval_roc.png']


@pytest.mark.parametrize('extra,message', [
    (['--config.trees.library=catboost'], "unknown config.trees.library='catboost'"),
    (['--config.head.type=multi_label', '--config.head.n_classes=4', '--config.data.name=digits_attributes',
      '--config.trees.library=lightgbm'], 'LightGBM grows one per class only'),
    (['--config.train_steps=0'], 'config.train_steps must be positive'),
])
def test_bad_configs(extra, message, tmp_path, capsys):
  assert cli.main(['train', '--config', MULTI_CLASS, '--workdir', str(tmp_path), *extra]) == 1
  assert message in capsys.readouterr().err
  assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_evaluate_without_a_booster(tmp_path, capsys):
  assert run('evaluate', BINARY, tmp_path) == 1
  assert 'no checkpoints' in capsys.readouterr().err
