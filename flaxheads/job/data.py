"""Data for the job: scikit-learn's bundled data sets and tasks derived from them, or a CSV file.

A data set is split once, by a seeded permutation, into a train and an eval
:class:`Split`. Features are a dict: ``'x'`` (float32 ``[N, F]``, or
``[N, T, F]`` for sequences), ``'weight'`` (``[N]``, with a weight column) and
``'mask'`` (``[N, T]``, for sequences). Labels are numeric, in the form a
head takes under ``jit`` (a dict per head name for ``MultiHead``). Training
batches are a function of the step number alone, so a resumed run sees the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import grain
import jax
import numpy as np
from ml_collections import config_dict

import flaxheads as fh
from flaxheads.job.errors import JobError
from flaxheads.job.errors import first_line as first_line_of

WEIGHT = 'weight'  # the feature holding example weights (the heads' weight_column)
MASK = 'mask'  # the feature holding the valid steps of a sequence


@dataclasses.dataclass(frozen=True)
class Table:
  """A whole data set before splitting."""

  x: np.ndarray  # float32 [N, F] or [N, T, F]
  labels: Any  # numeric [N, ...], or {head name: [N, ...]}
  feature_names: tuple[str, ...]  # the names of the last axis of x
  weights: np.ndarray | None = None  # float32 [N]
  mask: np.ndarray | None = None  # int32 [N, T]: 1 at valid steps


@dataclasses.dataclass(frozen=True)
class Split:
  """Features and labels of some rows, ready for the train, eval and predict steps."""

  features: dict[str, np.ndarray]
  labels: Any

  def __len__(self) -> int:
    return len(self.features['x'])

  @property
  def batch_shape(self) -> tuple[int, ...]:
    """The leading axes of the logits: ``[N]``, or ``[N, T]`` for sequences."""
    return self.features['x'].shape[:-1]

  def take(self, rows: np.ndarray | slice) -> Split:
    """The rows ``rows`` (an index array or a slice)."""
    pick = lambda a: a[rows]
    return Split(jax.tree.map(pick, self.features), jax.tree.map(pick, self.labels))


@dataclasses.dataclass(frozen=True)
class Dataset:
  """The train and eval splits and what is needed to prepare new rows alike."""

  train: Split
  eval: Split
  feature_names: tuple[str, ...]
  mean: np.ndarray  # per-feature shift applied to x (0 without standardization)
  std: np.ndarray  # per-feature scale applied to x (1 without standardization)
  source: str  # a description for messages: the data set name or the CSV path
  locate: Callable[[int], str] | None = None  # row of train + eval -> its file and line, for messages

  def split(self, name: str) -> Split:
    if name not in ('train', 'eval'):
      raise JobError(f"split must be 'train' or 'eval', got {name!r}")
    return self.train if name == 'train' else self.eval

  def prepare(self, x: np.ndarray) -> dict[str, np.ndarray]:
    """Features of new rows (raw ``[N, F]`` values), standardized as the training data."""
    return {'x': ((x - self.mean) / self.std).astype(np.float32)}

  def train_batches(self, batch_size: int, seed: int) -> MemoryBatches:
    """The iterator of training batches, from step 0."""
    return MemoryBatches(self.train, batch_size, seed)


class MemoryBatches(grain.DatasetIterator):
  """The training batch of each step (:func:`batch_rows`); its checkpointable state is the step."""

  def __init__(self, split: Split, batch_size: int, seed: int):
    super().__init__()
    self._split, self._batch_size, self._seed, self._step = split, batch_size, seed, 0

  def __next__(self) -> Split:
    rows = batch_rows(len(self._split), self._batch_size, self._step, self._seed)
    self._step += 1
    return self._split.take(rows)

  def get_state(self) -> dict:
    return {'step': self._step}

  def set_state(self, state: dict) -> None:
    self._step = int(state['step'])


# Bundled data sets: scikit-learn's, and tasks derived from them.


def _sklearn(name: str):
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  return getattr(datasets, f'load_{name}')()


def _diabetes() -> Table:
  """Disease progression one year after baseline (442 patients, 10 features)."""
  d = _sklearn('diabetes')
  return Table(d.data.astype(np.float32), d.target.astype(np.float32), tuple(map(str, d.feature_names)))


def _diabetes_unit() -> Table:
  """Diabetes progression scaled into [0, 1]: a target for ``LogisticRegressionHead``."""
  table = _diabetes()
  y = table.labels
  return dataclasses.replace(table, labels=((y - y.min()) / (y.max() - y.min())).astype(np.float32))


def _breast_cancer() -> Table:
  """Breast cancer diagnosis, 1 = benign (569 tumours, 30 features)."""
  d = _sklearn('breast_cancer')
  return Table(d.data.astype(np.float32), d.target.astype(np.int32), tuple(map(str, d.feature_names)))


def _digits_table(labels) -> Table:
  d = _sklearn('digits')
  names = tuple(f'pixel_{r}_{c}' for r in range(8) for c in range(8))
  return Table(d.data.astype(np.float32), labels(d), names)


def _digits() -> Table:
  """Handwritten digits 0-9 from 8x8 images (1797 images, 64 pixels)."""
  return _digits_table(lambda d: d.target.astype(np.int32))


DIGIT_ATTRIBUTES = ('even', 'large', 'prime', 'loop')  # large: >= 5; loop: 0, 6, 8, 9


def _attributes(digit: np.ndarray) -> np.ndarray:
  return np.stack([digit % 2 == 0, digit >= 5, np.isin(digit, (2, 3, 5, 7)),
                   np.isin(digit, (0, 6, 8, 9))], axis=-1).astype(np.int32)


def _digits_zero() -> Table:
  """Digits: 1 for a 0, else 0 (a skewed binary task: about 10% positives)."""
  return _digits_table(lambda d: (d.target == 0).astype(np.int32))


def _digits_attributes() -> Table:
  """Multi-hot attributes of the digit: even, large (>= 5), prime, has a loop."""
  return _digits_table(lambda d: _attributes(d.target))


def _digits_tasks() -> Table:
  """Three tasks on one image: the digit (10 classes), odd, and large (>= 5)."""
  return _digits_table(lambda d: {'digit': d.target.astype(np.int32),
                                  'odd': (d.target % 2).astype(np.int32),
                                  'large': (d.target >= 5).astype(np.int32)})


def _digits_ink() -> Table:
  """The number of saturated pixels (value 16) of each digit: a count for Poisson regression.

  The features are the image with its saturated pixels reported as 15, so the
  count has to be estimated from the strokes rather than read off.
  """
  table = _digits_table(lambda d: (d.data == 16).sum(axis=1).astype(np.float32))
  return dataclasses.replace(table, x=np.minimum(table.x, 15.))


def _digits_rows() -> Table:
  """Digit images read one row per step (8 steps of 8 pixels), tagged with the digit at every step.

  Each image is cut to a length of 4 to 8 rows (seeded), so the task is to
  recognise the digit from its top rows; padded steps have label -1 and mask 0.
  """
  d = _sklearn('digits')
  x = d.data.astype(np.float32).reshape(-1, 8, 8)
  lengths = np.random.default_rng(0).integers(4, 9, len(x))
  mask = (np.arange(8)[None, :] < lengths[:, None]).astype(np.int32)
  labels = np.where(mask == 1, d.target[:, None], -1).astype(np.int32)
  names = tuple(f'pixel_{c}' for c in range(8))
  return Table(x * mask[..., None], labels, names, mask=mask)


BUNDLED: dict[str, Callable[[], Table]] = {
    'diabetes': _diabetes,
    'diabetes_unit': _diabetes_unit,
    'breast_cancer': _breast_cancer,
    'digits': _digits,
    'digits_zero': _digits_zero,
    'digits_attributes': _digits_attributes,
    'digits_tasks': _digits_tasks,
    'digits_ink': _digits_ink,
    'digits_rows': _digits_rows,
}


# CSV files.


def _read_csv(path: str) -> tuple[list[str], list[list[str]]]:
  """The header and rows of a CSV file."""
  file = pathlib.Path(path)
  if not file.is_file():
    raise JobError(f'data file {path} does not exist')
  with file.open(newline='') as f:
    rows = list(csv.reader(f))
  if not rows:
    raise JobError(f'data file {path} is empty')
  header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if r]
  if not body:
    raise JobError(f'data file {path} has a header but no rows')
  for line, row in enumerate(body, start=2):
    if len(row) != len(header):
      raise JobError(f'data file {path} line {line}: {len(row)} fields, the header has {len(header)}')
  return header, body


def _column(path: str, header: list[str], rows: list[list[str]], name: str, what: str) -> list[str]:
  if name not in header:
    raise JobError(f'data file {path} has no {what} column {name!r} (columns: {", ".join(header)})')
  index = header.index(name)
  return [row[index].strip() for row in rows]


def _numbers(path: str, values: list[str], name: str) -> np.ndarray:
  """A column as float32; every cell must be a finite number."""
  out = np.empty(len(values), np.float32)
  for line, value in enumerate(values, start=2):
    try:
      out[line - 2] = float(value)
    except ValueError:
      raise JobError(f'data file {path} line {line}: column {name!r} is not a number: {value!r}') from None
    if not math.isfinite(out[line - 2]):
      raise JobError(f'data file {path} line {line}: column {name!r} is not finite: {value!r}')
  return out


def read_features(path: str, names: tuple[str, ...]) -> np.ndarray:
  """The columns ``names`` of a CSV file as float32 ``[N, len(names)]``."""
  header, rows = _read_csv(path)
  missing = [str(n) for n in names if n not in header]
  if missing:
    raise JobError(f'data file {path} has no feature column{"s" * (len(missing) > 1)} '
                   f'{", ".join(repr(n) for n in missing)}; the rows need the columns '
                   f'{", ".join(map(str, names))} (columns: {", ".join(header)})')
  return np.stack([_numbers(path, _column(path, header, rows, n, 'feature'), n) for n in names], axis=1)


def _is_number(value: str) -> bool:
  try:
    float(value)
  except ValueError:
    return False
  return True


def labels_of(path: str, column: str, values: list[str], head: fh.Head, separator: str, *,
              locate: Callable[[int], str] | None = None) -> np.ndarray:
  """A label column as the head takes it: strings through the head's vocabulary.

  Args:
    path: the file, for messages.
    column: the label column's name, for messages.
    values: the cells, as text.
    head: the head.
    separator: separates the classes of a multi-label cell.
    locate: value index -> its file and place, for messages (default: the
      file and line ``index + 2``).

  Raises:
    JobError: a cell the head cannot take, naming its line.
  """
  try:
    return _encoded(values, head, separator)
  except (ValueError, TypeError) as e:
    locate = locate or (lambda i: f'data file {path} line {i + 2}')
    bad = next((i for i, v in enumerate(values) if not _takes(v, head, separator)), None)
    where = f'data file {path}' if bad is None else locate(bad)
    raise JobError(f'{where}: label column {column!r}: {first_line_of(e)}') from e


def _takes(value: str, head: fh.Head, separator: str) -> bool:
  try:
    _encoded([value], head, separator)
    return True
  except (ValueError, TypeError):
    return False


def _encoded(values: list[str], head: fh.Head, separator: str) -> np.ndarray:
  if isinstance(head, fh.MultiLabelHead):
    cells = [[t.strip() for t in v.split(separator) if t.strip()] for v in values]
    if all(_is_number(t) for cell in cells for t in cell):
      cells = [[int(float(t)) for t in cell] for cell in cells]
    return head.encode_labels(cells)
  if all(_is_number(v) for v in values):
    numbers = np.asarray([float(v) for v in values], np.float32)
    if isinstance(head, (fh.BinaryClassHead, fh.MultiClassHead)):
      if np.any(numbers != np.round(numbers)):
        raise ValueError('class labels must be whole numbers (class ids) or vocabulary strings')
      return numbers.astype(np.int32)
    return numbers
  return head.encode_labels(np.asarray(values))


def _csv(cfg: config_dict.ConfigDict, head: fh.Head) -> Table:
  if not cfg.path:
    raise JobError("config.data.path must name a CSV file when config.data.name is 'csv'")
  if isinstance(head, (fh.MultiHead, fh.SequentialHeadWrapper)):
    raise JobError(f'CSV data has one label column; {type(head).__name__} needs a bundled data set')
  header, rows = _read_csv(cfg.path)
  label = _column(cfg.path, header, rows, cfg.label_column, 'label')
  weights = None
  if cfg.weight_column:
    weights = _numbers(cfg.path, _column(cfg.path, header, rows, cfg.weight_column, 'weight'),
                       cfg.weight_column)
  names = cfg.feature_columns or tuple(h for h in header if h not in (cfg.label_column, cfg.weight_column))
  if not names:
    raise JobError(f'data file {cfg.path} has no feature columns besides the label and weight')
  x = np.stack([_numbers(cfg.path, _column(cfg.path, header, rows, n, 'feature'), n) for n in names], axis=1)
  labels = labels_of(cfg.path, cfg.label_column, label, head, cfg.label_separator)
  return Table(x, labels, tuple(names), weights)


# Splitting and batching.


def load(cfg: config_dict.ConfigDict, head: fh.Head) -> Dataset:
  """The data set ``cfg`` names, split and standardized with the train split's statistics.

  Raises:
    JobError: an unknown data set, a missing file or column, or labels the
      head cannot take.
  """
  if cfg.name == 'csv':
    table, source = _csv(cfg, head), cfg.path
  elif cfg.name in BUNDLED:
    if cfg.weight_column:
      raise JobError('config.data.weight_column applies to CSV data only')
    table, source = BUNDLED[cfg.name](), cfg.name
  else:
    raise JobError(f'unknown data set config.data.name={cfg.name!r}; choose from '
                   f'{", ".join(sorted(BUNDLED))} or csv')
  rows = np.random.default_rng(cfg.split_seed).permutation(len(table.x))
  n_eval = max(1, round(len(rows) * cfg.eval_fraction))
  if n_eval >= len(rows):
    raise JobError(f'data {source} has {len(rows)} rows: too few to hold out an eval split')
  features = {'x': table.x}
  if table.weights is not None:
    features[WEIGHT] = table.weights
  if table.mask is not None:
    features[MASK] = table.mask
  whole = Split(features, table.labels)
  train, eval_ = whole.take(rows[n_eval:]), whole.take(rows[:n_eval])
  mean, std = _statistics(train) if cfg.standardize else (np.float32(0), np.float32(1))
  standardize = lambda s: Split({**s.features, 'x': ((s.features['x'] - mean) / std).astype(np.float32)}, s.labels)
  locate = None
  if cfg.name == 'csv':
    order = np.concatenate([rows[n_eval:], rows[:n_eval]])
    locate = lambda row: f'data file {source} line {order[row] + 2}'
  return Dataset(standardize(train), standardize(eval_), table.feature_names, mean, std, source, locate)


def _statistics(train: Split) -> tuple[np.ndarray, np.ndarray]:
  """Per-feature mean and standard deviation over the train rows (valid steps only)."""
  x = train.features['x'].reshape(-1, train.features['x'].shape[-1])
  if MASK in train.features:
    x = x[train.features[MASK].reshape(-1) != 0]
  std = x.std(axis=0)
  return x.mean(axis=0).astype(np.float32), np.where(std > 0, std, 1).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _permutation(n: int, seed: int, epoch: int) -> np.ndarray:
  return np.random.default_rng([seed, epoch]).permutation(n)


def batch_rows(n: int, batch_size: int, step: int, seed: int) -> np.ndarray:
  """The rows of training step ``step``: epoch after epoch of seeded permutations of ``n`` rows."""
  positions = np.arange(step * batch_size, (step + 1) * batch_size)
  epochs, offsets = np.divmod(positions, n)
  rows = np.empty(batch_size, np.int64)
  for epoch in np.unique(epochs):
    chosen = epochs == epoch
    rows[chosen] = _permutation(n, seed, int(epoch))[offsets[chosen]]
  return rows


def concat(splits: list[Split]) -> Split:
  """The rows of several splits, in order."""
  join = lambda *arrays: np.concatenate(arrays, axis=0)
  return Split(jax.tree.map(join, *[s.features for s in splits]), jax.tree.map(join, *[s.labels for s in splits]))


def batches(split: Split, batch_size: int) -> Iterator[Split]:
  """Consecutive batches of ``split`` (or of a streamed split); the last one may be smaller."""
  if not isinstance(split, Split):
    yield from split.batches(batch_size)
    return
  for start in range(0, len(split), batch_size):
    yield split.take(slice(start, start + batch_size))
