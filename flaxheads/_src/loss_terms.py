"""The loss of a batch as additive terms: a weighted sum and a count, reduced last.

A head's loss over a batch is ``LossTerms(total, count)``: the sum of the
weighted per-element losses and the number of loss elements. Like clu's
``Average``, the terms are additive, so the loss over several devices or
batches is ``psum`` (or ``+``) of their terms, reduced once: ``total / count``
for ``SUM_OVER_BATCH_SIZE``, ``total`` for ``SUM``. The reduction travels with
the terms as static data, so whoever combines them never needs to know it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import LossReduction

RegularizationLosses = Sequence[ArrayLike] | ArrayLike | None


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LossTerms:
  """A single head's loss over a batch, before reduction.

  Example:
    >>> import jax.numpy as jnp
    >>> from flaxheads._src.loss_terms import LossTerms
    >>> a = LossTerms(jnp.float32(3.), jnp.float32(2.), 'sum_over_batch_size')
    >>> b = LossTerms(jnp.float32(1.), jnp.float32(2.), 'sum_over_batch_size')
    >>> float((a + b).value())  # (3 + 1) / (2 + 2)
    1.0
  """

  total: jax.Array  # [] float32 sum of weighted per-element losses
  count: jax.Array  # [] float32 number of loss elements (masked-out ones excluded)
  reduction: LossReduction = dataclasses.field(metadata=dict(static=True))

  def __add__(self, other: LossTerms) -> LossTerms:
    return jax.tree.map(jnp.add, self, other)

  def value(self) -> jax.Array:
    """The reduced loss: ``total``, or ``total / count`` (0 for an empty batch)."""
    if LossReduction(self.reduction) == LossReduction.SUM:
      return self.total
    return jnp.where(self.count > 0, self.total / jnp.where(self.count > 0, self.count, 1.), 0.)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class CombinedLossTerms:
  """Several heads' terms and how their reduced losses combine (``MultiHead``).

  ``combine`` maps ``{head name: reduced loss}`` to the training loss; it is
  static, so the terms stay an additive pytree.
  """

  terms: Mapping[str, Any]  # head name -> that head's LossTerms (or CombinedLossTerms)
  combine: Callable[[dict[str, jax.Array]], jax.Array] = dataclasses.field(metadata=dict(static=True))

  def __add__(self, other: CombinedLossTerms) -> CombinedLossTerms:
    return jax.tree.map(jnp.add, self, other)

  def values(self) -> dict[str, jax.Array]:
    """Each head's reduced loss."""
    return {name: t.value() for name, t in self.terms.items()}

  def value(self) -> jax.Array:
    return jnp.asarray(self.combine(self.values()), jnp.float32)


def weighted_terms(unweighted_loss: jax.Array, weights: jax.Array | float, mask: jax.Array | None,
                   reduction: LossReduction) -> LossTerms:
  """The terms of per-element losses under weights (Keras' ``compute_weighted_loss``).

  ``count`` is the number of elements of the weighted loss, zero-weighted ones
  included (Estimator's ``SUM_OVER_BATCH_SIZE``), masked-out rows excluded;
  ``mask`` is ``[D0, ..., DN, 1]`` or None.
  """
  size = jnp.broadcast_shapes(jnp.shape(unweighted_loss), jnp.shape(weights))
  if mask is None:
    count = jnp.float32(math.prod(size))
  else:
    count = jnp.sum(jnp.broadcast_to(mask, size), dtype=jnp.float32)
  total = metrics_lib.weighted_sum(jnp.broadcast_to(unweighted_loss, size), weights)
  return LossTerms(total, count, LossReduction(reduction))


def regularization_total(regularization_losses: RegularizationLosses) -> jax.Array:
  """``add_n`` of scalar regularization losses (a sequence of scalars, or one scalar)."""
  losses = regularization_losses
  if not isinstance(losses, (list, tuple)):
    losses = [losses]
  losses = [jnp.asarray(r, jnp.float32) for r in losses]
  for r in losses:
    if r.shape != ():
      raise ValueError(f'regularization_losses must be scalars, got one of shape {r.shape}.')
  return functools.reduce(jnp.add, losses, jnp.zeros((), jnp.float32))


def training_loss(terms: LossTerms | CombinedLossTerms,
                  regularization_losses: RegularizationLosses = None) -> jax.Array:
  """The reduced loss plus the regularization losses (unscaled, after the reduction)."""
  loss = terms.value()
  if regularization_losses is None:
    return loss
  return loss + regularization_total(regularization_losses)
