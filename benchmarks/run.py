"""Benchmarks: flaxheads against the hand-written JAX program that computes the same thing.

Workloads (float32, fixed seeds):
  W1  train step: 100 dense features -> Dense(1000, relu) -> Dense(500, relu) -> logits,
      Adam 1e-3, batch 256, with RegressionHead / BinaryClassHead / 10-class MultiClassHead.
  W2  streaming BinaryClassHead eval metrics (2 thresholds): 2,000,000 examples in
      batches of 65,536.
  W3  1000-class eval (average_loss, accuracy): batch 1024, 200 batches.
  W4  AUC accuracy on skewed click-through-like data against scikit-learn's exact values.

Each measurement is repeated; the table reports the median, min-max and the ratio of
medians to the hand-written baseline measured in the same run. One JSON line per
measurement goes to stdout and the table to ``benchmarks/results/<date>.md``.

Usage: ``python benchmarks/run.py [--repeats 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import platform
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import flaxheads as fh

RESULTS = pathlib.Path(__file__).parent / 'results'


def timed(fn, repeats):
  """Seconds per call of ``fn`` (which blocks until done), ``repeats`` times."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


def alternate(run_hand, run_ours, repeats):
  """Times both, interleaved so that machine noise hits them alike."""
  hand_times, our_times = [], []
  for _ in range(repeats):
    hand_times += timed(run_hand, 1)
    our_times += timed(run_ours, 1)
  return hand_times, our_times


def report(rows, workload, name, times, unit, baseline=None, **extra):
  median = statistics.median(times)
  row = dict(workload=workload, name=name, unit=unit, median=median, min=min(times), max=max(times),
             repeats=len(times), **extra)
  if baseline is not None:
    row['ratio'] = median / baseline
  print(json.dumps(row), flush=True)
  rows.append(row)
  return median


def cold_compile(jitted, *args):
  jax.clear_caches()
  jitted.lower(*args).compile()


# W1: train step ---------------------------------------------------------------------------------
class DNN(nn.Module):
  logits_dimension: int

  @nn.compact
  def __call__(self, features, train=False):
    x = nn.relu(nn.Dense(1000)(features))
    x = nn.relu(nn.Dense(500)(x))
    return nn.Dense(self.logits_dimension)(x)


