"""Train, eval and predict steps: Estimator's ``create_estimator_spec``, made functional.

A train step is four small pieces, each usable on its own:

1. :func:`loss_and_grads` runs the model in training mode and differentiates
   the head's loss plus regularization;
2. :func:`combine_across_devices` sums the per-device gradients and averages
   the model's other collections over a mapped axis (``shard_map``/``pmap``);
3. :func:`apply_gradients` runs the optimizer (or a ``train_op_fn``);
4. :func:`record_nonfinite` records the first step with a non-finite loss or
   gradient, which :func:`raise_if_nonfinite` reports on the host
   (:func:`keep_if_finite` skips such a step instead).

:func:`train_step` chains them. Every piece is pure, so ``jax.jit`` compiles
it. The head's loss comes as additive terms (a weighted sum and a count):
across devices the global loss is ``psum(total) / psum(count)`` whatever the
reduction, so no piece reads the head's ``loss_reduction``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from flaxheads._src.metric_state import MetricState
from flaxheads._src import metrics as metrics_lib
from flaxheads._src import train_state as train_state_lib
from flaxheads._src.global_objectives import head_training
from flaxheads._src.loss_terms import regularization_total

RegularizationFn = Callable[[Any], Any]
TrainOpFn = Callable[[Any, Any], Any]
AxisName = str | tuple[str, ...] | None


class StepOutput(NamedTuple):
  """What a train step reports besides the new state."""

  loss: jax.Array  # [] training loss: head loss plus regularization
  unregularized_loss: jax.Array  # [] the head's loss alone
  regularization_loss: jax.Array  # [] sum of regularization losses (0 without)
  finite: jax.Array  # [] bool: loss and gradients finite; if not, see ``nonfinite``
  predictions: dict[str, jax.Array] | None  # the head's predictions, if asked for


class Gradients(NamedTuple):
  """What :func:`loss_and_grads` returns."""

  grads: Any  # d(objective)/d(params); per device under axis_name, to be summed
  head_loss: jax.Array  # [] the head's loss over the (global) batch
  regularization: jax.Array  # [] this device's regularization losses
  model_state: dict[str, Any]  # the model's collections after the forward pass
  logits: Any  # the model's output


def _axes(axis_name: AxisName) -> tuple[str, ...]:
  return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _axis_size(axis_name: AxisName) -> int:
  return math.prod(jax.lax.axis_size(a) for a in _axes(axis_name))


def _varying_axes(x) -> frozenset:
  """The mapped axes ``x`` varies over, where JAX tracks them (``shard_map``'s ``check_vma``)."""
  return jax.typeof(x).manual_axis_type.varying


def regularization_losses(params, regularization_fn: RegularizationFn | None, sown) -> list[jax.Array]:
  """The scalars added to the loss: the model's sown losses, then ``regularization_fn(params)``."""
  losses = [jnp.sum(jnp.asarray(x, jnp.float32)) for x in sown]
  if regularization_fn is not None:
    value = regularization_fn(params)
    losses += [jnp.asarray(v, jnp.float32) for v in (value if isinstance(value, (list, tuple)) else [value])]
  return losses


def loss_and_grads(head, state, features, labels, *, rng=None, axis_name: AxisName = None,
                   regularization_fn: RegularizationFn | None = None) -> Gradients:
  """Runs the model in training mode and differentiates loss plus regularization.

  With ``axis_name`` (under ``shard_map`` or ``pmap``), the head's loss is the
  loss over the global batch, ``psum`` of every device's terms; each device
  differentiates only through its own terms and counts a ``1 / devices``
  share of the regularization, so that the sum of the devices' gradients
  (:func:`combine_across_devices`) is the gradient of the global objective.
  """
  collections = train_state_lib.model_state(state)

  def objective(params):
    logits, new_collections, sown = train_state_lib.apply_model(
        state, params, collections, features, train=True, rng=rng)
    if head.global_objective is None:
      terms = head.loss_terms(labels, logits, features)
    else:  # the objective's multipliers are in params, its label-prior counts in the collections
      terms, new_collections = head_training.objective_terms(
          head, labels, logits, features, params, new_collections, axis_name=axis_name)
    regularization = regularization_total(regularization_losses(params, regularization_fn, sown))
    if axis_name is None:
      head_loss = terms.value()
      return head_loss + regularization, (head_loss, regularization, new_collections, logits)
    global_terms = jax.lax.psum(terms, axis_name)
    local = jax.tree.map(lambda g, t: jax.lax.stop_gradient(g - t) + t, global_terms, terms)
    share = regularization / _axis_size(axis_name)
    return local.value() + share, (global_terms.value(), regularization, new_collections, logits)

  grads, aux = jax.grad(objective, has_aux=True)(state.params)
  return Gradients(grads, *aux)


def combine_across_devices(gradients: Gradients, axis_name: AxisName) -> Gradients:
  """Sums per-device gradients and averages the model's float collections over ``axis_name``.

  Where JAX tracks which values vary across devices (``shard_map`` with
  ``check_vma``), the gradient of a replicated parameter already is the sum
  over devices: autodiff transposes the implicit broadcast of the parameter to
  every device into a sum. Only gradients that still vary are summed here.
  Untracked axes (``pmap``, ``check_vma=False``), recognised by an
  ``axis_index`` that does not vary over them, are summed explicitly.
  """
  axes = _axes(axis_name)
  tracked = {a for a in axes if a in _varying_axes(jax.lax.axis_index(a))}

  def total(g):
    to_sum = tuple(a for a in axes if a in _varying_axes(g) or a not in tracked)
    return jax.lax.psum(g, to_sum) if to_sum else g

  mean = lambda x: jax.lax.pmean(x, axis_name) if jnp.issubdtype(x.dtype, jnp.inexact) else x
  return gradients._replace(grads=jax.tree.map(total, gradients.grads),
                            regularization=jax.lax.pmean(gradients.regularization, axis_name),
                            model_state=jax.tree.map(mean, gradients.model_state))  # not RNG counters


def apply_gradients(state, grads, *, loss: jax.Array, train_op_fn: TrainOpFn | None = None):
  """One update of the params: ``state.tx`` (given the loss as ``value``), or ``train_op_fn``.

  Returns the state with new params, optimizer state and ``step + 1``.
  """
  if state.tx is not None and train_op_fn is not None:
    raise ValueError('train_op_fn and optimizer cannot both be set.')
  if state.tx is None and train_op_fn is None:
    raise ValueError('train_op_fn and optimizer cannot both be None.')
  if train_op_fn is not None:
    updated = train_op_fn(state, grads)
    params, opt_state = updated.params, updated.opt_state
  else:
    updates, opt_state = state.tx.update(grads, state.opt_state, state.params, value=loss)
    params = optax.apply_updates(state.params, updates)
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state)


