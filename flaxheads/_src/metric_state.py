"""``MetricState``: a head's metrics as one ordered, additive pytree, and computing them all."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import jax

from flaxheads._src.metrics import Metric


class MetricState(Mapping[str, Metric]):
  """A head's metrics: an immutable mapping from metric key to :class:`Metric`.

  A pytree whose key order is part of its structure, so ``jit``, ``psum`` and
  orbax give it back in Estimator's key order (a plain ``dict`` comes back
  sorted). Leaves have the key paths ``['average_loss'].total``, ...

  Example:
    >>> import jax
    >>> from flaxheads import metrics
    >>> state = metrics.MetricState({'b': metrics.Mean.empty(), 'a': metrics.Mean.empty()})
    >>> list(jax.jit(lambda s: s)(state))
    ['b', 'a']
  """

  __slots__ = ('_metrics',)

  def __init__(self, metrics: Mapping[str, Metric]):
    self._metrics = dict(metrics)

  def __getitem__(self, key: str) -> Metric:
    return self._metrics[key]

  def __iter__(self) -> Iterator[str]:
    return iter(self._metrics)

  def __len__(self) -> int:
    return len(self._metrics)

  def __repr__(self) -> str:
    return f'MetricState({self._metrics!r})'

  def merge(self, update: Mapping[str, Metric]) -> MetricState:
    """Merges ``update`` key by key (keys it lacks stay as they are); the key order is kept."""
    unknown = sorted(set(update) - set(self))
    if unknown:
      raise ValueError(f'The metric state has no keys {unknown}; create it with the same head\'s '
                       f'metrics(), with regularization_losses if update_metrics gets them. '
                       f'State keys: {list(self)}.')
    return MetricState({k: m.merge(update[k]) if k in update else m for k, m in self.items()})


jax.tree_util.register_pytree_with_keys(
    MetricState,
    lambda s: ([(jax.tree_util.DictKey(k), m) for k, m in s.items()], tuple(s)),
    lambda keys, metrics: MetricState(dict(zip(keys, metrics))),
    flatten_func=lambda s: (list(s.values()), tuple(s)))


def results(state: Mapping[str, Metric]) -> dict[str, jax.Array]:
  """``{key: metric.compute()}`` for a metric state, in one compiled call."""
  return dict(zip(state, _compute_all(MetricState(state))))


@jax.jit
def _compute_all(state: MetricState) -> list[jax.Array]:
  return [m.compute() for m in state.values()]
