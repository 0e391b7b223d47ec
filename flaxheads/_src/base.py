"""The ``Head`` interface and the loss, weight and reduction machinery heads share.

A head turns a model's logits into a loss, predictions and streaming metrics.
Heads are frozen, hashable dataclasses holding only static configuration; their
methods are pure functions of arrays, so they work under ``jax.jit``,
``jax.grad`` and ``shard_map``, and a head can be a static argument.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import checks, gradients
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.keys import LossReduction, MetricKeys, ModeKeys, SignatureKeys, summary_key

Features = Mapping[str, ArrayLike] | ArrayLike | None
WeightColumn = str | Callable[[Any], ArrayLike] | None
RegularizationLosses = Sequence[ArrayLike] | ArrayLike | None


class Head(abc.ABC):
  """Given a model's logits, a head knows the loss, predictions and metrics.

  Every head has the attributes ``name`` (``str`` or ``None``; a name suffixes
  every metric key with ``/name``), ``logits_dimension`` (the size of the last
  axis of the logits) and ``loss_reduction`` (a :class:`LossReduction`).

  ``loss``, ``predictions``, ``metrics`` and ``update_metrics`` are pure and
  jittable. ``encode_labels`` and ``decode_predictions`` run on the host: they
  map vocabulary strings to class ids and back.
  """

  @abc.abstractmethod
  def loss(self, labels: Any, logits: ArrayLike, features: Features = None,
           mode: str | ModeKeys = ModeKeys.TRAIN,
           regularization_losses: RegularizationLosses = None) -> jax.Array:
    """The scalar training loss: reduced weighted loss plus regularization losses."""

  @abc.abstractmethod
  def predictions(self, logits: ArrayLike, keys: Sequence[str] | None = None) -> dict[str, jax.Array]:
    """The numeric predictions, keyed by :class:`PredictionKeys`."""

  @abc.abstractmethod
  def decode_predictions(self, predictions: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """Host side: ``predictions`` as numpy arrays plus the string keys."""

  @abc.abstractmethod
  def encode_labels(self, labels: Any) -> np.ndarray:
    """Host side: labels as the numeric array that ``loss`` takes under ``jit``."""

  @abc.abstractmethod
  def metrics(self, regularization_losses: RegularizationLosses = None) -> dict[str, metrics_lib.Metric]:
    """The initial metric state, keyed by Estimator's metric keys."""

  @abc.abstractmethod
  def update_metrics(self, eval_metrics: dict[str, metrics_lib.Metric], features: Features,
                     logits: ArrayLike, labels: Any,
                     regularization_losses: RegularizationLosses = None) -> dict[str, metrics_lib.Metric]:
    """Returns ``eval_metrics`` updated with one batch."""

  @abc.abstractmethod
  def export_outputs(self, logits: Any, features: Features = None) -> dict[str, dict[str, jax.Array]]:
    """Estimator's export signatures: ``{signature key: {output name: array}}``.

    ``serving_default``, ``classification`` (``scores`` and class ids as
    ``classes``; :meth:`decode_predictions` of ``all_class_ids`` gives the
    strings), ``regression`` (``value``) and ``predict`` (every prediction), as
    the head's Estimator counterpart exports them. Jittable.
    """

  @abc.abstractmethod
  def _host_labels(self, labels: Any) -> Any:
    """Host side: string labels encoded as ids, other labels unchanged."""

  def train_step(self, state, features, labels, **kwargs):
    """One optimizer step on this head's loss: see :func:`flaxheads.train_step`."""
    from flaxheads._src import training  # pylint: disable=g-import-not-at-top
    return training.train_step(self, state, features, labels, **kwargs)

  def eval_step(self, state, metric_state, features, labels, **kwargs):
    """Metric state updated with one batch: see :func:`flaxheads.eval_step`."""
    from flaxheads._src import training  # pylint: disable=g-import-not-at-top
    return training.eval_step(self, state, metric_state, features, labels, **kwargs)

  def predict_step(self, state, features):
    """Predictions for one batch: see :func:`flaxheads.predict_step`."""
    from flaxheads._src import training  # pylint: disable=g-import-not-at-top
    return training.predict_step(self, state, features)


