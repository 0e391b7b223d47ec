"""The input description of a served model and its prediction functions.

A served model takes **raw** feature values, one float per named feature
(``[batch, num_features]``, or ``[batch, length, num_features]`` plus the
sequence lengths for sequence models), and applies the standardisation the
model was trained with before calling it. A served booster's prediction
function takes the raw margins the boosting library computes instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from flaxheads._src.keys import SignatureKeys
from flaxheads._src.multi_head import MultiHead
from flaxheads._src.sequential_head import SequentialHeadWrapper

ApplyFn = Callable[[Any, dict[str, jax.Array]], Any]


@dataclasses.dataclass(frozen=True, eq=False)
class InputSpec:
  """What a served model takes: named raw float features and their standardisation.

  Attributes:
    feature_names: the name of each feature, in column order (the ``tf.Example``
      feature keys of the SavedModel and the column order of the ``jax.export``
      artifact's input).
    mean: subtracted from the raw features (a scalar or one value per feature).
    std: the raw features are divided by it after subtracting ``mean``.
    key: the features dict key under which the model's ``apply_fn`` reads the
      standardized ``[batch, ...]`` array.
    sequence_length: for sequence models, the number of steps ``T``: inputs are
      ``[batch, T, num_features]`` with ``lengths`` ``[batch]``, and the
      features dict also holds the ``[batch, T]`` mask under the head's
      ``sequence_length_mask``.

  Example:
    >>> spec = InputSpec(('a', 'b'), mean=[1., 2.], std=[2., 4.])
    >>> spec.standardize(np.array([[3., 2.]], np.float32))
    Array([[1., 0.]], dtype=float32)
  """

  feature_names: Sequence[str]
  mean: Any = 0.
  std: Any = 1.
  key: str = 'x'
  sequence_length: int | None = None

  def __post_init__(self):
    names = tuple(self.feature_names)
    if not names or not all(isinstance(n, str) and n for n in names):
      raise ValueError(f'feature_names must be non-empty strings, got {self.feature_names!r}')
    if len(set(names)) != len(names):
      raise ValueError(f'feature_names must be distinct, got {names!r}')
    object.__setattr__(self, 'feature_names', names)
    for field in ('mean', 'std'):
      value = np.asarray(getattr(self, field), np.float32)
      if value.ndim > 1 or value.size not in (1, len(names)):
        raise ValueError(f'{field} must be a scalar or have one value per feature ({len(names)}), '
                         f'got shape {value.shape}')
      object.__setattr__(self, field, value)
    if not np.all(np.isfinite(self.std)) or np.any(self.std == 0):
      raise ValueError(f'std must be finite and non-zero, got {self.std}')
    if self.sequence_length is not None and (not isinstance(self.sequence_length, int)
                                             or self.sequence_length <= 0):
      raise ValueError(f'sequence_length must be a positive int or None, got {self.sequence_length!r}')

  @property
  def num_features(self) -> int:
    return len(self.feature_names)

  def standardize(self, x: jax.Array) -> jax.Array:
    """``(x - mean) / std`` in float32."""
    return ((jnp.asarray(x, jnp.float32) - self.mean) / self.std).astype(jnp.float32)

  def metadata(self) -> dict[str, Any]:
    """A JSON-serializable description (written beside the artifacts)."""
    return {'feature_names': list(self.feature_names), 'mean': self.mean.tolist(), 'std': self.std.tolist(),
            'sequence_length': self.sequence_length}


def check_head_inputs(head, inputs: InputSpec) -> None:
  """Raises ``ValueError`` unless sequence heads come with ``sequence_length`` and others without."""
  sequence = isinstance(head, SequentialHeadWrapper)
  if sequence and inputs.sequence_length is None:
    raise ValueError(f'inputs.sequence_length must be set for {type(head).__name__}, got None')
  if not sequence and inputs.sequence_length is not None:
    raise ValueError(f'inputs.sequence_length must be None for {type(head).__name__} (not a sequence '
                     f'head), got {inputs.sequence_length}')


def model_features(head, inputs: InputSpec, x: jax.Array, lengths: jax.Array | None) -> dict[str, jax.Array]:
  """The features dict the model and the head see: standardized ``x`` (and the mask from ``lengths``)."""
  features = {inputs.key: inputs.standardize(x)}
  if lengths is not None:
    steps = jnp.arange(x.shape[1], dtype=jnp.int32)
    features[head.sequence_length_mask] = (steps[None, :] < lengths.astype(jnp.int32)[:, None]).astype(jnp.int32)
  return features


def export_outputs_fn(head, apply_fn: ApplyFn, inputs: InputSpec) -> Callable[..., dict]:
  """``fn(variables, x[, lengths]) -> head.export_outputs(logits, features)`` of raw features ``x``."""
  check_head_inputs(head, inputs)

  def export_outputs(variables, x, lengths=None):
    features = model_features(head, inputs, x, lengths)
    return head.export_outputs(apply_fn(variables, features), features)
  return export_outputs


def prediction_fn(head, apply_fn: ApplyFn, inputs: InputSpec) -> Callable[..., Mapping[str, jax.Array]]:
  """``fn(variables, x[, lengths])``: the head's numeric predictions of raw features, keyed by string.

  The keys are those of the ``predict`` signature (``'<head>/<key>'`` for a
  ``MultiHead``; with the mask for sequence heads).

  Example:
    >>> import flaxheads as fh
    >>> head = fh.RegressionHead()
    >>> apply_fn = lambda variables, features: features['x'] @ variables['w']
    >>> fn = prediction_fn(head, apply_fn, InputSpec(('a', 'b'), mean=1.))
    >>> fn({'w': jnp.ones((2, 1))}, jnp.array([[1., 3.]]))
    {'predictions': Array([[2.]], dtype=float32)}
  """
  outputs = export_outputs_fn(head, apply_fn, inputs)
  return lambda variables, x, lengths=None: outputs(variables, x, lengths)[SignatureKeys.PREDICT]


def margins_prediction_fn(head) -> Callable[[jax.Array], Mapping[str, jax.Array]]:
  """``fn(margins)``: a single head's numeric predictions of raw margins ``[batch, logits_dimension]``.

  The keys are those of the head's ``predict`` signature, as :func:`prediction_fn`.

  Raises:
    ValueError: ``head`` is a ``MultiHead`` or a ``SequentialHeadWrapper``.

  Example:
    >>> import flaxheads as fh
    >>> fn = margins_prediction_fn(fh.BinaryClassHead())
    >>> fn(jnp.array([[0.]]))['probabilities']
    Array([[0.5, 0.5]], dtype=float32)
  """
  if isinstance(head, (MultiHead, SequentialHeadWrapper)):
    raise ValueError(f'head must be a single-task head for a prediction function of margins, got '
                     f'{type(head).__name__}')
  return lambda margins: head.export_outputs(margins)[SignatureKeys.PREDICT]
