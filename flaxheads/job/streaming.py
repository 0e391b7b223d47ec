"""Sharded CSV or Parquet data streamed through grain, with statistics from one streaming pass.

``data.name='shards'`` reads ``data.path`` (a file, a glob or a list of them).
Training rows come from ``data.readers`` readers (default: one per process);
reader ``r`` of ``R`` reads shards ``r::R`` as a grain pipeline: the shards in a
seeded order per epoch, ``data.interleave`` of them read at a time
(``InterleaveIterDataset``), rows shuffled in windows of
``data.shuffle_buffer`` rows (0: not shuffled), cut into batches of ``batch_size / R`` rows and
prefetched on a thread. A global batch is the readers' batches in reader
order, so it does not depend on how many processes share the readers. Only
the shuffle window, the prefetched batches and one chunk per interleaved shard
are in memory.

Eval rows are ``data.eval_path``'s, or else the rows of ``data.path`` held out
by a hash of their file name and row number (see :func:`shards.row_unit`).
The feature statistics, the row counts and the checks of every row come from
one pass over the data before training (:mod:`~flaxheads.job.statistics`).
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any

import grain
import jax
import numpy as np

import flaxheads as fh
from flaxheads.job import data, shards, statistics
from flaxheads.job.errors import JobError

PLOT_ROWS = 100_000  # rows of a streamed split held in memory for plots and split predictions


class StreamSplit:
  """A split of a sharded data set: its row count, and its rows in order, batch by batch."""

  def __init__(self, files: Sequence[str], layout: shards.Layout, keep: str, rows: int,
               mean: np.ndarray, std: np.ndarray):
    self.files, self._layout, self._keep, self._rows = tuple(files), layout, keep, rows
    self.mean, self.std = mean, std
    self._head_rows: data.Split | None = None

  def __len__(self) -> int:
    return self._rows

  def chunks(self, files: Sequence[str] | None = None) -> Iterator[data.Split]:
    """The split's rows, standardized, chunk by chunk in file order."""
    for path in self.files if files is None else files:
      for chunk in shards.ShardChunks(path, self._layout, self._keep):
        if len(chunk):
          yield standardized(chunk, self.mean, self.std)

  def batches(self, batch_size: int) -> Iterator[data.Split]:
    """Consecutive batches of ``batch_size`` rows; the last one may be smaller."""
    pending, count = [], 0
    for chunk in self.chunks():
      pending.append(chunk)
      count += len(chunk)
      while count >= batch_size:
        rows = data.concat(pending)
        yield rows.take(slice(0, batch_size))
        pending, count = [rows.take(slice(batch_size, None))], count - batch_size
    if count:
      yield data.concat(pending)

  def _first_rows(self) -> data.Split:
    if self._head_rows is None:
      parts, count = [], 0
      for chunk in self.chunks():
        parts.append(chunk)
        count += len(chunk)
        if count >= PLOT_ROWS:
          break
      self._head_rows = data.concat(parts).take(slice(0, PLOT_ROWS))
    return self._head_rows

  @property
  def features(self) -> dict[str, np.ndarray]:
    """The features of the split's first :data:`PLOT_ROWS` rows (for plots and split predictions)."""
    return self._first_rows().features

  @property
  def labels(self):
    return self._first_rows().labels


def standardized(split: data.Split, mean: np.ndarray, std: np.ndarray) -> data.Split:
  return data.Split({**split.features, 'x': ((split.features['x'] - mean) / std).astype(np.float32)},
                    split.labels)


@dataclasses.dataclass(frozen=True)
class StreamDataset:
  """A sharded data set: train and eval :class:`StreamSplit` objects and the pipeline of training batches."""

  train: StreamSplit
  eval: StreamSplit
  feature_names: tuple[str, ...]
  mean: np.ndarray
  std: np.ndarray
  source: str
  config: Any  # the data config
  statistics: dict  # what statistics.json holds

  split = data.Dataset.split  # the train or eval split by name
  prepare = data.Dataset.prepare  # new rows standardized as the training data

  def train_batches(self, batch_size: int, seed: int) -> TrainBatches:
    """The iterator of this process's part of every global training batch."""
    return TrainBatches(self, batch_size, seed)


