"""Train, eval and predict steps: Estimator's ``create_estimator_spec``, made functional.

A train step takes a :class:`TrainState` (params, optax state, the model's other
Flax collections: Estimator's ``update_ops``), features and labels, and returns
the new state with the step's losses. It is pure, so ``jax.jit`` compiles it;
with ``axis_name`` it also runs per device under ``shard_map`` or ``pmap``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx, struct

from flaxheads._src import base
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.global_objectives import head_training
from flaxheads._src.keys import LossReduction, ModeKeys

Params = Any
ApplyFn = Callable[..., Any]
RegularizationFn = Callable[[Params], Any]
TrainOpFn = Callable[[Any, Params], Any]

_SOWN_LOSSES = 'losses'  # a Flax collection whose sown values are added as regularization
_PER_CALL_COLLECTIONS = (_SOWN_LOSSES, 'intermediates')


class TrainState(struct.PyTreeNode):
  """Everything a train step updates, as one pytree (orbax checkpoints it as is).

  ``apply_fn`` and ``tx`` are static. ``model_state`` holds every Flax
  collection except ``params`` (``batch_stats`` and whatever else the model
  declares mutable): Estimator's ``update_ops``.
  """

  step: jax.Array  # [] int32, the number of updates applied
  params: Params  # the trainable variables
  opt_state: optax.OptState | None  # tx's state; None with a train_op_fn
  model_state: dict[str, Any]  # non-params Flax collections, e.g. {'batch_stats': ...}
  apply_fn: ApplyFn = struct.field(pytree_node=False)
  tx: optax.GradientTransformation | None = struct.field(pytree_node=False, default=None)

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


class StepOutput(NamedTuple):
  """What a train step reports besides the new state."""

  loss: jax.Array  # [] training loss: head loss plus regularization
  unregularized_loss: jax.Array  # [] the head's loss alone
  regularization_loss: jax.Array  # [] sum of regularization losses (0 without)
  finite: jax.Array  # [] bool: loss and gradients finite; if not, see ``nonfinite``
  predictions: dict[str, jax.Array] | None  # the head's predictions, if asked for


def _model_state(state) -> dict[str, Any]:
  return dict(getattr(state, 'model_state', None) or {})


def _apply(state, params, model_state, features, *, train: bool, rng):
  """Runs the model; returns logits, updated collections and sown losses."""
  variables = {'params': params, **model_state}
  rngs = None if rng is None else (rng if isinstance(rng, Mapping) else {'dropout': rng})
  if not train:
    return state.apply_fn(variables, features, train=False, rngs=rngs), model_state, []
  mutable = list(model_state) + [_SOWN_LOSSES]
  logits, updates = state.apply_fn(variables, features, train=True, rngs=rngs, mutable=mutable)
  updates = dict(updates)
  sown = jax.tree.leaves(updates.pop(_SOWN_LOSSES, {}))
  return logits, {**model_state, **updates}, sown


def _regularization(params, regularization_fn, sown) -> list[jax.Array]:
  losses = [jnp.sum(jnp.asarray(x, jnp.float32)) for x in sown]
  if regularization_fn is not None:
    value = regularization_fn(params)
    losses += [jnp.asarray(v, jnp.float32) for v in (value if isinstance(value, (list, tuple)) else [value])]
  return losses


def _varying_axes(x) -> frozenset:
  """The mapped axes ``x`` varies over, where JAX tracks them (``shard_map``'s ``check_vma``)."""
  typeof = getattr(jax, 'typeof', None)
  if typeof is None:  # older JAX: no varying-axes types
    return frozenset()
  aval = typeof(x)
  vma = getattr(aval, 'vma', None)
  if vma is None:
    vma = getattr(getattr(aval, 'manual_axis_type', None), 'varying', None)
  return frozenset(vma or ())


def _axes(axis_name) -> tuple:
  return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _axis_size(axes: tuple) -> int:
  size = getattr(jax.lax, 'axis_size', None)
  return math.prod(size(a) if size is not None else jax.lax.psum(1, a) for a in axes)


def _combine_gradients(grads, loss, axis_name, *, mean: bool):
  """Per-device gradients combined over ``axis_name``: their sum, or mean with ``mean``.

  Where JAX tracks which values vary across devices (``shard_map`` with
  ``check_vma``), the gradient of a replicated (non-varying) parameter already
  is the sum over devices: autodiff transposes the implicit broadcast of the
  parameter to every device into a sum. Only gradients that still vary are
  summed here. Untracked axes (``pmap``, ``check_vma=False``), recognised by a
  per-device loss that does not vary over them, are summed explicitly.
  """
  axes = _axes(axis_name)
  loss_varies = _varying_axes(loss)
  size = _axis_size(axes)

  def combine(g):
    g_varies = _varying_axes(g)
    to_sum = tuple(a for a in axes if a in g_varies or a not in loss_varies)
    total = jax.lax.psum(g, to_sum) if to_sum else g
    return total / size if mean else total

  return jax.tree.map(combine, grads)


def train_step(head: base.Head, state, features, labels, *, rng=None, axis_name: str | None = None,
               train_op_fn: TrainOpFn | None = None,
               regularization_fn: RegularizationFn | None = None,
               nonfinite: str = 'raise', with_predictions: bool = False):
  """One training step: loss, gradients, optimizer update and model-state update.

  Args:
    head: the head computing the loss.
    state: a :class:`TrainState` (or a ``flax.training.train_state.TrainState``).
    features: the model's input (a dict, so that ``weight_column`` works, or an array).
    labels: labels in the form the head's ``loss`` takes under ``jit``.
    rng: a PRNG key (passed as ``rngs={'dropout': rng}``) or a dict of keys.
    axis_name: the mapped axis (or axes) under ``shard_map``/``pmap``:
      gradients, losses and mutable collections are averaged across it
      (gradients and the head's loss summed for a ``SUM`` reduction), so the
      update and the losses equal the single-device ones over the global batch.
    train_op_fn: ``fn(state, grads) -> state`` replacing the optimizer
      (Estimator's ``train_op_fn``); exactly one of it and ``state.tx``.
    regularization_fn: ``fn(params) -> scalar or list of scalars`` added to the
      loss; values the model sows into a ``'losses'`` collection are added too.
    nonfinite: what a non-finite loss or gradient does. ``'raise'`` (default)
      keeps the old params, optimizer and model state and raises on the host
      (a ``JaxRuntimeError`` naming the step, when the step's results are
      read); ``'skip'`` keeps the old state silently (``out.finite`` is False);
      ``'apply'`` applies the update unguarded, as Estimator did. ``'raise'``
      puts a host callback in the step, which makes CPU dispatch synchronous
      (about 40% more per step for a small MLP on 2 cores); a loop that reads results
      anyway can take ``'skip'`` and check ``out.finite`` there, as
      ``flaxheads train`` does.
    with_predictions: also return the head's predictions of the batch.

  Returns:
    ``(new_state, StepOutput)``.
  """
  tx = getattr(state, 'tx', None)
  if tx is not None and train_op_fn is not None:
    raise ValueError('train_op_fn and optimizer cannot both be set.')
  if tx is None and train_op_fn is None:
    raise ValueError('train_op_fn and optimizer cannot both be None.')
  if nonfinite not in ('raise', 'skip', 'apply'):
    raise ValueError(f"nonfinite must be 'raise', 'skip' or 'apply', got {nonfinite!r}.")
  model_state = _model_state(state)
  summed = axis_name is not None and head.loss_reduction == LossReduction.SUM

  def loss_fn(params):
    logits, new_model_state, sown = _apply(state, params, model_state, features, train=True, rng=rng)
    head_loss, new_model_state = head_training.train_loss(head, labels, logits, features, params,
                                                          new_model_state, axis_name=axis_name)
    regularization = base.regularization_total(_regularization(params, regularization_fn, sown))
    # Summed over devices, the per-device objectives must count the regularization once.
    scale = 1 / _axis_size(_axes(axis_name)) if summed else 1
    return head_loss + scale * regularization, (head_loss, regularization, new_model_state, logits)

  grads, (head_loss, regularization, new_model_state, logits) = jax.grad(loss_fn, has_aux=True)(state.params)
  if axis_name is not None:
    grads = _combine_gradients(grads, head_loss, axis_name, mean=not summed)
    head_loss = (jax.lax.psum if summed else jax.lax.pmean)(head_loss, axis_name)
    regularization = jax.lax.pmean(regularization, axis_name)
    new_model_state = jax.tree.map(  # e.g. batch statistics; not RNG counters
        lambda x: jax.lax.pmean(x, axis_name) if jnp.issubdtype(x.dtype, jnp.inexact) else x,
        new_model_state)
  loss = head_loss + regularization
  if train_op_fn is not None:
    updated = train_op_fn(state, grads)
    params, opt_state = updated.params, getattr(updated, 'opt_state', None)
  else:
    updates, opt_state = tx.update(grads, state.opt_state, state.params, value=loss)
    params = optax.apply_updates(state.params, updates)
  finite = _finite(loss, grads)
  if nonfinite == 'raise':
    jax.lax.cond(finite, lambda: None,
                 lambda: jax.debug.callback(_raise_nonfinite, state.step, loss))
  if nonfinite != 'apply':
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
    params = keep(params, state.params)
    opt_state = keep(opt_state, state.opt_state)
    new_model_state = keep(new_model_state, model_state)
  replace = dict(step=state.step + 1, params=params, opt_state=opt_state)
  if hasattr(state, 'model_state'):
    replace['model_state'] = new_model_state
  predictions = head.predictions(logits) if with_predictions else None
  return state.replace(**replace), StepOutput(loss, head_loss, regularization, finite, predictions)


def _finite(loss: jax.Array, grads) -> jax.Array:
  """Whether the loss and every gradient are finite.

  One sum per gradient: it compiles and runs faster than ``all(isfinite(g))``.
  A sum only overflows past float32's range when the gradients are themselves
  of order 1e32, which no optimizer survives either (Adam's ``g**2`` is ``inf``).
  """
  return jnp.isfinite(loss + sum(jnp.sum(g) for g in jax.tree.leaves(grads)))


def _raise_nonfinite(step, loss):
  raise FloatingPointError(f'Non-finite loss or gradients at step {int(step)}: loss {float(loss)}; '
                           'the update was not applied.')


def eval_step(head: base.Head, state, metric_state: dict[str, metrics_lib.Metric], features, labels,
              *, axis_name: str | None = None,
              regularization_fn: RegularizationFn | None = None) -> dict[str, metrics_lib.Metric]:
  """Updates the head's metric state with one batch (model in inference mode).

  With ``axis_name``, the batch's metric states are summed across devices
  (``psum``) before merging, so every device holds the global metrics.
  ``regularization_loss`` is tracked when ``metric_state`` has it.
  """
  logits, _, _ = _apply(state, state.params, _model_state(state), features, train=False, rng=None)
  regularization = None
  if any(k.startswith('regularization_loss') for k in metric_state):
    regularization = _regularization(state.params, regularization_fn, [])
  empty = jax.tree.map(jnp.zeros_like, metric_state)
  batch = head.update_metrics(empty, features, logits, labels, regularization)
  if axis_name is not None:
    batch = jax.lax.psum(batch, axis_name)
  return metrics_lib.merge_states(metric_state, batch)


class PredictOutput(NamedTuple):
  """What a predict step returns (Estimator's PREDICT spec)."""

  predictions: dict[str, jax.Array]  # the head's numeric predictions
  export_outputs: dict[str, dict[str, jax.Array]]  # signature key -> outputs (see Head.export_outputs)


def predict_step(head: base.Head, state, features) -> PredictOutput:
  """The head's predictions and export outputs for ``features`` (model in inference mode)."""
  logits, _, _ = _apply(state, state.params, _model_state(state), features, train=False, rng=None)
  return PredictOutput(head.predictions(logits), head.export_outputs(logits, features))
