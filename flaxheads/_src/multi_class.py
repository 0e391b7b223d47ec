"""Multi-class classification with softmax cross-entropy."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from flaxheads._src import checks, single_head
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import MetricKeys, PredictionKeys, SignatureKeys

_K = PredictionKeys
_ALL_KEYS = (_K.LOGITS, _K.PROBABILITIES, _K.CLASS_IDS, _K.CLASSES, _K.ALL_CLASS_IDS,
             _K.ALL_CLASSES)


@final
@dataclasses.dataclass(frozen=True)
class MultiClassHead(single_head.SingleHead):
  """Single-label classification over ``n_classes > 2`` classes (``tf.estimator.MultiClassHead``).

  Logits are ``[D0, ..., DN, n_classes]``; labels are integer class ids (or
  vocabulary strings) of shape ``[D0, ..., DN]`` or ``[D0, ..., DN, 1]``. The
  loss is sparse softmax cross-entropy; a ``loss_fn`` gets int class ids
  ``[..., 1]`` and returns ``[D0, ..., DN, 1]``. An out-of-range id is a
  ``ValueError`` eagerly and makes the loss and metrics NaN under ``jit``
  (never a wrapped-around class).

  Args:
    n_classes: the number of classes, > 2 (use :class:`BinaryClassHead` for 2).
    label_vocabulary: ``n_classes`` class strings.
    weight_column, loss_reduction, loss_fn, name: see :class:`SingleHead`.

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
  label_vocabulary: Sequence[str] | None = None

  label_dtype: ClassVar[Any] = jnp.int32
  label_width: ClassVar[int] = 1
  prediction_keys: ClassVar[tuple[str, ...]] = _ALL_KEYS

  def _validated_fields(self) -> dict[str, Any]:
    if self.n_classes is None:
      raise ValueError('n_classes cannot be None')
    vocabulary = checks.vocabulary(
        self.label_vocabulary, n_classes=self.n_classes,
        type_message='label_vocabulary should be a list or a tuple. Given type: {type}',
        length_message='"label_vocabulary" does not have "n_classes" items. '
        'len(label_vocabulary)={length}, n_classes={n_classes}, label_vocabulary={vocabulary}')
    if not isinstance(self.n_classes, int) or isinstance(self.n_classes, bool):
      raise TypeError(f'n_classes must be an int, got {self.n_classes!r}.')
    if self.n_classes <= 2:
      raise ValueError(f'n_classes must be > 2: {self.n_classes}.')
    return {'label_vocabulary': vocabulary}

  @property
  def logits_dimension(self) -> int:
    return self.n_classes

  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: vocabulary strings to int32 class ids; integer ids pass through."""
    if checks.is_string_array(labels):
      return single_head.encode_strings(labels, self.label_vocabulary)
    labels = np.asarray(labels)
    if labels.dtype.kind not in 'iu':
      raise ValueError(f'Labels dtype should be integer. Instead got {labels.dtype}.')
    return labels.astype(np.int32)

  def _dense_labels(self, labels, logits_shape):
    return checks.integer_labels(checks.dense_labels(labels, logits_shape, 1))

  def _label_validity(self, labels):
    return checks.label_range(labels, self.n_classes - 1)

  def _default_loss(self, labels, logits):
    return optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels)

  def _all_predictions(self, logits: jax.Array) -> dict[str, jax.Array]:
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
    names = single_head.class_names(self.label_vocabulary, self.n_classes)
    return single_head.decode_class_ids(predictions, names, self.prediction_keys)

  def _batch_metrics(self, batch, regularization_losses) -> dict[str, metrics_lib.Metric]:
    class_ids = jnp.argmax(batch.logits, axis=-1)
    return {
        self._key(MetricKeys.LOSS_MEAN): metrics_lib.Mean.from_values(batch.unweighted_loss, batch.weights),
        **self._regularization_metric(regularization_losses),
        self._key(MetricKeys.ACCURACY): metrics_lib.Mean.from_values(batch.labels == class_ids, batch.weights),
    }
