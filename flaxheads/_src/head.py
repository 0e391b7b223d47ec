"""The ``Head`` interface: what every head computes from a model's logits.

A head turns a model's logits into a loss, predictions and streaming metrics.
Heads are frozen, hashable dataclasses holding only static configuration; their
methods are pure functions of arrays, so they work under ``jax.jit``,
``jax.grad`` and ``shard_map``, and a head can be a static argument.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import checks, eager, steps
from flaxheads._src.metric_state import MetricState
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import ModeKeys
from flaxheads._src.loss_terms import CombinedLossTerms, LossTerms, RegularizationLosses, training_loss

Features = Mapping[str, ArrayLike] | ArrayLike | None


class Head(abc.ABC):
  """Given a model's logits, a head knows the loss, predictions and metrics.

  Every head has ``name`` (``str`` or ``None``; a name suffixes every metric
  key with ``/name``) and ``logits_dimension`` (the size of the last axis of
  the logits).

  ``loss_terms``, ``loss``, ``predictions``, ``metrics``, ``update_metrics``
  and ``export_outputs`` are pure and jittable. ``encode_labels`` and
  ``decode_predictions`` run on the host: they map vocabulary strings to class
  ids and back.
  """

  # What the train step minimises instead of the head's loss: a global objective
  # (``flaxheads.global_objectives``; BinaryClassHead and MultiLabelHead take one), or None.
  global_objective: Any = None

  @property
  @abc.abstractmethod
  def name(self) -> str | None:
    """Suffixes every metric key with ``/name``; ``None`` for no suffix."""

  @property
  @abc.abstractmethod
  def logits_dimension(self) -> int:
    """The size of the last axis of the logits."""

  @abc.abstractmethod
  def loss_terms(self, labels: Any, logits: Any, features: Features = None, *,
                 mask: ArrayLike | None = None) -> LossTerms | CombinedLossTerms:
    """The batch's loss as additive terms (see :class:`flaxheads.LossTerms`), before reduction.

    ``mask`` (``[D0]`` ... ``[D0, ..., DN]``, bool or 0/1) leaves out the rows
    where it is false: their labels, logits and weights are never read.
    """

  @eager.compiled_when_eager(static=('mode',))
  def loss(self, labels: Any, logits: Any, features: Features = None,
           mode: str | ModeKeys = ModeKeys.TRAIN,
           regularization_losses: RegularizationLosses = None, *,
           mask: ArrayLike | None = None) -> jax.Array:
    """The scalar training loss, as Estimator's ``head.loss``: reduced terms plus regularization.

    Args:
      labels: ``[D0, ..., DN]`` or ``[D0, ..., DN, label width]``; vocabulary
        strings are accepted outside ``jit``.
      logits: ``[D0, ..., DN, logits_dimension]``, cast to float32.
      features: a dict holding the weight column, if the head has one.
      mode: a :class:`ModeKeys` or its string; it does not change the loss.
      regularization_losses: scalars added, unscaled, after the reduction.
      mask: rows to leave out, see :meth:`loss_terms`.

    Returns:
      A float32 scalar.
    """
    checks.mode(mode)
    return training_loss(self.loss_terms(labels, logits, features, mask=mask), regularization_losses)

  @abc.abstractmethod
  def predictions(self, logits: Any, keys: Sequence[Any] | None = None) -> dict[Any, jax.Array]:
    """The numeric predictions, keyed by :class:`PredictionKeys`."""

  @abc.abstractmethod
  def decode_predictions(self, predictions: Mapping[Any, ArrayLike]) -> dict[Any, np.ndarray]:
    """Host side: ``predictions`` as numpy arrays plus the string keys."""

  @abc.abstractmethod
  def encode_labels(self, labels: Any) -> Any:
    """Host side: labels as the numeric array that ``loss`` takes under ``jit``."""

  def labels_for_jit(self, labels: Any) -> Any:
    """Host side: string labels through :meth:`encode_labels`; numeric labels unchanged."""
    return self.encode_labels(labels) if checks.is_string_array(labels) else labels

  @abc.abstractmethod
  def metrics(self, regularization_losses: RegularizationLosses = None) -> MetricState:
    """The initial (empty) metric state, keyed by Estimator's metric keys (Estimator's name)."""

  @abc.abstractmethod
  def update_metrics(self, eval_metrics: Mapping[str, metrics_lib.Metric], features: Features,
                     logits: Any, labels: Any, regularization_losses: RegularizationLosses = None, *,
                     mask: ArrayLike | None = None) -> MetricState:
    """Returns ``eval_metrics`` updated with one batch (rows where ``mask`` is false left out)."""

  @abc.abstractmethod
  def export_outputs(self, logits: Any, features: Features = None) -> dict[str, dict[Any, jax.Array]]:
    """Estimator's export signatures: ``{signature key: {output name: array}}``.

    ``serving_default``, ``classification`` (``scores`` and class ids as
    ``classes``; :meth:`decode_predictions` of ``all_class_ids`` gives the
    strings), ``regression`` (``value``) and ``predict`` (every prediction), as
    the head's Estimator counterpart exports them. Jittable.
    """

  def train_step(self, state, features, labels, **kwargs):
    """One optimizer step on this head's loss: see :func:`flaxheads.train_step`."""
    return steps.train_step(self, state, features, labels, **kwargs)

  def eval_step(self, state, metric_state, features, labels, **kwargs):
    """Metric state updated with one batch: see :func:`flaxheads.eval_step`."""
    return steps.eval_step(self, state, metric_state, features, labels, **kwargs)

  def predict_step(self, state, features):
    """Predictions for one batch: see :func:`flaxheads.predict_step`."""
    return steps.predict_step(self, state, features)
