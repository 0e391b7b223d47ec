"""Label priors: the moving weighted fraction of positives that the constraints use.

The state holds two counts per label, the weighted positive count and the
weight sum, both seeded with pseudocounts. Each batch is added *before* the
priors are read, so the priors a loss sees include the current batch. The
counts are additive, so summing them over devices (``axis_name``) gives the
priors of the global batch.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from flaxheads._src.global_objectives import shapes


class LabelPriorsState(NamedTuple):
  """The counts behind the label priors, one entry per label.

  ``priors = weighted_label_counts / weight_sum``.
  """

  weighted_label_counts: jax.Array  # [num_labels] positive pseudocount + sum of w * y
  weight_sum: jax.Array  # [num_labels] both pseudocounts + sum of w


def init_label_priors(num_labels: int, *, positive_pseudocount: float = 1.,
                      negative_pseudocount: float = 1.) -> LabelPriorsState:
  """The counts before any batch: the pseudocounts.

  Example:
    >>> import flaxheads.global_objectives as go
    >>> go.init_label_priors(2, positive_pseudocount=1., negative_pseudocount=3.)
    LabelPriorsState(weighted_label_counts=Array([1., 1.], dtype=float32), weight_sum=Array([4., 4.], dtype=float32))
  """
  if not isinstance(num_labels, int) or isinstance(num_labels, bool) or num_labels < 1:
    raise ValueError(f'num_labels must be an int >= 1, got {num_labels!r}.')
  for name, value in (('positive_pseudocount', positive_pseudocount),
                      ('negative_pseudocount', negative_pseudocount)):
    if not value >= 0:
      raise ValueError(f'{name} must be >= 0, got {value!r}.')
  if not positive_pseudocount + negative_pseudocount > 0:
    raise ValueError('positive_pseudocount + negative_pseudocount must be > 0, got '
                     f'{positive_pseudocount!r} + {negative_pseudocount!r}.')
  return LabelPriorsState(
      weighted_label_counts=jnp.full((num_labels,), positive_pseudocount, jnp.float32),
      weight_sum=jnp.full((num_labels,), positive_pseudocount + negative_pseudocount, jnp.float32))


def label_priors(state: LabelPriorsState) -> jax.Array:
  """The priors ``[num_labels]`` of the counts so far (no gradient)."""
  return jax.lax.stop_gradient(state.weighted_label_counts / state.weight_sum)


def update_label_priors(state: LabelPriorsState, labels, weights=1., *,
                        axis_name=None) -> tuple[LabelPriorsState, jax.Array]:
  """Adds one batch to the counts; returns the new state and the priors including it.

  Args:
    state: the counts so far (:func:`init_label_priors`).
    labels: ``[batch]`` or ``[batch, num_labels]``, in ``[0, 1]``.
    weights: a scalar (adds ``weights * batch`` to the weight sum), ``[batch]``
      (broadcast across labels), ``[batch, 1]`` or ``[batch, num_labels]``.
    axis_name: under ``shard_map``/``pmap``, the mapped axis (or axes): the
      batch counts are summed over it, so every device holds the priors of the
      global batch.

  Returns:
    ``(new_state, priors)``, ``priors`` of shape ``[num_labels]``, with no gradient.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads.global_objectives as go
    >>> state = go.init_label_priors(1)
    >>> state, priors = go.update_label_priors(state, jnp.array([1., 0., 0., 0.]))
    >>> priors   # (1 + 1) / (2 + 4)
    Array([0.33333334], dtype=float32)
  """
  labels, _ = shapes.as_matrix(labels, labels, 'labels')
  weights = shapes.matrix_weights(weights, labels)
  num_labels = state.weighted_label_counts.shape[-1]
  if labels.shape[1] != num_labels:
    raise ValueError(f'labels have {labels.shape[1]} labels (shape {labels.shape}), but the '
                     f'label priors state counts {num_labels}.')
  labels, weights = jax.lax.stop_gradient((labels, weights))
  weights = jnp.broadcast_to(weights, labels.shape)
  batch = (jnp.sum(weights * labels, axis=0), jnp.sum(weights, axis=0))
  if axis_name is not None:
    batch = jax.lax.psum(batch, axis_name)
  new = LabelPriorsState(state.weighted_label_counts + batch[0], state.weight_sum + batch[1])
  return new, label_priors(new)
