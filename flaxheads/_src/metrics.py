"""Streaming metrics with additive, fixed-shape state.

Every metric is an immutable pytree whose leaves are float32 sums. A metric is
built three ways: ``Metric.empty(...)`` gives the initial state (of its final
shape), a ``from_*`` constructor gives the state of one batch, and ``merge``
adds two states. Because ``merge`` is leaf-wise addition, ``jax.lax.psum`` of a
state merges devices, a state can be a ``lax.scan`` carry, and orbax can
checkpoint it. ``compute()`` reads the value; divisions by zero give 0 (as in
Estimator's Keras metrics), not NaN. A head's metrics travel together as a
:class:`MetricState`, an ordered mapping from metric key to metric that keeps
its key order through ``jit``, ``psum`` and checkpoints (``metric_state.py``).

Example:
  >>> import jax.numpy as jnp
  >>> from flaxheads import metrics
  >>> m = metrics.Mean.empty()
  >>> m = m.merge(metrics.Mean.from_values(jnp.array([1., 3.]), jnp.array([1., 0.])))
  >>> float(m.compute())
  1.0
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Literal, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

_M = TypeVar('_M', bound='Metric')
_F32 = jnp.float32


def _metric(cls):
  """Makes ``cls`` a frozen dataclass and a pytree (static fields: metadata)."""
  return jax.tree_util.register_dataclass(dataclasses.dataclass(frozen=True)(cls))


def _static(**kwargs):
  return dataclasses.field(metadata=dict(static=True), **kwargs)


def divide_no_nan(num: jax.Array, den: jax.Array) -> jax.Array:
  """``num / den``, and 0 where ``den == 0`` (``tf.math.divide_no_nan``)."""
  safe = jnp.where(den == 0, 1, den)
  return jnp.where(den == 0, jnp.zeros_like(num / safe), num / safe)


def _sums(*arrays: jax.Array) -> jax.Array:
  """The sums of float arrays, ``[len(arrays)]``."""
  return jnp.stack([jnp.sum(a) for a in arrays])


def weighted_sum(values: jax.Array, weights: ArrayLike) -> jax.Array:
  """``sum(values * weights)``; a scalar weight multiplies the sum, not every value.

  On CPU, XLA hands reductions to a library that needs every operand in
  memory, so a scalar broadcast into the product would be written out whole.
  """
  weights = jnp.asarray(weights, _F32)
  if weights.ndim == 0:
    return weights * jnp.sum(values)
  return jnp.sum(values * weights)


def _broadcast_weights(weights: ArrayLike | None, shape) -> jax.Array:
  if weights is None:
    return jnp.ones(shape, _F32)
  return jnp.broadcast_to(jnp.asarray(weights, _F32), shape)


class Metric(abc.ABC):
  """A streaming metric: ``empty()``, a per-batch constructor, ``merge``, ``compute``."""

  def merge(self: _M, other: _M) -> _M:
    """Returns the state of both streams; ``other`` must have the same config."""
    shapes = [jax.tree.map(jnp.shape, m) for m in (self, other)]
    if jax.tree.structure(self) != jax.tree.structure(other) or shapes[0] != shapes[1]:
      raise ValueError(f'Cannot merge metric states of different configurations: {shapes[0]} and '
                       f'{shapes[1]}.')
    return jax.tree.map(jnp.add, self, other)

  @abc.abstractmethod
  def compute(self) -> jax.Array:
    """The metric's value, a float32 array (pure: usable under ``jit``)."""


