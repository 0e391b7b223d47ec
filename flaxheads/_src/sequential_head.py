"""SequentialHeadWrapper: a single head applied at every valid step of a sequence."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import checks
from flaxheads._src.metric_state import MetricState
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.head import Features, Head
from flaxheads._src.keys import LossReduction, SignatureKeys
from flaxheads._src.loss_terms import LossTerms, RegularizationLosses
from flaxheads._src.multi_head import NESTED_OBJECTIVE, MultiHead
from flaxheads._src.single_head import SingleHead


@final
@dataclasses.dataclass(frozen=True)
class SequentialHeadWrapper(Head):
  """Applies a single head at every valid step of a sequence model's output.

  Logits are ``[B, T, L]``, labels ``[B, T]`` or ``[B, T, k]``, and
  ``features[sequence_length_mask]`` is a ``[B, T]`` mask (bool, or 0/1 ints) of
  the valid steps. Loss and metrics are the static head's over the valid steps
  only, exactly as Estimator's flatten-then-compute: ``SUM_OVER_BATCH_SIZE``
  divides by the number of valid steps. Under ``jit`` the number of valid steps
  is not static, so masking is done with weights, never boolean indexing;
  labels, logits and features at masked steps are ignored entirely (padding such
  as label ``-1`` or NaN logits there is harmless).

  The listed ``feature_columns`` (and the static head's string weight column)
  are flattened and masked the same way and passed on to the static head.

  Differences from Estimator: ``loss`` takes ``(labels, logits, ...)`` like
  every head (Estimator swaps them); ``predictions`` works for every static
  head, regression included, keeps ``[B, T, ...]`` shapes, and adds the mask
  when given ``features``.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.SequentialHeadWrapper(fh.BinaryClassHead(), 'mask')
    >>> logits = jnp.zeros((1, 3, 1))
    >>> labels = jnp.array([[1, 0, -1]])  # the last step is padding
    >>> mask = jnp.array([[True, True, False]])
    >>> round(float(head.loss(labels, logits, {'mask': mask})), 6)
    0.693147
  """

  static_head: SingleHead
  sequence_length_mask: str = 'sequence_length_mask'
  feature_columns: str | Iterable[str] | None = None

  def __post_init__(self):
    if not isinstance(self.sequence_length_mask, str):
      raise TypeError('`sequence_mask` column must be a string. Given type: '
                      f'{type(self.sequence_length_mask)}.')
    columns = self.feature_columns if self.feature_columns is not None else ()
    if isinstance(columns, str):
      columns = (columns,)
    if not isinstance(columns, Iterable):
      raise TypeError('`feature_columns` must be either a string or an iterable of strings got '
                      f'{type(columns)} instead.')
    columns = tuple(columns)
    for column in columns:
      if not isinstance(column, str):
        raise TypeError(f'Column must a string. Given type: {type(column)}.')
    object.__setattr__(self, 'feature_columns', columns)
    if isinstance(self.static_head, (MultiHead, SequentialHeadWrapper)):
      raise ValueError(f'`{type(self.static_head).__name__}` is not supported with '
                       '`SequentialHeadWrapper`.')
    if not isinstance(self.static_head, SingleHead):
      raise TypeError(f'static_head must be a single flaxheads head, got {type(self.static_head).__name__}.')
    if self.static_head.global_objective is not None:
      raise ValueError(NESTED_OBJECTIVE.format(head=type(self.static_head).__name__,
                                                wrapper='SequentialHeadWrapper'))

  @property
  def name(self) -> str | None:
    return None if self.static_head.name is None else f'{self.static_head.name}_sequential'

  @property
  def logits_dimension(self) -> int:
    return self.static_head.logits_dimension

  @property
  def loss_reduction(self) -> LossReduction:
    return self.static_head.loss_reduction

  @property
  def input_sequence_mask_key(self) -> str:
    return self.sequence_length_mask

  def _mask(self, features: Features) -> jax.Array:
    key = self.sequence_length_mask
    if not isinstance(features, Mapping) or key not in features:
      found = list(features) if isinstance(features, Mapping) else []
      raise ValueError(f'The provided sequence_length_mask key `{key}` should be included in the '
                       f'features dictionary, but was not found. Found keys: {found}.')
    mask = jnp.asarray(features[key])
    if mask.ndim != 2:
      raise ValueError(f'Mask is expected to have two dimensions, got {mask.ndim} instead.')
    return mask != 0

  def _flatten(self, labels: Any, logits: ArrayLike, features: Features, mask: ArrayLike | None):
    """``[B, T, ...]`` to ``[B*T, ...]``: labels, logits, the static head's features and the step mask.

    ``mask`` (``[B]`` or ``[B, T]``) leaves out rows or steps on top of the sequence mask.
    """
    steps_mask = self._mask(features)
    if mask is not None:
      mask = jnp.asarray(mask) != 0
      if mask.shape != steps_mask.shape[:mask.ndim] or mask.ndim == 0:
        raise ValueError(f'mask must have shape [B] or [B, T] = {steps_mask.shape}; got {mask.shape}.')
      steps_mask = steps_mask & mask.reshape(mask.shape + (1,) * (2 - mask.ndim))
    steps = steps_mask.size

    def flat(value, what):
      value = jnp.asarray(value)
      if value.ndim < 2:
        raise ValueError(f'Input tensor expected to have at least 2 dimensions, got {value.ndim} '
                         f'instead ({what}).')
      if value.shape[:2] != steps_mask.shape:
        raise ValueError(f'Tensor shape is incompatible with provided mask: {what} has shape '
                         f'{value.shape}, the mask {steps_mask.shape}.')
      return value.reshape((steps,) + value.shape[2:])

    weight_column = self.static_head.weight_column
    columns = self.feature_columns + ((weight_column,) if isinstance(weight_column, str) and
                                      weight_column not in self.feature_columns else ())
    flat_features = {}
    for column in columns:
      if column not in features:
        raise ValueError(f'`{column}` column expected in features dictionary.')
      flat_features[column] = flat(features[column], f'feature {column!r}')
    if labels is None:
      raise ValueError('You must provide a labels Tensor. Given: None.')
    return flat(labels, 'labels'), flat(logits, 'logits'), flat_features, steps_mask.reshape(steps)

  def labels_for_jit(self, labels: Any) -> Any:
    """Host side: the static head's ``labels_for_jit``."""
    return self.static_head.labels_for_jit(labels)

  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: the static head's ``encode_labels`` (strings to ids, any shape)."""
    return self.static_head.encode_labels(labels)

  def loss_terms(self, labels: Any, logits: ArrayLike, features: Features = None, *,
                 mask: ArrayLike | None = None) -> LossTerms:
    """The static head's loss terms over the valid steps (``features`` holds the sequence mask).

    ``SUM_OVER_BATCH_SIZE`` divides by the number of valid steps (times the
    static head's loss values per step).
    """
    labels, logits, flat_features, steps_mask = self._flatten(
        self.labels_for_jit(labels), logits, checks.without_string_features(features), mask)
    return self.static_head.loss_terms(labels, logits, flat_features, mask=steps_mask)

  def predictions(self, logits: ArrayLike, keys: Sequence[str] | None = None, *,
                  features: Features = None) -> dict[str, jax.Array]:
    """The static head's predictions at every step, ``[B, T, ...]``.

    With ``features``, the mask is added under its feature key, as in
    Estimator's predict outputs.
    """
    predictions = self.static_head.predictions(logits, keys)
    if features is not None:
      predictions[self.sequence_length_mask] = jnp.asarray(features[self.sequence_length_mask])
    return predictions

  def export_outputs(self, logits: ArrayLike, features: Features = None) -> dict[str, dict[str, jax.Array]]:
    """The static head's signatures; with ``features``, ``predict`` holds the mask too
    (Estimator adds it to the predictions but not to the ``predict`` signature)."""
    outputs = self.static_head.export_outputs(logits)
    if features is not None:
      outputs[SignatureKeys.PREDICT] = {**outputs[SignatureKeys.PREDICT],
                                        self.sequence_length_mask: jnp.asarray(features[self.sequence_length_mask])}
    return outputs

  def decode_predictions(self, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Host side: the static head's decoding (class strings per step); the mask passes through."""
    decoded = self.static_head.decode_predictions(
        {k: v for k, v in predictions.items() if k != self.sequence_length_mask})
    if self.sequence_length_mask in predictions:
      decoded[self.sequence_length_mask] = np.asarray(predictions[self.sequence_length_mask])
    return decoded

  def metrics(self, regularization_losses: RegularizationLosses = None) -> MetricState:
    """The static head's metrics."""
    return self.static_head.metrics(regularization_losses)

  def update_metrics(self, eval_metrics: Mapping[str, metrics_lib.Metric], features: Features,
                     logits: ArrayLike, labels: Any, regularization_losses: RegularizationLosses = None, *,
                     mask: ArrayLike | None = None) -> MetricState:
    """The static head's metrics updated with the valid steps of one batch."""
    labels, logits, flat_features, steps_mask = self._flatten(
        self.labels_for_jit(labels), logits, checks.without_string_features(features), mask)
    return self.static_head.update_metrics(eval_metrics, flat_features, logits, labels,
                                           regularization_losses, mask=steps_mask)
