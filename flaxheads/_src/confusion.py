"""A binary batch's weights counted by outcome, in one scatter: every confusion count and AUC bucket.

Accuracy, precision and recall at any number of thresholds and the bucketed
AUCs are sums of example weights over subsets of the examples. Summing each
subset on its own costs a pass over the batch per count (a dozen for
``BinaryClassHead`` with two extra thresholds); instead each example gets one
histogram bin from its label class (0, 1 or a soft label in between), its
predicted class, how many thresholds its probability exceeds and its AUC
bucket, and one scatter-add of the weights fills every bin. The counts are small
contractions of the histogram: one product with a 0/1 matrix gives every
confusion count, so a batch adds few operations however many thresholds.

The counts equal the separate sums (exactly for integer weights, to float32
rounding otherwise); a NaN weight (an invalid example) makes every count NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import MetricKeys

# Bins above this many get a histogram of their own for the AUC buckets (e.g. 100,000 thresholds).
_MAX_JOINT_BINS = 1 << 14


class Counts(NamedTuple):
  """Weights of one batch by outcome; see :func:`count`."""

  # [1 + K, 4]: (correct, TP, FP, FN) of `predicted` (row 0; zeros without it) and at each requested threshold
  table: jax.Array
  total: jax.Array  # [] the sum of the weights
  soft: jax.Array  # [] the weight of the labels other than 0 and 1
  by_bucket: jax.Array  # [2, T]: label != 0 / label == 0 per AUC bucket (probability in ((i-1)/(T-1), i/(T-1)])


def count(labels: jax.Array, probabilities: jax.Array, weights: jax.Array, *, num_buckets: int,
          thresholds: Sequence[float] = (), predicted: jax.Array | None = None,
          valid: jax.Array | None = None) -> Counts:
  """Counts ``weights`` by label class, ``predicted``, thresholds exceeded and AUC bucket.

  Args:
    labels: float labels, any shape; positive when non-zero (as Estimator's
      precision, recall and AUC), correct when equal to the prediction.
    probabilities: the same shape, in [0, 1] (NaN allowed: such an example
      must have a NaN weight, as the heads give it).
    weights: broadcastable to that shape; a scalar (one weight for every
      example) counts the examples and scales the counts.
    num_buckets: the AUC's ``num_thresholds``.
    thresholds: probabilities ``t`` at which ``probability > t`` is counted.
    predicted: optional bool predictions of the same shape (the class ids).
    valid: optional bool, broadcastable to that shape: an example that is not
      valid makes every count NaN. It is checked in the scatter's bin
      computation, so it costs no pass over the batch of its own.
  """
  scale = None
  if jnp.ndim(weights) == 0:  # every example weighs the same: count them, then scale the counts
    weights, scale = jnp.ones((), jnp.float32), weights
  weights = jnp.broadcast_to(weights, jnp.shape(labels))
  valid = jnp.ones((), bool) if valid is None else jnp.broadcast_to(valid, jnp.shape(labels))
  labels, probabilities, weights, valid = (jnp.ravel(x) for x in (labels, probabilities, weights, valid))
  exceeded = sum(((probabilities > t).astype(jnp.int32) for t in sorted(thresholds)), jnp.zeros((), jnp.int32))
  positive = labels != 0
  label_class = positive.astype(jnp.int32) + (positive & (labels != 1)).astype(jnp.int32)
  sides = 1 if predicted is None else 2
  outcome = label_class * sides
  if predicted is not None:
    outcome = outcome + jnp.ravel(predicted).astype(jnp.int32)
  outcome = outcome * (len(thresholds) + 1) + exceeded
  outcomes = 3 * sides * (len(thresholds) + 1)
  bucket = jnp.maximum(jnp.ceil(probabilities * (num_buckets - 1)) - 1, 0)
  bucket = jnp.where(jnp.isnan(bucket), 0, bucket).astype(jnp.int32)
  one_histogram = num_buckets * outcomes <= _MAX_JOINT_BINS
  bins = num_buckets * outcomes if one_histogram else outcomes  # and one more, the last, for invalid examples
  index = jnp.where(valid, bucket * outcomes + outcome if one_histogram else outcome, bins)
  sums = metrics_lib.bucket_sums(weights, index, bins + 1)
  invalid = sums[-1]
  if one_histogram:  # [buckets, outcomes]: its column sums are the outcomes; the label sides of its rows the buckets
    joint = sums[:-1].reshape(num_buckets, outcomes)
    by_outcome = jnp.sum(joint, axis=0)
    by_class = jnp.sum(joint.reshape(num_buckets, 3, -1), axis=-1)  # [buckets, label class]
    by_bucket = jnp.stack([by_class[:, 1] + by_class[:, 2], by_class[:, 0]])
  else:
    by_outcome = sums[:-1]
    by_bucket = metrics_lib.bucket_sums(weights, (~positive).astype(jnp.int32) * num_buckets + bucket,
                                        2 * num_buckets).reshape(2, num_buckets)
  # Subset sums of the outcomes: a product with a 0/1 matrix, at full float32 precision.
  table = jnp.matmul(by_outcome, _table_matrix(tuple(thresholds), sides), precision=jax.lax.Precision.HIGHEST)
  if scale is not None:
    table, by_bucket = table * scale, by_bucket * scale
  total = table[-1]
  poison = jnp.where((invalid != 0) | jnp.isnan(total), jnp.nan, 0.)
  return Counts(table[:-2].reshape(-1, 4) + poison, total + poison, table[-2] + poison, by_bucket + poison)


@functools.lru_cache(maxsize=64)
def _table_matrix(thresholds: tuple[float, ...], sides: int) -> np.ndarray:
  """[outcomes, 4 * (1 + K) + 2]: which outcomes sum to each (correct, TP, FP, FN), to the soft labels and the total.

  An outcome is (label class 0 / 1 / other, predicted no / yes, thresholds exceeded 0 .. K);
  threshold ``t`` (the ``j``-th smallest) predicts yes when at least ``j + 1`` are exceeded.
  """
  label, side, exceeded = (g.ravel() for g in np.indices((3, sides, len(thresholds) + 1)))
  rank = np.argsort(np.argsort(thresholds, kind='stable'), kind='stable')
  columns = [] if sides == 2 else [np.zeros_like(label, bool)] * 4  # row 0 is zeros without `predicted`
  for yes in ([side == 1] if sides == 2 else []) + [exceeded > j for j in rank]:
    columns += [(label == 0) & ~yes | (label == 1) & yes, (label != 0) & yes, (label == 0) & yes,
                (label != 0) & ~yes]
  columns += [label == 2, np.ones_like(label, bool)]
  return np.stack(columns, axis=1).astype(np.float32)


def at(counts: Counts, threshold: int | None = None) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """``(correct, TP, FP, FN)`` of ``predicted`` (``None``) or of the requested threshold number ``threshold``."""
  return tuple(counts.table[0 if threshold is None else 1 + threshold])


def auc(counts: Counts) -> metrics_lib.AUC:
  """The ROC AUC state of the batch (``with_curve('PR')`` reads it as PR)."""
  return metrics_lib.AUC(counts.by_bucket[0], counts.by_bucket[1])


def metrics_at(key, counts: Counts, thresholds: Sequence[float]) -> dict[str, metrics_lib.Metric]:
  """Accuracy, precision and recall at each threshold, under Estimator's keys (``key`` adds the head name)."""
  state = {}
  weight = counts.total
  for i, t in enumerate(thresholds):
    correct, tp, fp, fn = at(counts, i)
    state[key(MetricKeys.ACCURACY_AT_THRESHOLD % t)] = metrics_lib.Mean(correct, weight)
    state[key(MetricKeys.PRECISION_AT_THRESHOLD % t)] = metrics_lib.Precision(tp, fp, t)
    state[key(MetricKeys.RECALL_AT_THRESHOLD % t)] = metrics_lib.Recall(tp, fn, t)
  return state
