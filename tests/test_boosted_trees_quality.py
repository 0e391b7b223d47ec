"""Held-out quality of head objectives against built-in ones, same (unmapped) parameters, on digits.

Run as a script to print the numbers: ``python tests/test_boosted_trees_quality.py``.
"""

import functools

import numpy as np
import pytest

import flaxheads as fh
from flaxheads import boosted_trees as bt

ROUNDS = 20
XGB = {'tree_method': 'hist', 'max_depth': 3, 'eta': 0.3, 'nthread': 1, 'seed': 0}
ACCURACY_AT_HALF = 'accuracy/positive_threshold_0.5'
LGB = {'num_leaves': 15, 'learning_rate': 0.1, 'num_threads': 1, 'verbose': -1, 'deterministic': True,
       'seed': 0}


@functools.lru_cache(maxsize=None)
def _digits():
  from sklearn import datasets
  d = datasets.load_digits()
  rows = np.random.default_rng(0).permutation(len(d.target))
  n_eval = len(rows) // 5
  x, digit = d.data.astype(np.float32), d.target.astype(np.int32)
  attributes = np.stack([digit % 2 == 0, digit >= 5, np.isin(digit, (2, 3, 5, 7)),
                         np.isin(digit, (0, 6, 8, 9))], axis=-1).astype(np.float32)
  split = lambda a: (a[rows[n_eval:]], a[rows[:n_eval]])
  return split(x), split(digit), split(attributes)


def _metrics(head, margins, labels):
  return {k: float(v) for k, v in fh.metrics.results(head.update_metrics(head.metrics(), None, margins,
                                                                         labels)).items()}


def quality(library: str, task: str) -> tuple[dict, dict, int]:
  """(head-objective metrics, built-in metrics, evaluated label count) on the eval split."""
  (x, x_eval), digits, attributes = _digits()
  head = fh.MultiClassHead(10) if task == 'multi_class' else fh.MultiLabelHead(4, thresholds=(0.5,))
  y, y_eval = digits if task == 'multi_class' else attributes
  if library == 'xgboost':
    import xgboost as xgb
    builtin = {'objective': 'multi:softprob', 'num_class': 10} if task == 'multi_class' else {
        'objective': 'binary:logistic'}
    extra = {'num_class': 10} if task == 'multi_class' else {}
    dtrain, deval = xgb.DMatrix(x, label=y), xgb.DMatrix(x_eval)
    reference = xgb.train({**XGB, **builtin}, dtrain, ROUNDS)
    booster = xgb.train({**XGB, **extra, 'base_score': 0.}, dtrain, ROUNDS, obj=bt.xgboost_objective(head))
    ref_margins = reference.predict(deval, output_margin=True)
  else:
    import lightgbm as lgb
    dtrain = lgb.Dataset(x, label=y, params={'verbose': -1})
    reference = lgb.train({**LGB, 'objective': 'multiclass', 'num_class': 10}, dtrain, ROUNDS)
    booster = lgb.train({**LGB, 'num_class': 10, 'objective': bt.lightgbm_objective(head)}, dtrain, ROUNDS)
    ref_margins = reference.predict(x_eval, raw_score=True)
  return (_metrics(head, bt.margins(head, booster, x_eval), y_eval),
          _metrics(head, ref_margins, y_eval), y_eval.size)


def _tolerance(accuracy: float, n: int) -> float:
  """Two binomial standard errors of an accuracy measured on ``n`` labels."""
  return 2 * np.sqrt(accuracy * (1 - accuracy) / n)


@pytest.mark.parametrize('library', ['xgboost', 'lightgbm'])
def test_multi_class_quality(library):
  pytest.importorskip(library)
  head_side, builtin, n = quality(library, 'multi_class')
  assert head_side['accuracy'] >= builtin['accuracy'] - _tolerance(builtin['accuracy'], n)
  assert head_side['accuracy'] > 0.85


def test_multi_label_quality():
  pytest.importorskip('xgboost')
  head_side, builtin, n = quality('xgboost', 'multi_label')
  key = ACCURACY_AT_HALF
  assert head_side[key] >= builtin[key] - _tolerance(builtin[key], n)
  assert head_side['auc'] >= builtin['auc'] - 0.01
  assert head_side['auc'] > 0.9


if __name__ == '__main__':
  for library, task in (('xgboost', 'multi_class'), ('lightgbm', 'multi_class'), ('xgboost', 'multi_label')):
    head_side, builtin, n = quality(library, task)
    keys = ('accuracy', 'average_loss') if task == 'multi_class' else (ACCURACY_AT_HALF, 'average_loss', 'auc')
    print(f'{library} {task} ({n} eval labels): ' + ', '.join(
        f'{k} head {head_side[k]:.4f} built-in {builtin[k]:.4f}' for k in keys))
