"""Benchmarks: flaxheads against the hand-written JAX program that computes the same thing,
and against Keras 3 and tf.estimator where their environments exist.

Workloads (float32, fixed seeds):
  W1  train step: 100 dense features -> Dense(1000, relu) -> Dense(500, relu) -> logits,
      Adam 1e-3, batch 256, with RegressionHead / BinaryClassHead / 10-class MultiClassHead.
  W2  streaming BinaryClassHead eval metrics (2 thresholds): 2,000,000 examples in
      batches of 65,536.
  W3  1000-class eval (average_loss, accuracy): batch 1024, 200 batches.
  W4  AUC accuracy on skewed click-through-like data against exact values.

Each measurement is repeated; the table reports the median, min-max and the ratio of
medians to the hand-written baseline measured in the same run (flaxheads and the
baseline interleaved, so that machine noise hits both alike). The peers run in their
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
  """Measurements; each ``case`` (``'W1/binary/step'``) has one baseline to divide by."""

  rows: list[dict] = dataclasses.field(default_factory=list)
  baselines: dict[str, float] = dataclasses.field(default_factory=dict)

  def add(self, case, name, times, unit, *, baseline=False, **extra):
    median = statistics.median(times)
    row = dict(workload=case.split('/')[0], case=case, name=name, unit=unit, median=median,
               min=min(times), max=max(times), repeats=len(times), **extra)
    if baseline:
      self.baselines[case] = median
    elif case in self.baselines:
      row['ratio'] = median / self.baselines[case]
    print(json.dumps(row), flush=True)
    self.rows.append(row)


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


def w1(results, repeats, steps):
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

    def our_step(state, x, y, head=head, nonfinite='raise'):
      state, out = head.train_step(state, x, y, nonfinite=nonfinite)
      return state, out.loss

    # Unguarded, as the hand-written step; then flaxheads' default, which keeps the old
    # state (and raises) when the loss or a gradient is not finite.
    steps_fns = {
        'hand-written step': (jax.jit(hand_step, donate_argnums=0),
                              (variables['params'], tx.init(variables['params']))),
        "flaxheads train_step(nonfinite='apply')": (
            jax.jit(lambda s, x, y: our_step(s, x, y, nonfinite='apply'), donate_argnums=0), None),
        'flaxheads train_step (default guard)': (jax.jit(our_step, donate_argnums=0), None),
    }
    carries = {name: carry or fh.TrainState.create(
        apply_fn=model.apply, variables=jax.tree.map(jnp.copy, variables), tx=tx)
               for name, (_, carry) in steps_fns.items()}
    compile_times = alternate([lambda f=f, n=n: cold_compile(f, carries[n], x, labels)
                               for n, (f, _) in steps_fns.items()], 3)

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
      results.add(f'W1/{task}/compile', f'{task}: {short} compile', compile_times[i], 's',
                  baseline=i == 0)
    for i, name in enumerate(steps_fns):
      results.add(f'W1/{task}/step', f'{task}: {name}', [t / steps for t in step_times[i]], 's/step',
                  baseline=i == 0)


# W2: streaming binary metrics ---------------------------------------------------------------------
def hand_binary_metrics(state, logits, labels, *, one_reduction, thresholds=(0.3, 0.7), buckets=200):
  """The whole BinaryClassHead metric set, written directly: sums, then bucketed AUC counts.

  ``one_reduction``: stack the per-example quantities and sum them at once. Summed one by
  one, XLA:CPU fuses the ``exp``/``log1p`` of each into its reduction as scalar code, which
  is several times slower.
  """
  y, logits = labels.astype(jnp.float32).ravel(), logits.ravel()
  p = jax.nn.sigmoid(logits)
  loss = jnp.maximum(logits, 0) - logits * y + jnp.log1p(jnp.exp(-jnp.abs(logits)))
  pred = (logits > 0).astype(jnp.float32)
  per_example = [loss, pred == y, y * pred, (1 - y) * pred, y * (1 - pred), p, y, jnp.ones_like(y)]
  for t in thresholds:
    at = (p > t).astype(jnp.float32)
    per_example += [at == y, y * at, (1 - y) * at, y * (1 - at)]
  per_example = [v.astype(jnp.float32) for v in per_example]
  if one_reduction:
    sums = jnp.sum(jnp.stack(per_example), axis=1)
  else:
    sums = jnp.stack([jnp.sum(v) for v in per_example])
  bucket = jnp.maximum(jnp.ceil(p * (buckets - 1)) - 1, 0).astype(jnp.int32)
  counts = jax.ops.segment_sum(jnp.stack([y, 1 - y], -1), bucket, num_segments=buckets)
  sums_state, counts_state = state
  return sums_state + sums, counts_state + jnp.flip(jnp.cumsum(jnp.flip(counts, 0), 0), 0)


def w2(results, repeats, total):
  batch = 65_536
  n_batches = total // batch
  rng = np.random.default_rng(1)
  logits = jnp.asarray(rng.normal(size=(n_batches, batch, 1)).astype(np.float32))
  labels = jnp.asarray(rng.integers(0, 2, (n_batches, batch, 1)).astype(np.float32))
  head = fh.BinaryClassHead(thresholds=[0.3, 0.7])
  ours = jax.jit(head.update_metrics)

  def run_ours():
    state = head.metrics()
    for i in range(n_batches):
      state = ours(state, None, logits[i], labels[i])
    jax.block_until_ready(fh.metrics.results(state))

  def run_hand(hand):
    state = (jnp.zeros(16), jnp.zeros((200, 2)))
    for i in range(n_batches):
      state = hand(state, logits[i], labels[i])
    jax.block_until_ready(state)

  stacked = jax.jit(functools.partial(hand_binary_metrics, one_reduction=True))
  one_by_one = jax.jit(functools.partial(hand_binary_metrics, one_reduction=False))
  runs = [lambda: run_hand(stacked), run_ours, lambda: run_hand(one_by_one)]
  for run in runs:
    run()
  times = alternate(runs, repeats)
  examples = n_batches * batch
  results.add('W2', 'hand-written bucketed metrics, one stacked reduction', times[0], 's/pass',
              baseline=True, examples=examples)
  results.add('W2', 'flaxheads update_metrics', times[1], 's/pass', examples=examples)
  results.add('W2', 'hand-written, one jnp.sum per quantity', times[2], 's/pass', examples=examples)


# W3: 1000-class eval ------------------------------------------------------------------------------
def w3(results, repeats, n_batches):
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
  hand_times, our_times = alternate([run_hand, run_ours], repeats)
  results.add('W3', 'hand-written (optax CE + argmax)', hand_times, 's/pass', baseline=True)
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
  from sklearn import metrics as sk_metrics  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  probabilities = rng.beta(0.5, 50., size=n).astype(np.float32)  # ~1% positives, crowded near 0
  labels = (rng.random(n) < probabilities).astype(np.float32)
  exact = {'ROC': sk_metrics.roc_auc_score(labels, probabilities),
           'PR': exact_interpolated_pr_auc(labels, probabilities)}
  average_precision = sk_metrics.average_precision_score(labels, probabilities)
  p, y = jnp.asarray(probabilities), jnp.asarray(labels)
  for curve in ('ROC', 'PR'):
    for thresholds in (200, 100_000):
      fn = jax.jit(lambda y, p, t=thresholds, c=curve: fh.metrics.AUC.from_predictions(
          y, p, num_thresholds=t, curve=c).compute())
      value = float(fn(y, p))
      times = protocol.timed(lambda fn=fn: fn(y, p).block_until_ready(), repeats)
      extra = dict(value=value, exact=exact[curve], error=value - exact[curve],
                   positives=float(labels.mean()))
      if curve == 'PR':
        extra['average_precision'] = average_precision
      results.add(f'W4/{curve}', f'AUC-{curve} at {thresholds} thresholds', times, 's',
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
      results.add(row['case'], row['name'], row['times'], row['unit'], peer=row['peer'])
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
  lines = ['| workload | measurement | median | min-max | ratio to hand-written | notes |',
           '|---|---|---|---|---|---|']
  for r in rows:
    ratio = f"{r['ratio']:.3f}x" if 'ratio' in r else 'baseline'
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
  first_seen = {}
  for row in results.rows:
    first_seen.setdefault(row['case'], len(first_seen))
  results.rows.sort(key=lambda row: first_seen[row['case']])  # stable: peers join their case
  machine = (f'{cpu_name()}, {jax.device_count()} {jax.default_backend()} '
             f'device(s), {os.cpu_count()} cores; jax {jax.__version__}, flax '
             f'{__import__("flax").__version__}, optax {optax.__version__}, flaxheads {fh.__version__}, '
             f'Python {platform.python_version()}')
  table = f'Machine: {machine}\n\n{markdown(results.rows)}\n'
  print(table)
  if not args.quick and set(sizes) == set(WORKLOADS):  # a partial run is not a result to keep
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'{datetime.date.today().isoformat()}.md').write_text(table)


if __name__ == '__main__':
  main()
