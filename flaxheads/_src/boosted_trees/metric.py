"""A head's metrics as the evaluation callback of XGBoost (``custom_metric``) and LightGBM (``feval``).

The callback computes ``head.update_metrics`` on the margins and the data's
labels and weights, and reports every key of ``head.metrics()``. The libraries
pass raw margins only when the objective is a callable; next to a built-in
objective they pass its transformed predictions (probabilities, rates), which
the callback must be told about (``transformed=True``): it then maps them back
to margins (logit, log). A multi-class head refuses rows that look like
probabilities (every row sums to 1) unless told so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import flaxheads as fh
from flaxheads._src.boosted_trees import inputs, objective

_HIGHER_IS_BETTER = ('accuracy', 'auc', 'precision', 'recall')
_TINY = 1e-15


def metric_state(head: Any, batch: inputs.Batch) -> dict[str, fh.metrics.Metric]:
  """``head.update_metrics`` of one checked batch, from the head's empty state."""
  weighted = inputs.weighted_head(head, batch.weights is not None)
  features = inputs.features(weighted, batch.weights)
  return weighted.update_metrics(weighted.metrics(), features, batch.margins, batch.labels)


def margins_of(head: Any, predictions: Any) -> np.ndarray:
  """Margins from a built-in objective's transformed predictions (probabilities, Poisson rates)."""
  p = np.asarray(predictions, np.float64)
  if isinstance(head, (fh.BinaryClassHead, fh.LogisticRegressionHead, fh.MultiLabelHead)):
    p = np.clip(p, _TINY, 1 - _TINY)
    return (np.log(p) - np.log1p(-p)).astype(np.float32)
  if isinstance(head, (fh.MultiClassHead, fh.PoissonRegressionHead)):
    return np.log(np.maximum(p, _TINY)).astype(np.float32)
  return p.astype(np.float32)


def _check_not_probabilities(head: Any, margins: np.ndarray) -> None:
  if isinstance(head, fh.MultiClassHead) and margins.size:
    rows = margins.reshape(len(margins), -1)
    if rows.min() >= 0 and np.allclose(rows.sum(axis=1), 1, atol=1e-5):
      raise ValueError('predictions look like probabilities (every row is >= 0 and sums to 1), not '
                       'margins: the objective is a built-in one. Use the head objective, or build the '
                       'metric with transformed=True.')


def higher_is_better(key: str) -> bool:
  """LightGBM's ``is_higher_better`` of a metric key (accuracy, AUC, precision, recall)."""
  return any(word in key for word in _HIGHER_IS_BETTER)


@dataclasses.dataclass(frozen=True)
class Metric:
  """``head``'s metrics as an evaluation callback (see :func:`flaxheads.boosted_trees.xgboost_metric`).

  Attributes:
    head: a single-task head.
    library: ``'xgboost'`` (``[(name, value), ...]``) or ``'lightgbm'``
      (``[(name, value, is_higher_better), ...]``).
    transformed: the predictions are the built-in objective's transformed
      ones (probabilities, rates), not margins.
    key: report only this metric key; required by XGBoost's scikit-learn
      ``eval_metric``, which takes one float.
  """

  head: Any
  library: str = 'xgboost'
  _: dataclasses.KW_ONLY
  transformed: bool = False
  key: str | None = None

  def __post_init__(self):
    inputs.check_head(self.head)
    if self.library not in ('xgboost', 'lightgbm'):
      raise ValueError(f"library must be 'xgboost' or 'lightgbm', got {self.library!r}.")
    if self.key is not None and self.key not in self.head.metrics():
      raise ValueError(f'key must be one of the head\'s metric keys {list(self.head.metrics())}, got '
                       f'{self.key!r}.')

  @property
  def __name__(self) -> str:  # XGBoost's scikit-learn wrapper names the metric by it
    return self.key or 'head_metrics'

  def results(self, labels: Any, predictions: Any, weights: Any = None) -> dict[str, float]:
    """``{metric key: value}`` of one evaluation set."""
    margins = margins_of(self.head, predictions) if self.transformed else np.asarray(predictions)
    if not self.transformed:
      _check_not_probabilities(self.head, margins)
    state = metric_state(self.head, inputs.batch(self.head, labels, margins, weights))
    return {k: float(v) for k, v in fh.metrics.results(state).items()}

  def __call__(self, first: Any, second: Any, *rest: Any, sample_weight: Any = None):
    native = hasattr(second, 'get_label')
    if native:  # (predictions, data)
      labels, weights = objective.data_arrays(second)
      values = self.results(labels, first, weights)
    else:  # scikit-learn: (y_true, y_pred[, weight])
      values = self.results(first, second, rest[0] if rest else sample_weight)
    if self.key is not None:
      values = {self.key: values[self.key]}
    if self.library == 'xgboost' and not native:
      if self.key is None:
        raise TypeError('XGBoost\'s scikit-learn eval_metric takes one float: build the metric with '
                        'key=, e.g. xgboost_metric(head, key="auc").')
      return values[self.key]
    if self.library == 'xgboost':
      return list(values.items())
    return [(k, v, higher_is_better(k)) for k, v in values.items()]
