"""MultiHead: several named heads trained together on one model (multi-task learning)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from flaxheads._src.metric_state import MetricState
from flaxheads._src import metrics as metrics_lib
from flaxheads._src.head import Features, Head
from flaxheads._src.keys import LossReduction, MetricKeys, SignatureKeys, summary_key
from flaxheads._src.loss_terms import CombinedLossTerms, RegularizationLosses, regularization_total

PredictionKey = tuple[str, str]  # (head name, prediction key)
NESTED_OBJECTIVE = ('{head} inside {wrapper} has a global objective; global objectives train only on a '
                     'BinaryClassHead or MultiLabelHead used on its own.')


@dataclasses.dataclass(frozen=True)
class _HeadLossCombination:
  """``{head name: loss} -> loss``: the weighted sum, or a user's aggregation function."""

  names: tuple[str, ...]
  head_weights: tuple[float, ...] | None
  aggregation_fn: Callable[[dict[str, jax.Array]], ArrayLike] | None

  def __call__(self, losses: dict[str, jax.Array]) -> jax.Array:
    if self.aggregation_fn is not None:
      loss = jnp.asarray(self.aggregation_fn(losses), jnp.float32)
      if loss.shape != ():
        raise ValueError(f'loss_aggregation_fn must return a scalar, got shape {loss.shape}.')
      return loss
    weights = self.head_weights or (1.,) * len(self.names)
    return sum(w * losses[name] for w, name in zip(weights, self.names))


