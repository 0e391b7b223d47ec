"""Flax modules holding a global objective's variables, for a hand-written training step.

The Linen :class:`GlobalObjectiveLoss` keeps the raw multipliers (and PR-AUC
biases) in ``params`` and the label-prior counts in the ``'label_priors'``
collection; apply it with ``mutable=['label_priors']`` in training. The NNX
:class:`NNXGlobalObjectiveLoss` holds them as ``nnx.Param`` and
:class:`LabelPriorCounts` variables and updates the counts in place.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
from flax import nnx

from flaxheads._src.global_objectives import objectives, priors

COUNTS_COLLECTION = 'label_priors'


class GlobalObjectiveLoss(nn.Module):
  """Linen: ``(labels, logits, weights=1.) -> (loss, aux)`` of ``objective``, with its variables.

  Attributes:
    objective: an :class:`Objective` (or its config string).
    num_labels: the size of the logits' last axis (1 for ``[batch]`` logits).
    positive_pseudocount, negative_pseudocount: the label priors' seeds.
    axis_name: under ``shard_map``/``pmap``, the mapped axis: the label-prior
      counts add the *global* batch.

  The counts are updated only where the ``'label_priors'`` collection is
  mutable (training), and not at ``init``; otherwise the stored priors are used.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flaxheads import global_objectives as go
    >>> module = go.GlobalObjectiveLoss('recall_at_precision(target_precision=0.8)', num_labels=1)
    >>> labels, logits = jnp.array([1., 0., 0.]), jnp.array([1., 0.5, -1.])
    >>> variables = module.init(jax.random.key(0), labels, logits)
    >>> (loss, aux), updates = module.apply(variables, labels, logits, mutable=['label_priors'])
    >>> loss.shape, updates['label_priors']['weight_sum'].tolist()   # 2 pseudocounts + 3 examples
    ((3,), [5.0])
  """

  objective: Any
  num_labels: int
  positive_pseudocount: float = 1.
  negative_pseudocount: float = 1.
  axis_name: Any = None

  @nn.compact
  def __call__(self, labels, logits, weights=1.):
    objective = objectives.parse(self.objective)
    params = {k: self.param(k, lambda _, v=v: v) for k, v in objective.init_params(self.num_labels).items()}
    init = priors.init_label_priors(self.num_labels, positive_pseudocount=self.positive_pseudocount,
                                    negative_pseudocount=self.negative_pseudocount)
    counts = self.variable(COUNTS_COLLECTION, 'weighted_label_counts', lambda: init.weighted_label_counts)
    total = self.variable(COUNTS_COLLECTION, 'weight_sum', lambda: init.weight_sum)
    state = priors.LabelPriorsState(counts.value, total.value)
    if self.is_mutable_collection(COUNTS_COLLECTION) and not self.is_initializing():
      state, label_priors = priors.update_label_priors(state, labels, weights, axis_name=self.axis_name)
      counts.value, total.value = state.weighted_label_counts, state.weight_sum
    else:
      label_priors = priors.label_priors(state)
    return objective.loss(labels, logits, params, label_priors, weights)


class LabelPriorCounts(nnx.Variable):
  """An NNX variable holding label-prior counts (not a parameter: no gradient, no optimizer)."""


class NNXGlobalObjectiveLoss(nnx.Module):
  """NNX: ``(labels, logits, weights=1.) -> (loss, aux)`` of ``objective``; counts updated in place.

  ``lambdas`` (and ``biases``) are ``nnx.Param``: an ``nnx.Optimizer`` over
  ``nnx.Param`` updates them with the model (the dual ascent). The counts are
  :class:`LabelPriorCounts`, updated on every call while the module is in
  training mode (``train()``, the default), read only in ``eval()`` mode.

  Example:
    >>> import jax.numpy as jnp
    >>> from flaxheads import global_objectives as go
    >>> module = go.NNXGlobalObjectiveLoss(go.PrecisionRecallAUC(num_anchors=5), num_labels=2)
    >>> loss, aux = module(jnp.array([[1., 0.], [0., 1.]]), jnp.zeros((2, 2)))
    >>> module.lambdas[...].shape, module.weight_sum[...].tolist()
    ((2, 5), [4.0, 4.0])
  """

  def __init__(self, objective, num_labels: int, *, positive_pseudocount: float = 1.,
               negative_pseudocount: float = 1., axis_name=None):
    self.objective = objectives.parse(objective)
    self.axis_name = axis_name
    self.deterministic = False
    for k, v in self.objective.init_params(num_labels).items():
      setattr(self, k, nnx.Param(v))
    init = priors.init_label_priors(num_labels, positive_pseudocount=positive_pseudocount,
                                    negative_pseudocount=negative_pseudocount)
    self.weighted_label_counts = LabelPriorCounts(init.weighted_label_counts)
    self.weight_sum = LabelPriorCounts(init.weight_sum)

  def __call__(self, labels, logits, weights=1.) -> tuple[jax.Array, dict]:
    state = priors.LabelPriorsState(self.weighted_label_counts[...], self.weight_sum[...])
    if self.deterministic:
      label_priors = priors.label_priors(state)
    else:
      state, label_priors = priors.update_label_priors(state, labels, weights, axis_name=self.axis_name)
      self.weighted_label_counts[...] = state.weighted_label_counts
      self.weight_sum[...] = state.weight_sum
    params = {k: getattr(self, k)[...] for k in self.objective.init_params(1)}
    return self.objective.loss(labels, logits, params, label_priors, weights)
