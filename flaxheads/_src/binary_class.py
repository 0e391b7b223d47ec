"""Binary classification with sigmoid cross-entropy, and the per-threshold metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import checks, confusion, losses, single_head
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.global_objectives import objectives
from flaxheads._src.keys import MetricKeys, PredictionKeys, SignatureKeys

_K = PredictionKeys
_ALL_KEYS = (_K.LOGITS, _K.LOGISTIC, _K.PROBABILITIES, _K.CLASS_IDS, _K.CLASSES,
             _K.ALL_CLASS_IDS, _K.ALL_CLASSES)


@final
@dataclasses.dataclass(frozen=True)
class BinaryClassHead(single_head.SingleHead):
  """Binary classification (``tf.estimator.BinaryClassHead``).

  Logits are ``[D0, ..., DN, 1]``; labels are 0/1 (or soft labels in [0, 1], or
  vocabulary strings), of shape ``[D0, ..., DN]`` or ``[D0, ..., DN, 1]``. The
  loss is sigmoid cross-entropy; a ``loss_fn`` gets float32 0/1 labels
  ``[D0, ..., DN, 1]`` and returns ``[D0, ..., DN, 1]``.

  Args:
    thresholds: extra thresholds in (0, 1) at which accuracy, precision and
      recall are reported (``accuracy/positive_threshold_%g`` ...).
    label_vocabulary: the two class strings, negative first.
    auc_num_thresholds: thresholds of the bucketed AUCs. 200 reproduces
      Estimator; on skewed data (probabilities crowded near 0) it can be off by a
      percent, and ``100_000`` is close to exact at little extra cost.
    global_objective: train on a global objective (a
      ``flaxheads.global_objectives`` objective, or its string such as
      ``"recall_at_precision(target_precision=0.9)"``) instead of the loss; see
      ``global_objectives.with_global_objective``. Evaluation is unchanged.
    weight_column, loss_reduction, loss_fn, name: see :class:`SingleHead`.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.BinaryClassHead()
    >>> logits, labels = jnp.array([[2.], [-1.]]), jnp.array([1, 0])
    >>> round(float(jax.jit(head.loss)(labels, logits)), 6)
    0.220095
    >>> state = head.update_metrics(head.metrics(), None, logits, labels)
    >>> float(state['accuracy'].compute())
    1.0
  """

  _: dataclasses.KW_ONLY
  thresholds: Sequence[float] | None = None
  label_vocabulary: Sequence[str] | None = None
  auc_num_thresholds: int = 200
  global_objective: Any = None  # a global_objectives.Objective or its config string

  label_dtype: ClassVar[Any] = jnp.float32
  label_width: ClassVar[int] = 1
  logits_dimension: ClassVar[int] = 1
  prediction_keys: ClassVar[tuple[str, ...]] = _ALL_KEYS

  def _validated_fields(self) -> dict[str, Any]:
    metrics_lib.check_auc_config(self.auc_num_thresholds, 'ROC')
    return {
        'label_vocabulary': checks.vocabulary(
            self.label_vocabulary, n_classes=2,
            type_message='label_vocabulary should be a list or a tuple. Given type: {type}',
            length_message='label_vocabulary of BinaryClassHead must have exactly 2 entries, '
            'negative class first. Given {length}: {vocabulary}.'),
        'thresholds': checks.thresholds(self.thresholds, message='thresholds not in (0, 1): {thresholds}.'),
        'global_objective': objectives.for_head(self.global_objective, self.logits_dimension),
    }

  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: vocabulary strings to int32 ids 0/1; numeric labels pass as float32."""
    if checks.is_string_array(labels):
      return single_head.encode_strings(labels, self.label_vocabulary)
    return np.asarray(labels, np.float32)

  def _dense_labels(self, labels, logits_shape):
    return checks.dense_labels(labels, logits_shape, 1).astype(jnp.float32)

  def _label_validity(self, labels):
    return checks.label_range(labels, 1)

  def _default_loss(self, labels, logits):
    return losses.sigmoid_cross_entropy(labels, logits)

  def _all_predictions(self, logits: jax.Array) -> dict[str, jax.Array]:
    two_class_logits = jnp.concatenate([jnp.zeros_like(logits), logits], axis=-1)
    return {
        _K.LOGITS: logits,
        _K.LOGISTIC: jax.nn.sigmoid(logits),
        _K.PROBABILITIES: jax.nn.softmax(two_class_logits, axis=-1),
        _K.CLASS_IDS: (logits > 0).astype(jnp.int32),
        _K.ALL_CLASS_IDS: jnp.broadcast_to(jnp.arange(2, dtype=jnp.int32), (logits.shape[0], 2)),
    }

  def _signatures(self, predictions):
    return {SignatureKeys.CLASSIFY: {'scores': predictions[_K.PROBABILITIES],
                                     'classes': predictions[_K.ALL_CLASS_IDS]},
            SignatureKeys.REGRESS: {'value': predictions[_K.LOGISTIC]}}

  def decode_predictions(self, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Host side: adds ``classes`` and ``all_classes`` (vocabulary or ``'0'``/``'1'``)."""
    names = single_head.class_names(self.label_vocabulary, 2)
    return single_head.decode_class_ids(predictions, names, self.prediction_keys)

  def _batch_metrics(self, batch, regularization_losses) -> dict[str, metrics_lib.Metric]:
    key, w, labels = self._key, batch.weights, batch.labels  # rows [R]
    logistic = jax.nn.sigmoid(batch.logits)
    # One weight for every label is 1, or NaN if a label is invalid, found by a pass over the batch; the
    # counts check `valid` in their bins instead, and that pass goes unused.
    scalar = jnp.ndim(w) == 0
    counts = confusion.count(labels, logistic, 1. if scalar else w, valid=batch.valid,
                             num_buckets=self.auc_num_thresholds, thresholds=self.thresholds,
                             predicted=batch.logits > 0)
    if scalar:
      w = 1. + metrics_lib.nan_if_nan(counts.total)
    weight = counts.total
    correct, tp, fp, fn = confusion.at(counts)
    # 0/1 labels sum to the positives' weight; only soft labels need a pass of their own.
    labels_total = jax.lax.cond(counts.soft == 0, lambda: tp + fn, lambda: metrics_lib.weighted_sum(labels, w))
    roc = confusion.auc(counts)
    state = {
        key(MetricKeys.LOSS_MEAN): metrics_lib.Mean(metrics_lib.weighted_sum(batch.unweighted_loss, w), weight),
        key(MetricKeys.ACCURACY): metrics_lib.Mean(correct, weight),
        key(MetricKeys.PRECISION): metrics_lib.Precision(tp, fp),
        key(MetricKeys.RECALL): metrics_lib.Recall(tp, fn),
        key(MetricKeys.PREDICTION_MEAN): metrics_lib.Mean(metrics_lib.weighted_sum(logistic, w), weight),
        key(MetricKeys.LABEL_MEAN): metrics_lib.Mean(labels_total, weight),
        key(MetricKeys.ACCURACY_BASELINE): metrics_lib.AccuracyBaseline(labels_total, weight),
        key(MetricKeys.AUC): roc,
        key(MetricKeys.AUC_PR): roc.with_curve('PR'),
        **self._regularization_metric(regularization_losses),
    }
    state.update(confusion.metrics_at(key, counts, self.thresholds))
    return state
