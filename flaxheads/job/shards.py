"""CSV and Parquet shards: finding them, checking their columns, and reading one as numeric chunks.

``data.path`` is a file, a glob or a list of them; the shards are the matching
files, sorted. Each shard is read with pyarrow in chunks (a Parquet row group in
slices of :data:`CHUNK_ROWS` rows, or a CSV block), never as a whole, and each
chunk becomes a :class:`~flaxheads.job.data.Split`: float32 features ``'x'``,
the ``'weight'`` feature with a weight column, and labels as the head takes
them under ``jit`` (strings through its vocabulary; a Parquet list column, or a
CSV cell of ``data.label_separator``-separated classes, as multi-label labels).

A chunk's boundaries depend only on the file, so a reader resumed from
:meth:`ShardChunks.get_state` reads exactly the chunks it would have read.
"""

from __future__ import annotations

import csv
import glob
import pathlib
import zlib
from collections.abc import Sequence

import grain
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

import flaxheads as fh
from flaxheads.job import data, heads
from flaxheads.job.errors import JobError, first_line

CHUNK_ROWS = 8192  # rows of a Parquet chunk
CSV_BLOCK_BYTES = 1 << 20  # bytes of a CSV chunk
FORMATS = {'.csv': 'csv', '.parquet': 'parquet', '.pq': 'parquet'}


def resolve(path: str | Sequence[str]) -> tuple[str, ...]:
  """The files a path, a glob or a list of them (or a comma-separated string) names; globs sorted.

  >>> resolve([])
  Traceback (most recent call last):
  ...
  flaxheads.job.errors.JobError: config.data.path names no files
  """
  patterns = [p.strip() for p in path.split(',') if p.strip()] if isinstance(path, str) else list(path)
  if not patterns:
    raise JobError('config.data.path names no files')
  files = []
  for pattern in patterns:
    if glob.has_magic(pattern):
      matches = sorted(p for p in glob.glob(pattern) if pathlib.Path(p).is_file())
      if not matches:
        raise JobError(f'data path {pattern} matches no files')
      files.extend(matches)
    elif pathlib.Path(pattern).is_file():
      files.append(pattern)
    else:
      raise JobError(f'data file {pattern} does not exist')
  return tuple(dict.fromkeys(files))


def file_format(files: Sequence[str], given: str | None) -> str:
  """``'csv'`` or ``'parquet'``: ``given``, or the files' common extension."""
  if given:
    if given not in ('csv', 'parquet'):
      raise JobError(f"config.data.format must be 'csv' or 'parquet', got {given!r}")
    return given
  kinds = {FORMATS.get(pathlib.Path(f).suffix.lower()) for f in files}
  if None in kinds or len(kinds) != 1:
    raise JobError(f'cannot infer the format of {", ".join(files[:3])}{" ..." if len(files) > 3 else ""} '
                   "from the extensions (.csv, .parquet); set config.data.format")
  return kinds.pop()


def columns(path: str, fmt: str) -> tuple[str, ...]:
  """The column names of a shard (its header or its schema)."""
  try:
    if fmt == 'parquet':
      return tuple(pq.ParquetFile(path).schema_arrow.names)
    with open(path, newline='') as f:
      header = next(csv.reader(f), None)
  except (OSError, pa.ArrowException, UnicodeDecodeError) as e:
    raise JobError(f'data file {path} cannot be read as {fmt}: {first_line(e)}') from e
  if not header:
    raise JobError(f'data file {path} is empty')
  return tuple(h.strip() for h in header)


