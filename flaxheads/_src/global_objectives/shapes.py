"""Trace-time checks and the ``[batch, num_labels]`` layout every global objective computes in.

Labels and logits of shape ``[batch]`` are viewed as ``[batch, 1]``; weights of
shape ``[batch]`` as ``[batch, 1]``. Every error is a ``ValueError`` raised at
trace time, naming the argument, the expected and the actual value.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np


def as_matrix(labels, logits, what: str = 'logits') -> tuple[jax.Array, jax.Array]:
  """float32 ``labels`` and ``logits`` of exactly the same shape, as ``[batch, num_labels]``."""
  logits = jnp.asarray(logits, jnp.float32)
  labels = jnp.asarray(labels).astype(jnp.float32)
  if labels.shape != logits.shape:
    raise ValueError(f'labels and logits must have the same shape, got labels {labels.shape} '
                     f'and logits {logits.shape}.')
  if logits.ndim not in (1, 2):
    raise ValueError(f'{what} must have shape [batch] or [batch, num_labels], got {logits.shape}.')
  if logits.ndim == 1:
    labels, logits = labels[:, None], logits[:, None]
  return labels, logits


def matrix_weights(weights, logits: jax.Array) -> jax.Array:
  """float32 weights broadcastable to ``logits`` ``[batch, num_labels]``: ``[]``, ``[batch, 1]`` or its shape.

  A scalar is broadcast to the shape of ``logits``; ``[batch]`` becomes ``[batch, 1]``.
  """
  weights = jnp.asarray(weights).astype(jnp.float32)
  batch, num_labels = logits.shape
  if weights.ndim == 0:
    return weights * jnp.ones_like(logits)
  if weights.shape == (batch,):
    return weights[:, None]
  if weights.shape in ((batch, 1), (batch, num_labels)):
    return weights
  raise ValueError(f'weights must be a scalar or of shape [batch] = {(batch,)}, [batch, 1] or '
                   f'[batch, num_labels] = {(batch, num_labels)}, got {weights.shape}.')


def exact_shape(value, name: str, expected: tuple[int, ...], meaning: str) -> jax.Array:
  """``value`` as float32, which must have exactly the shape ``expected`` (no broadcasting)."""
  value = jnp.asarray(value).astype(jnp.float32)
  if value.shape != tuple(expected):
    raise ValueError(f'{name} must have shape {meaning} = {tuple(expected)}, got {value.shape}.')
  return value


def rate(value, name: str, num_labels: int) -> jax.Array:
  """A target (precision, recall or rate): a scalar or ``[num_labels]``, every value in [0, 1].

  Concrete values are range-checked; traced ones can only be shape-checked.
  """
  if not isinstance(value, jax.core.Tracer):
    concrete = np.asarray(value, np.float64)
    if not np.all((concrete >= 0) & (concrete <= 1)):
      raise ValueError(f'{name} must be in [0, 1], got {concrete.tolist()!r}.')
  value = jnp.asarray(value).astype(jnp.float32)
  if value.shape not in ((), (num_labels,)):
    raise ValueError(f'{name} must be a scalar or of shape [num_labels] = {(num_labels,)}, '
                     f'got {value.shape}.')
  return value


def priors(value, num_labels: int) -> jax.Array:
  """Label priors ``[num_labels]`` (a scalar is broadcast), with no gradient."""
  value = jnp.asarray(value).astype(jnp.float32)
  if value.shape not in ((), (num_labels,)):
    raise ValueError(f'label_priors must be a scalar or of shape [num_labels] = {(num_labels,)}, '
                     f'got {value.shape}.')
  return jax.lax.stop_gradient(jnp.broadcast_to(value, (num_labels,)))


def precision_range(value: Sequence[float]) -> tuple[float, float]:
  """A pair ``(lo, hi)`` with ``0 <= lo < hi <= 1``."""
  try:
    lo, hi = (float(v) for v in value)
  except (TypeError, ValueError):
    raise ValueError(f'precision_range must be a pair (lo, hi), got {value!r}.') from None
  if not 0. <= lo < hi <= 1.:
    raise ValueError(f'precision_range must be increasing within [0, 1] (0 <= lo < hi <= 1), '
                     f'got {tuple(value)!r}.')
  return lo, hi


def num_anchors(value) -> int:
  """A positive int."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f'num_anchors must be an int >= 1, got {value!r}.')
  return int(value)
