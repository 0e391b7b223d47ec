"""``SingleHead``: the abstract base of the single-task heads, and what they share.

A single head reads a batch (:meth:`SingleHead.batch`: checked logits, dense
labels, weights with invalid rows set to NaN, per-element losses), turns it
into loss terms or into one batch of metric states, and merges those into the
streamed state. The shared fields (``weight_column``, ``loss_reduction``,
``loss_fn``, ``name``) are declared and validated here once; each final head
supplies its label processing, default loss, predictions and metric set.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src import checks, eager, gradients
from flaxheads._src.metric_state import MetricState
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.head import Features, Head
from flaxheads._src.keys import STRING_KEY_SOURCES, LossReduction, MetricKeys, SignatureKeys, summary_key
from flaxheads._src.loss_terms import LossTerms, RegularizationLosses, regularization_total, weighted_terms

WeightColumn = str | Callable[[Any], ArrayLike] | None


class Batch(NamedTuple):
  """One batch, checked and processed, as a head's loss and metrics see it.

  Every array is in rows form (see :func:`rows`): the batch axes
  ``[D0, ..., DN]`` flattened into ``R`` rows, and a last axis of 1 dropped.
  """

  logits: jax.Array  # [R, logits_dimension] or [R] float32; 0 at masked-out rows
  labels: jax.Array  # [R, label width] or [R] dense labels (ids, floats or multi-hot); 0 at masked-out rows
  # The shape of unweighted_loss: NaN at invalid rows, 0 at masked-out rows. Without a weight column and a
  # mask, one weight for every element: 1, or NaN if any row is invalid (it poisons the same sums).
  weights: jax.Array
  unweighted_loss: jax.Array  # [R, loss width] or [R] float32
  mask: jax.Array | None  # bool, the shape of unweighted_loss; None: every row
  # The labels' shape, bool: each label in range and its logit (or its row's logits) not NaN. Already in the
  # weights; a metric that bins every label anyway can check it there, and leave the pass over the batch
  # that finds the scalar weight unused.
  valid: jax.Array


def rows(x: ArrayLike) -> jax.Array:
  """``[D0, ..., DN, c]`` as ``[R, c]`` rows, and as ``[R]`` when ``c == 1`` (``R = D0 * ... * DN``).

  XLA:CPU vectorizes the loops of a fusion along the last axis: on ``[N, 1]``
  arrays, every binary and regression head's shape, ``exp``, ``log1p`` and the
  reductions run one element at a time, 10-40x slower than on ``[N]``. The
  heads therefore compute on rows. (A reshape alone can be folded back by
  XLA; :meth:`SingleHead.batch` pins the rows with an optimization barrier.)
  """
  x = jnp.asarray(x)
  return x.reshape(-1) if x.shape[-1] == 1 else x.reshape(-1, x.shape[-1])


@dataclasses.dataclass(frozen=True)
class SingleHead(Head):
  """A head for one task (an abstract class: the six single heads are its final subclasses).

  Args (shared by every single head, keyword-only):
    weight_column: a feature name, or a callable ``features -> weights``.
    loss_reduction: a :class:`LossReduction` or its string.
    loss_fn: ``loss_fn(labels, logits[, features][, loss_reduction])``
      returning the unweighted loss, replacing the head's own; it receives the
      dense labels (see each head) and must return the shape of the head's
      per-element loss. Unlike Estimator, a ``loss_fn`` that declares
      ``loss_reduction`` receives it.
    name: suffixes every metric key with ``/name``.
  """

  _: dataclasses.KW_ONLY
  weight_column: WeightColumn = None
  loss_reduction: LossReduction | str = LossReduction.SUM_OVER_BATCH_SIZE
  loss_fn: Callable[..., ArrayLike] | None = None
  name: str | None = None

  label_dtype: ClassVar[Any]  # the dtype of the dense labels: every final head sets it

  def __post_init__(self):
    if type(self) is SingleHead:
      raise TypeError('SingleHead is abstract: use one of the single heads.')
    checks.weight_column(self.weight_column)
    if self.loss_fn is not None:
      checks.loss_fn_args(self.loss_fn)
    if self.name is not None and not isinstance(self.name, str):
      raise TypeError(f'name must be a string or None, got {self.name!r}.')
    normalized = {'loss_reduction': checks.loss_reduction(self.loss_reduction), **self._validated_fields()}
    for field, value in normalized.items():
      object.__setattr__(self, field, value)

  @abc.abstractmethod
  def _validated_fields(self) -> dict[str, Any]:
    """Validates the head's own fields; returns those whose value is normalized (e.g. lists to tuples)."""

  @property
  @abc.abstractmethod
  def label_width(self) -> int:
    """The size of the last axis of the dense labels."""

  @property
  @abc.abstractmethod
  def prediction_keys(self) -> tuple[str, ...]:
    """Every key :meth:`decode_predictions` returns, in Estimator's order (string keys included)."""

  @abc.abstractmethod
  def _dense_labels(self, labels: Any, logits_shape: tuple[int, ...]) -> jax.Array:
    """Labels reshaped to ``[D0, ..., DN, label_width]`` and cast (trace-time shape checks)."""

  @abc.abstractmethod
  def _label_validity(self, labels: jax.Array) -> jax.Array | bool:
    """Checks the label values (see :func:`checks.check_values`) of labels in rows form; each one's validity."""

  @abc.abstractmethod
  def _default_loss(self, labels: jax.Array, logits: jax.Array) -> jax.Array:
    """The unweighted per-element loss of labels and logits in rows form: ``[R]`` or ``[R, loss width]``."""

  @abc.abstractmethod
  def _all_predictions(self, logits: jax.Array) -> dict[str, jax.Array]:
    """Every numeric prediction of checked float32 logits."""

  @abc.abstractmethod
  def _signatures(self, predictions: dict[str, jax.Array]) -> dict[str, dict[str, jax.Array]]:
    """The classification/regression signatures of all predictions (``predict`` is added)."""

  @abc.abstractmethod
  def _batch_metrics(self, batch: Batch, regularization_losses: RegularizationLosses) -> dict[str, metrics_lib.Metric]:
    """One batch's metric states, in Estimator's key order."""

  def batch(self, labels: Any, logits: ArrayLike, features: Features = None, *,
            mask: ArrayLike | None = None) -> Batch:
    """Reads one batch: checks shapes and labels, reads weights, computes per-element losses.

    Rows with invalid labels or NaN logits get NaN weights, so they poison the
    loss and every metric (under ``jit`` without :func:`flaxheads.checked`).
    Without a weight column or mask every element weighs the same: the weight
    is one scalar, 1 or (if any row is invalid) NaN.
    The result is in rows form (:func:`rows`); shapes are checked, and a
    ``loss_fn`` called, on the caller's ``[D0, ..., DN, ...]``.
    """
    logits = checks.logits(logits, self.logits_dimension)
    labels = self._dense_labels(labels, logits.shape)
    row_mask = checks.row_mask(mask, logits.shape)
    if row_mask is not None:
      logits = jnp.where(row_mask, logits, 0.)
      labels = jnp.where(row_mask, labels, jnp.zeros((), labels.dtype))
    user_loss = None
    if self.loss_fn is not None:
      user_loss = call_loss_fn(self.loss_fn, labels=labels, logits=logits, features=features,
                               loss_reduction=self.loss_reduction, width=self._default_loss_width())
    logits_rows, labels_rows = jax.lax.optimization_barrier((rows(logits), rows(labels)))
    unweighted = self._default_loss(labels_rows, logits_rows) if user_loss is None else rows(user_loss)
    width = 1 if unweighted.ndim == 1 else unweighted.shape[-1]
    per_element = logits.shape[:-1] + (width,)
    if logits_rows.shape == labels_rows.shape:
      nan_logits = jnp.isnan(logits_rows)
    else:  # max propagates NaN, and the softmax losses compute it anyway: a third of any(isnan).
      nan_logits = jnp.isnan(jnp.max(logits_rows, axis=-1))
    valid = self._label_validity(labels_rows) & ~nan_logits  # the labels' shape
    if self.weight_column is None and row_mask is None:  # one weight: 1, or NaN if any row is invalid
      # A float sum (NaN if any row is invalid): XLA:CPU vectorizes it, unlike a reduction of booleans.
      weight = 1. + jnp.sum(jnp.where(valid, 0., jnp.nan))
      return Batch(logits_rows, labels_rows, weight, unweighted, None, valid)
    weights = example_weights(features, self.weight_column, logits, loss_width=width)
    weights = rows(jnp.broadcast_to(jnp.asarray(weights, jnp.float32), per_element))
    row_mask = None if row_mask is None else rows(jnp.broadcast_to(row_mask, per_element))
    if row_mask is not None:
      weights = jnp.where(row_mask, weights, 0.)
    row_valid = checks.per_row(valid)
    valid_weights = jnp.where(row_valid if width == 1 else row_valid[:, None], weights, jnp.nan)
    return Batch(logits_rows, labels_rows, valid_weights, unweighted, row_mask, valid)

  def _default_loss_width(self) -> int:
    """The last axis of the default loss, ``[D0, ..., DN, width]``."""
    labels = jax.ShapeDtypeStruct((1,) if self.label_width == 1 else (1, self.label_width), self.label_dtype)
    logits = jax.ShapeDtypeStruct((1,) if self.logits_dimension == 1 else (1, self.logits_dimension),
                                  jnp.float32)
    shape = jax.eval_shape(self._default_loss, labels, logits).shape
    return 1 if len(shape) == 1 else shape[-1]

  @eager.compiled_when_eager()
  def loss_terms(self, labels: Any, logits: ArrayLike, features: Features = None, *,
                 mask: ArrayLike | None = None) -> LossTerms:
    """The weighted loss sum and element count of a batch (see :class:`flaxheads.LossTerms`).

    ``SUM_OVER_BATCH_SIZE`` divides by the number of loss elements, zero-weighted
    ones included (not by the sum of the weights); masked-out rows do not count.
    """
    batch = self.batch(labels, logits, features, mask=mask)
    return weighted_terms(batch.unweighted_loss, batch.weights, batch.mask, self.loss_reduction)

  def gradient_and_hessian(self, labels: Any, logits: ArrayLike,
                           features: Features = None) -> tuple[jax.Array, jax.Array]:
    """The gradient and exact Hessian diagonal of ``sum_i w_i * l_i`` w.r.t. ``[batch, k]`` logits.

    What gradient boosting grows trees on; see :mod:`flaxheads.boosted_trees`.
    """
    return gradients.gradient_and_hessian(self, labels, logits, features)

  @eager.compiled_when_eager(per_row_outputs=True, static=('keys',))
  def predictions(self, logits: ArrayLike, keys: Sequence[str] | None = None) -> dict[str, jax.Array]:
    """The numeric predictions (jittable), keyed by :class:`PredictionKeys`.

    Args:
      logits: ``[D0, ..., DN, logits_dimension]``, cast to float32.
      keys: the keys to return; ``None`` or ``[]`` mean all. String keys
        (``classes``, ``all_classes``) return the ids they are decoded from by
        :meth:`decode_predictions`.
    """
    predictions = self._all_predictions(checks.logits(logits, self.logits_dimension))
    wanted = checks.prediction_keys(keys, self.prediction_keys, predictions)
    return {k: predictions[k] for k in wanted}

  def export_outputs(self, logits: ArrayLike, features: Features = None) -> dict[str, dict[str, jax.Array]]:
    del features  # single heads export from logits alone
    predictions = self.predictions(logits)
    signatures = self._signatures(predictions)
    default = signatures.get(SignatureKeys.CLASSIFY, signatures.get(SignatureKeys.REGRESS))
    return {SignatureKeys.SERVING_DEFAULT: default, **signatures, SignatureKeys.PREDICT: predictions}

  def metrics(self, regularization_losses: RegularizationLosses = None) -> MetricState:
    """The initial (empty) metric state; ``regularization_loss`` is kept only if given."""
    return MetricState.zeros(self._metric_shapes(regularization_losses is not None))

  @eager.compiled_when_eager()
  def update_metrics(self, eval_metrics: Mapping[str, metrics_lib.Metric], features: Features,
                     logits: ArrayLike, labels: Any, regularization_losses: RegularizationLosses = None, *,
                     mask: ArrayLike | None = None) -> MetricState:
    """Returns ``eval_metrics`` with one batch merged in (pure and jittable).

    ``regularization_loss`` averages ``sum(regularization_losses)`` over calls.
    """
    batch = self.batch(labels, logits, features, mask=mask)
    return MetricState(eval_metrics).merge(self._batch_metrics(batch, regularization_losses))

  @functools.lru_cache(maxsize=256)  # heads are hashable; traced once per head
  def _metric_shapes(self, with_regularization: bool) -> dict[str, Any]:
    """The shapes of the metric state, in Estimator's key order."""
    row = lambda width, dtype: jax.ShapeDtypeStruct((1,) if width == 1 else (1, width), dtype)
    loss = row(self._default_loss_width(), jnp.float32)
    batch = Batch(row(self.logits_dimension, jnp.float32), row(self.label_width, self.label_dtype), loss, loss,
                  None, row(self.label_width, jnp.bool_))
    regularization = [0.] if with_regularization else None
    order = []

    def batch_metrics(batch):
      state = self._batch_metrics(batch, regularization)
      order.extend(state)
      return state

    shapes = jax.eval_shape(batch_metrics, batch)
    return {k: shapes[k] for k in order}

  def _key(self, key: str) -> str:
    return summary_key(key, self.name)

  def _regularization_metric(self, regularization_losses: RegularizationLosses) -> dict[str, metrics_lib.Metric]:
    if regularization_losses is None:
      return {}
    mean = metrics_lib.Mean.from_values(regularization_total(regularization_losses))
    return {self._key(MetricKeys.LOSS_REGULARIZATION): mean}


