"""Multi-label classification: independent sigmoid per class."""

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
_ALL_KEYS = (_K.LOGITS, _K.PROBABILITIES, _K.CLASSES)


@final
@dataclasses.dataclass(frozen=True)
class MultiLabelHead(single_head.SingleHead):
  """Multi-label classification (``tf.estimator.MultiLabelHead``).

  Logits are ``[D0, ..., DN, n_classes]``; labels are multi-hot
  ``[D0, ..., DN, n_classes]`` (0/1, or soft labels in [0, 1]). Lists of class
  ids or vocabulary strings per example go through :meth:`encode_labels`
  (string lists are encoded automatically outside ``jit``). The loss is the
  sigmoid cross-entropy averaged over classes, so ``SUM_OVER_BATCH_SIZE``
  divides by the number of examples, not examples times classes. Weights are
  per example (per-class weights are rejected as in Estimator); a ``loss_fn``
  gets the multi-hot float32 labels ``[..., n_classes]`` and returns
  ``[D0, ..., DN, 1]``.

  Args:
    n_classes: the number of classes, > 1.
    thresholds: extra thresholds in (0, 1) for accuracy, precision and recall.
    label_vocabulary: ``n_classes`` class strings.
    classes_for_class_based_metrics: class ids, or vocabulary strings, for
      which ``probability_mean``, ``auc`` and ``auc_precision_recall`` are also
      reported per class.
    auc_num_thresholds: thresholds of the bucketed AUCs (200 as Estimator).
    global_objective: train on a global objective, per label (targets a float
      or one per class; see ``BinaryClassHead``). Evaluation is unchanged.
    weight_column, loss_reduction, loss_fn, name: see :class:`SingleHead`.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.MultiLabelHead(3, label_vocabulary=['a', 'b', 'c'])
    >>> head.encode_labels([['a', 'c'], ['b']]).tolist()
    [[1, 0, 1], [0, 1, 0]]
    >>> logits = jnp.array([[4., -4., 4.], [-4., 4., -4.]])
    >>> round(float(head.loss([['a', 'c'], ['b']], logits)), 4)
    0.0181
  """

  n_classes: int
  _: dataclasses.KW_ONLY
  thresholds: Sequence[float] | None = None
  label_vocabulary: Sequence[str] | None = None
  classes_for_class_based_metrics: Sequence[int | str] | None = None
  auc_num_thresholds: int = 200
  global_objective: Any = None  # a global_objectives.Objective or its config string

  label_dtype: ClassVar[Any] = jnp.float32
  prediction_keys: ClassVar[tuple[str, ...]] = _ALL_KEYS

  def _validated_fields(self) -> dict[str, Any]:
    if not isinstance(self.n_classes, int) or self.n_classes < 2:
      raise ValueError('n_classes must be > 1 for multi-label classification. '
                       f'Given: {self.n_classes}')
    metrics_lib.check_auc_config(self.auc_num_thresholds, 'ROC')
    return {
        'thresholds': checks.thresholds(
            self.thresholds, message='thresholds must be in (0, 1) range. Given: {thresholds}'),
        'label_vocabulary': checks.vocabulary(
            self.label_vocabulary, n_classes=self.n_classes,
            type_message='label_vocabulary must be a list or tuple. Given type: {type}',
            length_message='Length of label_vocabulary must be n_classes ({n_classes}). Given: {length}'),
        'classes_for_class_based_metrics': self._class_ids_for_metrics(),
        'global_objective': objectives.for_head(self.global_objective, self.logits_dimension),
    }

  def _class_ids_for_metrics(self) -> tuple[int, ...]:
    classes = tuple(self.classes_for_class_based_metrics or ())
    if classes and isinstance(classes[0], str):
      if self.label_vocabulary is None:
        raise ValueError('label_vocabulary must be provided when '
                         'classes_for_class_based_metrics are strings.')
      unknown = [c for c in classes if c not in self.label_vocabulary]
      if unknown:
        raise ValueError(f'classes_for_class_based_metrics {unknown} are not in label_vocabulary '
                         f'{list(self.label_vocabulary)}.')
      return tuple(self.label_vocabulary.index(c) for c in classes)
    for c in classes:
      if not isinstance(c, (int, np.integer)) or not 0 <= c < self.n_classes:
        raise ValueError('All classes_for_class_based_metrics must be in range '
                         f'[0, {self.n_classes - 1}]. Given: {c}')
    return tuple(int(c) for c in classes)

  @property
  def logits_dimension(self) -> int:
    return self.n_classes

  @property
  def label_width(self) -> int:
    return self.n_classes

  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: per-example lists of class ids or vocabulary strings to multi-hot.

    Args:
      labels: a sequence with one list of class ids (ints) or class names
        (strings, with a vocabulary) per example; lists may differ in length,
        repeat a class, or be empty.

    Returns:
      An int32 multi-hot array ``[len(labels), n_classes]``.
    """
    multi_hot = np.zeros((len(labels), self.n_classes), np.int32)
    for row, classes in enumerate(labels):
      classes = list(np.atleast_1d(np.asarray(classes)).ravel()) if len(classes) else []
      if checks.is_string_array(classes):
        ids = single_head.encode_strings(classes, self.label_vocabulary)
      else:
        ids = np.asarray(classes, dtype=np.int64)
        if ids.size and not np.issubdtype(np.asarray(classes).dtype, np.integer):
          raise ValueError(f'Labels dtype should be integer. Instead got {np.asarray(classes).dtype}.')
        bad = ids[(ids < 0) | (ids >= self.n_classes)]
        if bad.size:
          raise ValueError(f'labels must be an integer SparseTensor with values in '
                           f'[0, {self.n_classes}); example {row} has class ids {bad.tolist()}.')
      multi_hot[row, ids] = 1
    return multi_hot

  def _dense_labels(self, labels, logits_shape):
    return checks.dense_labels(labels, logits_shape, self.n_classes).astype(jnp.float32)

  def _label_validity(self, labels):
    return checks.label_range(
        labels, 1, message='labels must be an integer indicator Tensor with values in [0, 1]')

  def _default_loss(self, labels, logits):
    return jnp.mean(losses.sigmoid_cross_entropy(labels, logits), axis=-1)

  def _all_predictions(self, logits: jax.Array) -> dict[str, jax.Array]:
    return {_K.LOGITS: logits, _K.PROBABILITIES: jax.nn.sigmoid(logits)}

  def _signatures(self, predictions):
    probabilities = predictions[_K.PROBABILITIES]
    ids = jnp.broadcast_to(jnp.arange(self.n_classes, dtype=jnp.int32),
                           (probabilities.shape[0], self.n_classes))
    return {SignatureKeys.CLASSIFY: {'scores': probabilities, 'classes': ids}}

  def decode_predictions(self, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Host side: adds ``classes``, every class string per example ``[D0, n_classes]``."""
    decoded = {k: np.asarray(v) for k, v in predictions.items()}
    if _K.PROBABILITIES in predictions or _K.LOGITS in predictions:
      rows = next(iter(decoded.values())).shape[0]
      names = single_head.class_names(self.label_vocabulary, self.n_classes)
      decoded[_K.CLASSES] = np.broadcast_to(names, (rows, self.n_classes)).copy()
    return {k: decoded[k] for k in _ALL_KEYS if k in decoded}

  def _class_key(self, template_id: str, template_name: str, class_id: int) -> str:
    if self.label_vocabulary is None:
      return self._key(template_id % class_id)
    return self._key(template_name % self.label_vocabulary[class_id])

  def _batch_metrics(self, batch, regularization_losses) -> dict[str, metrics_lib.Metric]:
    key, w, labels = self._key, batch.weights, batch.labels  # labels and logits [R, n_classes], w [R] or []
    probabilities = jax.nn.sigmoid(batch.logits)
    auc = lambda y, p, w: metrics_lib.AUC.from_predictions(y, p, w, num_thresholds=self.auc_num_thresholds)
    # One weight for every label is 1, or NaN if a label is invalid, found by a pass over the batch; the
    # counts check `valid` in their bins instead, and that pass goes unused.
    scalar = jnp.ndim(w) == 0
    counts = confusion.count(labels, probabilities, 1. if scalar else w[..., None],
                             valid=batch.valid, num_buckets=self.auc_num_thresholds, thresholds=self.thresholds)
    if scalar:
      w = 1. + metrics_lib.nan_if_nan(counts.total)
    roc = confusion.auc(counts)
    state = {
        key(MetricKeys.LOSS_MEAN): metrics_lib.Mean.from_values(batch.unweighted_loss, w),
        key(MetricKeys.AUC): roc,
        key(MetricKeys.AUC_PR): roc.with_curve('PR'),
        **self._regularization_metric(regularization_losses),
    }
    state.update(confusion.metrics_at(key, counts, self.thresholds))
    for c in self.classes_for_class_based_metrics:
      y, p = labels[:, c], probabilities[:, c]
      state[self._class_key(MetricKeys.PROBABILITY_MEAN_AT_CLASS,
                            MetricKeys.PROBABILITY_MEAN_AT_NAME, c)] = metrics_lib.Mean.from_values(p, w)
      class_roc = auc(y, p, w)
      state[self._class_key(MetricKeys.AUC_AT_CLASS, MetricKeys.AUC_AT_NAME, c)] = class_roc
      state[self._class_key(MetricKeys.AUC_PR_AT_CLASS, MetricKeys.AUC_PR_AT_NAME, c)] = \
          class_roc.with_curve('PR')
    return state