def host_features(features: Features) -> Features:
  """Host side: string-valued features become None (strings cannot enter ``jit``)."""
  if not isinstance(features, Mapping):
    return features
  return {k: None if checks.is_string_array(v) else v for k, v in features.items()}


class Batch(NamedTuple):
  """One batch, checked and processed, as a head's loss and metrics see it."""

  logits: jax.Array  # [D0, ..., DN, logits_dimension] float32
  labels: jax.Array  # [D0, ..., DN, label width] processed labels (ids, floats or multi-hot)
  weights: jax.Array  # [D0, ..., DN, 1] or [..., label_dimension] float32; NaN marks invalid rows
  unweighted_loss: jax.Array  # [D0, ..., DN, loss width] float32


def weight_column(value: WeightColumn) -> WeightColumn:
  """Validates a ``weight_column`` argument: a feature name or a callable of features."""
  if value is None or isinstance(value, str) or callable(value):
    checks.hashable(value, 'weight_column')
    return value
  raise TypeError('Weight column must be either a string or a callable features -> weights. '
                  f'Given type: {type(value)}.')


def example_weights(features: Features, column: WeightColumn, logits: jax.Array, *,
                    per_logit: bool = False) -> jax.Array | float:
  """Estimator's ``get_weights_and_check_match_logits``, with trace-time shape errors.

  Returns 1.0 without a weight column, else float32 weights of shape
  ``[D0, ..., DN, 1]`` (or ``logits.shape`` when ``per_logit``).
  """
  if column is None:
    return 1.
  if callable(column):
    weights = column(features)
  else:
    if not isinstance(features, Mapping) or column not in features:
      found = list(features) if isinstance(features, Mapping) else features
      raise ValueError(f'Feature {column} is not in features dictionary. The head reads example '
                       f'weights from features[{column!r}]; got features: {found!r}.')
    weights = features[column]
  if weights is None or checks.is_string_array(weights):
    raise TypeError(f'Example weights must be numeric; weight column {column!r} holds '
                    f'{"strings" if weights is not None else "None"}.')
  weights = jnp.asarray(weights).astype(jnp.float32)
  batch_shape = logits.shape[:-1]
  if weights.ndim == logits.ndim - 1 and weights.shape == batch_shape:
    return weights[..., None]
  allowed = [batch_shape + (1,)] + ([logits.shape] if per_logit else [])
  if weights.ndim != logits.ndim - 1 and weights.shape in allowed:
    return weights
  shapes = ('[D0, D1, ... DN], [D0, D1, ... DN, 1] or [D0, D1, ... DN, logits_dimension]'
            if per_logit else '[D0, D1, ... DN] or [D0, D1, ... DN, 1]')
  raise ValueError(f'weights shape must be {shapes}, logits_shape: {logits.shape}. '
                   f'weights_shape: {weights.shape}.')


def reduce_loss(unweighted_loss: jax.Array, weights: jax.Array | float,
                reduction: LossReduction) -> jax.Array:
  """Weights and reduces per-element losses as Keras' ``compute_weighted_loss``.

  ``SUM_OVER_BATCH_SIZE`` (and ``AUTO``) divide by the number of elements of the
  weighted loss, zero-weighted ones included; an empty batch gives 0.
  """
  weighted = unweighted_loss * weights
  total = jnp.sum(weighted)
  if reduction == LossReduction.SUM:
    return total
  return total / weighted.size if weighted.size else jnp.zeros_like(total)


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


