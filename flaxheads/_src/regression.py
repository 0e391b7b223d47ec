"""Regression heads: squared error, Poisson and logistic regression."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import base, checks, losses
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import LossReduction, MetricKeys, PredictionKeys, SignatureKeys


def _validate(head: _RegressionFamily) -> None:
  """Validates (and normalizes) the arguments every regression head has."""
  if not isinstance(head.label_dimension, int):
    raise TypeError(f'label_dimension must be an int, got {head.label_dimension!r}.')
  if head.label_dimension < 1:
    raise ValueError(f'Invalid label_dimension {head.label_dimension}.')
  base.weight_column(head.weight_column)
  object.__setattr__(head, 'loss_reduction', checks.loss_reduction(head.loss_reduction))


class _RegressionFamily(base.SingleHead):
  """Shared by the regression heads: float labels, per-logit weights, mean metrics."""

  @property
  @abc.abstractmethod
  def label_dimension(self) -> int:
    """The number of values predicted per example."""

  @property
  @abc.abstractmethod
  def _link(self) -> Callable[[jax.Array], jax.Array] | None:
    """The inverse link function mapping logits to predictions; None for the identity."""

  @property
  def logits_dimension(self) -> int:
    return self.label_dimension

  @property
  def _label_width(self) -> int:
    return self.label_dimension

  _per_logit_weights = True

  @property
  def _prediction_keys(self) -> tuple[str, ...]:
    if self._link is None:
      return (PredictionKeys.PREDICTIONS,)
    return (PredictionKeys.PREDICTIONS, PredictionKeys.LOGITS)

  @abc.abstractmethod
  def _label_validity(self, labels: jax.Array) -> jax.Array | bool:
    """Checks label values; returns the per-row validity ``[D0, ..., DN, 1]`` or True."""

  def _labels(self, labels: Any, logits: jax.Array) -> tuple[jax.Array, jax.Array | bool]:
    labels = checks.dense_labels(labels, logits.shape, self.label_dimension).astype(jnp.float32)
    return labels, self._label_validity(labels)

  def _prediction_dict(self, logits: jax.Array) -> dict[str, jax.Array]:
    if self._link is None:
      return {PredictionKeys.PREDICTIONS: logits}
    return {PredictionKeys.PREDICTIONS: self._link(logits), PredictionKeys.LOGITS: logits}

  def _signatures(self, predictions):
    return {SignatureKeys.REGRESS: {'value': predictions[PredictionKeys.PREDICTIONS]}}

  def decode_predictions(self, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Host side: the predictions as numpy arrays (regression has no string keys)."""
    return {k: np.asarray(v) for k, v in predictions.items()}

  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: labels as a float32 numpy array."""
    if checks.is_string_array(labels):
      raise TypeError(f'{type(self).__name__} labels must be numeric, got strings.')
    return np.asarray(labels, np.float32)

  def _batch_metrics(self, batch: base.Batch, regularization_losses) -> dict[str, metrics_lib.Metric]:
    w = batch.weights
    predictions = self._prediction_dict(batch.logits)[PredictionKeys.PREDICTIONS]
    return {
        self._key(MetricKeys.LOSS_MEAN): metrics_lib.Mean.from_values(batch.unweighted_loss, w),
        self._key(MetricKeys.PREDICTION_MEAN): metrics_lib.Mean.from_values(predictions, w),
        self._key(MetricKeys.LABEL_MEAN): metrics_lib.Mean.from_values(batch.labels, w),
        **self._regularization_metric(regularization_losses),
    }


@final
@dataclasses.dataclass(frozen=True)
class RegressionHead(_RegressionFamily):
  """Regression with mean squared error (``tf.estimator.RegressionHead``).

  The unweighted loss is ``(logits - labels)**2`` per element, shape
  ``[D0, ..., DN, label_dimension]``; ``SUM_OVER_BATCH_SIZE`` divides by
  ``batch * label_dimension``. Weights may be ``[D0, ..., DN]``,
  ``[D0, ..., DN, 1]`` or per value ``[D0, ..., DN, label_dimension]``.

  Args:
    label_dimension: values predicted per example (>= 1).
    weight_column: a feature name, or a callable ``features -> weights``.
    loss_reduction: a :class:`LossReduction` or its string.
    loss_fn: ``loss_fn(labels, logits[, features][, loss_reduction])`` returning
      the unweighted loss ``[D0, ..., DN, label_dimension]``.
    inverse_link_fn: maps logits to ``predictions`` (``logits`` are then
      returned too); it is used by the metrics as well.
    name: suffixes every metric key with ``/name``.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.RegressionHead()
    >>> float(head.loss(jnp.array([1., 2.]), jnp.array([[1.5], [2.]])))
    0.125
  """

  label_dimension: int = 1
  _: dataclasses.KW_ONLY
  weight_column: base.WeightColumn = None
  loss_reduction: LossReduction | str = LossReduction.SUM_OVER_BATCH_SIZE
  loss_fn: Callable[..., ArrayLike] | None = None
  inverse_link_fn: Callable[[jax.Array], jax.Array] | None = None
  name: str | None = None

  def __post_init__(self):
    _validate(self)
    if self.loss_fn is not None:
      checks.loss_fn_args(self.loss_fn)
    if self.inverse_link_fn is not None and not callable(self.inverse_link_fn):
      raise TypeError(f'inverse_link_fn must be callable, got {type(self.inverse_link_fn).__name__}.')
    checks.hashable(self.inverse_link_fn, 'inverse_link_fn')

  def _label_validity(self, labels):
    return True

  @property
  def _link(self):
    return self.inverse_link_fn

  def _default_loss(self, labels, logits):
    return jnp.square(logits - labels)


@final
@dataclasses.dataclass(frozen=True)
class PoissonRegressionHead(_RegressionFamily):
  """Poisson regression on log rates (``tf.estimator.PoissonRegressionHead``).

  Logits are log rates; ``predictions`` are ``exp(logits)``. The loss is
  :func:`flaxheads.losses.log_poisson_loss`. Labels must be counts >= 0: a negative label is a
  ``ValueError`` eagerly and makes the loss NaN under ``jit`` (Estimator returns
  NaN silently, or a plausible number without ``compute_full_loss``).

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.PoissonRegressionHead()
    >>> head.predictions(jnp.zeros((1, 1)))['predictions'].tolist()
    [[1.0]]
  """

  label_dimension: int = 1
  _: dataclasses.KW_ONLY
  weight_column: base.WeightColumn = None
  loss_reduction: LossReduction | str = LossReduction.SUM_OVER_BATCH_SIZE
  compute_full_loss: bool = True
  name: str | None = None

  def __post_init__(self):
    _validate(self)

  def _label_validity(self, labels):
    non_negative = labels >= 0
    checks.check_values(jnp.all(non_negative), 'Labels of PoissonRegressionHead must be >= 0 '
                        '(counts).')
    return jnp.all(non_negative, axis=-1, keepdims=True)

  @property
  def _link(self):
    return jnp.exp

  def _default_loss(self, labels, logits):
    return losses.log_poisson_loss(labels, logits, compute_full_loss=self.compute_full_loss)


@final
@dataclasses.dataclass(frozen=True)
class LogisticRegressionHead(_RegressionFamily):
  """Regression of a probability in [0, 1] (``tf.estimator.LogisticRegressionHead``).

  The loss is sigmoid cross-entropy on the logits, ``predictions`` are
  ``sigmoid(logits)``, and the metrics are the regression ones. Labels may be
  soft, in [0, 1].

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.LogisticRegressionHead()
    >>> round(float(head.loss(jnp.array([1.]), jnp.array([[0.]]))), 6)
    0.693147
  """

  _: dataclasses.KW_ONLY
  weight_column: base.WeightColumn = None
  loss_reduction: LossReduction | str = LossReduction.SUM_OVER_BATCH_SIZE
  name: str | None = None

  def __post_init__(self):
    _validate(self)

  @property
  def label_dimension(self) -> int:
    return 1

  def _label_validity(self, labels):
    return checks.label_range(labels, 1, message='Labels must be in range [0, 1]')

  @property
  def _link(self):
    return jax.nn.sigmoid

  def _default_loss(self, labels, logits):
    return losses.sigmoid_cross_entropy(labels, logits)