@_metric
class Mean(Metric):
  """Weighted mean (``tf.keras.metrics.Mean``); weights broadcast to the values."""

  total: jax.Array  # [] sum of weight * value
  count: jax.Array  # [] sum of weights, broadcast to the values' shape

  @classmethod
  def empty(cls) -> Mean:
    return cls(jnp.zeros((), _F32), jnp.zeros((), _F32))

  @classmethod
  def from_values(cls, values: ArrayLike, weights: ArrayLike | None = None) -> Mean:
    """The state of one batch of ``values`` (any shape) and broadcastable ``weights``."""
    values = jnp.asarray(values, _F32)
    if weights is None or jnp.ndim(weights) == 0:  # one weight for every value: it scales the sums
      weight = jnp.asarray(1. if weights is None else weights, _F32)
      return cls(weighted_sum(values, weight), weight * values.size)
    weights = _broadcast_weights(weights, values.shape)
    return cls(*_sums(values * weights, weights))

  def compute(self) -> jax.Array:
    return divide_no_nan(self.total, self.count)


@_metric
class AccuracyBaseline(Metric):
  """Accuracy of always predicting the weighted majority label (Estimator's formula).

  ``max(positives, count - positives) / count`` over binary (or soft) labels.
  """

  total: jax.Array  # [] sum of weight * label
  count: jax.Array  # [] sum of weights

  @classmethod
  def empty(cls) -> AccuracyBaseline:
    return cls(jnp.zeros((), _F32), jnp.zeros((), _F32))

  @classmethod
  def from_labels(cls, labels: ArrayLike, weights: ArrayLike | None = None) -> AccuracyBaseline:
    mean = Mean.from_values(labels, weights)
    return cls(mean.total, mean.count)

  def compute(self) -> jax.Array:
    return divide_no_nan(jnp.maximum(self.total, self.count - self.total), self.count)


def _positive_counts(labels, predictions, weights, threshold):
  """Weighted ``(TP, FP, FN)`` at ``predictions > threshold``; labels are ``!= 0``.

  A NaN weight anywhere makes every count NaN.
  """
  predictions = jnp.asarray(predictions, _F32)
  weights = _broadcast_weights(weights, predictions.shape)
  is_label = jnp.asarray(labels) != 0
  is_pred = predictions > threshold
  tp, fp, fn, total = _sums(jnp.where(is_label & is_pred, weights, 0),
                            jnp.where(~is_label & is_pred, weights, 0),
                            jnp.where(is_label & ~is_pred, weights, 0), weights)
  poison = nan_if_nan(total)
  return tp + poison, fp + poison, fn + poison


def nan_if_nan(total_weight: jax.Array) -> jax.Array:
  """NaN if the summed weights are NaN (an invalid example), else 0: added to counts to poison them."""
  return jnp.where(jnp.isnan(total_weight), jnp.nan, 0.)


@_metric
class Precision(Metric):
  """``TP / (TP + FP)`` with positives ``prediction > threshold`` (``tf.keras.metrics.Precision``)."""

  true_positives: jax.Array  # []
  false_positives: jax.Array  # []
  threshold: float = _static(default=0.5)

  @classmethod
  def empty(cls, *, threshold: float = 0.5) -> Precision:
    return cls(jnp.zeros((), _F32), jnp.zeros((), _F32), threshold)

  @classmethod
  def from_predictions(cls, labels: ArrayLike, predictions: ArrayLike,
                       weights: ArrayLike | None = None, *, threshold: float = 0.5) -> Precision:
    tp, fp, _ = _positive_counts(labels, predictions, weights, threshold)
    return cls(tp, fp, threshold)

  def compute(self) -> jax.Array:
    return divide_no_nan(self.true_positives, self.true_positives + self.false_positives)


@_metric
class Recall(Metric):
  """``TP / (TP + FN)`` with positives ``prediction > threshold`` (``tf.keras.metrics.Recall``)."""

  true_positives: jax.Array  # []
  false_negatives: jax.Array  # []
  threshold: float = _static(default=0.5)

  @classmethod
  def empty(cls, *, threshold: float = 0.5) -> Recall:
    return cls(jnp.zeros((), _F32), jnp.zeros((), _F32), threshold)

  @classmethod
  def from_predictions(cls, labels: ArrayLike, predictions: ArrayLike,
                       weights: ArrayLike | None = None, *, threshold: float = 0.5) -> Recall:
    tp, _, fn = _positive_counts(labels, predictions, weights, threshold)
    return cls(tp, fn, threshold)

  def compute(self) -> jax.Array:
    return divide_no_nan(self.true_positives, self.true_positives + self.false_negatives)


