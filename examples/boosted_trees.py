"""Boosted trees with a head: XGBoost and LightGBM grow trees on MultiClassHead's loss.

The digits (10 classes) with string labels: the head's vocabulary encodes them
for the libraries, the head's objective gives the gradient and Hessian, the
head's metrics are reported while boosting and on held-out data, and the
predictions are the head's (Estimator keys, decoded class strings).
"""

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn import datasets

import flaxheads as fh
from flaxheads import boosted_trees as bt

NAMES = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')


def main():
  digits = datasets.load_digits()
  x, names = digits.data.astype(np.float32), np.asarray(NAMES)[digits.target]
  head = fh.MultiClassHead(10, label_vocabulary=NAMES)
  y = head.encode_labels(names)  # strings -> class ids, by the head's vocabulary
  train, test = slice(0, 1400), slice(1400, None)

  # XGBoost: the head objective starts every margin at 0 (base_score=0).
  dtrain, dtest = xgb.DMatrix(x[train], label=y[train]), xgb.DMatrix(x[test], label=y[test])
  history = {}
  booster = xgb.train({'tree_method': 'hist', 'max_depth': 3, 'num_class': 10, 'base_score': 0.,
                       'disable_default_eval_metric': 1}, dtrain, 30, obj=bt.xgboost_objective(head),
                      custom_metric=bt.xgboost_metric(head), evals=[(dtest, 'test')], evals_result=history,
                      verbose_eval=False)
  predictions = head.decode_predictions(bt.predict(head, booster, x[test]))
  print('XGBoost: first test predictions', predictions['classes'][:5, 0].tolist(),
        'of', names[test][:5].tolist())

  # LightGBM: the same head, as its objective and its feval.
  lgb_booster = lgb.train({'objective': bt.lightgbm_objective(head), 'num_class': 10, 'num_leaves': 8,
                           'verbose': -1, 'metric': 'None'},
                          lgb.Dataset(x[train], label=y[train]), 30,
                          valid_sets=[lgb.Dataset(x[test], label=y[test])], feval=bt.lightgbm_metric(head))
  state = head.update_metrics(head.metrics(), None, bt.margins(head, lgb_booster, x[test]), y[test])
  lightgbm_results = fh.metrics.results(state)
  print({'accuracy': history['test']['accuracy'][-1], 'average_loss': history['test']['average_loss'][-1],
         'lightgbm_accuracy': float(lightgbm_results['accuracy'])})


if __name__ == '__main__':
  main()
