"""Heads for gradient boosted trees: a head's loss as the objective, its metrics as the evaluation.

XGBoost and LightGBM grow trees on the gradient and Hessian of a loss with
respect to the margins (the logits). These adapters give them a head's:

>>> import numpy as np, xgboost as xgb
>>> import flaxheads as fh
>>> from flaxheads import boosted_trees as bt
>>> head = fh.BinaryClassHead()
>>> x = np.arange(40.)[:, None]; y = (x[:, 0] > 19).astype(np.float32)
>>> dtrain = xgb.DMatrix(x, label=y)
>>> booster = xgb.train({'base_score': 0, 'disable_default_eval_metric': 1}, dtrain, 5,
...                     obj=bt.xgboost_objective(head), custom_metric=bt.xgboost_metric(head),
...                     evals=[(dtrain, 'train')], verbose_eval=False)
>>> bt.predict(head, booster, x)['class_ids'][[0, 39], 0].tolist()
[0, 1]

The objectives and metrics are picklable objects holding the head; the same
object serves the native APIs (``(predt, data)``) and the scikit-learn
wrappers (``(y_true, y_pred, ...)``). Needs ``pip install "flaxheads[trees]"``.
"""

from flaxheads._src.boosted_trees.dask import dask_evaluate
from flaxheads._src.boosted_trees.equivalence import builtin_scales, head_params
from flaxheads._src.boosted_trees.metric import Metric
from flaxheads._src.boosted_trees.objective import Objective
from flaxheads._src.boosted_trees.prediction import margins, predict


def xgboost_objective(head) -> Objective:
  """``obj(predt, dtrain) -> (grad, hess)`` for ``xgboost.train(params, dtrain, obj=...)``.

  Also ``XGBModel(objective=...)``: ``obj(y_true, y_pred, sample_weight=None)``.
  Train with ``base_score=0`` (XGBoost starts a callable objective at margin
  0.5; :func:`predict` checks it). Multi-class heads need ``num_class``;
  multi-output heads (``MultiLabelHead``, ``RegressionHead(label_dimension>1)``)
  need labels of shape ``[n, logits_dimension]``.
  """
  return Objective(head)


def lightgbm_objective(head) -> Objective:
  """``fobj(preds, train_data) -> (grad, hess)`` for ``lightgbm.train({'objective': fobj, ...}, ...)``.

  Also ``LGBMModel(objective=...)``: ``fobj(y_true, y_pred[, weight[, group]])``.
  LightGBM has one output per class at most: ``MultiClassHead`` needs
  ``num_class``; multi-output regression and multi-label heads are XGBoost-only.
  """
  return Objective(head)


def xgboost_metric(head, *, transformed: bool = False, key: str | None = None) -> Metric:
  """``custom_metric(predt, dtrain) -> [(key, value), ...]``: every key of ``head.metrics()``.

  Values are those of ``head.update_metrics`` on the margins, labels and
  weights. ``transformed=True`` when XGBoost passes a built-in objective's
  probabilities (or rates) instead of margins; ``key`` reports one metric (the
  scikit-learn ``eval_metric`` takes one float: ``metric(y_true, y_pred)``).
  """
  return Metric(head, 'xgboost', transformed=transformed, key=key)


def lightgbm_metric(head, *, transformed: bool = False, key: str | None = None) -> Metric:
  """``feval(preds, eval_data) -> [(key, value, is_higher_better), ...]``, the head's metric keys.

  ``is_higher_better`` is true for accuracy, AUC, precision and recall keys.
  Also ``LGBMModel.fit(eval_metric=...)``: ``feval(y_true, y_pred[, weight])``.
  """
  return Metric(head, 'lightgbm', transformed=transformed, key=key)


__all__ = (
    'Metric',
    'Objective',
    'builtin_scales',
    'dask_evaluate',
    'head_params',
    'lightgbm_metric',
    'lightgbm_objective',
    'margins',
    'predict',
    'xgboost_metric',
    'xgboost_objective',
)
