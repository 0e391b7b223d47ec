"""Host side: the labels, weights and margins a boosting library hands over, checked and shaped.

Everything is checked with numpy before a gradient or a metric is computed, so
bad input is a ``ValueError`` naming the argument, the expected and the actual
value, never NaN gradients inside a boosting run.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

import flaxheads as fh

WEIGHT = 'weight'  # the feature name the weights travel under when the head has no weight_column

_WHOLE_LABEL_HEADS = (fh.RegressionHead, fh.PoissonRegressionHead, fh.LogisticRegressionHead,
                      fh.MultiLabelHead)  # labels [n, logits_dimension]
_ID_LABEL_HEADS = (fh.BinaryClassHead, fh.MultiClassHead)  # labels [n]


def check_head(head: Any) -> None:
  """Raises ``TypeError`` unless ``head`` is a single-task head whose weights can come from the data."""
  if not isinstance(head, _WHOLE_LABEL_HEADS + _ID_LABEL_HEADS):
    raise TypeError('head must be a single-task head (RegressionHead, PoissonRegressionHead, '
                    'LogisticRegressionHead, BinaryClassHead, MultiClassHead or MultiLabelHead), got '
                    f'{type(head).__name__}.')
  if head.weight_column is not None and not isinstance(head.weight_column, str):
    raise TypeError('head.weight_column must be a feature name or None for boosted trees (the weights '
                    f'come from the library\'s data), got {head.weight_column!r}.')


def label_width(head: Any) -> int:
  """The number of label values per example: ``logits_dimension`` or 1 (class ids)."""
  return head.logits_dimension if isinstance(head, _WHOLE_LABEL_HEADS) else 1


class Batch(NamedTuple):
  """What a gradient or a metric is computed from, in the form the head takes under ``jit``."""

  labels: np.ndarray  # [n] (class ids, binary labels) or [n, label width]
  margins: np.ndarray  # float32 [n, logits_dimension]
  weights: np.ndarray | None  # float32 [n], or None when the data has none


def batch(head: Any, labels: Any, margins: Any, weights: Any = None) -> Batch:
  """Checks and shapes one batch; raises ``ValueError`` naming what is wrong.

  The arrays are C-contiguous and 64-byte aligned, which JAX's CPU backend
  reads in place; it copies other arrays (about 30 ms for 1M x 10 margins).
  """
  z = as_margins(head, margins)
  w = as_weights(head, weights, len(z))
  return Batch(aligned(as_labels(head, labels, len(z))), aligned(z), None if w is None else aligned(w))


_ALIGNMENT = 64


def aligned(x: np.ndarray) -> np.ndarray:
  """``x`` if C-contiguous and 64-byte aligned, else such a copy of it."""
  if x.flags.c_contiguous and x.ctypes.data % _ALIGNMENT == 0:
    return x
  buffer = np.empty(x.nbytes + _ALIGNMENT, np.uint8)
  start = -buffer.ctypes.data % _ALIGNMENT
  out = buffer[start:start + x.nbytes].view(x.dtype).reshape(x.shape)
  out[...] = x
  return out


def as_margins(head: Any, margins: Any) -> np.ndarray:
  """Raw margins ``[n]`` (one output) or ``[n, logits_dimension]`` as float32 ``[n, logits_dimension]``."""
  z = np.asarray(margins, np.float32)
  d = head.logits_dimension
  if z.ndim == 1 and d == 1:
    return z[:, None]
  if z.ndim == 2 and z.shape[1] == d:
    return z
  expected = '[n] or [n, 1]' if d == 1 else f'[n, {d}]'
  raise ValueError(f'margins (the predictions the library passes) must have shape {expected} for '
                   f'{type(head).__name__} with logits_dimension={d}, got shape {z.shape}. Set the '
                   f'number of outputs of the booster to {d} (XGBoost: num_class for MultiClassHead, '
                   f'labels of width {d} otherwise; LightGBM: num_class).')


def as_labels(head: Any, labels: Any, n: int) -> np.ndarray:
  """Labels as the head takes them under ``jit``: ``[n]`` class ids / binary labels, or ``[n, width]``."""
  y = np.asarray(labels)
  if y.dtype.kind in 'USO':
    y = np.asarray(head.encode_labels(y))
  width = label_width(head)
  if y.size != n * width:
    shape = f'[{n}]' if width == 1 else f'[{n}, {width}]'
    raise ValueError(f'labels must have {n * width} values ({shape}, one row per margin row) for '
                     f'{type(head).__name__}, got shape {y.shape}.')
  y = y.reshape((n,) if width == 1 else (n, width)).astype(np.float32, copy=False)
  _check_values(head, y)
  return y.astype(np.int32) if isinstance(head, fh.MultiClassHead) else y


def _check_values(head: Any, y: np.ndarray) -> None:
  """One mask of the valid labels (comparisons with NaN are false, so NaN is invalid everywhere)."""
  if isinstance(head, (fh.BinaryClassHead, fh.LogisticRegressionHead, fh.MultiLabelHead)):
    valid, expected = (y >= 0) & (y <= 1), 'values in [0, 1]'
  elif isinstance(head, fh.MultiClassHead):
    valid = (y >= 0) & (y <= head.n_classes - 1) & (y == np.round(y))
    expected = f'class ids in [0, n_classes - 1 = {head.n_classes - 1}]'
  elif isinstance(head, fh.PoissonRegressionHead):
    valid, expected = (y >= 0) & (y < np.inf), 'counts >= 0'
  else:
    valid, expected = np.isfinite(y), 'finite values'
  if not valid.all():
    rows = np.nonzero(~valid.reshape(len(y), -1).all(axis=1))[0]
    raise ValueError(f'labels of {type(head).__name__} must be {expected}; got {y[rows[0]].tolist()} '
                     f'at row {rows[0]} ({len(rows)} invalid rows).')


def as_weights(head: Any, weights: Any, n: int) -> np.ndarray | None:
  """Example weights ``[n]`` float32, or None when the data has none (XGBoost: empty)."""
  w = None if weights is None else np.asarray(weights, np.float32)
  if w is None or w.size == 0:
    if head.weight_column is not None:
      raise ValueError(f'weights: the head reads example weights from weight_column '
                       f'{head.weight_column!r}, but the data has none; set them on the data '
                       '(DMatrix(weight=...), lightgbm.Dataset(weight=...) or sample_weight=).')
    return None
  if w.shape != (n,):
    raise ValueError(f'weights must have shape [{n}] (one per row), got shape {w.shape}.')
  if not np.all(np.isfinite(w)) or np.any(w < 0):
    row = int(np.nonzero(~np.isfinite(w) | (w < 0))[0][0])
    raise ValueError(f'weights must be finite and >= 0, got {w[row]} at row {row}.')
  return w


def weighted_head(head: Any, weighted: bool) -> Any:
  """The head that reads the weights from ``{weight_column: weights}`` (``WEIGHT`` if it has none)."""
  if weighted and head.weight_column is None:
    return dataclasses.replace(head, weight_column=WEIGHT)
  return head


def features(head: Any, weights: np.ndarray | None) -> dict[str, np.ndarray] | None:
  """The features ``head`` (from :func:`weighted_head`) reads the weights from."""
  return None if weights is None else {head.weight_column: weights}
