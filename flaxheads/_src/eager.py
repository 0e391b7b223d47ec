"""Eager head calls at compiled speed, without a program per batch size.

Head methods are plain JAX functions: under ``jit``, ``grad``, ``vmap`` or
``shard_map`` they are traced like any other code. Called eagerly (no argument
is a tracer), the methods marked :func:`compiled_when_eager` run as one
compiled program per head and bucket of batch sizes instead of op by op (which
compiles every operation anew for every batch size). The rows are padded to
the bucket — 1024 rows, or the next power of two, or a multiple of 65536 — and
masked out through the method's ``mask`` argument, so they change no loss term,
metric or prediction of the real rows. The heads' value checks run staged (see
:func:`flaxheads.checked`), so invalid labels raise ``ValueError`` as they
would op by op. A call the compiled program cannot take (a shape error, a user
function that needs concrete values) runs op by op, which raises the error
with the caller's shapes, or computes the value.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from flaxheads._src import checks

_MIN_BUCKET = 1024
_MAX_BUCKET = 65536
_BATCH_ARGS = ('labels', 'logits', 'features', 'mask')


def bucket_size(rows: int) -> int:
  """The padded row count for ``rows``: few distinct values, so few compiles."""
  if rows <= _MIN_BUCKET:
    return _MIN_BUCKET
  if rows <= _MAX_BUCKET:
    return 1 << (rows - 1).bit_length()
  return -(-rows // _MAX_BUCKET) * _MAX_BUCKET


def compiled_when_eager(*, per_row_outputs: bool = False, static: tuple[str, ...] = ()):
  """Marks a head method of ``labels``/``logits``/``features``/``mask`` for eager compilation.

  Args:
    per_row_outputs: the outputs have the rows as leading axis (predictions)
      and are cut back to the caller's rows; otherwise they are sums over rows
      (loss terms, metric states), which padded rows do not change.
    static: names of hashable non-array arguments (e.g. prediction ``keys``).
  """

  def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def call(head, *args, **kwargs):
      bound = signature.bind(head, *args, **kwargs)
      bound.apply_defaults()
      arguments = dict(bound.arguments)
      del arguments[next(iter(signature.parameters))]
      if 'labels' in arguments:
        arguments['labels'] = head.labels_for_jit(arguments['labels'])
      if 'features' in arguments:
        arguments['features'] = checks.without_string_features(arguments['features'])
      if any(checks.is_traced(leaf) for leaf in jax.tree.leaves(arguments)):
        return method(head, **arguments)
      rows = _rows(arguments.get('logits'))
      if rows is None:
        return method(head, **arguments)
      statics = tuple((name, _hashable(arguments.pop(name))) for name in static)
      padded = _padded(arguments, rows, bucket_size(rows), with_mask='mask' in signature.parameters)
      compiled, key_order = _compiled(method, head, statics)
      try:
        error, out = compiled(padded)
      except Exception:  # pylint: disable=broad-except
        return method(head, **arguments, **dict(statics))  # raises with the caller's shapes
      checks.raise_if_failed(error)
      if per_row_outputs:
        out = jax.tree.map(lambda x: x[:rows], out)
      return {k: out[k] for k in key_order} if key_order else out

    return call

  return decorate


@functools.lru_cache(maxsize=512)
def _compiled(method, head, statics):
  """The jitted, checked method, and the key order of a dict it returns (``jit`` sorts dict keys)."""
  key_order = []

  def run(arguments):
    out = method(head, **arguments, **dict(statics))
    if isinstance(out, dict):
      key_order[:] = list(out)
    return out

  return jax.jit(checks.checked(run)), key_order


def _hashable(value):
  if isinstance(value, list):
    return tuple(_hashable(v) for v in value)
  return value


def _rows(logits) -> int | None:
  """The leading dimension of the logits, if they have the rank of a batch."""
  if isinstance(logits, Mapping):
    logits = next(iter(logits.values()), None)
  shape = np.shape(logits) if logits is not None else ()
  return shape[0] if len(shape) >= 2 and shape[0] > 0 else None


def _padded(arguments: dict[str, Any], rows: int, size: int, *, with_mask: bool) -> dict[str, Any]:
  """The batch arguments padded from ``rows`` to ``size`` rows, the new rows masked out."""

  def pad(x):  # on the host: a device op would compile for every shape
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] != rows or x.dtype.kind not in 'biuf':
      return x
    return np.pad(x, [(0, size - rows)] + [(0, 0)] * (x.ndim - 1))

  padded = dict(arguments)
  for name in _BATCH_ARGS:
    if name in padded and padded[name] is not None:
      padded[name] = jax.tree.map(pad, padded[name])
  if not with_mask:
    return padded
  mask = arguments.get('mask')
  mask = np.ones(rows, bool) if mask is None else np.asarray(mask) != 0
  padded['mask'] = np.concatenate([mask, np.zeros((size - rows,) + mask.shape[1:], bool)])
  return padded