def bucket_sums(values: jax.Array, bucket: jax.Array, num_buckets: int) -> jax.Array:
  """``segment_sum`` of ``values`` rows into buckets, replicated on explicit-axis meshes.

  On a mesh whose axes are ``Explicit`` (``jax.make_mesh``'s default), the
  output sharding of a scatter from a sharded batch is ambiguous; the bucket
  counts are wanted whole on every device.
  """
  out_sharding = None
  mesh = jax.typeof(values).sharding.mesh
  if not mesh.empty and AxisType.Explicit in mesh.axis_types:
    out_sharding = NamedSharding(mesh, PartitionSpec())
  zeros = jnp.zeros((num_buckets,) + values.shape[1:], values.dtype)
  return zeros.at[bucket].add(values, out_sharding=out_sharding)


def reverse_cumsum(x: jax.Array, axis: int = 0) -> jax.Array:
  """``x[i] + x[i+1] + ...`` along ``axis``; exact for integer-valued float32 sums below 2**24.

  One matrix product (at full float32 precision) sums every block of 32 from
  each element to its end, plus the totals of the blocks after it, which a
  short ``lax.cumsum`` gives. On CPU this is several times faster than
  ``lax.cumsum``'s log-depth scan for 100,000 AUC thresholds: XLA fuses the
  scan into every reader of its result and recomputes it per element.
  """
  x = jnp.moveaxis(jnp.asarray(x), axis, -1)
  length = x.shape[-1]
  blocks = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, -length % _BLOCK)]).reshape(x.shape[:-1] + (-1, _BLOCK))
  totals = jnp.sum(blocks, axis=-1)
  later = jax.lax.cumsum(totals, axis=totals.ndim - 1, reverse=True) - totals
  sums = jnp.matmul(jnp.concatenate([blocks, later[..., None]], axis=-1), _SUFFIX_SUMS,
                    precision=jax.lax.Precision.HIGHEST)
  sums = sums.reshape(x.shape[:-1] + (-1,))[..., :length]
  # Kept whole: otherwise readers index the [blocks, 32] product with a division per element.
  return jnp.moveaxis(jax.lax.optimization_barrier(sums), -1, axis)


_BLOCK = 32
# [k, j]: block element k counts towards the sum from j (k >= j); the last row adds the later blocks.
_SUFFIX_SUMS = np.concatenate([np.tril(np.ones((_BLOCK, _BLOCK), np.float32)), np.ones((1, _BLOCK), np.float32)])


