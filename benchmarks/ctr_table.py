"""Writes a synthetic click-through table as Parquet shards, one row group at a time.

  python benchmarks/ctr_table.py OUT_DIR --rows 20000000 --features 40 --shards 16

Columns ``f0`` .. ``f{F-1}`` (float32, standard normal), ``click`` (int32,
about ``--positive-rate`` ones: a logistic function of a few features with a
bias chosen for that rate). Memory stays at one row group, whatever the size.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 65_536


def _bias(weights: np.ndarray, rate: float, seed: int) -> float:
  """The logit bias that gives a positive rate of ``rate`` (bisection on a sample of the signal)."""
  signal = np.random.default_rng([seed, 2**32 - 1]).standard_normal((200_000, len(weights))) @ weights
  low, high = -30.0, 30.0
  for _ in range(60):
    middle = (low + high) / 2
    low, high = (middle, high) if np.mean(1 / (1 + np.exp(-(signal + middle)))) < rate else (low, middle)
  return (low + high) / 2


def write(out: pathlib.Path, *, rows: int, features: int, shards: int, positive_rate: float = 0.01,
          seed: int = 0) -> list[pathlib.Path]:
  """Writes ``shards`` Parquet files of ``rows`` rows in all; returns their paths."""
  out.mkdir(parents=True, exist_ok=True)
  weights = np.random.default_rng(seed).normal(size=features) / np.sqrt(features) * 2
  bias = _bias(weights, positive_rate, seed)
  schema = pa.schema([*(pa.field(f'f{i}', pa.float32()) for i in range(features)), pa.field('click', pa.int32())])
  paths = []
  for shard in range(shards):
    rng = np.random.default_rng([seed, shard])
    n = rows // shards + (shard < rows % shards)
    path = out / f'part-{shard:05d}.parquet'
    with pq.ParquetWriter(path, schema) as writer:
      for start in range(0, n, ROW_GROUP):
        m = min(ROW_GROUP, n - start)
        x = rng.standard_normal((m, features), dtype=np.float32)
        click = (rng.random(m) < 1 / (1 + np.exp(-(x @ weights + bias)))).astype(np.int32)
        writer.write_table(pa.table([*x.T, click], schema=schema))
    paths.append(path)
  return paths


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('out', type=pathlib.Path)
  parser.add_argument('--rows', type=int, default=20_000_000)
  parser.add_argument('--features', type=int, default=40)
  parser.add_argument('--shards', type=int, default=16)
  parser.add_argument('--positive-rate', type=float, default=0.01)
  args = parser.parse_args()
  paths = write(args.out, rows=args.rows, features=args.features, shards=args.shards,
                positive_rate=args.positive_rate)
  size = sum(p.stat().st_size for p in paths)
  print(f'wrote {args.rows:,} rows in {len(paths)} shards ({size / 2**20:.0f} MiB) to {args.out}')


if __name__ == '__main__':
  main()
