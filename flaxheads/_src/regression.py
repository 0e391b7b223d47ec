"""Regression heads: squared error, Poisson and logistic regression.

The three heads share everything but the loss, the label check and the link:
float labels ``[D0, ..., DN, label_dimension]``, one loss value (and
optionally one weight) per predicted value, the mean loss, label and
prediction metrics, and the ``regression`` signature. Those shared pieces are
the functions below, which each final head calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import checks, losses, single_head
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import MetricKeys, PredictionKeys, SignatureKeys

InverseLink = Callable[[jax.Array], jax.Array]


def _label_dimension(value: Any) -> int:
  if not isinstance(value, int) or isinstance(value, bool):
    raise TypeError(f'label_dimension must be an int, got {value!r}.')
  if value < 1:
    raise ValueError(f'Invalid label_dimension {value}.')
  return value


def _prediction_keys(inverse_link: InverseLink | None) -> tuple[str, ...]:
  if inverse_link is None:
    return (PredictionKeys.PREDICTIONS,)
  return (PredictionKeys.PREDICTIONS, PredictionKeys.LOGITS)


def _predictions(logits: jax.Array, inverse_link: InverseLink | None) -> dict[str, jax.Array]:
  if inverse_link is None:
    return {PredictionKeys.PREDICTIONS: logits}
  return {PredictionKeys.PREDICTIONS: inverse_link(logits), PredictionKeys.LOGITS: logits}


def _float_labels(labels: Any, logits_shape: tuple[int, ...], label_dimension: int) -> jax.Array:
  return checks.dense_labels(labels, logits_shape, label_dimension).astype(jnp.float32)


def _encode_labels(head: single_head.SingleHead, labels: Any) -> np.ndarray:
  """Host side: labels as a float32 numpy array."""
  if checks.is_string_array(labels):
    raise TypeError(f'{type(head).__name__} labels must be numeric, got strings.')
  return np.asarray(labels, np.float32)


def _regression_metrics(key: Callable[[str], str], batch: single_head.Batch, inverse_link: InverseLink | None,
                        regularization: dict[str, metrics_lib.Metric]) -> dict[str, metrics_lib.Metric]:
  w = batch.weights
  predictions = _predictions(batch.logits, inverse_link)[PredictionKeys.PREDICTIONS]
  return {
      key(MetricKeys.LOSS_MEAN): metrics_lib.Mean.from_values(batch.unweighted_loss, w),
      key(MetricKeys.PREDICTION_MEAN): metrics_lib.Mean.from_values(predictions, w),
      key(MetricKeys.LABEL_MEAN): metrics_lib.Mean.from_values(batch.labels, w),
      **regularization,
  }


def _regression_signature(head: single_head.SingleHead,
                          predictions: dict[str, jax.Array]) -> dict[str, dict[str, jax.Array]]:
  del head  # every regression head exports the same signature
  return {SignatureKeys.REGRESS: {'value': predictions[PredictionKeys.PREDICTIONS]}}


def _decode_predictions(head: single_head.SingleHead, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
  """Host side: the predictions as numpy arrays (regression has no string keys)."""
  del head
  return {k: np.asarray(v) for k, v in predictions.items()}


@final
@dataclasses.dataclass(frozen=True)
class RegressionHead(single_head.SingleHead):
  """Regression with mean squared error (``tf.estimator.RegressionHead``).

  The unweighted loss is ``(logits - labels)**2`` per element, shape
  ``[D0, ..., DN, label_dimension]``; ``SUM_OVER_BATCH_SIZE`` divides by
  ``batch * label_dimension``. Weights may be ``[D0, ..., DN]``,
  ``[D0, ..., DN, 1]`` or per value ``[D0, ..., DN, label_dimension]``.

  Args:
    label_dimension: values predicted per example (>= 1).
    inverse_link_fn: maps logits to ``predictions`` (``logits`` are then
      returned too); it is used by the metrics as well.
    weight_column, loss_reduction, loss_fn, name: see :class:`SingleHead`
      (``loss_fn`` returns ``[D0, ..., DN, label_dimension]``).

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.RegressionHead()
    >>> float(head.loss(jnp.array([1., 2.]), jnp.array([[1.5], [2.]])))
    0.125
  """

  label_dimension: int = 1
  _: dataclasses.KW_ONLY
  inverse_link_fn: InverseLink | None = None

  label_dtype: ClassVar[Any] = jnp.float32

  def _validated_fields(self) -> dict[str, Any]:
    if self.inverse_link_fn is not None and not callable(self.inverse_link_fn):
      raise TypeError(f'inverse_link_fn must be callable, got {type(self.inverse_link_fn).__name__}.')
    checks.hashable(self.inverse_link_fn, 'inverse_link_fn')
    return {'label_dimension': _label_dimension(self.label_dimension)}

  logits_dimension = label_width = property(lambda self: self.label_dimension)
  prediction_keys = property(lambda self: _prediction_keys(self.inverse_link_fn))

  encode_labels = _encode_labels
  decode_predictions = _decode_predictions

  def _dense_labels(self, labels, logits_shape):
    return _float_labels(labels, logits_shape, self.label_dimension)

  def _label_validity(self, labels):
    return True

  def _default_loss(self, labels, logits):
    return jnp.square(logits - labels)

  def _all_predictions(self, logits):
    return _predictions(logits, self.inverse_link_fn)

  _signatures = _regression_signature

  def _batch_metrics(self, batch, regularization_losses):
    return _regression_metrics(self._key, batch, self.inverse_link_fn, self._regularization_metric(regularization_losses))


@final
@dataclasses.dataclass(frozen=True)
class PoissonRegressionHead(single_head.SingleHead):
  """Poisson regression on log rates (``tf.estimator.PoissonRegressionHead``).

  Logits are log rates; ``predictions`` are ``exp(logits)``. The loss is
  :func:`flaxheads.losses.log_poisson_loss`. Labels must be counts >= 0: a negative label is a
  ``ValueError`` eagerly and makes the loss NaN under ``jit`` (Estimator returns
  NaN silently, or a plausible number without ``compute_full_loss``).

  Args:
    label_dimension: values predicted per example (>= 1).
    compute_full_loss: add Stirling's approximation of ``log(labels!)``.
    weight_column, loss_reduction, loss_fn, name: see :class:`SingleHead`.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.PoissonRegressionHead()
    >>> head.predictions(jnp.zeros((1, 1)))['predictions'].tolist()
    [[1.0]]
  """

  label_dimension: int = 1
  _: dataclasses.KW_ONLY
  compute_full_loss: bool = True

  label_dtype: ClassVar[Any] = jnp.float32

  def _validated_fields(self) -> dict[str, Any]:
    return {'label_dimension': _label_dimension(self.label_dimension)}

  logits_dimension = label_width = property(lambda self: self.label_dimension)
  prediction_keys: ClassVar[tuple[str, ...]] = _prediction_keys(jnp.exp)

  encode_labels = _encode_labels
  decode_predictions = _decode_predictions

  def _dense_labels(self, labels, logits_shape):
    return _float_labels(labels, logits_shape, self.label_dimension)

  def _label_validity(self, labels):
    non_negative = labels >= 0
    checks.check_values(jnp.all(non_negative), 'Labels of PoissonRegressionHead must be >= 0 (counts).')
    return non_negative

  def _default_loss(self, labels, logits):
    return losses.log_poisson_loss(labels, logits, compute_full_loss=self.compute_full_loss)

  def _all_predictions(self, logits):
    return _predictions(logits, jnp.exp)

  _signatures = _regression_signature

  def _batch_metrics(self, batch, regularization_losses):
    return _regression_metrics(self._key, batch, jnp.exp, self._regularization_metric(regularization_losses))


@final
@dataclasses.dataclass(frozen=True)
class LogisticRegressionHead(single_head.SingleHead):
  """Regression of a probability in [0, 1] (``tf.estimator.LogisticRegressionHead``).

  The loss is sigmoid cross-entropy on the logits, ``predictions`` are
  ``sigmoid(logits)``, and the metrics are the regression ones. Labels may be
  soft, in [0, 1].

  Args:
    weight_column, loss_reduction, loss_fn, name: see :class:`SingleHead`.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.LogisticRegressionHead()
    >>> round(float(head.loss(jnp.array([1.]), jnp.array([[0.]]))), 6)
    0.693147
  """

  label_dtype: ClassVar[Any] = jnp.float32
  label_dimension: ClassVar[int] = 1
  logits_dimension: ClassVar[int] = 1
  label_width: ClassVar[int] = 1
  prediction_keys: ClassVar[tuple[str, ...]] = _prediction_keys(jax.nn.sigmoid)

  def _validated_fields(self) -> dict[str, Any]:
    return {}

  encode_labels = _encode_labels
  decode_predictions = _decode_predictions

  def _dense_labels(self, labels, logits_shape):
    return _float_labels(labels, logits_shape, 1)

  def _label_validity(self, labels):
    return checks.label_range(labels, 1, message='Labels must be in range [0, 1]')

  def _default_loss(self, labels, logits):
    return losses.sigmoid_cross_entropy(labels, logits)

  def _all_predictions(self, logits):
    return _predictions(logits, jax.nn.sigmoid)

  _signatures = _regression_signature

  def _batch_metrics(self, batch, regularization_losses):
    return _regression_metrics(self._key, batch, jax.nn.sigmoid, self._regularization_metric(regularization_losses))
