"""Feature statistics of sharded data: one checked pass over every row, kept in ``<workdir>/statistics.json``.

The pass checks every value and label, counts the train and eval rows and
merges the train rows' per-feature moments exactly (:class:`Statistics`), so
that ``evaluate``, ``predict`` and a resumed run standardize with exactly the
numbers training used, without reading the data again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
from typing import Any

import numpy as np

from flaxheads.job import shards
from flaxheads.job.errors import JobError

STATISTICS_FILE = 'statistics.json'


@dataclasses.dataclass(frozen=True)
class Statistics:
  """Row counts and per-feature moments of the train rows, merged exactly from partial sums."""

  count: int
  mean: np.ndarray  # float64 [F]
  m2: np.ndarray  # float64 [F]: the sum of squared deviations from the mean

  @classmethod
  def empty(cls, n_features: int) -> Statistics:
    return cls(0, np.zeros(n_features), np.zeros(n_features))

  @classmethod
  def of(cls, x: np.ndarray) -> Statistics:
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    return cls(len(x), mean, ((x - mean) ** 2).sum(axis=0))

  def merge(self, other: Statistics) -> Statistics:
    """Chan et al.'s pairwise combination: exact for any split of the rows.

    >>> x = np.arange(10.).reshape(5, 2)
    >>> merged = Statistics.of(x[:2]).merge(Statistics.of(x[2:]))
    >>> bool(np.allclose(merged.std, x.std(axis=0)))
    True
    """
    count = self.count + other.count
    if not count:
      return self
    delta = other.mean - self.mean
    mean = self.mean + delta * (other.count / count)
    return Statistics(count, mean, self.m2 + other.m2 + delta ** 2 * (self.count * other.count / count))

  @property
  def std(self) -> np.ndarray:
    return np.sqrt(self.m2 / max(self.count, 1))



def compute(layout: shards.Layout, description: dict, train_files, eval_files, keep_train: str,
                     keep_eval: str, *, standardize: bool) -> dict:
  """Reads every row once: checks it, counts the splits and merges the train rows' moments."""
  checked = copy.copy(layout)
  checked.checked = True
  stats, eval_rows = Statistics.empty(len(layout.features)), 0
  for path in train_files:
    for chunk in shards.ShardChunks(path, checked, keep_train):
      stats = stats.merge(Statistics.of(chunk.features['x']))
  for path in eval_files:
    for chunk in shards.ShardChunks(path, checked, keep_eval):
      eval_rows += len(chunk)
  if not stats.count or not eval_rows:
    raise JobError(f'data {description["path"][0]}{" ..." if len(train_files) > 1 else ""} has '
                   f'{stats.count} train and {eval_rows} eval rows; both need at least one')
  std = np.where(stats.std > 0, stats.std, 1.)
  return {**description, 'train_rows': stats.count, 'eval_rows': eval_rows,
          'mean': (stats.mean if standardize else 0 * stats.mean).tolist(),
          'std': (std if standardize else 0 * std + 1).tolist()}


def read(workdir: pathlib.Path | None, description: dict, required: bool) -> dict | None:
  path = None if workdir is None else pathlib.Path(workdir) / STATISTICS_FILE
  if path is None or not path.is_file():
    if required:
      raise JobError(f'no {STATISTICS_FILE} in {workdir}; run `flaxheads train` with this workdir first')
    return None
  stored = json.loads(path.read_text())
  differs = [k for k, v in description.items() if stored.get(k) != v]
  if differs:
    raise JobError(f'{path} describes other data ({", ".join(differs)} differ from the config); use the '
                   'config the workdir was trained with or another workdir')
  return stored


def write(dataset: Any, workdir: pathlib.Path) -> None:
  """Stores the statistics a streamed data set was standardized with (train only, once)."""
  path = pathlib.Path(workdir) / STATISTICS_FILE
  if not path.exists():
    path.write_text(json.dumps(dataset.statistics, indent=2) + '\n')
