"""Objective objects: a global-objective loss with its options bound, and its variables.

An objective is a frozen, hashable dataclass (a static argument, a head field,
a ``jit`` closure) that knows the trainable variables its loss needs
(:meth:`Objective.init_params`: the raw multipliers and, for PR-AUC, the
anchor biases) and computes the loss from them. :func:`parse` builds one from
a config string such as ``"recall_at_precision(target_precision=0.9)"``.
"""

from __future__ import annotations

import abc
import ast
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp

from flaxheads._src.global_objectives import losses, shapes
from flaxheads._src.global_objectives import surrogates as sg

Params = Mapping[str, jax.Array]


class Objective(abc.ABC):
  """A global objective with its options: ``init_params`` and ``loss``."""

  name: ClassVar[str]
  surrogate_type: str
  dual_rate_factor: float

  def _check(self) -> None:
    sg.check_surrogate_type(self.surrogate_type)
    if not self.dual_rate_factor >= 0:
      raise ValueError(f'dual_rate_factor must be >= 0, got {self.dual_rate_factor!r}.')

  def init_params(self, num_labels: int) -> dict[str, jax.Array]:
    """The trainable variables at initialisation: raw multipliers 1.0 (``{}`` for ROC-AUC)."""
    return {'lambdas': jnp.ones((num_labels,), jnp.float32)}

  @abc.abstractmethod
  def loss(self, labels, logits, params: Params, label_priors, weights=1.) -> tuple[jax.Array, dict]:
    """``(loss, aux)`` of the bound loss function, with ``params`` from :meth:`init_params`."""


def _target(value, name):
  value = tuple(float(v) for v in value) if isinstance(value, Sequence) else float(value)
  shapes.rate(value, name, len(value) if isinstance(value, tuple) else 1)
  return value


class _Constrained(Objective):
  """A loss with one target per label and one multiplier per label."""

  _target_field: ClassVar[str]  # the target's field name
  _loss_fn: ClassVar[Any]

  def __post_init__(self):
    field = self._target_field
    object.__setattr__(self, field, _target(getattr(self, field), field))
    self._check()

  def loss(self, labels, logits, params, label_priors, weights=1.):
    return self._loss_fn(labels, logits, jnp.asarray(getattr(self, self._target_field)), lambdas=params['lambdas'],
                         label_priors=label_priors, weights=weights, dual_rate_factor=self.dual_rate_factor,
                         surrogate_type=self.surrogate_type)


@final
@dataclasses.dataclass(frozen=True)
class RecallAtPrecision(_Constrained):
  """:func:`recall_at_precision_loss` at ``target_precision`` (a float, or one per label)."""

  target_precision: float | tuple[float, ...]
  _: dataclasses.KW_ONLY
  dual_rate_factor: float = 0.1
  surrogate_type: str = 'xent'
  name: ClassVar[str] = 'recall_at_precision'
  _target_field: ClassVar[str] = 'target_precision'
  _loss_fn: ClassVar[Any] = staticmethod(losses.recall_at_precision_loss)


@final
@dataclasses.dataclass(frozen=True)
class PrecisionAtRecall(_Constrained):
  """:func:`precision_at_recall_loss` at ``target_recall`` (a float, or one per label)."""

  target_recall: float | tuple[float, ...]
  _: dataclasses.KW_ONLY
  dual_rate_factor: float = 0.1
  surrogate_type: str = 'xent'
  name: ClassVar[str] = 'precision_at_recall'
  _target_field: ClassVar[str] = 'target_recall'
  _loss_fn: ClassVar[Any] = staticmethod(losses.precision_at_recall_loss)


@final
@dataclasses.dataclass(frozen=True)
class FalsePositiveRateAtTruePositiveRate(_Constrained):
  """:func:`false_positive_rate_at_true_positive_rate_loss` at ``target_rate`` (a float, or one per label)."""

  target_rate: float | tuple[float, ...]
  _: dataclasses.KW_ONLY
  dual_rate_factor: float = 0.1
  surrogate_type: str = 'xent'
  name: ClassVar[str] = 'false_positive_rate_at_true_positive_rate'
  _target_field: ClassVar[str] = 'target_rate'
  _loss_fn: ClassVar[Any] = staticmethod(losses.false_positive_rate_at_true_positive_rate_loss)