def call_loss_fn(loss_fn: Callable[..., Any], *, labels: jax.Array, logits: jax.Array,
                 features: Features, loss_reduction: LossReduction, width: int) -> jax.Array:
  """Calls a user ``loss_fn`` with the arguments it declares and checks its shape.

  Unlike Estimator, a ``loss_fn`` that declares ``loss_reduction`` receives it.
  """
  args = checks.loss_fn_args(loss_fn)
  optional = {'features': features, 'loss_reduction': loss_reduction}
  loss = loss_fn(labels=labels, logits=logits, **{k: v for k, v in optional.items() if k in args})
  loss = jnp.asarray(loss)
  expected = logits.shape[:-1] + (width,)
  if loss.shape != expected:
    raise ValueError(f'loss_fn must return Tensor of shape [D0, D1, ... DN, {width}]. '
                     f'logits_shape: {logits.shape}, loss_shape: {loss.shape}, expected '
                     f'loss_shape: {expected}.')
  return loss.astype(jnp.float32)


def nan_where_invalid(weights: jax.Array | float, valid: jax.Array) -> jax.Array:
  """Weights with NaN where ``valid`` is false: such rows poison loss and metrics."""
  return jnp.where(valid, weights, jnp.nan)


def decode_classes(predictions: Mapping[str, ArrayLike], names: np.ndarray, order: Sequence[str],
                   sources: Mapping[str, str]) -> dict[str, np.ndarray]:
  """Host side: numpy predictions plus each string key decoded from its id key.

  ``sources`` maps a string key to the integer key it is read from
  (``{'classes': 'class_ids'}``); the result follows ``order``.
  """
  decoded = {}
  for key in order:
    if key in predictions:
      decoded[key] = np.asarray(predictions[key])
    elif sources.get(key) in predictions:
      decoded[key] = names[np.asarray(predictions[sources[key]])]
  return decoded


def class_names(vocabulary: Sequence[str] | None, n_classes: int) -> np.ndarray:
  """The class strings: the vocabulary, or ``'0'`` ... ``'n-1'``."""
  return np.asarray(vocabulary if vocabulary is not None else [str(i) for i in range(n_classes)])


def encode_strings(labels: Any, vocabulary: Sequence[str] | None) -> np.ndarray:
  """Host side: maps vocabulary strings to int32 ids; raises on unknown strings."""
  if vocabulary is None:
    raise ValueError('String labels need a label_vocabulary: the head has none. Pass integer '
                     'class ids, or give the head label_vocabulary.')
  labels = np.asarray(labels)
  if labels.dtype.kind in 'SO':
    labels = np.vectorize(lambda s: s.decode() if isinstance(s, bytes) else s, otypes=[str])(labels)
  table = {v: i for i, v in enumerate(vocabulary)}
  unknown = sorted({str(s) for s in labels.ravel() if s not in table})
  if unknown:
    raise ValueError(f'Labels {unknown} are not in label_vocabulary {list(vocabulary)}.')
  return np.vectorize(table.__getitem__, otypes=[np.int32])(labels).reshape(labels.shape)


@functools.lru_cache(maxsize=256)
def _empty_metric_state(head: SingleHead, with_regularization: bool) -> Callable[[], dict[str, Any]]:
  """A compiled ``() -> empty metric state`` of ``head``, in Estimator's key order.

  Traced once per head, and one dispatch per call: a metric state has tens of arrays.
  """
  lead = (1,)
  batch = Batch(
      logits=jax.ShapeDtypeStruct(lead + (head.logits_dimension,), jnp.float32),
      labels=jax.ShapeDtypeStruct(lead + (head._label_width,), head._label_dtype),
      weights=jax.ShapeDtypeStruct(lead + (1,), jnp.float32),
      unweighted_loss=jax.ShapeDtypeStruct(lead + (head._loss_width,), jnp.float32))
  order = []  # pytree dicts come back sorted; keep Estimator's key order

  def batch_metrics(b):
    state = head._batch_metrics(b, [0.] if with_regularization else None)
    order.extend(state)
    return state

  shapes = jax.eval_shape(batch_metrics, batch)
  zeros = jax.jit(lambda: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes))

  def empty_state():
    state = zeros()
    return {k: state[k] for k in order}

  return empty_state