@_metric
class AUC(Metric):
  """Area under the ROC or precision-recall curve, from bucketed counts.

  The same algorithm as ``tf.keras.metrics.AUC`` with evenly spaced thresholds
  ``[-eps, 1/(T-1), ..., (T-2)/(T-1), 1+eps]`` and interpolation (Davis-Goadrich
  for PR), so that ``num_thresholds=200`` reproduces Estimator exactly. Each
  probability falls into bucket ``max(ceil(p * (T-1)) - 1, 0)`` (computed in
  float32), and the state sums the weights of the positive and the negative
  examples per bucket: a batch costs O(batch), with no O(T) work. ``compute``
  turns the buckets into the true and false positives at every threshold with
  one reversed cumulative sum (:meth:`positives_above`).

  Labels count as positive when non-zero. Inputs of any shape are flattened
  (micro-averaged). A NaN prediction makes the result NaN, where Keras would
  silently put it into some bucket.

  Accuracy: pairs of examples whose probabilities fall in the same bucket count
  as ties. With 200 thresholds this is coarse when the probabilities crowd into
  a narrow range (click-through data with probabilities near 0 can be off by a
  percent); ``num_thresholds=100_000`` costs little more and is close to exact.
  """

  positives: jax.Array  # [T] weight of the positive examples in bucket i: probability in ((i-1)/(T-1), i/(T-1)]
  negatives: jax.Array  # [T] weight of the negative examples in bucket i
  curve: Literal['ROC', 'PR'] = _static(default='ROC')

  @classmethod
  def empty(cls, *, num_thresholds: int = 200, curve: Literal['ROC', 'PR'] = 'ROC') -> AUC:
    check_auc_config(num_thresholds, curve)
    zeros = jnp.zeros((num_thresholds,), _F32)
    return cls(zeros, zeros, curve)

  @classmethod
  def from_predictions(cls, labels: ArrayLike, predictions: ArrayLike,
                       weights: ArrayLike | None = None, *, num_thresholds: int = 200,
                       curve: Literal['ROC', 'PR'] = 'ROC') -> AUC:
    """The state of one batch; ``predictions`` are probabilities in [0, 1]."""
    check_auc_config(num_thresholds, curve)
    predictions = jnp.clip(jnp.asarray(predictions, _F32), 0., 1.).ravel()
    weights = _broadcast_weights(weights, jnp.shape(labels)).ravel()
    weights = jnp.where(jnp.isnan(predictions), jnp.nan, weights)
    is_negative = (jnp.asarray(labels).ravel() == 0).astype(jnp.int32)
    bucket = jnp.maximum(jnp.ceil(predictions * (num_thresholds - 1)) - 1, 0)
    bucket = jnp.where(jnp.isnan(bucket), 0, bucket).astype(jnp.int32)
    counts = bucket_sums(weights, is_negative * num_thresholds + bucket, 2 * num_thresholds)
    counts = counts.reshape(2, num_thresholds) + nan_if_nan(jnp.sum(counts))  # NaN weights are in counts
    return cls(counts[0], counts[1], curve)

  def positives_above(self) -> tuple[jax.Array, jax.Array]:
    """``(TP, FP)``, ``[T]`` each: the weight of the positives and negatives with prediction > threshold[i].

    The state of ``tf.keras.metrics.AUC``.
    """
    cumulative = reverse_cumsum(jnp.stack([self.positives, self.negatives]), axis=-1)
    return cumulative[0], cumulative[1]

  def with_curve(self, curve: Literal['ROC', 'PR']) -> AUC:
    """The same counts read as the other curve (one bucketing pass serves both AUCs)."""
    check_auc_config(self.positives.shape[0], curve)
    return dataclasses.replace(self, curve=curve)

  def compute(self) -> jax.Array:
    tp, fp = self.positives_above()
    fn = tp[0] - tp
    if self.curve == 'ROC':
      tn = fp[0] - fp
      tpr = divide_no_nan(tp, tp + fn)
      fpr = divide_no_nan(fp, fp + tn)
      return jnp.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)
    # Davis & Goadrich (2006): precision interpolated linearly in TP between thresholds.
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both_positive = (p[:-1] > 0) & (p[1:] > 0)
    ratio = jnp.where(both_positive, divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), 1.)
    log_ratio = jnp.log(ratio)
    increments = divide_no_nan(slope * (dtp + intercept * log_ratio), jnp.maximum(tp[1:] + fn[1:], 0))
    # XLA:CPU does not vectorize the loop of all of this with its logarithm (2-3x slower at 100,000
    # thresholds). A second reader keeps the logarithms in an operation of their own: XLA computes an
    # expensive operation once for two readers. It adds 0, or NaN where the result is NaN anyway.
    return jnp.sum(increments) + jnp.where(jnp.isnan(log_ratio[-1]), jnp.nan, 0.)


def check_auc_config(num_thresholds: int, curve: str) -> None:
  if not isinstance(num_thresholds, int) or num_thresholds < 2:
    raise ValueError(f'num_thresholds must be an int > 1, got {num_thresholds!r}.')
  if curve not in ('ROC', 'PR'):
    raise ValueError(f"curve must be 'ROC' or 'PR', got {curve!r}.")