def example_weights(features: Features, column: WeightColumn, logits: jax.Array, *,
                    loss_width: int) -> jax.Array | float:
  """Estimator's ``get_weights_and_check_match_logits``, with trace-time shape errors.

  Returns 1.0 without a weight column, else float32 weights of shape
  ``[D0, ..., DN, 1]``, or ``[D0, ..., DN, loss_width]`` (one per value) when the
  loss has several values per row (multi-dimensional regression).
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
  per_value = loss_width > 1
  allowed = [batch_shape + (1,)] + ([batch_shape + (loss_width,)] if per_value else [])
  if weights.ndim != logits.ndim - 1 and weights.shape in allowed:
    return weights
  shapes = ('[D0, D1, ... DN], [D0, D1, ... DN, 1] or [D0, D1, ... DN, logits_dimension]'
            if per_value else '[D0, D1, ... DN] or [D0, D1, ... DN, 1]')
  raise ValueError(f'weights shape must be {shapes}, logits_shape: {logits.shape}. '
                   f'weights_shape: {weights.shape}.')


def call_loss_fn(loss_fn: Callable[..., Any], *, labels: jax.Array, logits: jax.Array,
                 features: Features, loss_reduction: LossReduction, width: int) -> jax.Array:
  """Calls a user ``loss_fn`` with the arguments it declares and checks its shape."""
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


def class_names(vocabulary: Sequence[str] | None, n_classes: int) -> np.ndarray:
  """The class strings: the vocabulary, or ``'0'`` ... ``'n-1'``."""
  return np.asarray(vocabulary if vocabulary is not None else [str(i) for i in range(n_classes)])


def decode_class_ids(predictions: Mapping[str, ArrayLike], names: np.ndarray,
                     order: Sequence[str]) -> dict[str, np.ndarray]:
  """Host side: numpy predictions plus ``classes``/``all_classes`` decoded from their ids, in ``order``."""
  decoded = {}
  for key in order:
    source = STRING_KEY_SOURCES.get(key)
    if key in predictions:
      decoded[key] = np.asarray(predictions[key])
    elif source in predictions:
      decoded[key] = names[np.asarray(predictions[source])]
  return decoded


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
