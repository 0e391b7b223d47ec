"""Surrogates of the 0-1 indicator, the bounds built on them, and the dual variable.

The global objectives replace counts of true and false positives by weighted
surrogate losses (sigmoid cross-entropy or hinge). This module owns those
weighted surrogates, the lower bound on true positives and the upper bound on
false positives they give, and the sign-reversed view of a raw Lagrange
multiplier through which a minimising optimizer ascends on the dual.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

SURROGATE_TYPES = ('xent', 'hinge')


def check_surrogate_type(surrogate_type: str) -> None:
  """Raises ``ValueError`` unless ``surrogate_type`` is ``'xent'`` or ``'hinge'``."""
  if surrogate_type not in SURROGATE_TYPES:
    raise ValueError(f"surrogate_type must be 'xent' or 'hinge', got {surrogate_type!r}.")


def log2_factor(surrogate_type: str) -> float:
  """``log 2`` for ``'xent'`` (cross-entropy bounds the indicator once divided by it), else 1."""
  return math.log(2.) if surrogate_type == 'xent' else 1.


def weighted_sigmoid_cross_entropy(labels: jax.Array, logits: jax.Array, *, positive_weights=1.,
                                   negative_weights=1.) -> jax.Array:
  """``c z softplus(-x) + d (1 - z) softplus(x)`` element-wise, ``c``/``d`` the class weights.

  Computed as ``d (x - z x) + (d + (c - d) z) (max(-x, 0) + log(1 + exp(-|x|)))``,
  the stable form (and rounding) of the reference implementation.

  Example:
    >>> import jax.numpy as jnp
    >>> loss = weighted_sigmoid_cross_entropy(jnp.array([1., 0.]), jnp.array([0., 0.]),
    ...                                       positive_weights=2.)
    >>> [round(float(v), 4) for v in loss]   # 2 log 2, log 2
    [1.3863, 0.6931]
  """
  softplus = jnp.maximum(-logits, 0.) + jnp.log(1. + jnp.exp(-jnp.abs(logits)))
  factor = negative_weights + (positive_weights - negative_weights) * labels
  return negative_weights * (logits - labels * logits) + factor * softplus


def weighted_hinge(labels: jax.Array, logits: jax.Array, *, positive_weights=1.,
                   negative_weights=1.) -> jax.Array:
  """``c z max(1 - x, 0) + d (1 - z) max(1 + x, 0)`` element-wise.

  Example:
    >>> import jax.numpy as jnp
    >>> weighted_hinge(jnp.array([1., 0.]), jnp.array([0.5, 0.5])).tolist()
    [0.5, 1.5]
  """
  positives = positive_weights * labels * jnp.maximum(1. - logits, 0.)
  negatives = negative_weights * (1. - labels) * jnp.maximum(1. + logits, 0.)
  return positives + negatives


def weighted_surrogate(labels: jax.Array, logits: jax.Array, surrogate_type: str, *,
                       positive_weights=1., negative_weights=1.) -> jax.Array:
  """The weighted cross-entropy or hinge surrogate, by ``surrogate_type``."""
  check_surrogate_type(surrogate_type)
  fn = weighted_sigmoid_cross_entropy if surrogate_type == 'xent' else weighted_hinge
  return fn(labels, logits, positive_weights=positive_weights, negative_weights=negative_weights)


def true_positives_lower_bound(labels: jax.Array, logits: jax.Array, weights, surrogate_type: str) -> jax.Array:
  """``sum_i w_i (y_i - surrogate on positives / log 2)``: a lower bound on the true positives.

  ``labels``, ``logits``: ``[batch, num_labels]``; ``weights`` broadcasts
  against them. Returns ``[num_labels]``.
  """
  on_positives = weighted_surrogate(labels, logits, surrogate_type, negative_weights=0.)
  return jnp.sum(weights * (labels - on_positives / log2_factor(surrogate_type)), axis=0)


def false_positives_upper_bound(labels: jax.Array, logits: jax.Array, weights, surrogate_type: str) -> jax.Array:
  """``sum_i w_i surrogate on negatives / log 2``: an upper bound on the false positives."""
  on_negatives = weighted_surrogate(labels, logits, surrogate_type, positive_weights=0.)
  return jnp.sum(weights * on_negatives / log2_factor(surrogate_type), axis=0)


def dual_value(raw: jax.Array, dual_rate_factor) -> jax.Array:
  """``|raw|``, with gradient ``-dual_rate_factor * sign(raw)`` times the incoming one.

  The value is exactly ``|raw|`` (a non-negative Lagrange multiplier); the
  gradient is reversed and scaled, so that a minimising optimizer performs
  gradient *ascent* on the multiplier at ``dual_rate_factor`` times its
  learning rate. At ``raw == 0`` exactly the gradient is 0 (``sign(0) = 0``, as
  in the reference): a multiplier initialised at 0 never moves.

  Example:
    >>> import jax
    >>> jax.grad(lambda l: 3. * dual_value(l, 0.1))(-2.)   # -0.1 * sign(-2) * 3
    Array(0.3, dtype=float32, weak_type=True)
  """
  frozen = jax.lax.stop_gradient(jnp.abs(raw))
  sign = jax.lax.stop_gradient(jnp.sign(raw))
  # sign * raw == |raw| exactly, so the value is |raw| and the gradient -r * sign(raw)
  # (JAX's own d|x|/dx is 1 at 0; the reference's, TF's, is sign(0) = 0).
  return frozen + dual_rate_factor * (frozen - sign * raw)