def w1(rows, repeats, steps):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(256, 100)).astype(np.float32))
  targets = {
      'regression': (fh.RegressionHead(), jnp.asarray(rng.normal(size=(256, 1)).astype(np.float32)),
                     lambda logits, y: jnp.mean(jnp.square(logits - y))),
      'binary': (fh.BinaryClassHead(), jnp.asarray(rng.integers(0, 2, (256, 1)).astype(np.float32)),
                 lambda logits, y: jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y))),
      'multi_class_10': (fh.MultiClassHead(10), jnp.asarray(rng.integers(0, 10, (256,))),
                         lambda logits, y: jnp.mean(
                             optax.softmax_cross_entropy_with_integer_labels(logits, y))),
  }
  for name, (head, labels, hand_loss) in targets.items():
    model = DNN(head.logits_dimension)
    tx = optax.adam(1e-3)
    variables = model.init(jax.random.key(0), x)
    state = fh.TrainState.create(apply_fn=model.apply, variables=jax.tree.map(jnp.copy, variables), tx=tx)

    def hand_step(params, opt_state, x, y, model=model, tx=tx, hand_loss=hand_loss):
      loss, grads = jax.value_and_grad(lambda p: hand_loss(model.apply({'params': p}, x), y))(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state, loss

    hand = jax.jit(hand_step, donate_argnums=(0, 1))
    ours = jax.jit(lambda s, x, y, head=head: head.train_step(s, x, y, nonfinite='apply'),
                   donate_argnums=0)
    compile_hand = timed(lambda: cold_compile(hand, variables['params'], tx.init(variables['params']),
                                              x, labels), 3)
    compile_ours = timed(lambda: cold_compile(ours, state, x, labels), 3)
    base = report(rows, 'W1', f'{name}: hand-written compile', compile_hand, 's')
    report(rows, 'W1', f'{name}: flaxheads compile', compile_ours, 's', base)
    params, opt_state = variables['params'], tx.init(variables['params'])
    params, opt_state, _ = hand(params, opt_state, x, labels)
    state, _ = ours(state, x, labels)

    def run_hand():
      nonlocal params, opt_state
      for _ in range(steps):
        params, opt_state, loss = hand(params, opt_state, x, labels)
      loss.block_until_ready()

    def run_ours():
      nonlocal state
      for _ in range(steps):
        state, out = ours(state, x, labels)
      out.loss.block_until_ready()

    hand_times, our_times = alternate(run_hand, run_ours, repeats)
    base = report(rows, 'W1', f'{name}: hand-written step', [t / steps for t in hand_times], 's/step')
    report(rows, 'W1', f'{name}: flaxheads train_step', [t / steps for t in our_times], 's/step', base)


# W2: streaming binary metrics ---------------------------------------------------------------------
def hand_binary_metrics(state, logits, labels, thresholds=(0.3, 0.7), buckets=200):
  """The whole BinaryClassHead metric set, written directly: sums, then bucketed AUC counts."""
  y = labels.astype(jnp.float32)
  p = jax.nn.sigmoid(logits)
  loss = jnp.maximum(logits, 0) - logits * y + jnp.log1p(jnp.exp(-jnp.abs(logits)))
  pred = (logits > 0).astype(jnp.float32)
  sums = [jnp.sum(loss), jnp.sum(pred == y), jnp.sum(y * pred), jnp.sum((1 - y) * pred),
          jnp.sum(y * (1 - pred)), jnp.sum(p), jnp.sum(y), jnp.float32(y.size)]
  for t in thresholds:
    at = (p > t).astype(jnp.float32)
    sums += [jnp.sum(at == y), jnp.sum(y * at), jnp.sum((1 - y) * at), jnp.sum(y * (1 - at))]
  bucket = jnp.maximum(jnp.ceil(p * (buckets - 1)) - 1, 0).astype(jnp.int32).ravel()
  counts = jax.ops.segment_sum(jnp.stack([y.ravel(), 1 - y.ravel()], -1), bucket, num_segments=buckets)
  sums_state, counts_state = state
  return sums_state + jnp.stack(sums), counts_state + jnp.flip(jnp.cumsum(jnp.flip(counts, 0), 0), 0)


def w2(rows, repeats, total):
  batch = 65_536
  n_batches = total // batch
  rng = np.random.default_rng(1)
  logits = jnp.asarray(rng.normal(size=(n_batches, batch, 1)).astype(np.float32))
  labels = jnp.asarray(rng.integers(0, 2, (n_batches, batch, 1)).astype(np.float32))
  head = fh.BinaryClassHead(thresholds=[0.3, 0.7])
  ours = jax.jit(head.update_metrics)
  hand = jax.jit(hand_binary_metrics)

  def run_ours():
    state = head.metrics()
    for i in range(n_batches):
      state = ours(state, None, logits[i], labels[i])
    jax.block_until_ready(fh.metrics.results(state))

  def run_hand():
    state = (jnp.zeros(16), jnp.zeros((200, 2)))
    for i in range(n_batches):
      state = hand(state, logits[i], labels[i])
    jax.block_until_ready(state)

  run_ours(), run_hand()
  hand_times, our_times = alternate(run_hand, run_ours, repeats)
  base = report(rows, 'W2', 'hand-written bucketed metrics', hand_times, 's/pass', examples=n_batches * batch)
  report(rows, 'W2', 'flaxheads update_metrics', our_times, 's/pass', base, examples=n_batches * batch)


# W3: 1000-class eval ------------------------------------------------------------------------------
def w3(rows, repeats, n_batches):
  rng = np.random.default_rng(2)
  logits = jnp.asarray(rng.normal(size=(n_batches, 1024, 1000)).astype(np.float32))
  labels = jnp.asarray(rng.integers(0, 1000, (n_batches, 1024)).astype(np.int32))
  head = fh.MultiClassHead(1000)
  ours = jax.jit(head.update_metrics)

  @jax.jit
  def hand(state, logits, labels):
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = jnp.argmax(logits, -1) == labels
    return state + jnp.stack([jnp.sum(loss), jnp.sum(correct), jnp.float32(labels.size)])

  def run_ours():
    state = head.metrics()
    for i in range(n_batches):
      state = ours(state, None, logits[i], labels[i])
    jax.block_until_ready(state)

  def run_hand():
    state = jnp.zeros(3)
    for i in range(n_batches):
      state = hand(state, logits[i], labels[i])
    jax.block_until_ready(state)

  run_ours(), run_hand()
  hand_times, our_times = alternate(run_hand, run_ours, repeats)
  base = report(rows, 'W3', 'hand-written (optax CE + argmax)', hand_times, 's/pass')
  report(rows, 'W3', 'flaxheads update_metrics', our_times, 's/pass', base)


# W4: AUC accuracy on skewed data ------------------------------------------------------------------
def w4(rows, repeats, n):
  from sklearn import metrics as sk_metrics  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  probabilities = rng.beta(0.5, 50., size=n).astype(np.float32)  # ~1% positives, crowded near 0
  labels = (rng.random(n) < probabilities).astype(np.float32)
  exact = {'ROC': sk_metrics.roc_auc_score(labels, probabilities),
           'PR': sk_metrics.average_precision_score(labels, probabilities)}
  p, y = jnp.asarray(probabilities), jnp.asarray(labels)
  for curve in ('ROC', 'PR'):
    base = None
    for thresholds in (200, 100_000):
      fn = jax.jit(lambda y, p, t=thresholds, c=curve: fh.metrics.AUC.from_predictions(
          y, p, num_thresholds=t, curve=c).compute())
      value = float(fn(y, p))
      times = timed(lambda: fn(y, p).block_until_ready(), repeats)
      median = report(rows, 'W4', f'AUC-{curve} at {thresholds} thresholds', times, 's', base,
                      value=value, exact=exact[curve], error=value - exact[curve],
                      positives=float(labels.mean()))
      base = base or median


def markdown(rows) -> str:
  lines = ['| workload | measurement | median | min-max | ratio to hand-written | notes |',
           '|---|---|---|---|---|---|']
  for r in rows:
    ratio = f"{r['ratio']:.3f}x" if 'ratio' in r else 'baseline'
    notes = ''
    if 'error' in r:
      notes = f"value {r['value']:.6f}, exact {r['exact']:.6f}, error {r['error']:+.2e}"
    lines.append(f"| {r['workload']} | {r['name']} | {r['median'] * 1e3:.3f} ms | "
                 f"{r['min'] * 1e3:.3f}-{r['max'] * 1e3:.3f} ms | {ratio} | {notes} |")
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--quick', action='store_true', help='smaller sizes, for a smoke test')
  parser.add_argument('--only', nargs='*', default=['W1', 'W2', 'W3', 'W4'])
  args = parser.parse_args()
  rows = []
  sizes = dict(W1=5 if args.quick else 50, W2=131_072 if args.quick else 2_000_000,
               W3=2 if args.quick else 200, W4=20_000 if args.quick else 1_000_000)
  for name, fn in (('W1', w1), ('W2', w2), ('W3', w3), ('W4', w4)):
    if name in args.only:
      fn(rows, args.repeats, sizes[name])
  machine = (f'{platform.processor() or platform.machine()}, {jax.device_count()} {jax.default_backend()} '
             f'device(s), {__import__("os").cpu_count()} cores; jax {jax.__version__}, '
             f'flaxheads {fh.__version__}, Python {platform.python_version()}')
  table = f'Machine: {machine}\n\n{markdown(rows)}\n'
  print(table)
  if not args.quick:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'{datetime.date.today().isoformat()}.md').write_text(table)


if __name__ == '__main__':
  main()
