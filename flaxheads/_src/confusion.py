"""A binary batch's weights counted by outcome, in one scatter: every confusion count and AUC bucket.

Accuracy, precision and recall at any number of thresholds and the bucketed
AUCs are sums of example weights over subsets of the examples. Summing each
subset on its own costs a pass over the batch per count (a dozen for
``BinaryClassHead`` with two extra thresholds); instead each example gets one
histogram bin from its label class (0, 1 or a soft label in between), its
predicted class, how many thresholds its probability exceeds and its AUC
bucket, and one scatter-add of the weights fills every bin. The counts are
small contractions of the histogram.

The counts equal the separate sums (exactly for integer weights, to float32
rounding otherwise); a NaN weight (an invalid example) makes every count NaN.
"""

from __future__ import annotations

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

  # [3, P, K + 1]: label 0 / 1 / other, predicted no / yes (P = 2; P = 1 without), thresholds exceeded (0 .. K)
  by_outcome: jax.Array
  by_bucket: jax.Array  # [2, T]: label != 0 / label == 0 per AUC bucket (probability in ((i-1)/(T-1), i/(T-1)])
  order: tuple[int, ...]  # the position of each requested threshold among the sorted ones


def count(labels: jax.Array, probabilities: jax.Array, weights: jax.Array, *, num_buckets: int,
          thresholds: Sequence[float] = (), predicted: jax.Array | None = None) -> Counts:
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
  """
  scale = None
  if jnp.ndim(weights) == 0:  # every example weighs the same: count them, then scale the counts
    weights, scale = jnp.ones((), jnp.float32), weights
  weights = jnp.broadcast_to(weights, jnp.shape(labels))
  labels, probabilities, weights = (jnp.ravel(x) for x in (labels, probabilities, weights))
  order = tuple(int(i) for i in np.argsort(np.argsort(thresholds, kind='stable'), kind='stable'))
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
  shape = (3, sides, len(thresholds) + 1)
  if num_buckets * outcomes <= _MAX_JOINT_BINS:
    joint = metrics_lib.bucket_sums(weights, bucket * outcomes + outcome, num_buckets * outcomes)
    joint = joint.reshape((num_buckets,) + shape)
    by_outcome = jnp.sum(joint, axis=0)
    by_bucket = jnp.stack([jnp.sum(joint[:, 1:], axis=(1, 2, 3)), jnp.sum(joint[:, 0], axis=(1, 2))])
  else:
    by_outcome = metrics_lib.bucket_sums(weights, outcome, outcomes).reshape(shape)
    by_bucket = metrics_lib.bucket_sums(weights, (~positive).astype(jnp.int32) * num_buckets + bucket,
                                        2 * num_buckets).reshape(2, num_buckets)
  if scale is not None:
    by_outcome, by_bucket = by_outcome * scale, by_bucket * scale
  poison = metrics_lib.nan_if_nan(jnp.sum(by_outcome))
  return Counts(by_outcome + poison, by_bucket + poison, order)


def at(counts: Counts, threshold: int | None = None) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """``(correct, TP, FP, FN)`` of ``predicted`` (``None``) or of the requested threshold number ``threshold``."""
  by = counts.by_outcome
  if threshold is None:
    yes, no = by[:, -1].sum(-1), by[:, 0].sum(-1)  # [3] by label class
  else:
    j = counts.order[threshold] + 1  # exceeded at least j thresholds
    yes, no = by[:, :, j:].sum((1, 2)), by[:, :, :j].sum((1, 2))
  return no[0] + yes[1], yes[1] + yes[2], yes[0], no[1] + no[2]


def total(counts: Counts) -> jax.Array:
  """The sum of the weights."""
  return jnp.sum(counts.by_outcome)


def auc(counts: Counts) -> metrics_lib.AUC:
  """The ROC AUC state of the batch (``with_curve('PR')`` reads it as PR)."""
  cumulative = metrics_lib.reverse_cumsum(counts.by_bucket, axis=1)
  return metrics_lib.AUC(cumulative[0], cumulative[1])


def metrics_at(key, counts: Counts, thresholds: Sequence[float]) -> dict[str, metrics_lib.Metric]:
  """Accuracy, precision and recall at each threshold, under Estimator's keys (``key`` adds the head name)."""
  state = {}
  weight = total(counts)
  for i, t in enumerate(thresholds):
    correct, tp, fp, fn = at(counts, i)
    state[key(MetricKeys.ACCURACY_AT_THRESHOLD % t)] = metrics_lib.Mean(correct, weight)
    state[key(MetricKeys.PRECISION_AT_THRESHOLD % t)] = metrics_lib.Precision(tp, fp, t)
    state[key(MetricKeys.RECALL_AT_THRESHOLD % t)] = metrics_lib.Recall(tp, fn, t)
  return state