def is_finite(loss: jax.Array, grads) -> jax.Array:
  """Whether the loss and every gradient are finite.

  One sum per gradient: it compiles and runs faster than ``all(isfinite(g))``.
  A sum only overflows past float32's range when the gradients are themselves
  of order 1e32, which no optimizer survives either (Adam's ``g**2`` is ``inf``).
  """
  return jnp.isfinite(loss + sum(jnp.sum(g) for g in jax.tree.leaves(grads)))


def keep_if_finite(new_state, state, finite: jax.Array):
  """``new_state`` where ``finite``, else ``state`` (with the new step count)."""
  kept = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new_state.replace(step=state.step), state)
  return kept.replace(step=new_state.step)


def record_nonfinite(new_state: train_state_lib.TrainState, state: train_state_lib.TrainState,
                     finite: jax.Array) -> train_state_lib.TrainState:
  """``new_state`` with ``nonfinite_step`` set to ``state.step`` if this is the first non-finite step.

  Only a scalar is written: the step costs what an unguarded one does, and
  :func:`raise_if_nonfinite` reports the step on the host.
  """
  first = jnp.where((state.nonfinite_step < 0) & ~finite, state.step, state.nonfinite_step)
  return new_state.replace(nonfinite_step=first.astype(jnp.int32))


class NonFiniteLossError(FloatingPointError):
  """A train step met a non-finite loss or gradient; ``step`` is the first such step."""

  __module__ = 'flaxheads'

  def __init__(self, step: int):
    super().__init__(f"Non-finite loss or gradients at step {step}; the state holds that step's update: "
                     'restore an earlier checkpoint.')
    self.step = step


def raise_if_nonfinite(state: train_state_lib.TrainState) -> None:
  """Raises :class:`NonFiniteLossError` naming the first step whose loss or gradients were not finite.

  Host side: it reads ``state.nonfinite_step`` (a device-to-host copy, which
  waits for the steps before it). Call it where a loop reads results anyway:
  when it logs, evaluates, checkpoints and at the end.

  Example:
    >>> import flax.linen as nn, jax, jax.numpy as jnp, optax
    >>> import flaxheads as fh
    >>> class Linear(nn.Module):
    ...   @nn.compact
    ...   def __call__(self, x, train=False):
    ...     return nn.Dense(1)(x)
    >>> x, y = jnp.ones((4, 2)), jnp.full((4, 1), jnp.nan)
    >>> head, model = fh.RegressionHead(), Linear()
    >>> state = fh.TrainState.create(apply_fn=model.apply, variables=model.init(jax.random.key(0), x),
    ...                              tx=optax.sgd(0.1))
    >>> state, out = jax.jit(head.train_step)(state, x, y)   # the loss is NaN: the step is recorded
    >>> fh.raise_if_nonfinite(state)
    Traceback (most recent call last):
    ...
    flaxheads.NonFiniteLossError: Non-finite loss or gradients at step 0; the state holds that step's update: ...
  """
  value = state.nonfinite_step
  if isinstance(value, jax.Array) and not value.is_fully_addressable:  # replicated over processes
    value = value.addressable_data(0)
  step = int(value)
  if step >= 0:
    raise NonFiniteLossError(step)


