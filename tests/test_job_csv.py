"""Training on a CSV file: string labels through the head's vocabulary, weights, predictions of new rows."""

import csv

import pytest
from sklearn import datasets

from flaxheads.job import cli, reporting
from flaxheads.job import config as config_lib

CONFIG = str(config_lib.CONFIG_DIR / 'csv_file.py')
FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']
SPECIES = ('setosa', 'versicolor', 'virginica')


@pytest.fixture(scope='module')
def iris_csv(tmp_path_factory):
  iris = datasets.load_iris()
  path = tmp_path_factory.mktemp('data') / 'iris.csv'
  with path.open('w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(FEATURES + ['species', 'weight'])
    for x, y in zip(iris.data, iris.target):
      writer.writerow([*x, SPECIES[y], 2.0 if y == 2 else 1.0])
  return path


def test_train_and_predict_csv_with_string_labels(iris_csv, tmp_path, capsys):
  common = ['--config', CONFIG, '--workdir', str(tmp_path / 'work'), f'--config.data.path={iris_csv}',
            '--config.data.label_column=species', '--config.data.weight_column=weight',
            f'--config.head.label_vocabulary={SPECIES!r}', '--config.train_steps=60',
            '--config.eval_every=30', '--config.progress_bar=false', '--config.plots=false']
  assert cli.main(['train', *common]) == 0
  assert 'MultiClassHead on ' + str(iris_csv) + ' (120 train / 30 eval rows)' in capsys.readouterr().out
  final = reporting.read_metrics(tmp_path / 'work')[-1]
  assert final['step'] == 60 and final['examples'] == 30 and final['metrics']['accuracy'] > 0.6

  new_rows = tmp_path / 'new.csv'  # other column order, an extra column, no label or weight
  with new_rows.open('w', newline='') as f:
    csv.writer(f).writerows([['id'] + FEATURES[::-1], ['a', 0.2, 1.4, 3.5, 5.1], ['b', 2.3, 5.9, 3.0, 6.7]])
  output = tmp_path / 'out' / 'predictions.csv'
  assert cli.main(['predict', *common, '--input', str(new_rows), '--output', str(output)]) == 0
  with output.open() as f:
    rows = list(csv.DictReader(f))
  assert [r['row'] for r in rows] == ['0', '1']
  assert [r['classes'] for r in rows] == ['setosa', 'virginica']
  assert [rows[0][f'all_classes_{i}'] for i in range(3)] == list(SPECIES)
