"""XGBoost with head objectives: the same trees as the built-in objectives, metrics, predictions."""

import pickle

import jax
import numpy as np
import pytest

import flaxheads as fh
from flaxheads import boosted_trees as bt

import trees_util

xgb = pytest.importorskip('xgboost')

ROUNDS = 5
BASE = {'tree_method': 'hist', 'max_depth': 3, 'nthread': 1, 'seed': 0}

# head, its data, the built-in parameters it reproduces
EQUIVALENT = {
    'binary': (fh.BinaryClassHead(weight_column='w'), 'binary',
               {'objective': 'binary:logistic', 'lambda': 0.5, 'gamma': 0.1}),
    'regression': (fh.RegressionHead(), 'regression',
                   {'objective': 'reg:squarederror', 'lambda': 1., 'gamma': 0.5, 'min_child_weight': 3.,
                    'alpha': 0.2}),
    'poisson': (fh.PoissonRegressionHead(), 'poisson',
                {'objective': 'count:poisson', 'max_delta_step': 0.}),
    'multi_class': (fh.MultiClassHead(3), 'multi_class',
                    {'objective': 'multi:softprob', 'num_class': 3, 'lambda': 2., 'gamma': 0.2}),
    'multi_label': (fh.MultiLabelHead(3), 'multi_label',
                    {'objective': 'binary:logistic', 'lambda': 1., 'min_child_weight': 0.5}),
}


def _dmatrix(x, y, w=None, *, k=1):
  return xgb.DMatrix(x, label=y, weight=w, base_margin=np.zeros((len(x), k), np.float32).squeeze(-1)
                     if k == 1 else np.zeros((len(x), k), np.float32))


def _train_pair(name, *, mapped=True):
  head, kind, params = EQUIVALENT[name]
  x, y, w = trees_util.data(kind)
  weighted = head.weight_column is not None
  k = head.logits_dimension
  builtin = xgb.train({**BASE, **params}, _dmatrix(x, y, w if weighted else None, k=k), ROUNDS)
  head_side = bt.head_params(head, params, library='xgboost') if mapped else {
      **{k: v for k, v in params.items() if k != 'objective'}, 'base_score': 0.}
  booster = xgb.train({**BASE, **head_side}, xgb.DMatrix(x, label=y, weight=w if weighted else None),
                      ROUNDS, obj=bt.xgboost_objective(head))
  return head, x, builtin, booster


@pytest.mark.parametrize('name', sorted(EQUIVALENT))
def test_same_trees_as_the_builtin_objective(name):
  head, x, builtin, booster = _train_pair(name)
  trees_util.assert_same_trees(trees_util.xgboost_trees(builtin), trees_util.xgboost_trees(booster))
  margins = builtin.predict(_dmatrix(x, None, k=head.logits_dimension), output_margin=True)
  np.testing.assert_allclose(bt.margins(head, booster, x), margins.reshape(len(x), -1),
                             rtol=1e-4, atol=1e-5)


def test_the_mapping_matters():
  _, _, builtin, booster = _train_pair('regression', mapped=False)
  assert trees_util.xgboost_trees(builtin)[0] != trees_util.xgboost_trees(booster)[0]


def test_head_params_mapping():
  params = {'objective': 'multi:softprob', 'num_class': 4, 'reg_lambda': 2., 'alpha': 1., 'gamma': 1.,
            'min_child_weight': 4., 'learning_rate': 0.2, 'max_delta_step': 1.}
  p = bt.head_params(fh.MultiClassHead(4), params, library='xgboost')  # a = 1, b = 2
  assert p == {'num_class': 4, 'lambda': 1., 'alpha': 1., 'gamma': 2., 'min_child_weight': 2.,
               'eta': 0.1, 'max_delta_step': 2., 'base_score': 0.}
  assert bt.builtin_scales(fh.MultiLabelHead(5), {'objective': 'binary:logistic'},
                           library='xgboost') == (5., 5.)
  with pytest.raises(ValueError, match="objective.*reg:squarederror.*'binary:logistic'"):
    bt.head_params(fh.RegressionHead(), {'objective': 'binary:logistic'}, library='xgboost')


def test_metric_callback_equals_update_metrics():
  head = fh.BinaryClassHead(weight_column='w', thresholds=(0.3,))
  x, y, w = trees_util.data('binary')
  dtrain, deval = xgb.DMatrix(x[:300], label=y[:300], weight=w[:300]), xgb.DMatrix(x[300:], label=y[300:],
                                                                                    weight=w[300:])
  history = {}
  booster = xgb.train({**BASE, 'base_score': 0., 'disable_default_eval_metric': 1}, dtrain, 3,
                      obj=bt.xgboost_objective(head), custom_metric=bt.xgboost_metric(head),
                      evals=[(deval, 'eval')], evals_result=history, verbose_eval=False)
  margins = booster.predict(deval, output_margin=True)[:, None]
  state = head.update_metrics(head.metrics(), {'w': w[300:]}, margins, y[300:])
  expected = fh.metrics.results(state)
  assert list(history['eval']) == list(expected)
  for key, value in expected.items():
    np.testing.assert_allclose(history['eval'][key][-1], value, rtol=1e-6, err_msg=key)