class SingleHead(Head):
  """The machinery shared by the single-task heads (an abstract class).

  A single head reads a batch (``_batch``), reduces its weighted loss, and
  merges per-batch metric states into the streamed state. Final subclasses
  supply the label processing, the default loss, the predictions and the metric
  set; ``metrics()`` is derived from the batch metrics, so the two never
  disagree. Called eagerly, ``loss``, ``predictions`` and ``update_metrics`` run
  compiled (see :func:`flaxheads._src.checks.call`).
  """

  weight_column: WeightColumn
  name: str | None
  loss_reduction: LossReduction
  _label_dtype: ClassVar[Any] = jnp.float32
  _string_sources: ClassVar[Mapping[str, str]] = {}  # string prediction key -> its id key

  @property
  @abc.abstractmethod
  def _label_width(self) -> int:
    """The size of the processed labels' last axis."""

  # Regression: weights may be per value, [D0, ..., DN, label_dimension], and the
  # unweighted loss has one element per value. Elsewhere the loss has one per row.
  _per_logit_weights: ClassVar[bool] = False

  @property
  def _loss_width(self) -> int:
    """The size of the unweighted loss's last axis (``label_dimension`` or 1)."""
    return self._label_width if self._per_logit_weights else 1

  @property
  @abc.abstractmethod
  def _prediction_keys(self) -> tuple[str, ...]:
    """Every prediction key, string keys included, in Estimator's order."""

  @abc.abstractmethod
  def _prediction_dict(self, logits: jax.Array) -> dict[str, jax.Array]:
    """All numeric predictions of checked float32 logits."""

  @abc.abstractmethod
  def _labels(self, labels: Any, logits: jax.Array) -> tuple[jax.Array, jax.Array | bool]:
    """Processed labels and a per-row validity mask (``[D0, ..., DN, 1]`` or True)."""

  @abc.abstractmethod
  def _default_loss(self, labels: jax.Array, logits: jax.Array) -> jax.Array:
    """The unweighted loss ``[D0, ..., DN, loss width]`` without a ``loss_fn``."""

  @abc.abstractmethod
  def _batch_metrics(self, batch: Batch, regularization_losses: RegularizationLosses) -> dict[str, metrics_lib.Metric]:
    """The metric states of one batch, in Estimator's key order."""

  def _key(self, key: str) -> str:
    return summary_key(key, self.name)

  def _host_labels(self, labels: Any) -> Any:
    return self.encode_labels(labels) if checks.is_string_array(labels) else labels

  def _batch(self, labels: Any, logits: ArrayLike, features: Features) -> Batch:
    logits = checks.logits(logits, self.logits_dimension)
    labels, valid = self._labels(labels, logits)
    # max propagates NaN, and the softmax losses compute it anyway: a third of any(isnan).
    valid = valid & ~jnp.isnan(jnp.max(logits, axis=-1, keepdims=True))
    weights = example_weights(features, self.weight_column, logits, per_logit=self._per_logit_weights)
    loss_fn = getattr(self, 'loss_fn', None)
    if loss_fn is None:
      unweighted = self._default_loss(labels, logits)
    else:
      unweighted = call_loss_fn(loss_fn, labels=labels, logits=logits, features=features,
                                loss_reduction=self.loss_reduction, width=self._loss_width)
    return Batch(logits, labels, nan_where_invalid(weights, valid), unweighted)

  def loss(self, labels: Any, logits: ArrayLike, features: Features = None,
           mode: str | ModeKeys = ModeKeys.TRAIN,
           regularization_losses: RegularizationLosses = None) -> jax.Array:
    """The training loss, as Estimator's ``head.loss``.

    Args:
      labels: ``[D0, ..., DN]`` or ``[D0, ..., DN, label width]``; vocabulary
        strings are accepted outside ``jit``.
      logits: ``[D0, ..., DN, logits_dimension]``, cast to float32.
      features: a dict holding the weight column, if the head has one.
      mode: a :class:`ModeKeys` or its string; it does not change the loss.
      regularization_losses: scalars added, unscaled, after the reduction.

    Returns:
      A float32 scalar.
    """
    checks.mode(mode)
    return checks.call(self, '_loss', self._host_labels(labels), logits, host_features(features),
                       regularization_losses)

  def gradient_and_hessian(self, labels: Any, logits: ArrayLike,
                           features: Features = None) -> tuple[jax.Array, jax.Array]:
    """Gradient and exact Hessian diagonal of the summed weighted loss: see
    :func:`flaxheads._src.gradients.gradient_and_hessian`."""
    return gradients.gradient_and_hessian(self, labels, logits, features)

  def _loss(self, labels, logits, features, regularization_losses) -> jax.Array:
    batch = self._batch(labels, logits, features)
    loss = reduce_loss(batch.unweighted_loss, batch.weights, self.loss_reduction)
    if regularization_losses is None:
      return loss
    return loss + regularization_total(regularization_losses)

  def predictions(self, logits: ArrayLike, keys: Sequence[str] | None = None) -> dict[str, jax.Array]:
    """The numeric predictions (jittable), keyed by :class:`PredictionKeys`.

    Args:
      logits: ``[D0, ..., DN, logits_dimension]``, cast to float32.
      keys: the keys to return; ``None`` or ``[]`` mean all. String keys
        (``classes``, ``all_classes``) return the ids they are decoded from by
        :meth:`decode_predictions`.
    """
    wanted = checks.prediction_keys(keys, self._prediction_keys, self._string_sources)
    predictions = checks.call(self, '_selected_predictions', logits, static=(wanted,))
    return {k: predictions[k] for k in wanted}  # compiled calls return dicts sorted by key

  @abc.abstractmethod
  def _signatures(self, predictions: dict[str, jax.Array]) -> dict[str, dict[str, jax.Array]]:
    """The classification/regression signatures of all predictions (``predict`` is added)."""

  def export_outputs(self, logits: ArrayLike, features: Features = None) -> dict[str, dict[str, jax.Array]]:
    del features  # single heads export from logits alone
    predictions = self.predictions(logits)
    signatures = self._signatures(predictions)
    default = signatures.get(SignatureKeys.CLASSIFY, signatures.get(SignatureKeys.REGRESS))
    return {SignatureKeys.SERVING_DEFAULT: default, **signatures, SignatureKeys.PREDICT: predictions}

  def _selected_predictions(self, logits, wanted: tuple[str, ...]) -> dict[str, jax.Array]:
    predictions = self._prediction_dict(checks.logits(logits, self.logits_dimension))
    return {k: predictions[k] for k in wanted}

  def metrics(self, regularization_losses: RegularizationLosses = None) -> dict[str, metrics_lib.Metric]:
    """The initial (empty) metric state; ``regularization_loss`` is kept only if given."""
    return _empty_metric_state(self, regularization_losses is not None)()

  def update_metrics(self, eval_metrics: dict[str, metrics_lib.Metric], features: Features,
                     logits: ArrayLike, labels: Any,
                     regularization_losses: RegularizationLosses = None) -> dict[str, metrics_lib.Metric]:
    """Returns ``eval_metrics`` with one batch merged in (pure and jittable).

    ``regularization_loss`` averages ``sum(regularization_losses)`` over calls.
    """
    state = checks.call(self, '_update_metrics', eval_metrics, host_features(features), logits,
                        self._host_labels(labels), regularization_losses)
    return {k: state[k] for k in eval_metrics}  # compiled calls return dicts sorted by key

  def _update_metrics(self, eval_metrics, features, logits, labels, regularization_losses):
    batch = self._batch(labels, logits, features)
    return metrics_lib.merge_states(eval_metrics, self._batch_metrics(batch, regularization_losses))

  def _regularization_metric(self, regularization_losses: RegularizationLosses) -> dict[str, metrics_lib.Metric]:
    if regularization_losses is None:
      return {}
    mean = metrics_lib.Mean.from_values(regularization_total(regularization_losses))
    return {self._key(MetricKeys.LOSS_REGULARIZATION): mean}