def row_unit(path: str, rows: np.ndarray, seed: int) -> np.ndarray:
  """A uniform number in [0, 1) per row of a shard, from its file name, row number and ``seed``.

  The eval rows held out of a sharded data set are those below
  ``data.eval_fraction``: a split that needs no pass over the data and does not
  depend on how the rows are chunked.
  """
  key = np.uint64(zlib.crc32(f'{pathlib.Path(path).name}:{seed}'.encode()))
  with np.errstate(over='ignore'):
    z = rows.astype(np.uint64) + key * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
  return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class Layout:
  """What to read from every shard and how to turn it into numeric rows."""

  def __init__(self, cfg, head: fh.Head, fmt: str, names: tuple[str, ...], *, checked: bool):
    self.fmt, self.head, self.checked = fmt, head, checked
    self.label, self.weight, self.separator = cfg.label_column, cfg.weight_column, cfg.label_separator
    self.features = tuple(names)
    self.holdout = (float(cfg.eval_fraction), int(cfg.split_seed))

  @property
  def read_columns(self) -> list[str]:
    return [*self.features, self.label, *([self.weight] if self.weight else [])]

  def check_columns(self, path: str, found: Sequence[str], first: Sequence[str]) -> None:
    """A shard must have the columns the job reads, and the same columns as the first shard."""
    for name, what in [(self.label, 'label'), *[(self.weight, 'weight')] * bool(self.weight),
                       *[(f, 'feature') for f in self.features]]:
      if name not in found:
        raise JobError(f'data file {path} has no {what} column {name!r} (columns: {", ".join(found)})')
    if sorted(found) != sorted(first):
      raise JobError(f'data file {path} has other columns than the first shard: '
                     f'{", ".join(sorted(set(found) ^ set(first)))} differ')

  def split(self, path: str, table: pa.Table, first_row: int, keep: str) -> data.Split:
    """A chunk's rows as numbers; ``keep``: ``'train'``/``'eval'`` rows of the hold-out, or ``'all'``."""
    rows = np.arange(first_row, first_row + len(table))
    if keep != 'all':
      is_eval = row_unit(path, rows, self.holdout[1]) < self.holdout[0]
      pick = np.flatnonzero(is_eval if keep == 'eval' else ~is_eval)
      table, rows = table.take(pick), rows[pick]
    x = np.stack([self._numbers(path, table, name, rows) for name in self.features], axis=1)
    features = {'x': x}
    if self.weight:
      features[data.WEIGHT] = self._numbers(path, table, self.weight, rows)
    labels = self._labels(path, table.column(self.label), rows)
    chunk = data.Split(features, labels)
    if self.checked and len(rows):
      self._check(path, chunk, rows)
    return chunk

  def _where(self, path: str, row: int) -> str:
    return f'data file {path} ' + (f'line {row + 2}' if self.fmt == 'csv' else f'row {row}')

  def _numbers(self, path: str, table: pa.Table, name: str, rows: np.ndarray) -> np.ndarray:
    column = table.column(name)
    try:
      values = column.to_numpy().astype(np.float32)
    except (pa.ArrowException, ValueError, TypeError):
      raise JobError(f'data file {path}: column {name!r} is not numeric ({column.type})') from None
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
      raise JobError(f'{self._where(path, int(rows[bad[0]]))}: column {name!r} is not a finite number: '
                     f'{column[int(bad[0])].as_py()!r}')
    return values

  def _labels(self, path: str, column: pa.ChunkedArray, rows: np.ndarray):
    head = self.head
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
      values = column.to_pylist()
      if not isinstance(head, fh.MultiLabelHead):
        raise JobError(f'data file {path}: label column {self.label!r} holds lists; only a multi_label head '
                       'takes them')
      return self._encode(path, values, rows)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
      return data.labels_of(path, self.label, [str(v) for v in column.to_pylist()], head, self.separator,
                            locate=lambda i: self._where(path, int(rows[i])))
    values = column.to_numpy().astype(np.float32)
    if isinstance(head, fh.MultiLabelHead):
      return self._encode(path, [[int(v)] for v in values], rows)
    if isinstance(head, (fh.BinaryClassHead, fh.MultiClassHead)):
      wrong = np.flatnonzero(values != np.round(values))
      if len(wrong):
        raise JobError(f'{self._where(path, int(rows[wrong[0]]))}: label column {self.label!r}: class labels '
                       f'must be whole numbers (class ids) or vocabulary strings, got {float(values[wrong[0]])}')
      return values.astype(np.int32)
    return values

  def _encode(self, path: str, values: list, rows: np.ndarray):
    try:
      return self.head.encode_labels(values)
    except (ValueError, TypeError) as e:
      raise JobError(f'data file {path}: label column {self.label!r}: {first_line(e)}') from e

  def _check(self, path: str, chunk: data.Split, rows: np.ndarray) -> None:
    """The head takes the chunk's labels; otherwise an error naming the first row it rejects."""
    # Rows repeated up to a power of two: the head's checks compile for a few shapes only.
    size = 1 << (len(rows) - 1).bit_length()
    padded = chunk.take(np.resize(np.arange(len(rows)), size))
    heads.check_rows(self.head, padded, f'data file {path}',
                     lambda i: self._where(path, int(rows[i % len(rows)])))