def test_metric_on_builtin_probabilities_needs_transformed():
  head = fh.MultiClassHead(3)
  x, y, _ = trees_util.data('multi_class')
  dtrain = xgb.DMatrix(x, label=y)
  params = {**BASE, 'objective': 'multi:softprob', 'num_class': 3, 'disable_default_eval_metric': 1}
  with pytest.raises(ValueError, match='probabilities.*transformed=True'):
    xgb.train(params, dtrain, 2, custom_metric=bt.xgboost_metric(head), evals=[(dtrain, 'train')],
              verbose_eval=False)
  history = {}
  booster = xgb.train(params, dtrain, 2, custom_metric=bt.xgboost_metric(head, transformed=True),
                      evals=[(dtrain, 'train')], evals_result=history, verbose_eval=False)
  margins = booster.predict(dtrain, output_margin=True)
  expected = fh.metrics.results(head.update_metrics(head.metrics(), None, margins, y.astype(np.int32)))
  for key, value in expected.items():  # margins and log-probabilities differ by a per-row constant
    np.testing.assert_allclose(history['train'][key][-1], value, rtol=1e-5, err_msg=key)


def test_predict_equals_head_predictions():
  head = fh.MultiClassHead(3, label_vocabulary=('a', 'b', 'c'))
  x, y, _ = trees_util.data('multi_class')
  booster = xgb.train({**BASE, 'num_class': 3, 'base_score': 0.}, xgb.DMatrix(x, label=y), 3,
                      obj=bt.xgboost_objective(head))
  predictions = bt.predict(head, booster, x)
  margins = booster.predict(xgb.DMatrix(x), output_margin=True)
  expected = head.predictions(margins)
  assert list(predictions) == list(expected)
  for key in expected:
    np.testing.assert_array_equal(predictions[key], expected[key])
  assert head.decode_predictions(predictions)['classes'].shape == (len(x), 1)


def test_predict_rejects_a_nonzero_base_score():
  head = fh.BinaryClassHead()
  x, y, _ = trees_util.data('binary', n=50)
  booster = xgb.train(BASE, xgb.DMatrix(x, label=y), 1, obj=bt.xgboost_objective(head))
  with pytest.raises(ValueError, match=r'base_score must be 0.*0\.5'):
    bt.predict(head, booster, x)


def test_sklearn_wrappers():
  head = fh.BinaryClassHead(weight_column='w')
  x, y, w = trees_util.data('binary')
  objective = bt.xgboost_objective(head)
  model = xgb.XGBClassifier(objective=objective, eval_metric=bt.xgboost_metric(head, key='auc'),
                            n_estimators=ROUNDS, base_score=0.5, **BASE)  # a probability
  model.fit(x, y, sample_weight=w, eval_set=[(x, y)], sample_weight_eval_set=[w], verbose=False)
  native = xgb.train({**BASE, 'base_score': 0.}, xgb.DMatrix(x, label=y, weight=w), ROUNDS, obj=objective)
  trees_util.assert_same_trees(trees_util.xgboost_trees(model.get_booster()),
                               trees_util.xgboost_trees(native), rtol=0, atol=0)
  margins = bt.margins(head, model, x)
  auc = head.update_metrics(head.metrics(), {'w': w}, margins, y)["auc"].compute()
  np.testing.assert_allclose(model.evals_result()['validation_0']['auc'][-1], auc, rtol=1e-6)


def test_objective_pickles_and_serves_copies():
  head = fh.MultiLabelHead(3)
  objective = bt.xgboost_objective(head)
  copy = pickle.loads(pickle.dumps(objective))
  x, y, _ = trees_util.data('multi_label', n=20)
  z = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32)
  g, h = copy(z, xgb.DMatrix(x, label=y))
  eg, eh = jax.jit(head.gradient_and_hessian)(y, z)
  np.testing.assert_allclose(g, eg, rtol=1e-6)
  np.testing.assert_allclose(h, eh, rtol=1e-6)


@pytest.mark.parametrize('head', [fh.MultiClassHead(4, weight_column='w'), fh.MultiLabelHead(4, weight_column='w')],
                         ids=['multi_class', 'multi_label'])
def test_closed_forms_equal_autodiff(head):
  from flaxheads._src.boosted_trees import objective as objective_lib
  rng = np.random.default_rng(3)
  z = rng.normal(size=(30, 4)).astype(np.float32) * 3
  if isinstance(head, fh.MultiClassHead):
    y = rng.integers(0, 4, 30)
  else:
    y = rng.integers(0, 2, (30, 4)).astype(np.float32)
  w = rng.uniform(0.5, 2, 30).astype(np.float32)
  assert objective_lib.closed_form(head, y, z, w) is not None
  g, h = objective_lib.compiled_gradient(head, True)(y, z, w)
  eg, eh = jax.jit(head.gradient_and_hessian)(y, z, {'w': w})
  np.testing.assert_allclose(g, eg, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(h, eh, rtol=1e-5, atol=1e-7)
