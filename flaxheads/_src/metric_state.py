"""``MetricState``: a head's metrics as one ordered, additive pytree, and computing them all."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from flaxheads._src.metrics import Metric


class _Entry(NamedTuple):
  """Where one metric lives in the buffer (static, hashable)."""

  key: str
  treedef: Any  # the metric's pytree structure, its static config included
  shapes: tuple[tuple[int, ...], ...]  # the shape of each leaf
  offset: int  # the first buffer element of its leaves


@functools.lru_cache(maxsize=1024)
def _index(layout: tuple[_Entry, ...]) -> dict[str, _Entry]:
  return {entry.key: entry for entry in layout}


class MetricState(Mapping[str, Metric]):
  """A head's metrics: an immutable mapping from metric key to :class:`Metric`.

  Every metric's leaves are float32 sums, so the state is stored as **one**
  float32 buffer (the leaves raveled in key order) and a static layout. A
  compiled ``update_metrics`` then takes and returns one array instead of one
  per leaf (a head has 10-40), which is most of a small batch's cost, and
  merging two states, or ``jax.lax.psum`` over devices, is one addition. The
  key order is part of the layout, so ``jit``, ``psum`` and orbax give the
  state back in Estimator's order. ``state[key]`` returns the metric (its
  leaves are slices of the buffer, so under ``jit`` it costs nothing).

  Example:
    >>> import jax
    >>> from flaxheads import metrics
    >>> state = metrics.MetricState({'b': metrics.Mean.empty(), 'a': metrics.Mean.empty()})
    >>> list(jax.jit(lambda s: s)(state))
    ['b', 'a']
    >>> jax.tree.leaves(state)[0].shape   # 'b'.total, 'b'.count, 'a'.total, 'a'.count
    (4,)
  """

  __slots__ = ('_layout', '_buffer')

  def __init__(self, metrics: Mapping[str, Metric]):
    if isinstance(metrics, MetricState):
      self._layout, self._buffer = metrics._layout, metrics._buffer
      return
    self._layout, leaves = _layout(metrics)
    self._buffer = _packed([jnp.ravel(jnp.asarray(leaf, jnp.float32)) for leaf in leaves])

  @classmethod
  def zeros(cls, shapes: Mapping[str, Metric]) -> MetricState:
    """The all-zero state of ``shapes``: metrics whose leaves have a ``shape`` (e.g. ``jax.ShapeDtypeStruct``)."""
    layout, leaves = _layout(shapes)
    return cls._of(layout, jnp.zeros((sum(int(np.prod(np.shape(x))) for x in leaves),), jnp.float32))

  @classmethod
  def _of(cls, layout: tuple[_Entry, ...], buffer: Any) -> MetricState:
    state = object.__new__(cls)
    state._layout, state._buffer = layout, buffer
    return state

  def __getitem__(self, key: str) -> Metric:
    entry = _index(self._layout)[key]
    leaves, start = [], entry.offset
    for shape in entry.shapes:
      size = int(np.prod(shape))
      leaves.append(self._buffer[start:start + size].reshape(shape))
      start += size
    return jax.tree.unflatten(entry.treedef, leaves)

  def __iter__(self) -> Iterator[str]:
    return (entry.key for entry in self._layout)

  def __len__(self) -> int:
    return len(self._layout)

  def __contains__(self, key: object) -> bool:
    return key in _index(self._layout)

  def __repr__(self) -> str:
    return f'MetricState({dict(self.items())!r})'

  def merge(self, update: Mapping[str, Metric]) -> MetricState:
    """Merges ``update`` key by key (keys it lacks stay as they are); the key order is kept."""
    update = MetricState(update)
    if update._layout == self._layout:
      return MetricState._of(self._layout, self._buffer + update._buffer)
    unknown = sorted(set(update) - set(self))
    if unknown:
      raise ValueError(f'The metric state has no keys {unknown}; create it with the same head\'s '
                       f'metrics(), with regularization_losses if update_metrics gets them. '
                       f'State keys: {list(self)}.')
    return MetricState({k: m.merge(update[k]) if k in update else m for k, m in self.items()})


def _packed(parts: list[jax.Array]) -> jax.Array:
  """``jnp.concatenate(parts)`` of 1-D parts, with each run of small parts placed by padding and adding.

  XLA:CPU computes every operand of a concatenation in an operation of its
  own, which for a head's 20-odd scalar sums is most of a small batch's time;
  zero-padded parts added together fuse into one operation.
  """
  segments, run = [], []

  def place_run():
    offset, size = 0, sum(p.size for p in run)
    placed = []
    for p in run:
      placed.append(jnp.pad(p, (offset, size - offset - p.size)))
      offset += p.size
    segments.append(functools.reduce(jnp.add, placed))
    run.clear()

  for part in parts:
    if part.size > _SMALL:
      if run:
        place_run()
      segments.append(part)
      continue
    run.append(part)
    if len(run) == _MAX_RUN:
      place_run()
  if run:
    place_run()
  return jnp.concatenate(segments) if segments else jnp.zeros((0,), jnp.float32)


_SMALL = 4  # parts of up to this many elements are placed by padding
_MAX_RUN = 64  # elements of a run each read all its parts: it costs about its length squared


def _layout(metrics: Mapping[str, Metric]) -> tuple[tuple[_Entry, ...], list[Any]]:
  """The layout of ``metrics`` in a buffer, and their leaves in buffer order."""
  layout, all_leaves, offset = [], [], 0
  for key, metric in metrics.items():
    leaves, treedef = jax.tree.flatten(metric)
    shapes = tuple(tuple(np.shape(leaf)) for leaf in leaves)
    layout.append(_Entry(key, treedef, shapes, offset))
    offset += sum(int(np.prod(shape)) for shape in shapes)
    all_leaves += leaves
  return tuple(layout), all_leaves


jax.tree_util.register_pytree_with_keys(
    MetricState,
    lambda s: ([(jax.tree_util.GetAttrKey('buffer'), s._buffer)], s._layout),  # pylint: disable=protected-access
    lambda layout, children: MetricState._of(layout, children[0]),  # pylint: disable=protected-access
    flatten_func=lambda s: ([s._buffer], s._layout))  # pylint: disable=protected-access


def results(state: Mapping[str, Metric]) -> dict[str, jax.Array]:
  """``{key: metric.compute()}`` for a metric state, in one compiled call."""
  return dict(zip(state, _compute_all(MetricState(state))))


@jax.jit
def _compute_all(state: MetricState) -> list[jax.Array]:
  return [m.compute() for m in state.values()]
