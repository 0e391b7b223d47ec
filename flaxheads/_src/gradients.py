"""The gradient and the Hessian diagonal of a head's summed loss with respect to the logits.

Gradient boosting libraries grow trees on per-example first and second
derivatives of the loss. This module owns that computation for every
single-task head, built from the head's public ``loss_terms`` alone: the
summed weighted loss ``sum_i w_i * l_i`` is their ``total``, its gradient is ``jax.grad`` of it, and the exact
Hessian diagonal is forward-over-reverse differentiation. Heads with a custom
``loss_fn`` are differentiated the same way.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def gradient_and_hessian(head: Any, labels: Any, logits: ArrayLike,
                         features: Any = None) -> tuple[jax.Array, jax.Array]:
  """The gradient and the exact Hessian diagonal of ``sum_i w_i * l_i`` w.r.t. ``logits``.

  The loss of example ``i`` depends only on row ``i`` of the logits, so the
  Hessian of the summed loss is block diagonal: one Jacobian-vector product of
  the gradient along the one-hot column ``k`` (in every row at once) gives the
  Hessian diagonal of column ``k`` for every row, ``logits_dimension``
  products in all. Jittable; called eagerly with invalid label values it raises
  the head's ``ValueError``, under ``jit`` it gives NaN for invalid rows.

  Args:
    head: a single-task head.
    labels: labels as ``head.loss`` takes them.
    logits: ``[batch, logits_dimension]``.
    features: features as ``head.loss`` takes them (the weight column).

  Returns:
    ``(gradient, hessian)``, float32 ``[batch, logits_dimension]`` each: no
    reduction over the batch, example weights applied.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> import flaxheads as fh
    >>> from flaxheads._src.gradients import gradient_and_hessian
    >>> head = fh.BinaryClassHead(weight_column='w')
    >>> fn = jax.jit(lambda y, z, f: gradient_and_hessian(head, y, z, f))
    >>> g, h = fn(jnp.array([1., 0.]), jnp.zeros((2, 1)), {'w': jnp.array([1., 2.])})
    >>> g.tolist(), h.tolist()  # w * (sigmoid(z) - y), w * p * (1 - p)
    ([[-0.5], [1.0]], [[0.25], [0.5]])
  """
  logits = _checked_logits(head, logits)
  width = head.logits_dimension
  gradient, hessian_vector_product = jax.linearize(_gradient_fn(head, labels, features), logits)
  columns = []
  for k in range(width):
    tangent = jnp.zeros_like(logits).at[:, k].set(1.)
    columns.append(hessian_vector_product(tangent)[:, k])
  return gradient, jnp.stack(columns, axis=-1)


def _gradient_fn(head, labels, features):
  # With a mask (of every row) the head weighs each row on its own, so an invalid row's NaN stays in its row.
  return jax.grad(lambda z: head.loss_terms(labels, z, features, mask=jnp.ones(z.shape[0], bool)).total)


def _checked_logits(head, logits):
  logits = jnp.asarray(logits, jnp.float32)
  width = head.logits_dimension
  if logits.ndim != 2 or logits.shape[-1] != width:
    raise ValueError(f'logits must have shape [batch, logits_dimension] = [batch, {width}], got '
                     f'shape {logits.shape}.')
  return logits
