"""W5: boosted trees on a head objective against the library's built-in objective.

1,000,000 rows x 28 float features (synthetic, seeded), 50 rounds, ``hist``,
2 threads, binary (``BinaryClassHead`` against ``binary:logistic`` /
``binary``) and 10-class (``MultiClassHead(10)`` against ``multi:softprob`` /
``multiclass``), for XGBoost and LightGBM. Both runs start from margin 0 on
the same data object; runs alternate, built-in first, and the medians of the
repeats are reported with the time spent inside the head objective's calls and
its parts (checks and copies on the host, the compiled gradient, the copy
back).

  python benchmarks/trees.py                       # the full W5
  python benchmarks/trees.py --rows 200000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import numpy as np

import flaxheads as fh
from flaxheads import boosted_trees as bt
from flaxheads._src.boosted_trees import inputs, objective as objective_lib

FEATURES = 28


class TimedObjective:
  """The head objective, adding up the seconds spent in its calls (survives LightGBM's deep copy)."""

  def __init__(self, head):
    self.objective = bt.xgboost_objective(head)
    self.seconds, self.calls = 0., 0

  def __deepcopy__(self, memo):
    return self

  def __call__(self, *args, **kwargs):
    start = time.perf_counter()
    out = self.objective(*args, **kwargs)
    self.seconds += time.perf_counter() - start
    self.calls += 1
    return out


def make_data(rows: int, classes: int, seed: int = 0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
  score = x[:, :8] @ rng.normal(size=8).astype(np.float32) + np.sin(x[:, 8] * x[:, 9]) + 0.5 * rng.normal(size=rows)
  if classes == 2:
    return x, (score > 0).astype(np.float32)
  return x, np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])).astype(np.float32)


def objective_parts(head, labels, k: int, repeats: int = 5) -> dict[str, float]:
  """Median seconds of one full-size objective call's parts."""
  margins = np.random.default_rng(1).normal(size=(len(labels), k) if k > 1 else len(labels)).astype(np.float32)
  fn = objective_lib.compiled_gradient(head, False)
  batch = inputs.batch(head, labels, margins)
  jax.block_until_ready(fn(batch.labels, batch.margins, None))  # compiled
  parts = {'host checks': [], 'compiled gradient (with copies in)': [], 'copy back': []}
  for _ in range(repeats):
    t0 = time.perf_counter()
    batch = inputs.batch(head, labels, margins)
    t1 = time.perf_counter()
    out = jax.block_until_ready(fn(batch.labels, batch.margins, None))
    t2 = time.perf_counter()
    jax.device_get(out)
    t3 = time.perf_counter()
    for key, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
      parts[key].append(value)
  return {key: statistics.median(v) for key, v in parts.items()}


def run_case(library: str, classes: int, rows: int, rounds: int, repeats: int, threads: int) -> dict:
  x, y = make_data(rows, classes)
  k = 1 if classes == 2 else classes
  head = fh.BinaryClassHead() if classes == 2 else fh.MultiClassHead(classes)
  zeros = np.zeros((rows, k), np.float32) if k > 1 else np.zeros(rows, np.float32)
  if library == 'xgboost':
    import xgboost as xgb
    data = xgb.DMatrix(x, label=y, base_margin=zeros, nthread=threads)
    params = {'tree_method': 'hist', 'nthread': threads, 'max_depth': 6, 'seed': 0,
              'disable_default_eval_metric': 1, **({'num_class': classes} if k > 1 else {})}
    builtin = lambda: xgb.train({**params, 'objective': 'binary:logistic' if k == 1 else 'multi:softprob'},
                                data, rounds)
    ours = lambda obj, n=rounds: xgb.train({**params, 'base_score': 0.}, data, n, obj=obj)
  else:
    import lightgbm as lgb
    data = lgb.Dataset(x, label=y, init_score=zeros, params={'verbose': -1, 'num_threads': threads},
                       free_raw_data=False).construct()
    params = {'num_threads': threads, 'num_leaves': 63, 'verbose': -1, 'seed': 0, 'metric': 'None',
              'boost_from_average': False, **({'num_class': classes} if k > 1 else {})}
    builtin = lambda: lgb.train({**params, 'objective': 'binary' if k == 1 else 'multiclass'}, data, rounds)
    ours = lambda obj, n=rounds: lgb.train({**params, 'objective': obj}, data, n)
  ours(TimedObjective(head), 1)  # warm-up: compiles the gradient, builds the histogram bins
  builtin_times, head_times, objective_times = [], [], []
  for _ in range(repeats):
    start = time.perf_counter()
    builtin()
    builtin_times.append(time.perf_counter() - start)
    timed = TimedObjective(head)
    start = time.perf_counter()
    ours(timed)
    head_times.append(time.perf_counter() - start)
    objective_times.append(timed.seconds)
  b, h = statistics.median(builtin_times), statistics.median(head_times)
  return dict(library=library, classes=classes, rows=rows, rounds=rounds, threads=threads,
              builtin_s=b, head_s=h, ratio=h / b, objective_s=statistics.median(objective_times),
              builtin_times=builtin_times, head_times=head_times,
              objective_parts_per_call=objective_parts(head, y, k))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--rows', type=int, default=1_000_000)
  parser.add_argument('--rounds', type=int, default=50)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--threads', type=int, default=2)
  parser.add_argument('--cases', default='xgboost:2,xgboost:10,lightgbm:2,lightgbm:10')
  args = parser.parse_args()
  for case in args.cases.split(','):
    library, classes = case.split(':')
    print(json.dumps(run_case(library, int(classes), args.rows, args.rounds, args.repeats, args.threads)),
          flush=True)


if __name__ == '__main__':
  main()
