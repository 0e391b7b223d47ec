"""The sharded input pipeline of ``flaxheads train``: rows/s alone and with the W1 train step, and peak RSS.

  python benchmarks/ctr_table.py /tmp/ctr --rows 4000000
  python benchmarks/input_pipeline.py '/tmp/ctr/*.parquet' --steps 200 --repeats 5

Measured in one process, in this order: the statistics pass (one read of
every row, with all checks); the pipeline alone (``next`` on the training
batches: read, shuffle, batch, standardize); the W1 train step alone on one
fixed batch (the pipeline's ceiling); and the pipeline feeding the train step.
Each is the median of ``--repeats`` blocks of ``--steps`` batches; the peak
RSS is the process's maximum resident set at the end. Prints JSON lines.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time

import jax
import numpy as np

from flaxheads.job import config as config_lib
from flaxheads.job import runner


def job_config(path: str, *, batch_size: int, hidden: tuple[int, ...], shuffle_buffer: int):
  return config_lib.load(config_lib.CONFIG_DIR / 'csv_file.py', [
      'data.name=shards', f'data.path={path}', 'data.label_column=click', 'head.type=binary_class',
      'head.n_classes=None', 'head.label_vocabulary=None', f'model.hidden_units={hidden!r}',
      f'batch_size={batch_size}', f'data.shuffle_buffer={shuffle_buffer}', 'eval_every=0',
      'progress_bar=false', 'plots=false'])


def median_rate(block, rows: int, repeats: int) -> tuple[float, list[float]]:
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    block()
    times.append(time.perf_counter() - start)
  return rows / float(np.median(times)), times


def emit(name: str, **values) -> None:
  print(json.dumps({'name': name, **values}), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('path', help='the Parquet shards (a glob)')
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--batch-size', type=int, default=256)
  parser.add_argument('--hidden', type=json.loads, default=[1000, 500], help='JSON list (W1: [1000, 500])')
  parser.add_argument('--shuffle-buffer', type=int, default=10_000)
  args = parser.parse_args()
  config = job_config(args.path, batch_size=args.batch_size, hidden=tuple(args.hidden),
                      shuffle_buffer=args.shuffle_buffer)
  rows = args.steps * args.batch_size

  with tempfile.TemporaryDirectory() as workdir:
    start = time.perf_counter()
    job = runner.setup(config, workdir)
    seconds = time.perf_counter() - start
    table_rows = len(job.dataset.train) + len(job.dataset.eval)
    emit('statistics pass', rows=table_rows, seconds=seconds, rows_per_s=table_rows / seconds)

    batches = job.dataset.train_batches(args.batch_size, config.seed)
    next(batches)  # open the shards, fill the first shuffle window
    rate, times = median_rate(lambda: [next(batches) for _ in range(args.steps)], rows, args.repeats)
    emit('pipeline alone', rows_per_s=rate, times=times)

    state = runner.init_state(job)
    key = jax.random.key(0)
    fixed = next(batches)
    state, out = job.train_fn(state, fixed.features, fixed.labels, rng=key)  # compile
    jax.block_until_ready(out.loss)

    def fixed_steps():
      nonlocal state
      for _ in range(args.steps):
        state, out = job.train_fn(state, fixed.features, fixed.labels, rng=key)
      jax.block_until_ready(out.loss)

    rate, times = median_rate(fixed_steps, rows, args.repeats)
    emit('train step alone (one fixed batch)', rows_per_s=rate, steps_per_s=rate / args.batch_size,
         times=times)

    def fed_steps():
      nonlocal state
      for _ in range(args.steps):
        batch = next(batches)
        state, out = job.train_fn(state, batch.features, batch.labels, rng=key)
      jax.block_until_ready(out.loss)

    rate, times = median_rate(fed_steps, rows, args.repeats)
    emit('pipeline + train step', rows_per_s=rate, steps_per_s=rate / args.batch_size, times=times)
    batches.close()
  emit('peak RSS', mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, table_rows=table_rows)


if __name__ == '__main__':
  main()
