"""Training a head on its global objective: the model wrapper and the train-step hook.

A head with a ``global_objective`` (``BinaryClassHead``, ``MultiLabelHead``)
trains on that objective instead of its own loss. The objective's raw
multipliers (and biases) are trainable variables next to the model's, in
``params['global_objective']``, so the optimizer step that descends on the
model ascends on them; the label-prior counts are the Flax collection
``'label_priors'`` of the train state's ``model_state``, updated every step
(summed over the global batch under ``axis_name``). :func:`with_global_objective`
wraps a Linen model so that ``init`` creates both; :func:`objective_terms` is what
``flaxheads.loss_and_grads`` calls for the loss. Evaluation, predictions and
exports stay the head's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from flaxheads._src.global_objectives import objectives, priors
from flaxheads._src.global_objectives.modules import COUNTS_COLLECTION
from flaxheads._src.loss_terms import LossTerms, weighted_terms

SCOPE = 'global_objective'  # the variables' name in params and in the counts collection


class _ObjectiveVariables(nn.Module):
  """Creates the objective's params and label-prior counts (the loss itself runs in the train step)."""

  objective: objectives.Objective
  num_labels: int

  @nn.compact
  def __call__(self):
    for k, v in self.objective.init_params(self.num_labels).items():
      self.param(k, lambda _, v=v: v)
    init = priors.init_label_priors(self.num_labels)
    self.variable(COUNTS_COLLECTION, 'weighted_label_counts', lambda: init.weighted_label_counts)
    self.variable(COUNTS_COLLECTION, 'weight_sum', lambda: init.weight_sum)


class WithGlobalObjective(nn.Module):
  """A Linen model whose variables also hold a global objective's (see the module docstring).

  Calls ``model`` with the same arguments; its params move under ``'model'``.
  """

  model: nn.Module
  objective: objectives.Objective
  num_labels: int

  @nn.compact
  def __call__(self, *args, **kwargs):
    if self.is_initializing():
      _ObjectiveVariables(self.objective, self.num_labels, name=SCOPE)()
    return self.model(*args, **kwargs)


def with_global_objective(model: nn.Module, head) -> nn.Module:
  """``model`` wrapped so that its variables hold ``head``'s global objective (unchanged without one).

  Example:
    >>> import flax.linen as nn, jax, jax.numpy as jnp, optax
    >>> import flaxheads as fh
    >>> from flaxheads import global_objectives as go
    >>> head = fh.BinaryClassHead(global_objective=go.RecallAtPrecision(0.9))
    >>> class Linear(nn.Module):
    ...   @nn.compact
    ...   def __call__(self, x, train=False):
    ...     return nn.Dense(1)(x)
    >>> model = go.with_global_objective(Linear(), head)
    >>> x, y = jnp.ones((4, 3)), jnp.array([1, 0, 0, 1])
    >>> variables = model.init(jax.random.key(0), x)
    >>> sorted(variables['params'])
    ['global_objective', 'model']
    >>> state = fh.TrainState.create(apply_fn=model.apply, variables=variables, tx=optax.sgd(0.1))
    >>> state, out = head.train_step(state, x, y)
    >>> state.model_state['label_priors']['global_objective']['weight_sum'].tolist()
    [6.0]
  """
  objective = head.global_objective
  if objective is None:
    return model
  return WithGlobalObjective(model, objective, head.logits_dimension)


def _weights(head, features) -> jax.Array | float:
  column = head.weight_column
  if column is None:
    return 1.
  weights = column(features) if callable(column) else features[column]
  return jnp.reshape(jnp.asarray(weights, jnp.float32), (-1,))


def objective_terms(head, labels, logits, features, params, model_state: Mapping[str, Any], *,
                    axis_name=None) -> tuple[LossTerms, dict[str, Any]]:
  """The loss terms of ``head.global_objective`` and the model state after them (the train step's loss).

  The objective's per-element losses (weighted by the head's ``weight_column``)
  become :class:`LossTerms` under the head's ``loss_reduction`` (a sum, or a
  mean over every element); ``model_state`` comes back with the label-prior
  counts updated by this batch (summed over ``axis_name``).
  """
  objective = head.global_objective
  if SCOPE not in params or SCOPE not in model_state.get(COUNTS_COLLECTION, {}):
    raise ValueError(f'{type(head).__name__} has a global objective, but the train state has no '
                     f"params[{SCOPE!r}] and model_state[{COUNTS_COLLECTION!r}][{SCOPE!r}]: build "
                     'the model with global_objectives.with_global_objective(model, head).')
  num_labels = head.logits_dimension
  logits = jnp.reshape(jnp.asarray(logits, jnp.float32), (-1, num_labels))
  labels = jnp.asarray(labels).astype(jnp.float32)
  if labels.size != logits.size:
    raise ValueError(f'labels of shape {labels.shape} do not match logits of shape {logits.shape}.')
  labels = jnp.reshape(labels, logits.shape)
  weights = _weights(head, features)
  counts = model_state[COUNTS_COLLECTION][SCOPE]
  state, label_priors = priors.update_label_priors(
      priors.LabelPriorsState(counts['weighted_label_counts'], counts['weight_sum']), labels, weights,
      axis_name=axis_name)
  loss, _ = objective.loss(labels, logits, params[SCOPE], label_priors, weights)
  terms = weighted_terms(loss, 1., None, head.loss_reduction)
  new_counts = {**model_state[COUNTS_COLLECTION],
                SCOPE: {'weighted_label_counts': state.weighted_label_counts, 'weight_sum': state.weight_sum}}
  return terms, {**model_state, COUNTS_COLLECTION: new_counts}
