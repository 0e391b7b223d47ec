"""``TrainState``: params, optimizer state and the model's other Flax collections, as one pytree.

Estimator's ``update_ops`` (batch statistics and other mutable collections)
are the ``model_state``. Linen models plug in through their ``apply``; NNX
modules through :meth:`TrainState.from_nnx`. :func:`apply_model` runs either
in the Linen ``apply`` convention.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx, struct
from flax.training import train_state as flax_train_state

Params = Any
ApplyFn = Callable[..., Any]

SOWN_LOSSES = 'losses'  # a Flax collection whose sown values are added as regularization
_PER_CALL_COLLECTIONS = (SOWN_LOSSES, 'intermediates')


class TrainState(struct.PyTreeNode):
  """Everything a train step updates, as one pytree (orbax checkpoints it as is).

  ``apply_fn`` and ``tx`` are static. ``model_state`` holds every Flax
  collection except ``params`` (``batch_stats`` and whatever else the model
  declares mutable): Estimator's ``update_ops``. ``nonfinite_step`` records
  the first step that met a non-finite loss or gradient (see
  :func:`flaxheads.train_step` and :func:`flaxheads.raise_if_nonfinite`).
  """

  step: jax.Array  # [] int32, the number of updates applied
  params: Params  # the trainable variables
  opt_state: optax.OptState | None  # tx's state; None with a train_op_fn
  model_state: dict[str, Any]  # non-params Flax collections, e.g. {'batch_stats': ...}
  apply_fn: ApplyFn = struct.field(pytree_node=False)
  tx: optax.GradientTransformation | None = struct.field(pytree_node=False, default=None)
  # [] int32: the first step whose loss or gradients were not finite; -1: none so far.
  nonfinite_step: jax.Array = struct.field(default_factory=lambda: jnp.full((), -1, jnp.int32))

  @classmethod
  def create(cls, *, apply_fn: ApplyFn, variables: Mapping[str, Any],
             tx: optax.GradientTransformation | None) -> TrainState:
    """A state at step 0 from a Linen model's ``apply`` and ``init`` variables.

    ``tx`` may be None when every step is given a ``train_op_fn``. Sown
    ``'losses'`` and ``'intermediates'`` are dropped: each call fills them anew.
    """
    variables = dict(variables)
    if 'params' not in variables:
      raise ValueError(f"variables must hold a 'params' collection; got {sorted(variables)}.")
    params = variables.pop('params')
    for sown in _PER_CALL_COLLECTIONS:  # filled anew by every call, not state
      variables.pop(sown, None)
    return cls(step=jnp.zeros((), jnp.int32), params=params,
               opt_state=None if tx is None else tx.init(params),
               model_state=variables, apply_fn=apply_fn, tx=tx)

  @classmethod
  def from_nnx(cls, model: nnx.Module, tx: optax.GradientTransformation | None) -> TrainState:
    """A state from an NNX module: ``nnx.Param`` are the params, the rest is model state.

    The module's ``train()``/``eval()`` modes are set per step, so BatchNorm
    uses batch statistics (and updates them) in training only.
    """
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    return cls(step=jnp.zeros((), jnp.int32), params=params,
               opt_state=None if tx is None else tx.init(params),
               model_state={'nnx': rest}, apply_fn=functools.partial(_apply_nnx, graphdef), tx=tx)


AnyTrainState = TrainState | flax_train_state.TrainState


def _apply_nnx(graphdef, variables, features, *, train: bool, rngs=None, mutable=False):
  """Calls an NNX module in the Linen ``apply`` convention."""
  del rngs  # NNX modules carry their own RNG streams in their state.
  model = nnx.merge(graphdef, variables['params'], variables['nnx'], copy=True)
  model.train() if train else model.eval()
  logits = model(features)
  if not mutable:
    return logits
  _, _, rest = nnx.split(model, nnx.Param, ...)
  return logits, {'nnx': rest}


def model_state(state: AnyTrainState) -> dict[str, Any]:
  """The non-params collections of a flaxheads state; ``{}`` for flax's ``TrainState``."""
  return dict(state.model_state) if isinstance(state, TrainState) else {}


def apply_model(state: AnyTrainState, params: Params, collections: dict[str, Any], features, *,
                train: bool, rng=None) -> tuple[Any, dict[str, Any], list[jax.Array]]:
  """Runs the model; returns its logits, its updated collections and the losses it sowed."""
  variables = {'params': params, **collections}
  rngs = None if rng is None else (rng if isinstance(rng, Mapping) else {'dropout': rng})
  if not train:
    return state.apply_fn(variables, features, train=False, rngs=rngs), collections, []
  mutable = list(collections) + [SOWN_LOSSES]
  logits, updates = state.apply_fn(variables, features, train=True, rngs=rngs, mutable=mutable)
  updates = dict(updates)
  sown = jax.tree.leaves(updates.pop(SOWN_LOSSES, {}))
  return logits, {**collections, **updates}, sown
