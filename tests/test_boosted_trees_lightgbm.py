"""LightGBM with head objectives: the same trees as the built-in objectives, metrics, predictions."""

import copy
import warnings

import numpy as np
import pytest

import flaxheads as fh
from flaxheads import boosted_trees as bt

import trees_util

lgb = pytest.importorskip('lightgbm')

ROUNDS = 5
BASE = {'num_leaves': 7, 'min_data_in_leaf': 5, 'num_threads': 1, 'verbose': -1, 'deterministic': True,
        'force_row_wise': True, 'seed': 0}

EQUIVALENT = {
    'binary': (fh.BinaryClassHead(weight_column='w'), 'binary',
               {'objective': 'binary', 'lambda_l2': 0.5, 'min_gain_to_split': 0.1}),
    'regression': (fh.RegressionHead(), 'regression',
                   {'objective': 'regression', 'lambda_l2': 1., 'min_gain_to_split': 0.5,
                    'min_sum_hessian_in_leaf': 3., 'lambda_l1': 0.2}),
    'poisson': (fh.PoissonRegressionHead(), 'poisson',
                {'objective': 'poisson', 'poisson_max_delta_step': 1e-12}),
    'multi_class': (fh.MultiClassHead(3), 'multi_class',
                    {'objective': 'multiclass', 'num_class': 3, 'lambda_l2': 2.}),
}


def _train(params, x, y, w=None, init_score=None, **kwargs):
  data = lgb.Dataset(x, label=y, weight=w, init_score=init_score, params={'verbose': -1})
  return lgb.train(params, data, ROUNDS, **kwargs)


@pytest.mark.parametrize('name', sorted(EQUIVALENT))
def test_same_trees_as_the_builtin_objective(name):
  head, kind, params = EQUIVALENT[name]
  x, y, w = trees_util.data(kind)
  w = w if head.weight_column else None
  zeros = np.zeros((len(x), head.logits_dimension)).squeeze(-1) if head.logits_dimension == 1 else \
      np.zeros((len(x), head.logits_dimension))
  builtin = _train({**BASE, **params, 'boost_from_average': False}, x, y, w, init_score=zeros)
  head_side = bt.head_params(head, params, library='lightgbm')
  booster = _train({**BASE, **head_side, 'objective': bt.lightgbm_objective(head)}, x, y, w)
  trees_util.assert_same_trees(trees_util.lightgbm_trees(builtin, x), trees_util.lightgbm_trees(booster, x))
  np.testing.assert_allclose(bt.margins(head, booster, x),
                             builtin.predict(x, raw_score=True).reshape(len(x), -1), rtol=1e-4, atol=1e-5)


def test_feval_equals_update_metrics_and_survives_the_params_copy():
  head = fh.MultiClassHead(3, weight_column='w')
  x, y, w = trees_util.data('multi_class')
  objective = bt.lightgbm_objective(head)
  assert copy.deepcopy(objective) == objective  # lightgbm.train deep-copies its params
  history = {}
  valid = lgb.Dataset(x[300:], label=y[300:], weight=w[300:])
  booster = lgb.train({**BASE, 'num_class': 3, 'objective': objective, 'metric': 'None'},
                      lgb.Dataset(x[:300], label=y[:300], weight=w[:300]), 3, valid_sets=[valid],
                      valid_names=['eval'], feval=bt.lightgbm_metric(head),
                      callbacks=[lgb.record_evaluation(history)])
  margins = booster.predict(x[300:], raw_score=True)
  expected = fh.metrics.results(head.update_metrics(head.metrics(), {'w': w[300:]}, margins,
                                                    y[300:].astype(np.int32)))
  assert list(history['eval']) == list(expected)
  for key, value in expected.items():
    np.testing.assert_allclose(history['eval'][key][-1], value, rtol=1e-6, err_msg=key)
  assert bt.lightgbm_metric(head)(margins, valid.construct())[1] == ('accuracy', expected['accuracy'], True)


def test_predict_equals_head_predictions():
  head = fh.PoissonRegressionHead()
  x, y, _ = trees_util.data('poisson')
  booster = _train({**BASE, 'objective': bt.lightgbm_objective(head)}, x, y)
  predictions = bt.predict(head, booster, x)
  expected = head.predictions(booster.predict(x, raw_score=True)[:, None])
  assert list(predictions) == list(expected)
  for key in expected:
    np.testing.assert_array_equal(predictions[key], expected[key])


def test_sklearn_wrappers():
  head = fh.BinaryClassHead(weight_column='w')
  x, y, w = trees_util.data('binary')
  objective, metric = bt.lightgbm_objective(head), bt.lightgbm_metric(head)
  sk_params = {'num_leaves': 7, 'min_child_samples': 5, 'n_jobs': 1, 'verbose': -1, 'deterministic': True,
               'force_row_wise': True, 'random_state': 0}
  model = lgb.LGBMClassifier(objective=objective, n_estimators=ROUNDS, **sk_params)
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # feature names
    model.fit(x, y, sample_weight=w, eval_set=[(x, y)], eval_sample_weight=[w], eval_metric=metric)
  native = _train({**BASE, 'objective': objective}, x, y, w)
  trees_util.assert_same_trees(trees_util.lightgbm_trees(model.booster_, x), trees_util.lightgbm_trees(native, x),
                               rtol=0, atol=0)
  margins = bt.margins(head, model, x)
  auc = float(head.update_metrics(head.metrics(), {'w': w}, margins, y)['auc'].compute())
  np.testing.assert_allclose(model.evals_result_['training']['auc'][-1], auc, rtol=1e-6)


def test_multi_output_heads_are_xgboost_only():
  head = fh.MultiLabelHead(3)
  x, y, _ = trees_util.data('multi_label', n=50)
  with pytest.raises(ValueError, match=r'margins.*\[n, 3\].*\(50,\)'):
    bt.lightgbm_objective(head)(np.zeros(50), lgb.Dataset(x, label=np.ascontiguousarray(y[:, 0])).construct())
