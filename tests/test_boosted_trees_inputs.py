"""Bad input to the boosted-trees adapters: a ValueError from flaxheads before the library grows a tree."""

import numpy as np
import pytest

import flaxheads as fh
from flaxheads import boosted_trees as bt

import trees_util

xgb = pytest.importorskip('xgboost')
lgb = pytest.importorskip('lightgbm')

X, _, W = trees_util.data('binary', n=20)
PARAMS = {'tree_method': 'hist', 'nthread': 1, 'base_score': 0.}


def _xgb_train(head, y, *, weight=None, **params):
  return xgb.train({**PARAMS, **params}, xgb.DMatrix(X, label=y, weight=weight), 1,
                   obj=bt.xgboost_objective(head))


def _lgb_train(head, y, *, weight=None, **params):
  small = {'verbose': -1, 'min_data_in_leaf': 1, 'min_data_in_bin': 1}  # 20 rows
  data = lgb.Dataset(X, label=y, weight=weight, params=small)
  return lgb.train({**small, 'num_threads': 1, **params, 'objective': bt.lightgbm_objective(head)},
                   data, 1)


def test_binary_labels_outside_0_1():
  y = np.zeros(20)
  y[7] = 2.
  with pytest.raises(ValueError, match=r'labels of BinaryClassHead must be values in \[0, 1\]; got 2.0 at '
                                       r'row 7 \(1 invalid rows\)'):
    _xgb_train(fh.BinaryClassHead(), y)
  with pytest.raises(ValueError, match=r'labels of BinaryClassHead must be values in \[0, 1\]; got 2.0'):
    _lgb_train(fh.BinaryClassHead(), y)


def test_class_ids_outside_the_classes():
  y = np.arange(20) % 3
  with pytest.raises(ValueError, match=r'class ids in \[0, n_classes - 1 = 2\]; got 3.0 at row 3'):
    _xgb_train(fh.MultiClassHead(3), np.arange(20) % 4, num_class=3)
  with pytest.raises(ValueError, match=r'class ids in \[0, n_classes - 1 = 2\]; got 0.5 at row 0'):
    _lgb_train(fh.MultiClassHead(3), y + 0.5 * (np.arange(20) == 0), num_class=3)
  with pytest.raises(ValueError, match=r'counts >= 0; got -1.0 at row 0'):
    _xgb_train(fh.PoissonRegressionHead(), -(np.arange(20) == 0).astype(float))


def test_margins_of_the_wrong_width():
  y = np.arange(20) % 3
  with pytest.raises(ValueError, match=r'margins .* must have shape \[n, 3\] for MultiClassHead with '
                                       r'logits_dimension=3, got shape \(20, 4\)'):
    _xgb_train(fh.MultiClassHead(3), y, num_class=4)
  with pytest.raises(ValueError, match=r'shape \[n, 3\] .* got shape \(20,\)'):
    _lgb_train(fh.MultiClassHead(3), y)  # num_class missing: one output
  with pytest.raises(ValueError, match=r'shape \[n\] or \[n, 1\] .* got shape \(20, 2\)'):
    bt.xgboost_metric(fh.BinaryClassHead())(np.zeros((20, 2), np.float32), xgb.DMatrix(X, label=y % 2))
  booster = _xgb_train(fh.MultiClassHead(3), y, num_class=3)
  with pytest.raises(ValueError, match=r'shape \[n, 4\] .* got shape \(20, 3\)'):
    bt.predict(fh.MultiClassHead(4), booster, X)


def test_labels_of_the_wrong_shape():
  with pytest.raises(ValueError, match=r'labels must have 60 values \(\[20, 3\].*got shape \(20,\)'):
    bt.xgboost_objective(fh.MultiLabelHead(3))(np.zeros((20, 3)), xgb.DMatrix(X, label=np.zeros(20)))


def test_missing_weights_where_the_head_has_a_weight_column():
  head = fh.BinaryClassHead(weight_column='w')
  y = (np.arange(20) % 2).astype(float)
  with pytest.raises(ValueError, match=r"weights: the head reads example weights from weight_column 'w', "
                                       r'but the data has none'):
    _xgb_train(head, y)
  with pytest.raises(ValueError, match=r"weight_column 'w', but the data has none"):
    _lgb_train(head, y)
  with pytest.raises(ValueError, match=r"weight_column 'w'"):
    bt.lightgbm_objective(head)(y, np.zeros(20))  # scikit-learn call without weights
  bad = W.copy()
  bad[4] = np.nan
  with pytest.raises(ValueError, match=r'weights must be finite and >= 0, got nan at row 4'):
    bt.xgboost_objective(head)(y, np.zeros(20, np.float32), sample_weight=bad)  # scikit-learn call


def test_data_weights_are_used_when_the_head_has_no_weight_column():
  y = (np.arange(20) % 2).astype(np.float32)
  z = np.linspace(-1, 1, 20).astype(np.float32)
  g, h = bt.xgboost_objective(fh.BinaryClassHead())(z, xgb.DMatrix(X, label=y, weight=W))
  eg, eh = fh.BinaryClassHead(weight_column='w').gradient_and_hessian(y, z[:, None], {'w': W})
  np.testing.assert_allclose(g, eg[:, 0], rtol=1e-6)
  np.testing.assert_allclose(h, eh[:, 0], rtol=1e-6)


def test_unsupported_heads():
  with pytest.raises(TypeError, match='single-task head .* got MultiHead'):
    bt.xgboost_objective(fh.MultiHead([fh.BinaryClassHead(name='a'), fh.RegressionHead(name='b')]))
  with pytest.raises(TypeError, match='weight_column must be a feature name or None'):
    bt.lightgbm_objective(fh.RegressionHead(weight_column=lambda f: f['w']))
  with pytest.raises(ValueError, match="key must be one of the head's metric keys"):
    bt.xgboost_metric(fh.RegressionHead(), key='auc')
  with pytest.raises(TypeError, match='takes one float: build the metric with key='):
    bt.xgboost_metric(fh.RegressionHead())(np.zeros(3), np.zeros(3))


def test_batches_are_aligned_for_jax_to_read_in_place():
  from flaxheads._src.boosted_trees import inputs
  margins = np.arange(3 * 41, dtype=np.float32).reshape(41, 3)[:, ::-1]  # neither contiguous nor aligned
  batch = inputs.batch(fh.MultiClassHead(3), np.arange(41) % 3, margins, np.ones(41, np.float32))
  for array in batch:
    assert array.flags.c_contiguous and array.ctypes.data % 64 == 0
  np.testing.assert_array_equal(batch.margins, margins)
  assert inputs.aligned(batch.margins) is batch.margins