def readers(cfg, batch_size: int) -> tuple[int, range]:
  """The number of readers and those of this process (a contiguous block, in process order)."""
  count = cfg.readers or jax.process_count()
  if count % jax.process_count():
    raise JobError(f'config.data.readers={count} must be a multiple of the {jax.process_count()} processes')
  if batch_size % count:
    raise JobError(f'config.batch_size={batch_size} must be a multiple of the {count} readers '
                   '(config.data.readers, default: one per process)')
  per_process = count // jax.process_count()
  start = jax.process_index() * per_process
  return count, range(start, start + per_process)


class _ShuffledBatches(grain.DatasetIterator):
  """Rows of a chunk iterator shuffled in windows of at least ``window`` rows, in batches of ``batch_size``.

  ``window=0``: the rows in order.

  The state is the parent's state where the current window began, the window's
  number and the position in it: restoring it re-reads and re-shuffles that
  window alone.
  """

  def __init__(self, parent: grain.DatasetIterator, *, window: int, batch_size: int, seed: tuple[int, ...]):
    super().__init__(parent)
    self._window_size, self._batch_size, self._seed = window, batch_size, seed
    self._rows: data.Split | None = None
    self._start_state, self._number, self._offset = parent.get_state(), -1, 0

  def _next_window(self) -> None:
    self._start_state = self._parent.get_state()
    parts, count = [], 0
    while not parts or count < self._window_size:
      chunk = next(self._parent)
      parts.append(chunk)
      count += len(chunk)
    self._number += 1
    rows = data.concat(parts)
    if self._window_size:
      rows = rows.take(np.random.default_rng([*self._seed, self._number]).permutation(len(rows)))
    self._rows, self._offset = rows, 0

  def __next__(self) -> data.Split:
    parts, need = [], self._batch_size
    while need:
      if self._rows is None or self._offset >= len(self._rows):
        self._next_window()
      take = min(need, len(self._rows) - self._offset)
      parts.append(self._rows.take(slice(self._offset, self._offset + take)))
      self._offset += take
      need -= take
    return parts[0] if len(parts) == 1 else data.concat(parts)

  def get_state(self) -> dict:
    return {'parent': self._start_state, 'window': self._number, 'offset': self._offset}

  def set_state(self, state: dict) -> None:
    self._parent.set_state(state['parent'])
    self._number, self._rows = state['window'] - 1, None
    if state['window'] >= 0:
      self._next_window()
      self._offset = state['offset']


class _ShuffledBatchesDataset(grain.IterDataset):

  def __init__(self, parent: grain.IterDataset, **kwargs):
    super().__init__(parent)
    self._kwargs = kwargs

  def __iter__(self) -> _ShuffledBatches:
    return _ShuffledBatches(self._parent.__iter__(), **self._kwargs)


def reader_pipeline(dataset: StreamDataset, reader: int, count: int, batch_size: int,
                    seed: int) -> grain.IterDataset:
  """The grain pipeline of one reader: its shards, interleaved, shuffled, batched and prefetched."""
  cfg, files = dataset.config, dataset.train.files[reader::count]
  layout = dataset.train._layout  # pylint: disable=protected-access
  keep = dataset.train._keep  # pylint: disable=protected-access
  sources = grain.MapDataset.source(list(files)).shuffle(seed=seed * 1009 + reader).repeat(None)
  chunks = grain.experimental.InterleaveIterDataset(
      sources.map(lambda path: shards.ShardDataset(path, layout, keep)),
      cycle_length=min(cfg.interleave, len(files)))
  batches = _ShuffledBatchesDataset(chunks, window=cfg.shuffle_buffer, batch_size=batch_size // count,
                                    seed=(seed, reader))
  return grain.experimental.ThreadPrefetchIterDataset(batches, prefetch_buffer_size=cfg.prefetch)


