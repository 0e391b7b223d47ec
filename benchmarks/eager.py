"""Eager (un-jitted) head calls on many batch sizes: the cost a notebook user sees.

Times ``head.loss`` and ``head.update_metrics`` called eagerly on 20 distinct
batch sizes, for each single head, and prints one JSON line per head and call.

  python benchmarks/eager.py [--sizes 20]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

import flaxheads as fh


def _cases():
  return {
      'regression': (fh.RegressionHead(), lambda r, n: r.normal(size=(n,)).astype(np.float32)),
      'binary': (fh.BinaryClassHead(), lambda r, n: r.integers(0, 2, n)),
      'multi_class': (fh.MultiClassHead(5), lambda r, n: r.integers(0, 5, n)),
      'multi_label': (fh.MultiLabelHead(4), lambda r, n: r.integers(0, 2, (n, 4))),
  }


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--sizes', type=int, default=20)
  args = parser.parse_args(argv)
  sizes = [8 + 3 * i for i in range(args.sizes)]
  # A warm process: the first compile of any program pays JAX's one-time start-up.
  jax.block_until_ready(jax.jit(lambda x: x + 1)(np.zeros(3, np.float32)))
  rng = np.random.default_rng(0)
  for name, (head, labels_of) in _cases().items():
    batches = [(labels_of(rng, n), rng.normal(size=(n, head.logits_dimension)).astype(np.float32))
               for n in sizes]
    for call in ('loss', 'update_metrics'):
      start = time.perf_counter()
      for labels, logits in batches:
        if call == 'loss':
          out = head.loss(labels, logits)
        else:
          out = head.update_metrics(head.metrics(), None, logits, labels)
        jax.block_until_ready(out)
      seconds = time.perf_counter() - start
      print(json.dumps({'head': name, 'call': call, 'batch_sizes': len(sizes), 'seconds': round(seconds, 3)}))


if __name__ == '__main__':
  main()