@final
@dataclasses.dataclass(frozen=True)
class MultiHead(Head):
  """Several named heads on one model (``tf.estimator.MultiHead``).

  Logits are a dict ``{head name: logits}`` or one array whose last axis
  concatenates the heads' logits in order; labels are a dict
  ``{head name: labels}``. The training loss is
  ``sum_i head_weights[i] * heads[i].loss(...)`` (each sub-head reducing with its
  own ``loss_reduction``), plus the regularization losses once. Predictions are
  keyed by ``(head name, key)``.

  Metrics are Estimator's ``evaluate`` ones: ``loss/<head>`` (the mean over
  batches of each head's loss, without ``head_weights``),
  ``regularization_loss/<name>``, and every sub-head metric with its
  ``/<head>`` suffix. All of them stream across batches. (Estimator's eager
  ``update_metrics`` restarts the sub-head metrics on every call, so they
  describe only the last batch; we do not copy that.)

  Beyond Estimator: a sub-head may be any head, another ``MultiHead`` or a
  ``SequentialHeadWrapper`` included; duplicate names are rejected; and
  ``loss_aggregation_fn`` replaces the weighted sum.

  Args:
    heads: named heads.
    head_weights: one float per head (default 1 each).
    loss_aggregation_fn: ``fn({head name: loss}) -> scalar`` combining the
      per-head losses instead of the weighted sum (then no ``head_weights``).

  Example:
    >>> import jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.MultiHead([fh.BinaryClassHead(name='click'),
    ...                      fh.RegressionHead(name='dwell')], head_weights=[1., 0.5])
    >>> logits = jnp.array([[0., 2.]])  # [click logit, dwell prediction]
    >>> labels = {'click': jnp.array([1]), 'dwell': jnp.array([3.])}
    >>> round(float(head.loss(labels, logits)), 4)  # log(2) + 0.5 * (2 - 3)**2
    1.1931
  """

  heads: Sequence[Head]
  head_weights: Sequence[float] | None = None
  _: dataclasses.KW_ONLY
  loss_aggregation_fn: Callable[[dict[str, jax.Array]], ArrayLike] | None = None

  def __post_init__(self):
    if not self.heads:
      raise ValueError(f'Must specify heads. Given: {self.heads}')
    object.__setattr__(self, 'heads', tuple(self.heads))
    for head in self.heads:
      if not isinstance(head, Head):
        raise TypeError(f'heads must be flaxheads heads, got {type(head).__name__}.')
      if head.name is None:
        raise ValueError(f'All given heads must have name specified. Given: {head}')
      if head.global_objective is not None:
        raise ValueError(NESTED_OBJECTIVE.format(head=type(head).__name__, wrapper='MultiHead'))
    names = [h.name for h in self.heads]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
      raise ValueError(f'Head names must be unique; {duplicates} appear more than once in {names}.')
    if self.head_weights:
      if len(self.head_weights) != len(self.heads):
        raise ValueError('heads and head_weights must have the same size. Given len(heads): '
                         f'{len(self.heads)}. Given len(head_weights): {len(self.head_weights)}.')
      object.__setattr__(self, 'head_weights', tuple(float(w) for w in self.head_weights))
    else:
      object.__setattr__(self, 'head_weights', None)
    if self.loss_aggregation_fn is not None:
      if not callable(self.loss_aggregation_fn):
        raise TypeError('loss_aggregation_fn must be callable, got '
                        f'{type(self.loss_aggregation_fn).__name__}.')
      if self.head_weights is not None:
        raise ValueError('Give either head_weights or loss_aggregation_fn, not both.')

  @property
  def name(self) -> str:
    return '_'.join(h.name for h in self.heads)

  @property
  def logits_dimension(self) -> int:
    return sum(h.logits_dimension for h in self.heads)

  @property
  def loss_reduction(self) -> LossReduction:
    """The sub-heads' common reduction; a ``ValueError`` if they differ."""
    reductions = [h.loss_reduction for h in self.heads]
    if len(set(reductions)) > 1:
      raise ValueError('The loss_reduction must be the same for different heads. Given: '
                       f'{[r.value for r in reductions]}')
    return reductions[0]

  def split_logits(self, logits: Mapping[str, ArrayLike] | ArrayLike) -> dict[str, jax.Array]:
    """``{head name: logits}`` from a dict, or from one array split along its last axis."""
    names = [h.name for h in self.heads]
    if isinstance(logits, Mapping):
      missing = [n for n in names if n not in logits]
      if missing:
        raise ValueError(f'logits has missing values for head(s): {missing}')
      return {n: logits[n] for n in names}
    logits = jnp.asarray(logits)
    dims = [h.logits_dimension for h in self.heads]
    if logits.ndim < 2 or logits.shape[-1] != sum(dims):
      raise ValueError(f'Could not split logits of shape {logits.shape} among the heads with '
                       f'individual logits dimensions: {dims}. The last dimension of the logits '
                       f'tensor should equal {sum(dims)} but is {logits.shape[-1:]}.')
    parts = jnp.split(logits, np.cumsum(dims)[:-1].tolist(), axis=-1)
    return dict(zip(names, parts))

  def _split_labels(self, labels: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(labels, Mapping):
      raise ValueError(f'labels must be a dict {{head name: labels}}. Given: {type(labels).__name__}')
    missing = [h.name for h in self.heads if h.name not in labels]
    if missing:
      raise ValueError(f'labels has missing values for head(s): {missing}')
    return {h.name: labels[h.name] for h in self.heads}

  def labels_for_jit(self, labels: Any) -> Any:
    """Host side: each head's labels through that head's ``labels_for_jit``."""
    if not isinstance(labels, Mapping):
      return labels  # rejected with a clear message by _split_labels
    return {**labels, **{h.name: h.labels_for_jit(labels[h.name]) for h in self.heads if h.name in labels}}

  def encode_labels(self, labels: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Host side: each head's labels through that head's ``encode_labels``."""
    return {h.name: h.encode_labels(labels) for h, labels in
            zip(self.heads, self._split_labels(labels).values())}

  def loss_terms(self, labels: Mapping[str, Any], logits: Mapping[str, ArrayLike] | ArrayLike,
                 features: Features = None, *, mask: ArrayLike | None = None) -> CombinedLossTerms:
    """Every sub-head's loss terms, combined by ``head_weights`` or ``loss_aggregation_fn``."""
    logits = self.split_logits(logits)
    labels = self._split_labels(self.labels_for_jit(labels))
    terms = {h.name: h.loss_terms(labels[h.name], logits[h.name], features, mask=mask) for h in self.heads}
    names = tuple(h.name for h in self.heads)
    return CombinedLossTerms(terms, _HeadLossCombination(names, self.head_weights, self.loss_aggregation_fn))

  def per_head_losses(self, labels: Mapping[str, Any], logits: Mapping[str, ArrayLike] | ArrayLike,
                      features: Features = None, *, mask: ArrayLike | None = None) -> dict[str, jax.Array]:
    """Each sub-head's reduced loss, without regularization or head weights."""
    return self.loss_terms(labels, logits, features, mask=mask).values()

  def predictions(self, logits: Mapping[str, ArrayLike] | ArrayLike,
                  keys: Sequence[PredictionKey] | None = None) -> dict[PredictionKey, jax.Array]:
    """Every sub-head's predictions, keyed by ``(head name, key)``.

    Args:
      logits: a dict ``{head name: logits}`` or the concatenated array.
      keys: ``(head name, key)`` pairs to return; ``None`` means all.
    """
    logits = self.split_logits(logits)
    wanted = self._keys_by_head(keys)
    return {(h.name, k): v for h in self.heads if h.name in wanted
            for k, v in h.predictions(logits[h.name], wanted[h.name]).items()}

  def _keys_by_head(self, keys: Sequence[PredictionKey] | None) -> dict[str, list[str] | None]:
    if not keys:
      return {h.name: None for h in self.heads}
    names = [h.name for h in self.heads]
    wanted: dict[str, list[str]] = {}
    for key in keys:
      if not (isinstance(key, tuple) and len(key) == 2 and key[0] in names):
        raise ValueError(f'MultiHead prediction keys are (head name, key) pairs with a head name '
                         f'in {names}; given: {key!r}.')
      wanted.setdefault(key[0], []).append(key[1])
    return wanted

  def export_outputs(self, logits: Mapping[str, ArrayLike] | ArrayLike,
                     features: Features = None) -> dict[str, dict[str, jax.Array]]:
    """Estimator's merged signatures: ``serving_default`` is the first head's, each
    head's default is ``<head>``, its others ``<head>/<signature>``, and
    ``predict`` merges every head's predictions under ``<head>/<key>``."""
    logits = self.split_logits(logits)
    outputs, merged = {}, {}
    for h in self.heads:
      own = h.export_outputs(logits[h.name], features)
      outputs.setdefault(SignatureKeys.SERVING_DEFAULT, own[SignatureKeys.SERVING_DEFAULT])
      for key, value in own.items():
        outputs[h.name if key == SignatureKeys.SERVING_DEFAULT else f'{h.name}/{key}'] = value
      merged.update({f'{h.name}/{k}': v for k, v in own[SignatureKeys.PREDICT].items()})
    return {**outputs, SignatureKeys.PREDICT: merged}

  def decode_predictions(self, predictions: Mapping[PredictionKey, ArrayLike]) -> dict[PredictionKey, np.ndarray]:
    """Host side: each sub-head's ``decode_predictions``, keyed by ``(head name, key)``."""
    decoded = {}
    for h in self.heads:
      own = {k: v for (name, k), v in predictions.items() if name == h.name}
      if own:
        decoded.update({(h.name, k): v for k, v in h.decode_predictions(own).items()})
    return decoded

  def _own_keys(self, regularization_losses) -> list[str]:
    keys = [] if regularization_losses is None else [summary_key(MetricKeys.LOSS_REGULARIZATION, self.name)]
    return keys + [f'{MetricKeys.LOSS}/{h.name}' for h in self.heads]

  def metrics(self, regularization_losses: RegularizationLosses = None) -> MetricState:
    """``regularization_loss/<name>`` (if given), ``loss/<head>`` and every sub-head's metrics."""
    state = {k: metrics_lib.Mean.empty() for k in self._own_keys(regularization_losses)}
    for h in self.heads:
      state.update(h.metrics())
    return MetricState(state)

  def update_metrics(self, eval_metrics: Mapping[str, metrics_lib.Metric], features: Features,
                     logits: Mapping[str, ArrayLike] | ArrayLike, labels: Mapping[str, Any],
                     regularization_losses: RegularizationLosses = None, *,
                     mask: ArrayLike | None = None) -> MetricState:
    """Returns ``eval_metrics`` with one batch merged in; every metric streams."""
    logits = self.split_logits(logits)
    labels = self._split_labels(self.labels_for_jit(labels))
    update = {}
    if regularization_losses is not None:
      update[self._own_keys(regularization_losses)[0]] = metrics_lib.Mean.from_values(
          regularization_total(regularization_losses))
    for h in self.heads:
      loss = h.loss(labels[h.name], logits[h.name], features, mask=mask)
      update[f'{MetricKeys.LOSS}/{h.name}'] = metrics_lib.Mean.from_values(loss)
    for h in self.heads:
      update.update(h.update_metrics(h.metrics(), features, logits[h.name], labels[h.name], mask=mask))
    return MetricState(eval_metrics).merge(update)