class TrainBatches(grain.DatasetIterator):
  """This process's rows of each global training batch: its readers' batches, in order, standardized.

  Checkpointable (``get_state``/``set_state``, as grain's orbax handler
  expects): the state of every reader of this process.
  """

  def __init__(self, dataset: StreamDataset, batch_size: int, seed: int):
    super().__init__()
    count, mine = readers(dataset.config, batch_size)
    if len(dataset.train.files) < count:
      raise JobError(f'{count} readers need at least {count} shards; {dataset.source} has '
                     f'{len(dataset.train.files)}')
    self._dataset = dataset
    self._readers = [iter(reader_pipeline(dataset, r, count, batch_size, seed)) for r in mine]

  def __next__(self) -> data.Split:
    parts = [next(reader) for reader in self._readers]
    batch = parts[0] if len(parts) == 1 else data.concat(parts)
    return standardized(batch, self._dataset.mean, self._dataset.std)

  def get_state(self) -> dict:
    return {'readers': [reader.get_state() for reader in self._readers]}

  def set_state(self, state: dict) -> None:
    for reader, reader_state in zip(self._readers, state['readers'], strict=True):
      reader.set_state(reader_state)

  def close(self) -> None:
    for reader in self._readers:
      reader.close()


# Building the data set and its statistics.


def load(cfg, head: fh.Head, workdir: pathlib.Path | None, *, need_statistics: bool) -> StreamDataset:
  """The sharded data set of ``cfg``, with the statistics of ``workdir`` or of one pass over the data.

  Args:
    cfg: the data config.
    head: the head.
    workdir: where ``statistics.json`` is (or will be written by training).
    need_statistics: the workdir must already hold them (evaluate, predict).

  Raises:
    JobError: no files, another format or columns, a bad value or label (with
      its file and row), or statistics of other data in the workdir.
  """
  if isinstance(head, (fh.MultiHead, fh.SequentialHeadWrapper)):
    raise JobError(f'sharded data has one label column; {type(head).__name__} needs a bundled data set')
  if not cfg.path:
    raise JobError("config.data.path must name the data files when config.data.name is 'shards'")
  train_files = shards.resolve(cfg.path)
  eval_files = shards.resolve(cfg.eval_path) if cfg.eval_path else train_files
  fmt = shards.file_format(train_files + eval_files, cfg.format)
  first = shards.columns(train_files[0], fmt)
  names = tuple(cfg.feature_columns or (c for c in first if c not in (cfg.label_column, cfg.weight_column)))
  if not names:
    raise JobError(f'data file {train_files[0]} has no feature columns besides the label and weight')
  layout = shards.Layout(cfg, head, fmt, names, checked=False)
  for path in dict.fromkeys(train_files + eval_files):
    layout.check_columns(path, shards.columns(path, fmt), first)
  keep_train, keep_eval = ('all', 'all') if cfg.eval_path else ('train', 'eval')
  description = {'path': list(train_files), 'eval_path': list(eval_files) if cfg.eval_path else None,
                 'features': list(names), 'label': cfg.label_column, 'weight': cfg.weight_column,
                 'eval_fraction': None if cfg.eval_path else cfg.eval_fraction, 'split_seed': cfg.split_seed}
  stored = statistics.read(workdir, description, need_statistics)
  if stored is None:
    stored = statistics.compute(layout, description, train_files, eval_files, keep_train, keep_eval,
                                standardize=cfg.standardize)
  mean, std = np.asarray(stored['mean'], np.float32), np.asarray(stored['std'], np.float32)
  train = StreamSplit(train_files, layout, keep_train, stored['train_rows'], mean, std)
  eval_ = StreamSplit(eval_files, layout, keep_eval, stored['eval_rows'], mean, std)
  source = cfg.path if isinstance(cfg.path, str) else f'{len(train_files)} files'
  return StreamDataset(train, eval_, names, mean, std, source, cfg, stored)