def _raise_nonfinite(step, loss):
  raise FloatingPointError(f'Non-finite loss or gradients at step {int(step)}: loss {float(loss)}; '
                           'the update was not applied.')


def train_step(head, state, features, labels, *, rng=None, axis_name: AxisName = None,
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
    axis_name: the mapped axis (or axes) under ``shard_map``/``pmap``: the
      loss is the head's over the global batch, gradients are summed and
      mutable collections averaged across it, so the update and the losses
      equal the single-device ones over the global batch.
    train_op_fn: ``fn(state, grads) -> state`` replacing the optimizer
      (Estimator's ``train_op_fn``); exactly one of it and ``state.tx``.
    regularization_fn: ``fn(params) -> scalar or list of scalars`` added to the
      loss; values the model sows into a ``'losses'`` collection are added too.
    nonfinite: what a non-finite loss or gradient does.

      - ``'raise'`` (default) applies the update and records the first
        non-finite step in ``state.nonfinite_step``: nothing is checked on
        the host inside the step, so it runs as fast as an unguarded one.
        :func:`raise_if_nonfinite` raises :class:`NonFiniteLossError` (a
        ``FloatingPointError``) naming that step; call it where the loop reads results anyway (``flaxheads
        train`` does whenever it logs, evaluates or checkpoints, and at the
        end, so it never saves a checkpoint past a non-finite step). As with
        Estimator's ``NanTensorHook``, the state after that step holds its
        update: restore an earlier checkpoint. With a ``flax.training``
        ``TrainState``, which has no ``nonfinite_step``, the step instead keeps
        the old state and raises through a host callback (slower: on CPU it
        makes dispatch synchronous).
      - ``'skip'`` keeps the old state for this step (with the new step
        count) and goes on; ``out.finite`` tells.
      - ``'apply'`` applies the update unguarded, as Estimator did.
    with_predictions: also return the head's predictions of the batch.

  Returns:
    ``(new_state, StepOutput)``.
  """
  if nonfinite not in ('raise', 'skip', 'apply'):
    raise ValueError(f"nonfinite must be 'raise', 'skip' or 'apply', got {nonfinite!r}.")
  gradients = loss_and_grads(head, state, features, labels, rng=rng, axis_name=axis_name,
                             regularization_fn=regularization_fn)
  if axis_name is not None:
    gradients = combine_across_devices(gradients, axis_name)
  loss = gradients.head_loss + gradients.regularization
  new_state = apply_gradients(state, gradients.grads, loss=loss, train_op_fn=train_op_fn)
  flaxheads_state = isinstance(state, train_state_lib.TrainState)
  if flaxheads_state:
    new_state = new_state.replace(model_state=gradients.model_state)
  finite = is_finite(loss, gradients.grads)
  if nonfinite == 'raise' and flaxheads_state:
    new_state = record_nonfinite(new_state, state, finite)
  elif nonfinite == 'raise':
    jax.lax.cond(finite, lambda: None, lambda: jax.debug.callback(_raise_nonfinite, state.step, loss))
    new_state = keep_if_finite(new_state, state, finite)
  elif nonfinite == 'skip':
    new_state = keep_if_finite(new_state, state, finite)
  predictions = head.predictions(gradients.logits) if with_predictions else None
  return new_state, StepOutput(loss, gradients.head_loss, gradients.regularization, finite, predictions)


def eval_step(head, state, metric_state: Mapping[str, metrics_lib.Metric], features, labels,
              *, axis_name: AxisName = None,
              regularization_fn: RegularizationFn | None = None) -> MetricState:
  """Updates the head's metric state with one batch (model in inference mode).

  With ``axis_name``, the batch's metric states are summed across devices
  (``psum``) before merging, so every device holds the global metrics.
  ``regularization_loss`` is tracked when ``metric_state`` has it.
  """
  collections = train_state_lib.model_state(state)
  logits, _, _ = train_state_lib.apply_model(state, state.params, collections, features, train=False)
  regularization = None
  if any(k.startswith('regularization_loss') for k in metric_state):
    regularization = regularization_losses(state.params, regularization_fn, [])
  empty = jax.tree.map(jnp.zeros_like, MetricState(metric_state))
  batch = head.update_metrics(empty, features, logits, labels, regularization)
  if axis_name is not None:
    batch = jax.lax.psum(batch, axis_name)
  return MetricState(metric_state).merge(batch)


class PredictOutput(NamedTuple):
  """What a predict step returns (Estimator's PREDICT spec)."""

  predictions: dict[str, jax.Array]  # the head's numeric predictions
  export_outputs: dict[str, dict[str, jax.Array]]  # signature key -> outputs (see Head.export_outputs)


def predict_step(head, state, features) -> PredictOutput:
  """The head's predictions and export outputs for ``features`` (model in inference mode)."""
  collections = train_state_lib.model_state(state)
  logits, _, _ = train_state_lib.apply_model(state, state.params, collections, features, train=False)
  return PredictOutput(head.predictions(logits), head.export_outputs(logits, features))
