"""Every config in configs/ trains a few steps, writes its outputs, evaluates and predicts."""

import csv
import json
import pathlib

import pytest

from flaxheads.job import cli
from flaxheads.job import config as config_lib

CONFIGS = sorted(p for p in config_lib.CONFIG_DIR.glob('*.py')
                 if p.stem != 'csv_file' and not p.stem.startswith('boosted_trees'))  # see test_job_trees.py
SMALL = ['--config.train_steps=3', '--config.batch_size=8', '--config.eval_every=2',
         '--config.checkpoint_every=2', '--config.progress_bar=false', '--config.plots=false',
         '--config.model.hidden_units=(8,)']


COLUMNS = {  # some columns of each config's predictions.csv
    'default': ['row', 'predictions'],
    'binary_class': ['row', 'logits', 'logistic', 'probabilities_0', 'probabilities_1', 'class_ids', 'classes',
                     'all_class_ids_0', 'all_class_ids_1', 'all_classes_0', 'all_classes_1'],
    'multi_class': ['row', 'logits_0', 'logits_9', 'probabilities_9', 'class_ids', 'classes'],
    'multi_label': ['row', 'logits_0', 'probabilities_3', 'classes_0', 'classes_3', 'predicted_classes'],
    'multi_head': ['row', 'digit/logits_0', 'digit/classes', 'large/logistic', 'large/classes', 'odd/classes'],
    'poisson_regression': ['row', 'predictions', 'logits'],
    'logistic_regression': ['row', 'predictions', 'logits'],
    'sequential': ['row', 'step', 'logits_0', 'probabilities_9', 'class_ids', 'classes'],
    'global_objectives': ['row', 'logits', 'logistic', 'probabilities_1', 'class_ids', 'classes'],
}


def train(config: pathlib.Path, workdir: pathlib.Path, *extra: str) -> int:
  return cli.main(['train', '--config', str(config), '--workdir', str(workdir), *SMALL, *extra])


def test_every_config_is_tested():
  assert sorted(COLUMNS) == sorted(p.stem for p in CONFIGS)


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: p.stem)
def test_config_trains_and_predicts(config, tmp_path, capsys):
  assert train(config, tmp_path) == 0
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert [r['step'] for r in records] == [2, 3]
  assert all(r['split'] == 'eval' and r['metrics'] for r in records)
  assert sorted(p.name for p in (tmp_path / 'checkpoints').iterdir()) == ['2', '3']
  assert list((tmp_path / 'tensorboard').glob('events.out.tfevents.*'))
  assert 'final eval metrics at step 3' in capsys.readouterr().out

  assert cli.main(['predict', '--config', str(config), '--workdir', str(tmp_path), *SMALL]) == 0
  rows = read_csv(tmp_path / 'predictions.csv')
  assert set(COLUMNS[config.stem]) <= set(rows[0]), list(rows[0])
  examples = records[-1]['examples']
  if config.stem == 'sequential':  # a row per valid step: 4 to 8 steps per sequence
    assert 4 * examples <= len(rows) <= 8 * examples and {r['step'] for r in rows} == {str(t) for t in range(8)}
  else:
    assert [r['row'] for r in rows] == [str(i) for i in range(examples)]
  if config.stem == 'binary_class':
    assert {r['classes'] for r in rows} <= {'0', '1'}
  if config.stem == 'multi_label':
    assert {r['classes_3'] for r in rows} == {'loop'}
    names = ('even', 'large', 'prime', 'loop')
    assert all(r['predicted_classes'] == '|'.join(n for i, n in enumerate(names) if float(r[f'probabilities_{i}']) > 0.5)
               for r in rows)


def test_evaluate_writes_metrics_and_plots(tmp_path):
  config = config_lib.CONFIG_DIR / 'binary_class.py'
  common = ['--config', str(config), '--workdir', str(tmp_path), *SMALL]
  assert cli.main(['train', *common]) == 0
  assert not (tmp_path / 'plots').exists()
  assert cli.main(['evaluate', *common, '--config.plots=true']) == 0
  evaluation = json.loads((tmp_path / 'evaluation_eval.json').read_text())
  assert evaluation['step'] == 3 and evaluation['split'] == 'eval' and evaluation['examples'] == 114
  final = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()][-1]
  assert evaluation['metrics'] == final['metrics']
  assert {p.name for p in (tmp_path / 'plots').iterdir()} == {
      'eval_roc.png', 'eval_precision_recall.png', 'eval_reliability.png'}


def read_csv(path):
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def test_default_config_is_the_estimator_dnn_regression():
  config = config_lib.load(config_lib.DEFAULT_CONFIG)
  assert config.head.type == 'regression' and config.data.name == 'diabetes'
  assert config.model.name == 'dnn' and tuple(config.model.hidden_units) == (1000, 500)
