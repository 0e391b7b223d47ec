"""Benchmarks: flaxheads against the hand-written JAX program that computes the same thing,
and against Keras 3 and tf.estimator where their environments exist.

Workloads (float32, fixed seeds):
  W1  train step: 100 dense features -> Dense(1000, relu) -> Dense(500, relu) -> logits,
      Adam 1e-3, batch 256, with RegressionHead / BinaryClassHead / 10-class MultiClassHead.
  W2  streaming eval metrics of 2,000,000 examples in batches of 65,536 (the last one 33,920):
      BinaryClassHead (2 extra thresholds), 10-class MultiClassHead, 20-class MultiLabelHead.
  W3  1000-class eval (average_loss, accuracy): batch 1024, 200 batches.
  W4  AUC accuracy on skewed click-through-like data against exact values.

Each measurement is repeated; the table reports the median, min-max and the ratio of
medians to the fastest hand-written program measured in the same run (named in the table;
flaxheads and the hand-written programs interleaved, so that machine noise hits them alike).
flaxheads runs its default path: ``jax.jit`` of the head's method with default arguments. The peers run in their
own environments (``benchmarks/peers/make_envs.sh`` creates them next to the checkout,
as ``../keras3`` and ``../tf215``), one after the other once flaxheads is done.

One JSON line per measurement goes to stdout; the markdown table is printed and, for a
full run (all workloads, not ``--quick``), saved as ``benchmarks/results/<date>.md``.

Usage: ``python benchmarks/run.py [--repeats 5] [--quick] [--only W1 W2] [--no-peers]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import flaxheads as fh

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE / 'peers'))
import protocol  # pylint: disable=g-import-not-at-top,wrong-import-position  # shared with the peers

RESULTS = HERE / 'results'
WORKLOADS = ('W1', 'W2', 'W3', 'W4')
PEERS = {'Keras 3': ('keras3', 'keras3_jax.py'), 'tf.estimator': ('tf215', 'tf_estimator.py')}


def alternate(runs, repeats):
  """Times every run ``repeats`` times, interleaved so that machine noise hits them alike."""
  times = [[] for _ in runs]
  for _ in range(repeats):
    for run, run_times in zip(runs, times):
      run_times += protocol.timed(run, 1)
  return times


@dataclasses.dataclass
class Results:
  """Measurements. Each ``case`` (``'W1/binary/step'``) is divided by its baseline: the fastest
  hand-written program measured for it in the same run, named in the table."""

  rows: list[dict] = dataclasses.field(default_factory=list)

  def add(self, case, name, times, unit, *, baseline=False, **extra):
    """Records a measurement; ``baseline``: a hand-written program (or reference) the case may divide by."""
    row = dict(workload=case.split('/')[0], case=case, name=name, unit=unit,
               median=statistics.median(times), min=min(times), max=max(times), repeats=len(times),
               baseline=baseline, **extra)
    print(json.dumps(row), flush=True)
    self.rows.append(row)

  def with_ratios(self) -> list[dict]:
    """The rows, each with ``ratio`` to (and ``baseline``, the name of) its case's fastest hand-written row."""
    best = {}
    for row in self.rows:
      if row['baseline'] and (row['case'] not in best or row['median'] < best[row['case']]['median']):
        best[row['case']] = row
    out = []
    for row in self.rows:
      row = dict(row)
      if row['case'] in best:
        row['baseline'] = best[row['case']]['name']
        row['ratio'] = row['median'] / best[row['case']]['median']
      out.append(row)
    return out


def cold_compile(jitted, *args):
  jax.clear_caches()
  jitted.lower(*args).compile()


def batches_of(rng, sizes, make):
  """A device array ``make(rng, size)`` per batch size, each its own buffer (as a data loader gives them)."""
  return [jnp.asarray(make(rng, size)) for size in sizes]


# W1: train step ---------------------------------------------------------------------------------
class DNN(nn.Module):
  logits_dimension: int

  @nn.compact
  def __call__(self, features, train=False):
    x = nn.relu(nn.Dense(1000)(features))
    x = nn.relu(nn.Dense(500)(x))
    return nn.Dense(self.logits_dimension)(x)


