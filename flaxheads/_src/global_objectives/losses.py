"""The six global-objective losses (Eban et al., AISTATS 2017, arXiv:1608.04802).

Each loss is the Lagrangian of a constrained objective, element-wise: a
weighted surrogate loss per example plus a multiplier term, for every
``[batch, num_labels]`` element. Its mean (or sum) is minimised over the model
and, through :func:`~flaxheads._src.global_objectives.surrogates.dual_value`,
maximised over the raw multipliers ``lambdas`` by the same optimizer step.

Every function is pure and jittable and returns ``(loss, aux)``: ``loss`` has
the shape of ``logits``; ``aux`` holds ``lambdas`` (the ``|lambdas|`` used),
``label_priors`` ``[num_labels]`` and the two bounds ``[num_labels]``
(``biases`` too for the PR-AUC loss; ``roc_auc_loss`` returns ``{}``).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from flaxheads._src.global_objectives import shapes
from flaxheads._src.global_objectives import surrogates as sg

Aux = dict[str, jax.Array]


def _prepare(labels, logits, weights, surrogate_type):
  sg.check_surrogate_type(surrogate_type)
  shape = jnp.shape(logits)
  labels, logits = shapes.as_matrix(labels, logits)
  return labels, logits, shapes.matrix_weights(weights, logits), shape


def _aux(lambdas, priors, labels, logits, weights, surrogate_type) -> Aux:
  return {'lambdas': jax.lax.stop_gradient(jnp.abs(lambdas)), 'label_priors': priors,
          'true_positives_lower_bound': sg.true_positives_lower_bound(labels, logits, weights, surrogate_type),
          'false_positives_upper_bound': sg.false_positives_upper_bound(labels, logits, weights, surrogate_type)}


def _constrained(labels, logits, target, name, *, lambdas, label_priors, weights, dual_rate_factor,
                 surrogate_type, terms):
  """The shared body: ``terms(lam, target, priors) -> (pos_w, neg_w, lambda_term)``."""
  labels, logits, weights, shape = _prepare(labels, logits, weights, surrogate_type)
  num_labels = logits.shape[1]
  target = shapes.rate(target, name, num_labels)
  raw = shapes.exact_shape(lambdas, 'lambdas', (num_labels,), '[num_labels]')
  priors = shapes.priors(label_priors, num_labels)
  lam = sg.dual_value(raw, dual_rate_factor)
  positive_weights, negative_weights, lambda_term = terms(lam, target, priors)
  loss = weights * sg.weighted_surrogate(labels, logits, surrogate_type, positive_weights=positive_weights,
                                         negative_weights=negative_weights)
  loss = loss + lambda_term * sg.log2_factor(surrogate_type)
  return jnp.reshape(loss, shape), _aux(raw, priors, labels, logits, weights, surrogate_type)


def recall_at_precision_loss(labels, logits, target_precision, *, lambdas, label_priors, weights=1.,
                             dual_rate_factor: float = 0.1, surrogate_type: str = 'xent') -> tuple[jax.Array, Aux]:
  """Maximises recall subject to precision >= ``target_precision``.

  Per element: ``w [(1 + l (1 - p)) loss(+) + l p loss(-)] - l (1 - p) pi log2``,
  ``l = |lambdas|``, ``p`` the target, ``pi`` the label prior, ``log2`` the
  factor ``log 2`` for ``'xent'`` (1 for ``'hinge'``).

  Args:
    labels: ``[batch]`` or ``[batch, num_labels]`` in [0, 1].
    logits: the same shape as ``labels``.
    target_precision: a scalar or ``[num_labels]`` in [0, 1].
    lambdas: the raw multipliers ``[num_labels]`` (initialise to 1.0).
    label_priors: ``[num_labels]``, e.g. from :func:`update_label_priors`.
    weights: a scalar, ``[batch]``, ``[batch, 1]`` or ``[batch, num_labels]``.
    dual_rate_factor: the multipliers' learning rate relative to the model's.
    surrogate_type: ``'xent'`` or ``'hinge'``.

  Returns:
    ``(loss, aux)``, ``loss`` of the shape of ``logits``.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads.global_objectives as go
    >>> loss, aux = go.recall_at_precision_loss(
    ...     jnp.array([1., 0.]), jnp.array([2., -1.]), 0.9,
    ...     lambdas=jnp.ones(1), label_priors=jnp.array([0.5]))
    >>> loss.shape, sorted(aux)
    ((2,), ['false_positives_upper_bound', 'label_priors', 'lambdas', 'true_positives_lower_bound'])
  """
  def terms(lam, p, priors):
    return 1. + lam * (1. - p), lam * p, -lam * (1. - p) * priors

  return _constrained(labels, logits, target_precision, 'target_precision', lambdas=lambdas,
                      label_priors=label_priors, weights=weights, dual_rate_factor=dual_rate_factor,
                      surrogate_type=surrogate_type, terms=terms)


def _precision_at_recall_terms(lam, r, priors):
  return lam, 1., lam * priors * (r - 1.)


def precision_at_recall_loss(labels, logits, target_recall, *, lambdas, label_priors, weights=1.,
                             dual_rate_factor: float = 0.1, surrogate_type: str = 'xent') -> tuple[jax.Array, Aux]:
  """Maximises precision subject to recall >= ``target_recall``.

  Per element: ``w [l loss(+) + loss(-)] + l pi (r - 1) log2``; arguments as
  :func:`recall_at_precision_loss`, with ``target_recall`` the target.
  """
  return _constrained(labels, logits, target_recall, 'target_recall', lambdas=lambdas,
                      label_priors=label_priors, weights=weights, dual_rate_factor=dual_rate_factor,
                      surrogate_type=surrogate_type, terms=_precision_at_recall_terms)


def false_positive_rate_at_true_positive_rate_loss(
    labels, logits, target_rate, *, lambdas, label_priors, weights=1., dual_rate_factor: float = 0.1,
    surrogate_type: str = 'xent') -> tuple[jax.Array, Aux]:
  """Minimises the false positive rate subject to true positive rate >= ``target_rate``.

  At a fixed true positive rate (recall), minimising false positives is
  maximising precision: this is :func:`precision_at_recall_loss`.
  """
  return _constrained(labels, logits, target_rate, 'target_rate', lambdas=lambdas,
                      label_priors=label_priors, weights=weights, dual_rate_factor=dual_rate_factor,
                      surrogate_type=surrogate_type, terms=_precision_at_recall_terms)


def true_positive_rate_at_false_positive_rate_loss(
    labels, logits, target_rate, *, lambdas, label_priors, weights=1., dual_rate_factor: float = 0.1,
    surrogate_type: str = 'xent') -> tuple[jax.Array, Aux]:
  """Maximises the true positive rate subject to false positive rate <= ``target_rate``.

  Per element: ``w [loss(+) + l loss(-)] - l r (1 - pi) log2``; arguments as
  :func:`recall_at_precision_loss`, with ``target_rate`` the target.
  """
  def terms(lam, r, priors):
    return 1., lam, -lam * r * (1. - priors)

  return _constrained(labels, logits, target_rate, 'target_rate', lambdas=lambdas,
                      label_priors=label_priors, weights=weights, dual_rate_factor=dual_rate_factor,
                      surrogate_type=surrogate_type, terms=terms)


def anchors(precision_range: Sequence[float], num_anchors: int) -> tuple[np.ndarray, np.float32]:
  """The precision anchors ``linspace(lo, hi, num_anchors + 2)[1:-1]`` and their spacing ``delta``.

  Example:
    >>> values, delta = anchors((0., 1.), 3)
    >>> values.tolist(), float(delta)
    ([0.25, 0.5, 0.75], 0.25)
  """
  lo, hi = shapes.precision_range(precision_range)
  values = np.linspace(lo, hi, shapes.num_anchors(num_anchors) + 2)[1:-1]
  return values.astype(np.float32), np.float32(values[0] - lo)


def precision_recall_auc_loss(labels, logits, *, lambdas, biases, label_priors,
                              precision_range: Sequence[float] = (0., 1.), num_anchors: int = 20,
                              weights=1., dual_rate_factor: float = 0.1,
                              surrogate_type: str = 'xent') -> tuple[jax.Array, Aux]:
  """Maximises the area under the precision-recall curve over ``precision_range``.

  A Riemann sum of recall-at-precision losses at ``num_anchors`` precisions
  ``linspace(lo, hi, num_anchors + 2)[1:-1]``, each with its own multiplier
  and logit bias, times ``delta = (hi - lo) / (num_anchors + 1)`` and divided
  by ``hi - lo - delta`` (so a perfect scorer has AUC 1).

  Args:
    labels, logits, label_priors, weights, dual_rate_factor, surrogate_type:
      as :func:`recall_at_precision_loss`.
    lambdas: the raw multipliers ``[num_labels, num_anchors]`` (initialise to 1.0).
    biases: the anchors' logit biases ``[num_labels, num_anchors]`` (initialise to 0).
    precision_range: ``(lo, hi)`` with ``0 <= lo < hi <= 1``.
    num_anchors: the number of anchors, >= 1.

  Returns:
    ``(loss, aux)``; ``aux`` also has ``biases``. The bounds are computed on
    the logits without the anchor biases.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads.global_objectives as go
    >>> loss, aux = go.precision_recall_auc_loss(
    ...     jnp.array([1., 0.]), jnp.array([2., -1.]), lambdas=jnp.ones((1, 4)),
    ...     biases=jnp.zeros((1, 4)), label_priors=jnp.array([0.5]), num_anchors=4)
    >>> loss.shape
    (2,)
  """
  values, delta = anchors(precision_range, num_anchors)
  lo, hi = shapes.precision_range(precision_range)
  labels, logits, weights, shape = _prepare(labels, logits, weights, surrogate_type)
  num_labels, k = logits.shape[1], values.shape[0]
  raw = shapes.exact_shape(lambdas, 'lambdas', (num_labels, k), '[num_labels, num_anchors]')
  biases = shapes.exact_shape(biases, 'biases', (num_labels, k), '[num_labels, num_anchors]')
  priors = shapes.priors(label_priors, num_labels)
  lam = sg.dual_value(raw, dual_rate_factor)
  loss = weights[..., None] * sg.weighted_surrogate(
      labels[..., None], logits[..., None] + biases, surrogate_type,
      positive_weights=1. + lam * (1. - values), negative_weights=lam * values)
  lambda_term = lam * (1. - values) * priors[:, None] * sg.log2_factor(surrogate_type)
  per_label = delta * jnp.sum(loss - lambda_term, axis=2)
  scaled = per_label / (np.float32(hi - lo) - delta)
  aux = _aux(raw, priors, labels, logits, weights, surrogate_type)
  aux['biases'] = biases
  return jnp.reshape(scaled, shape), aux


def roc_auc_loss(labels, logits, *, weights=1., surrogate_type: str = 'xent') -> tuple[jax.Array, Aux]:
  """Minimises the surrogate of 1 - ROC AUC: ``sum_{i pos, j neg} w_i w_j loss(x_i - x_j)``.

  Over all pairs of examples with different labels, per label; element ``j``
  of the loss is ``0.5 * mean_i |y_i - y_j| w_i w_j loss((y_j - y_i)(x_j - x_i))``
  (the mean over all ``batch`` rows ``i``, not over pairs). ``aux`` is ``{}``.

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads.global_objectives as go
    >>> loss, aux = go.roc_auc_loss(jnp.array([1., 0.]), jnp.array([1., 0.]), surrogate_type='hinge')
    >>> loss.tolist(), aux   # a margin of exactly 1: no loss
    ([0.0, 0.0], {})
  """
  labels, logits, weights, shape = _prepare(labels, logits, weights, surrogate_type)
  logits_difference = logits[None] - logits[:, None]
  labels_difference = labels[None] - labels[:, None]
  weights_product = weights[None] * weights[:, None]
  signed = labels_difference * logits_difference
  raw = sg.weighted_surrogate(jnp.ones_like(signed), signed, surrogate_type)
  loss = jnp.mean(jnp.abs(labels_difference) * weights_product * raw, axis=0) * 0.5
  return jnp.reshape(loss, shape), {}
