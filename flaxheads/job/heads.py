"""Heads from the ``head`` config: ``type`` picks the head, the other fields are its arguments.

A ``multi_head`` config holds ``heads`` (a ``ConfigDict`` of sub-head configs by
head name) and optionally ``head_weights`` (by head name); a ``sequential``
config holds ``static_head``, the head applied at every valid step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from ml_collections import config_dict

import flaxheads as fh
from flaxheads.job import data
from flaxheads.job.errors import JobError, first_line

HEADS = {
    'regression': fh.RegressionHead,
    'poisson_regression': fh.PoissonRegressionHead,
    'logistic_regression': fh.LogisticRegressionHead,
    'binary_class': fh.BinaryClassHead,
    'multi_class': fh.MultiClassHead,
    'multi_label': fh.MultiLabelHead,
    'multi_head': fh.MultiHead,
    'sequential': fh.SequentialHeadWrapper,
}


def build(cfg: config_dict.ConfigDict, *, weighted: bool = False, where: str = 'config.head',
          name: str | None = None) -> fh.Head:
  """The head a config describes.

  Args:
    cfg: the head config.
    weighted: the data has example weights: single heads read them from the
      ``'weight'`` feature.
    where: the config path, for messages.
    name: the head's name when it is a sub-head of a ``MultiHead``.

  Raises:
    JobError: an unknown head type, or arguments the head rejects.
  """
  kind = cfg.get('type')
  if kind not in HEADS:
    raise JobError(f'unknown head {where}.type={kind!r}; choose from {", ".join(HEADS)}')
  kwargs = {k: v for k, v in cfg.items() if k != 'type' and v is not None}
  if kind == 'multi_head':
    return _multi_head(kwargs, weighted=weighted, where=where)
  if kind == 'sequential':
    if 'static_head' not in kwargs:
      raise JobError(f'{where}.static_head must configure the head applied at every step')
    static = build(kwargs.pop('static_head'), weighted=weighted, where=f'{where}.static_head')
    return _construct(fh.SequentialHeadWrapper, where, static, sequence_length_mask=data.MASK, **kwargs)
  if name is not None:
    kwargs.setdefault('name', name)
  if weighted:
    kwargs['weight_column'] = data.WEIGHT
  return _construct(HEADS[kind], where, **kwargs)


def _multi_head(kwargs: dict, *, weighted: bool, where: str) -> fh.MultiHead:
  subs = kwargs.pop('heads', None)
  if not isinstance(subs, config_dict.ConfigDict) or not subs:
    raise JobError(f'{where}.heads must hold the sub-head configs by head name')
  heads = [build(sub, weighted=weighted, where=f'{where}.heads.{n}', name=n) for n, sub in subs.items()]
  weights = kwargs.pop('head_weights', None)
  if weights is not None:
    if set(weights.keys()) != set(subs.keys()):
      raise JobError(f'{where}.head_weights names {sorted(weights.keys())}; the heads are {sorted(subs.keys())}')
    kwargs['head_weights'] = tuple(float(weights[n]) for n in subs.keys())
  return _construct(fh.MultiHead, where, heads, **kwargs)


def _construct(cls, where: str, *args, **kwargs) -> fh.Head:
  try:
    return cls(*args, **kwargs)
  except (TypeError, ValueError) as e:
    raise JobError(f'{where}: {cls.__name__}: {first_line(e)}') from e


def check_labels(head: fh.Head, split: data.Split, where: str) -> None:
  """Raises a :class:`JobError` unless the head takes the split's labels and features.

  The head's loss is computed eagerly once (with zero logits), which checks
  label shapes, class ids, vocabulary and value ranges as the head defines them.
  """
  if isinstance(head, fh.MultiHead):
    if not isinstance(split.labels, Mapping):
      raise JobError(f'{where}: MultiHead needs labels per head name; the data has one label')
    missing = [h.name for h in head.heads if h.name not in split.labels]
    if missing:
      raise JobError(f'{where}: no labels for head(s) {", ".join(missing)}; the data has labels for '
                     f'{", ".join(sorted(split.labels))}')
  elif isinstance(split.labels, Mapping):
    raise JobError(f'{where}: the data has labels for several heads ({", ".join(sorted(split.labels))}); '
                   "use config.head.type='multi_head'")
  is_sequence = data.MASK in split.features
  if is_sequence != isinstance(head, fh.SequentialHeadWrapper):
    raise JobError(f"{where}: sequence data needs config.head.type='sequential'" if is_sequence else
                   f'{where}: a sequential head needs sequence data (e.g. digits_rows)')
  logits = np.zeros(split.batch_shape + (head.logits_dimension,), np.float32)
  try:
    head.loss(split.labels, logits, split.features)
  except (TypeError, ValueError) as e:
    raise JobError(f'{where}: {first_line(e)}') from e



def check_rows(head: fh.Head, split: data.Split, where: str, locate: Callable[[int], str] | None) -> None:
  """:func:`check_labels`, naming the first row the head rejects (``locate(row)``, e.g. a file and line)."""
  try:
    check_labels(head, split, where)
  except JobError as e:
    row = None if locate is None else _first_rejected(head, split, where, 0, len(split))
    if row is None:
      raise
    try:
      check_labels(head, split.take(slice(row, row + 1)), where)
    except JobError as row_error:
      raise JobError(str(row_error).replace(where, locate(row), 1)) from e
    raise


def _first_rejected(head: fh.Head, split: data.Split, where: str, start: int, stop: int) -> int | None:
  """The first row in ``start:stop`` that the head rejects, found by bisection."""
  try:
    check_labels(head, split.take(slice(start, stop)), where)
    return None
  except JobError:
    if stop - start == 1:
      return start
  middle = (start + stop) // 2
  first = _first_rejected(head, split, where, start, middle)
  return first if first is not None else _first_rejected(head, split, where, middle, stop)