@final
@dataclasses.dataclass(frozen=True)
class TruePositiveRateAtFalsePositiveRate(_Constrained):
  """:func:`true_positive_rate_at_false_positive_rate_loss` at ``target_rate`` (a float, or one per label)."""

  target_rate: float | tuple[float, ...]
  _: dataclasses.KW_ONLY
  dual_rate_factor: float = 0.1
  surrogate_type: str = 'xent'
  name: ClassVar[str] = 'true_positive_rate_at_false_positive_rate'
  _target_field: ClassVar[str] = 'target_rate'
  _loss_fn: ClassVar[Any] = staticmethod(losses.true_positive_rate_at_false_positive_rate_loss)


@final
@dataclasses.dataclass(frozen=True)
class PrecisionRecallAUC(Objective):
  """:func:`precision_recall_auc_loss` over ``precision_range`` with ``num_anchors`` anchors."""

  _: dataclasses.KW_ONLY
  precision_range: tuple[float, float] = (0., 1.)
  num_anchors: int = 20
  dual_rate_factor: float = 0.1
  surrogate_type: str = 'xent'
  name: ClassVar[str] = 'precision_recall_auc'

  def __post_init__(self):
    object.__setattr__(self, 'precision_range', shapes.precision_range(self.precision_range))
    shapes.num_anchors(self.num_anchors)
    self._check()

  def init_params(self, num_labels):
    shape = (num_labels, self.num_anchors)
    return {'lambdas': jnp.ones(shape, jnp.float32), 'biases': jnp.zeros(shape, jnp.float32)}

  def loss(self, labels, logits, params, label_priors, weights=1.):
    return losses.precision_recall_auc_loss(
        labels, logits, lambdas=params['lambdas'], biases=params['biases'], label_priors=label_priors,
        precision_range=self.precision_range, num_anchors=self.num_anchors, weights=weights,
        dual_rate_factor=self.dual_rate_factor, surrogate_type=self.surrogate_type)


@final
@dataclasses.dataclass(frozen=True)
class ROCAUC(Objective):
  """:func:`roc_auc_loss`: no multipliers, no label priors."""

  _: dataclasses.KW_ONLY
  surrogate_type: str = 'xent'
  dual_rate_factor: float = 0.
  name: ClassVar[str] = 'roc_auc'

  def __post_init__(self):
    self._check()

  def init_params(self, num_labels):
    del num_labels
    return {}

  def loss(self, labels, logits, params, label_priors, weights=1.):
    del params, label_priors
    return losses.roc_auc_loss(labels, logits, weights=weights, surrogate_type=self.surrogate_type)


OBJECTIVES = {cls.name: cls for cls in (RecallAtPrecision, PrecisionAtRecall, FalsePositiveRateAtTruePositiveRate,
                                        TruePositiveRateAtFalsePositiveRate, PrecisionRecallAUC, ROCAUC)}


def parse(spec: str | Objective) -> Objective:
  """An objective from ``"name(keyword=literal, ...)"`` (or an objective, unchanged).

  Example:
    >>> parse('recall_at_precision(target_precision=0.9)')
    RecallAtPrecision(target_precision=0.9, dual_rate_factor=0.1, surrogate_type='xent')
  """
  if isinstance(spec, Objective):
    return spec
  if not isinstance(spec, str):
    raise TypeError(f'a global objective must be an objective or a string, got {type(spec).__name__}.')
  try:
    node = ast.parse(spec.strip(), mode='eval').body
    if isinstance(node, ast.Name):
      name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
      name, kwargs = node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    else:
      raise ValueError
  except (SyntaxError, ValueError):
    raise ValueError(f'a global objective must read "name(keyword=value, ...)", got {spec!r}.') from None
  if name not in OBJECTIVES:
    raise ValueError(f'unknown global objective {name!r}; choose from {", ".join(OBJECTIVES)}.')
  try:
    return OBJECTIVES[name](**kwargs)
  except TypeError as e:
    raise ValueError(f'global objective {spec!r}: {e}') from None


def for_head(spec: str | Objective | None, num_labels: int) -> Objective | None:
  """A head's ``global_objective`` argument checked against its ``num_labels`` logits (None stays None)."""
  if spec is None:
    return None
  objective = parse(spec)
  for field in dataclasses.fields(objective):
    value = getattr(objective, field.name)
    if field.name.startswith('target') and isinstance(value, tuple) and len(value) != num_labels:
      raise ValueError(f'global_objective {field.name} must be a float or {num_labels} values (one per '
                       f'label), got {len(value)}: {value!r}.')
  return objective
