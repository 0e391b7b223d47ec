"""Multi-class classification with softmax cross-entropy."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from flaxheads._src import base, checks
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import LossReduction, MetricKeys, PredictionKeys, SignatureKeys

_K = PredictionKeys
_ALL_KEYS = (_K.LOGITS, _K.PROBABILITIES, _K.CLASS_IDS, _K.CLASSES, _K.ALL_CLASS_IDS,
             _K.ALL_CLASSES)
_STRING_SOURCES = {_K.CLASSES: _K.CLASS_IDS, _K.ALL_CLASSES: _K.ALL_CLASS_IDS}


@final
@dataclasses.dataclass(frozen=True)
class MultiClassHead(base.SingleHead):
  """Single-label classification over ``n_classes > 2`` classes (``tf.estimator.MultiClassHead``).

  Logits are ``[D0, ..., DN, n_classes]``; labels are integer class ids (or
  vocabulary strings) of shape ``[D0, ..., DN]`` or ``[D0, ..., DN, 1]``. The
  loss is sparse softmax cross-entropy. An out-of-range id is a ``ValueError``
  eagerly and makes the loss and metrics NaN under ``jit`` (never a wrapped-around
  class).

  Args:
    n_classes: the number of classes, > 2 (use :class:`BinaryClassHead` for 2).
    weight_column: a feature name, or a callable ``features -> weights``.
    label_vocabulary: ``n_classes`` class strings.
    loss_reduction: a :class:`LossReduction` or its string.
    loss_fn: ``loss_fn(labels, logits[, features][, loss_reduction])`` returning
      the unweighted loss ``[D0, ..., DN, 1]``; labels are int class ids ``[..., 1]``.
    name: suffixes every metric key with ``/name``.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.MultiClassHead(3, label_vocabulary=['cat', 'dog', 'fox'])
    >>> logits = jnp.array([[5., 0., 0.], [0., 0., 5.]])
    >>> head.decode_predictions(head.predictions(logits))['classes'].tolist()
    [['cat'], ['fox']]
    >>> round(float(head.loss(['cat', 'dog'], logits)), 4)
    2.5134
  """

  n_classes: int
  _: dataclasses.KW_ONLY
  weight_column: base.WeightColumn = None
  label_vocabulary: Sequence[str] | None = None
  loss_reduction: LossReduction | str = LossReduction.SUM_OVER_BATCH_SIZE
  loss_fn: Callable[..., ArrayLike] | None = None
  name: str | None = None

  _label_dtype: ClassVar[Any] = jnp.int32

  def __post_init__(self):
    if self.n_classes is None:
      raise ValueError('n_classes cannot be None')
    vocabulary = checks.vocabulary(
        self.label_vocabulary, n_classes=self.n_classes,
        type_message='label_vocabulary should be a list or a tuple. Given type: {type}',
        length_message='"label_vocabulary" does not have "n_classes" items. '
        'len(label_vocabulary)={length}, n_classes={n_classes}, label_vocabulary={vocabulary}')
    object.__setattr__(self, 'label_vocabulary', vocabulary)
    object.__setattr__(self, 'loss_reduction', checks.loss_reduction(self.loss_reduction))
    if self.loss_fn is not None:
      checks.loss_fn_args(self.loss_fn)
    if not isinstance(self.n_classes, int) or isinstance(self.n_classes, bool):
      raise TypeError(f'n_classes must be an int, got {self.n_classes!r}.')
    if self.n_classes <= 2:
      raise ValueError(f'n_classes must be > 2: {self.n_classes}.')
    base.weight_column(self.weight_column)

  @property
  def logits_dimension(self) -> int:
    return self.n_classes

  @property
  def _label_width(self) -> int:
    return 1

  _prediction_keys = _ALL_KEYS
  _string_sources = _STRING_SOURCES

  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: vocabulary strings to int32 class ids; integer ids pass through."""
    if checks.is_string_array(labels):
      return base.encode_strings(labels, self.label_vocabulary)
    labels = np.asarray(labels)
    if labels.dtype.kind not in 'iu':
      raise ValueError(f'Labels dtype should be integer. Instead got {labels.dtype}.')
    return labels.astype(np.int32)

  def _labels(self, labels, logits):
    labels = checks.dense_labels(labels, logits.shape, 1)
    checks.integer_labels(labels)
    return labels, checks.label_range(labels, self.n_classes - 1)

  def _default_loss(self, labels, logits):
    return optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels[..., 0])[..., None]

  def _prediction_dict(self, logits: jax.Array) -> dict[str, jax.Array]:
    ids = jnp.arange(self.n_classes, dtype=jnp.int32)
    return {
        _K.LOGITS: logits,
        _K.PROBABILITIES: jax.nn.softmax(logits, axis=-1),
        _K.CLASS_IDS: jnp.argmax(logits, axis=-1, keepdims=True).astype(jnp.int32),
        _K.ALL_CLASS_IDS: jnp.broadcast_to(ids, (logits.shape[0], self.n_classes)),
    }

  def _signatures(self, predictions):
    return {SignatureKeys.CLASSIFY: {'scores': predictions[_K.PROBABILITIES],
                                     'classes': predictions[_K.ALL_CLASS_IDS]}}

  def decode_predictions(self, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Host side: adds ``classes`` and ``all_classes`` (vocabulary or ``'0'`` ...)."""
    names = base.class_names(self.label_vocabulary, self.n_classes)
    return base.decode_classes(predictions, names, self._prediction_keys, self._string_sources)

  def _batch_metrics(self, batch: base.Batch, regularization_losses) -> dict[str, metrics_lib.Metric]:
    class_ids = jnp.argmax(batch.logits, axis=-1, keepdims=True)
    return {
        self._key(MetricKeys.LOSS_MEAN): metrics_lib.Mean.from_values(batch.unweighted_loss, batch.weights),
        **self._regularization_metric(regularization_losses),
        self._key(MetricKeys.ACCURACY): metrics_lib.Mean.from_values(batch.labels == class_ids, batch.weights),
    }
