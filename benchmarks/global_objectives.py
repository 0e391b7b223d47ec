"""Held-out quality of global objectives against sigmoid cross-entropy on skewed tasks.

For each task and seed: a stratified half/half split, a linear model trained
by Adam on minibatches (label priors updated every step) with three losses:
sigmoid cross-entropy, ``recall_at_precision_loss(target 0.9)`` and
``precision_recall_auc_loss``. Reported on the held-out half: recall at
precision >= 0.9, precision at recall >= 0.9 and PR-AUC (average precision),
mean and standard deviation over seeds.

    python benchmarks/global_objectives.py [--seeds 5] [--steps 400] [--out benchmarks/results/...]
"""

from __future__ import annotations

import argparse
import functools
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn import datasets, metrics, model_selection

from flaxheads import global_objectives as go

LOSSES = ('sigmoid_cross_entropy', 'recall_at_precision_0.9', 'precision_recall_auc')


def digits_eight():
  d = datasets.load_digits()
  return d.data.astype(np.float32) / 16., (d.target == 8).astype(np.float32)


def synthetic(n=4000, positive=0.05, seed=123):
  r = np.random.default_rng(seed)
  y = (r.uniform(size=n) < positive).astype(np.float32)
  x = r.normal(size=(n, 10)).astype(np.float32)
  x[:, :3] += 1.2 * y[:, None]  # positives shifted on 3 of 10 features: overlapping classes
  x[:, 3] += np.where(y > 0, r.choice([-2., 2.], size=n), 0.)  # and spread on a fourth
  return x, y


TASKS = {'digits "is 8" (10% positive)': digits_eight, 'synthetic Gaussians (5% positive)': synthetic}


def loss_fn(name, params, priors, x, y):
  logits = x @ params['w'] + params['b']
  if name == 'sigmoid_cross_entropy':
    return jnp.mean(go.weighted_sigmoid_cross_entropy(y, logits))
  if name == 'recall_at_precision_0.9':
    return jnp.mean(go.recall_at_precision_loss(y, logits, 0.9, lambdas=params['lambdas'], label_priors=priors)[0])
  return jnp.mean(go.precision_recall_auc_loss(y, logits, lambdas=params['lambdas'], biases=params['biases'],
                                               label_priors=priors, num_anchors=10)[0])


@functools.partial(jax.jit, static_argnames=('name', 'steps', 'batch'))
def train(name, x, y, key, *, steps, batch, lr=0.02):
  d = x.shape[1]
  params = {'w': jnp.zeros((d, 1)), 'b': jnp.zeros(1), 'lambdas': jnp.ones((1, 10) if 'auc' in name else (1,)),
            'biases': jnp.zeros((1, 10))}
  tx = optax.adam(lr)

  def step(carry, k):
    params, opt_state, counts = carry
    rows = jax.random.choice(k, x.shape[0], (batch,), replace=False)
    xb, yb = x[rows], y[rows][:, None]
    counts, priors = go.update_label_priors(counts, yb)
    grads = jax.grad(loss_fn, argnums=1)(name, params, priors, xb, yb)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, counts), None

  carry = (params, tx.init(params), go.init_label_priors(1))
  (params, _, _), _ = jax.lax.scan(step, carry, jax.random.split(key, steps))
  return params


def held_out_metrics(y, scores):
  precision, recall, _ = metrics.precision_recall_curve(y, scores)
  return {'recall@precision>=0.9': float(np.max(recall[precision >= 0.9], initial=0.)),
          'precision@recall>=0.9': float(np.max(precision[recall >= 0.9])),
          'PR-AUC': float(metrics.average_precision_score(y, scores))}


def run(seeds: int, steps: int, batch: int):
  rows = []
  for task, make in TASKS.items():
    x, y = make()
    results = {name: [] for name in LOSSES}
    for seed in range(seeds):
      xtr, xte, ytr, yte = model_selection.train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
      mean, std = xtr.mean(0), xtr.std(0) + 1e-6
      xtr, xte = (xtr - mean) / std, (xte - mean) / std
      for name in LOSSES:
        params = train(name, jnp.asarray(xtr), jnp.asarray(ytr), jax.random.key(seed), steps=steps, batch=batch)
        scores = np.asarray(xte @ np.asarray(params['w']) + np.asarray(params['b']))[:, 0]
        results[name].append(held_out_metrics(yte, scores))
    rows.append((task, len(y), float(y.mean()), results))
  return rows


def table(rows, seeds) -> str:
  keys = ('recall@precision>=0.9', 'precision@recall>=0.9', 'PR-AUC')
  out = []
  for task, n, positive, results in rows:
    out += [f'**{task}**: {n} rows, {positive:.1%} positive, half held out; mean ± std over {seeds} seeds', '',
            '| training loss | ' + ' | '.join(keys) + ' |', '|---|' + '---|' * len(keys)]
    for name, runs in results.items():
      cells = [f'{np.mean([r[k] for r in runs]):.3f} ± {np.std([r[k] for r in runs]):.3f}' for k in keys]
      out.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    out.append('')
  return '\n'.join(out)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--seeds', type=int, default=5)
  parser.add_argument('--steps', type=int, default=400)
  parser.add_argument('--batch', type=int, default=128)
  parser.add_argument('--out', default=None)
  args = parser.parse_args()
  start = time.perf_counter()
  text = table(run(args.seeds, args.steps, args.batch), args.seeds)
  text += (f'\nLinear model, Adam (learning rate 0.02), {args.steps} steps of {args.batch} rows; '
           f'{time.perf_counter() - start:.0f} s on a shared 2-core CPU.\n')
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text)


if __name__ == '__main__':
  main()