class ShardChunks(grain.DatasetIterator):
  """The numeric chunks of one shard; its state is the position of the next chunk."""

  def __init__(self, path: str, layout: Layout, keep: str):
    super().__init__()
    self._path, self._layout, self._keep = path, layout, keep
    self._position = {'group': 0, 'offset': 0, 'row': 0}  # parquet: row group and offset; csv: row
    self._reader = None
    self._group = (-1, None)  # the parquet row group read last: (index, table)

  def _open(self) -> None:
    layout, path = self._layout, self._path
    try:
      if layout.fmt == 'parquet':
        self._reader = pq.ParquetFile(path)
      else:
        types = {n: pa.float32() for n in layout.features + ((layout.weight,) if layout.weight else ())}
        types[layout.label] = pa.string()
        self._reader = pa_csv.open_csv(
            path, read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=layout.read_columns,
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
        skip = self._position['row']
        while skip > 0:  # a CSV file is read from its start: skip the chunks already read
          skip -= len(self._reader.read_next_batch())
    except (OSError, pa.ArrowException) as e:
      raise JobError(self._read_error(e)) from e

  def _read_error(self, error: Exception) -> str:
    message = first_line(error)
    if self._layout.fmt == 'csv' and 'conversion error' in message:
      located = _locate_csv_value(self._path, self._layout.features + ((self._layout.weight,) if
                                                                      self._layout.weight else ()))
      if located:
        return located
    return f'data file {self._path} cannot be read as {self._layout.fmt}: {message}'

  def __next__(self) -> data.Split:
    if self._reader is None:
      self._open()
    position = self._position
    try:
      if self._layout.fmt == 'parquet':
        if position['group'] >= self._reader.num_row_groups:
          raise StopIteration
        if self._group[0] != position['group']:
          self._group = (position['group'], self._reader.read_row_group(position['group'],
                                                                        columns=self._layout.read_columns))
        group_rows = len(self._group[1])
        table = self._group[1].slice(position['offset'], CHUNK_ROWS)
        first = position['row']
        position['offset'] += len(table)
        if position['offset'] >= group_rows:
          position['group'], position['offset'] = position['group'] + 1, 0
      else:
        batch = self._reader.read_next_batch()
        table, first = pa.Table.from_batches([batch]), position['row']
    except (OSError, pa.ArrowException) as e:
      raise JobError(self._read_error(e)) from e
    position['row'] += len(table)
    return self._layout.split(self._path, table, first, self._keep)

  def get_state(self) -> dict:
    return dict(self._position)

  def set_state(self, state: dict) -> None:
    self._position = dict(state)
    self._reader, self._group = None, (-1, None)


class ShardDataset(grain.IterDataset):
  """A grain dataset of one shard's chunks (see :class:`ShardChunks`)."""

  def __init__(self, path: str, layout: Layout, keep: str):
    super().__init__()
    self._args = (path, layout, keep)

  def __iter__(self) -> ShardChunks:
    return ShardChunks(*self._args)


def _locate_csv_value(path: str, names: Sequence[str]) -> str | None:
  """The first line of a CSV file whose cell in one of ``names`` is not a number (for error messages)."""
  with open(path, newline='') as f:
    reader = csv.reader(f)
    header = [h.strip() for h in next(reader)]
    indices = [(header.index(n), n) for n in names if n in header]
    for line, row in enumerate(reader, start=2):
      for index, name in indices:
        try:
          float(row[index])
        except (ValueError, IndexError):
          value = row[index] if index < len(row) else ''
          return f'data file {path} line {line}: column {name!r} is not a number: {value!r}'
  return None