def w1(results, repeats, steps):
  """flaxheads' default step, ``jax.jit(head.train_step)``, against the hand-written jitted step.

  Both donate their state. The default step records a non-finite loss in the state
  (``nonfinite='raise'``); ``'skip'``, which also keeps the old state, and ``'apply'``, which
  checks nothing (the cost of the check), are shown for reference.
  """
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(256, 100)).astype(np.float32))
  tasks = {
      'regression': (fh.RegressionHead(), jnp.asarray(rng.normal(size=(256, 1)).astype(np.float32)),
                     lambda logits, y: jnp.mean(jnp.square(logits - y))),
      'binary': (fh.BinaryClassHead(), jnp.asarray(rng.integers(0, 2, (256, 1)).astype(np.float32)),
                 lambda logits, y: jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y))),
      'multi_class_10': (fh.MultiClassHead(10), jnp.asarray(rng.integers(0, 10, (256,))),
                         lambda logits, y: jnp.mean(
                             optax.softmax_cross_entropy_with_integer_labels(logits, y))),
  }
  for task, (head, labels, hand_loss) in tasks.items():
    model = DNN(head.logits_dimension)
    tx = optax.adam(1e-3)
    variables = model.init(jax.random.key(0), x)

    def hand_step(carry, x, y, model=model, tx=tx, hand_loss=hand_loss):
      params, opt_state = carry
      loss, grads = jax.value_and_grad(lambda p: hand_loss(model.apply({'params': p}, x), y))(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    def our_step(state, x, y, head=head, **kwargs):
      state, out = head.train_step(state, x, y, **kwargs)
      return state, out.loss

    steps_fns = {
        'hand-written step': (jax.jit(hand_step, donate_argnums=0),
                              (variables['params'], tx.init(variables['params']))),
        'flaxheads train_step (default)': (jax.jit(our_step, donate_argnums=0), None),
        "flaxheads train_step(nonfinite='skip')": (
            jax.jit(functools.partial(our_step, nonfinite='skip'), donate_argnums=0), None),
        "flaxheads train_step(nonfinite='apply')": (
            jax.jit(functools.partial(our_step, nonfinite='apply'), donate_argnums=0), None),
    }
    carries = {name: carry or fh.TrainState.create(
        apply_fn=model.apply, variables=jax.tree.map(jnp.copy, variables), tx=tx)
               for name, (_, carry) in steps_fns.items()}
    compile_times = alternate([lambda f=f, n=n: cold_compile(f, carries[n], x, labels)
                               for n, (f, _) in steps_fns.items()], repeats)

    def run(name, fn):
      carry = carries[name]
      for _ in range(steps):
        carry, loss = fn(carry, x, labels)
      loss.block_until_ready()
      carries[name] = carry

    for name, (fn, _) in steps_fns.items():
      run(name, fn)  # warm up
    step_times = alternate([lambda n=n, f=f: run(n, f) for n, (f, _) in steps_fns.items()], repeats)
    for i, name in enumerate(steps_fns):
      short = name.replace(' step', '') if i == 0 else name
      results.add(f'W1/{task}/compile', f'{task}: {short} compile', compile_times[i], 's', baseline=i == 0)
    for i, name in enumerate(steps_fns):
      results.add(f'W1/{task}/step', f'{task}: {name}', [t / steps for t in step_times[i]], 's/step',
                  baseline=i == 0)


# W2: streaming eval metrics ---------------------------------------------------------------------
# The hand-written passes take rows as 1-D arrays (XLA:CPU runs [N, 1] arrays' exp, log1p and
# reductions unvectorized) and keep their state as few arrays as possible.
W2_THRESHOLDS = (0.3, 0.7)
W2_BUCKETS = 200


def _bucket(p):
  """Estimator's AUC bucket of probabilities: ``ceil(p * (T - 1)) - 1``, at least 0."""
  return jnp.maximum(jnp.ceil(p * (W2_BUCKETS - 1)) - 1, 0).astype(jnp.int32)


def _sigmoid_cross_entropy(y, x):
  return jnp.maximum(x, 0) - x * y + jnp.log1p(jnp.exp(-jnp.abs(x)))


def binary_sums_and_buckets(state, x, y):
  """``BinaryClassHead``'s metrics as one sum per quantity, and weighted positives and negatives
  segment-summed into the AUC buckets (TP/FP per threshold come from a reverse cumsum at the end).

  State: ``(sums [15], buckets [2, T])``; ``x``, ``y``: logits and 0/1 labels ``[N]``.
  """
  p = jax.nn.sigmoid(x)
  predicted = (x > 0).astype(jnp.float32)
  quantities = [_sigmoid_cross_entropy(y, x), predicted == y, y * predicted, (1 - y) * predicted,
                y * (1 - predicted), p, y]
  for t in W2_THRESHOLDS:
    at = (p > t).astype(jnp.float32)
    quantities += [at == y, y * at, (1 - y) * at, y * (1 - at)]
  sums = jnp.stack([jnp.sum(q.astype(jnp.float32)) for q in quantities])
  negative = (y == 0).astype(jnp.int32)
  buckets = jax.ops.segment_sum(jnp.ones_like(y), negative * W2_BUCKETS + _bucket(p),
                                num_segments=2 * W2_BUCKETS)
  return state[0] + sums, state[1] + buckets.reshape(2, W2_BUCKETS)


def binary_sums_and_buckets_results(state):
  sums, buckets = state
  loss, correct, tp, fp, fn, p, y = sums[:7]
  n = jnp.sum(buckets)
  out = _binary_results(n, loss, p, y, correct, tp, fp, fn, buckets)
  for i, t in enumerate(W2_THRESHOLDS):
    out.update(_threshold_results(t, n, *sums[7 + 4 * i:11 + 4 * i]))
  return out


def binary_histogram(state, x, y):
  """``BinaryClassHead``'s metrics from one histogram: each example's AUC bucket, label, predicted
  class and the thresholds its probability exceeds make one bin; a ``bincount`` fills every bin,
  so a batch costs the loss, the probabilities, two sums and one scatter.

  State: ``(sums [2], histogram [T * 16])``; ``x``, ``y``: logits and 0/1 labels ``[N]``.
  """
  p = jax.nn.sigmoid(x)
  code = _bucket(p) * 16 + (y != 0) * 8 + (x > 0) * 4 + (p > W2_THRESHOLDS[0]) * 2 + (p > W2_THRESHOLDS[1])
  histogram = jnp.bincount(code, length=16 * W2_BUCKETS).astype(jnp.float32)
  return state[0] + jnp.stack([jnp.sum(_sigmoid_cross_entropy(y, x)), jnp.sum(p)]), state[1] + histogram


def binary_histogram_results(state):
  sums, histogram = state
  h = histogram.reshape(W2_BUCKETS, 2, 2, 2, 2)  # bucket, label, predicted, > t0, > t1
  by = h.sum(0)
  n, y = jnp.sum(by), jnp.sum(by[1])
  buckets = jnp.stack([h[:, 1].sum((1, 2, 3)), h[:, 0].sum((1, 2, 3))])
  counts = lambda yes: (by[0][~yes].sum() + by[1][yes].sum(), by[1][yes].sum(), by[0][yes].sum(), by[1][~yes].sum())
  grid = np.indices((2, 2, 2))
  out = _binary_results(n, sums[0], sums[1], y, *counts(grid[0] == 1), buckets)
  for i, t in enumerate(W2_THRESHOLDS):
    out.update(_threshold_results(t, n, *counts(grid[1 + i] == 1)))
  return out


def _binary_results(n, loss, p, y, correct, tp, fp, fn, buckets):
  return {'average_loss': loss / n, 'accuracy': correct / n, 'precision': tp / (tp + fp),
          'recall': tp / (tp + fn), 'prediction/mean': p / n, 'label/mean': y / n,
          'auc': fh.metrics.AUC(buckets[0], buckets[1]).compute(),  # TP/FP by a reverse cumsum of the buckets
          'auc_precision_recall': fh.metrics.AUC(buckets[0], buckets[1], 'PR').compute()}


def _threshold_results(t, n, correct, tp, fp, fn):
  return {f'accuracy/positive_threshold_{t:g}': correct / n, f'precision/positive_threshold_{t:g}': tp / (tp + fp),
          f'recall/positive_threshold_{t:g}': tp / (tp + fn)}


def multi_class_metrics(state, logits, labels):
  """``MultiClassHead``'s metrics: optax's cross-entropy and argmax accuracy, summed. State ``[3]``."""
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  correct = jnp.argmax(logits, -1) == labels
  return state + jnp.stack([jnp.sum(loss), jnp.sum(correct), jnp.float32(labels.size)])


def multi_class_results(state):
  return {'average_loss': state[0] / state[2], 'accuracy': state[1] / state[2]}


def multi_label_metrics(state, logits, labels):
  """``MultiLabelHead``'s metrics: the class-averaged sigmoid cross-entropy, and every (example,
  class) pair's AUC bucket counted by label. State: ``(sums [2], buckets [2, T])``."""
  loss = jnp.mean(_sigmoid_cross_entropy(labels, logits), axis=-1)
  p, y = jax.nn.sigmoid(logits).ravel(), labels.ravel()
  buckets = jax.ops.segment_sum(jnp.ones_like(y), (y == 0).astype(jnp.int32) * W2_BUCKETS + _bucket(p),
                                num_segments=2 * W2_BUCKETS)
  sums = jnp.stack([jnp.sum(loss), jnp.float32(loss.size)])
  return state[0] + sums, state[1] + buckets.reshape(2, W2_BUCKETS)


def multi_label_results(state):
  (loss, n), buckets = state
  return {'average_loss': loss / n, 'auc': fh.metrics.AUC(buckets[0], buckets[1]).compute(),
          'auc_precision_recall': fh.metrics.AUC(buckets[0], buckets[1], 'PR').compute()}


W2_HAND_WRITTEN = {
    'binary': {'one sum per quantity + AUC segment_sum': (binary_sums_and_buckets, binary_sums_and_buckets_results,
                                                          lambda: (jnp.zeros(15), jnp.zeros((2, W2_BUCKETS)))),
               'one histogram (bincount)': (binary_histogram, binary_histogram_results,
                                            lambda: (jnp.zeros(2), jnp.zeros(16 * W2_BUCKETS)))},
    'multi_class_10': {'optax cross-entropy + argmax': (multi_class_metrics, multi_class_results,
                                                        lambda: jnp.zeros(3))},
    'multi_label_20': {'class-averaged cross-entropy + AUC segment_sum': (
        multi_label_metrics, multi_label_results, lambda: (jnp.zeros(2), jnp.zeros((2, W2_BUCKETS))))},
}


def w2_heads():
  return {'binary': fh.BinaryClassHead(thresholds=W2_THRESHOLDS), 'multi_class_10': fh.MultiClassHead(10),
          'multi_label_20': fh.MultiLabelHead(20)}


def w2_data(task, rng, sizes):
  """(flaxheads' batches, the hand-written passes' batches): the same values, in each one's shapes."""
  if task == 'binary':
    logits = batches_of(rng, sizes, lambda r, n: r.normal(size=(n, 1)).astype(np.float32))
    labels = batches_of(rng, sizes, lambda r, n: r.integers(0, 2, (n, 1)).astype(np.float32))
    flat = lambda xs: [jnp.asarray(np.asarray(x).ravel()) for x in xs]
    return (logits, labels), (flat(logits), flat(labels))
  if task == 'multi_class_10':
    logits = batches_of(rng, sizes, lambda r, n: r.normal(size=(n, 10)).astype(np.float32))
    labels = batches_of(rng, sizes, lambda r, n: r.integers(0, 10, n).astype(np.int32))
    return (logits, labels), (logits, labels)
  logits = batches_of(rng, sizes, lambda r, n: r.normal(size=(n, 20)).astype(np.float32))
  labels = batches_of(rng, sizes, lambda r, n: r.integers(0, 2, (n, 20)).astype(np.float32))
  return (logits, labels), (logits, labels)


def w2(results, repeats, total):
  """Streaming eval metrics over ``total`` examples in batches of 65,536: ``jax.jit(head.update_metrics)``
  per batch and ``fh.metrics.results`` at the end, against hand-written passes (update per batch,
  results at the end)."""
  batch = min(65_536, total)
  sizes = [batch] * (total // batch) + ([total % batch] if total % batch else [])
  rng = np.random.default_rng(1)
  for task, head in w2_heads().items():
    (logits, labels), (hand_logits, hand_labels) = w2_data(task, rng, sizes)
    ours = jax.jit(head.update_metrics)

    def run_ours(head=head, ours=ours, logits=logits, labels=labels):
      state = head.metrics()
      for x, y in zip(logits, labels):
        state = ours(state, None, x, y)
      jax.block_until_ready(fh.metrics.results(state))

    runs = {}
    for name, (update, results_fn, empty) in W2_HAND_WRITTEN[task].items():
      update, results_fn = jax.jit(update), jax.jit(results_fn)

      def run_hand(update=update, results_fn=results_fn, empty=empty):
        state = empty()
        for x, y in zip(hand_logits, hand_labels):
          state = update(state, x, y)
        jax.block_until_ready(results_fn(state))

      runs[f'{task}: hand-written, {name}'] = run_hand
    runs[f'{task}: flaxheads update_metrics'] = run_ours
    for run in runs.values():
      run()
    times = alternate(list(runs.values()), repeats)
    for (name, _), t in zip(runs.items(), times):
      results.add(f'W2/{task}', name, t, 's/pass', baseline='hand-written' in name, examples=total)


# W3: 1000-class eval ------------------------------------------------------------------------------
def w3(results, repeats, n_batches):
  rng = np.random.default_rng(2)
  logits = batches_of(rng, [1024] * n_batches, lambda r, n: r.normal(size=(n, 1000)).astype(np.float32))
  labels = batches_of(rng, [1024] * n_batches, lambda r, n: r.integers(0, 1000, n).astype(np.int32))
  head = fh.MultiClassHead(1000)
  ours = jax.jit(head.update_metrics)
  hand = jax.jit(multi_class_metrics)

  def run_ours():
    state = head.metrics()
    for x, y in zip(logits, labels):
      state = ours(state, None, x, y)
    jax.block_until_ready(fh.metrics.results(state))

  def run_hand():
    state = jnp.zeros(3)
    for x, y in zip(logits, labels):
      state = hand(state, x, y)
    jax.block_until_ready(multi_class_results(state))

  run_ours(), run_hand()
  hand_times, our_times = alternate([run_hand, run_ours], repeats)
  results.add('W3', 'hand-written (optax cross-entropy + argmax)', hand_times, 's/pass', baseline=True)
  results.add('W3', 'flaxheads update_metrics', our_times, 's/pass')


# W4: AUC accuracy on skewed data ------------------------------------------------------------------
def exact_interpolated_pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
  """AUC-PR as Estimator interpolates it (Davis & Goadrich), with every distinct score a threshold.

  The limit of the bucketed estimator as the thresholds get dense, computed in float64:
  the reference for it. scikit-learn's ``average_precision_score`` is a step-wise sum,
  a different estimator of the same area.
  """
  order = np.argsort(-scores, kind='stable')
  scores, labels = scores[order], labels[order].astype(np.float64)
  last_of_run = np.r_[scores[1:] != scores[:-1], True]  # a threshold between distinct scores
  tp = np.r_[0., np.cumsum(labels)[last_of_run]]  # predicted positive: score above it
  fp = np.r_[0., np.cumsum(1 - labels)[last_of_run]]
  # Consecutive points from the highest threshold down: (tp[i+1], p[i+1]) has more predicted.
  p = tp + fp
  dtp, dp = np.diff(tp), np.diff(p)
  slope = np.divide(dtp, dp, out=np.zeros_like(dtp), where=dp > 0)
  intercept = tp[:-1] - slope * p[:-1]
  ratio = np.where(p[:-1] > 0, np.divide(p[1:], p[:-1], out=np.ones_like(dp), where=p[:-1] > 0), 1.)
  increments = slope * (dtp + intercept * np.log(ratio)) / tp[-1]
  return float(np.sum(increments))


def w4(results, repeats, n):
  """AUC of 1M skewed examples at 200 and 100,000 thresholds (timed interleaved) against exact values."""
  from sklearn import metrics as sk_metrics  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  probabilities = rng.beta(0.5, 50., size=n).astype(np.float32)  # ~1% positives, crowded near 0
  labels = (rng.random(n) < probabilities).astype(np.float32)
  exact = {'ROC': sk_metrics.roc_auc_score(labels, probabilities),
           'PR': exact_interpolated_pr_auc(labels, probabilities)}
  average_precision = sk_metrics.average_precision_score(labels, probabilities)
  p, y = jnp.asarray(probabilities), jnp.asarray(labels)
  for curve in ('ROC', 'PR'):
    fns = {t: jax.jit(lambda y, p, t=t, c=curve: fh.metrics.AUC.from_predictions(
        y, p, num_thresholds=t, curve=c).compute()) for t in (200, 100_000)}
    values = {t: float(fn(y, p)) for t, fn in fns.items()}
    times = alternate([lambda fn=fn: fn(y, p).block_until_ready() for fn in fns.values()], repeats)
    for (thresholds, value), t in zip(values.items(), times):
      extra = dict(value=value, exact=exact[curve], error=value - exact[curve], positives=float(labels.mean()))
      if curve == 'PR':
        extra['average_precision'] = average_precision
      # The reference: the same computation at Estimator's 200 thresholds.
      results.add(f'W4/{curve}', f'AUC-{curve} at {thresholds} thresholds', t, 's',
                  baseline=thresholds == 200, **extra)


# Peers ------------------------------------------------------------------------------------------------
def run_peer(results, peer, python, sizes, repeats):
  """Runs a peer script in its own interpreter; its measurements join ``results``."""
  script = HERE / 'peers' / PEERS[peer][1]
  sizes = {k: v for k, v in sizes.items() if k != 'W4'}
  if not sizes:
    return
  proc = subprocess.run([str(python), str(script), '--repeats', str(repeats), '--sizes', json.dumps(sizes)],
                        capture_output=True, text=True, check=False)
  for line in proc.stdout.splitlines():
    if line.startswith('{'):
      row = json.loads(line)
      case = 'W2/binary' if row['case'] == 'W2' else row['case']  # the peers' W2 is the binary head's
      results.add(case, row['name'], row['times'], row['unit'], peer=row['peer'])
  if proc.returncode:
    print(f'{peer} ({python}) failed:\n{proc.stderr[-3000:]}', file=sys.stderr)


def peer_pythons(args) -> dict[str, pathlib.Path]:
  found = {}
  for peer, (env, _) in PEERS.items():
    python = getattr(args, env) or HERE.parent.parent / env / 'bin' / 'python'
    if pathlib.Path(python).exists():
      found[peer] = python
    else:
      print(f'{peer}: no environment at {python}; see benchmarks/peers/make_envs.sh', file=sys.stderr)
  return found


def cpu_name() -> str:
  try:
    for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines():
      if line.startswith('model name'):
        return f"{line.split(':', 1)[1].strip()} ({platform.machine()})"
  except OSError:
    pass
  return platform.processor() or platform.machine()


def markdown(rows) -> str:
  """The table: each row's ratio to its case's baseline (the fastest hand-written program, marked)."""
  lines = ['| workload | measurement | median | min-max | ratio to the fastest hand-written | notes |',
           '|---|---|---|---|---|---|']
  for r in rows:
    ratio = 'baseline' if r.get('baseline') == r['name'] else f"{r['ratio']:.3f}x" if 'ratio' in r else ''
    notes = ''
    if 'error' in r:
      notes = f"value {r['value']:.6f}, exact {r['exact']:.6f}, error {r['error']:+.2e}"
    if 'average_precision' in r:
      notes += f"; scikit-learn average precision {r['average_precision']:.6f}"
    lines.append(f"| {r['workload']} | {r['name']} | {r['median'] * 1e3:.3f} ms | "
                 f"{r['min'] * 1e3:.3f}-{r['max'] * 1e3:.3f} ms | {ratio} | {notes} |")
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--quick', action='store_true', help='smaller sizes, for a smoke test')
  parser.add_argument('--only', nargs='*', default=list(WORKLOADS), choices=WORKLOADS)
  parser.add_argument('--no-peers', action='store_true')
  parser.add_argument('--keras3', help='the Python of the Keras 3 environment (default ../keras3)')
  parser.add_argument('--tf215', help='the Python of the tf.estimator environment (default ../tf215)')
  args = parser.parse_args()
  results = Results()
  sizes = dict(W1=5 if args.quick else 50, W2=131_072 if args.quick else 2_000_000,
               W3=2 if args.quick else 200, W4=20_000 if args.quick else 1_000_000)
  sizes = {k: v for k, v in sizes.items() if k in args.only}
  for name, fn in (('W1', w1), ('W2', w2), ('W3', w3), ('W4', w4)):
    if name in sizes:
      fn(results, args.repeats, sizes[name])
  for peer, python in ({} if args.no_peers else peer_pythons(args)).items():
    run_peer(results, peer, python, sizes, args.repeats)
  rows = results.with_ratios()
  first_seen = {}
  for row in rows:
    first_seen.setdefault(row['case'], len(first_seen))
  rows.sort(key=lambda row: first_seen[row['case']])  # stable: peers join their case
  machine = (f'{cpu_name()}, {jax.device_count()} {jax.default_backend()} '
             f'device(s), {os.cpu_count()} cores; jax {jax.__version__}, flax '
             f'{__import__("flax").__version__}, optax {optax.__version__}, flaxheads {fh.__version__}, '
             f'Python {platform.python_version()}')
  table = f'Machine: {machine}\n\n{markdown(rows)}\n'
  print(table)
  if not args.quick and set(sizes) == set(WORKLOADS):  # a partial run is not a result to keep
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'{datetime.date.today().isoformat()}.md').write_text(table)


if __name__ == '__main__':
  main()
