"""Per-element losses the heads use that optax does not have in Estimator's exact form."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


@jax.custom_jvp
def sigmoid_cross_entropy(labels: jax.Array, logits: jax.Array) -> jax.Array:
  """TF's stable ``max(x, 0) - x * z + log1p(exp(-|x|))``, element-wise.

  Mathematically ``optax.losses.sigmoid_binary_cross_entropy``; this form rounds
  as TensorFlow does, so losses match Estimator's to the last float32 digit.
  Its derivatives are the smooth ``sigmoid(x) - z`` (and ``-x`` for the labels),
  also at ``x = 0``, where ``max`` and ``abs`` would give autodiff a kink.
  """
  return jnp.maximum(logits, 0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))


@sigmoid_cross_entropy.defjvp
def _sigmoid_cross_entropy_jvp(primals, tangents):
  labels, logits = primals
  labels_dot, logits_dot = tangents
  loss = sigmoid_cross_entropy(labels, logits)
  return loss, (jax.nn.sigmoid(logits) - labels) * logits_dot - logits * labels_dot


def log_poisson_loss(labels: jax.Array, log_rate: jax.Array, *, compute_full_loss: bool) -> jax.Array:
  """``exp(c) - z * c``, plus Stirling's term ``z log z - z + log(2 pi z) / 2`` for z > 1.

  The formula of ``tf.nn.log_poisson_loss``: the Stirling term approximates
  ``log(z!)`` and is 0 for labels in [0, 1].
  """
  loss = jnp.exp(log_rate) - log_rate * labels
  if not compute_full_loss:
    return loss
  safe = jnp.where(labels > 1, labels, 1.)
  stirling = safe * jnp.log(safe) - safe + 0.5 * jnp.log(2. * math.pi * safe)
  return loss + jnp.where((labels >= 0) & (labels <= 1), 0., stirling)
