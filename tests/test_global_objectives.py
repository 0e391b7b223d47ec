"""Global-objective losses against the reference's math, and its own unit-test expectations.

``tests/golden/global_objectives.json`` comes from
``tests/golden/generate_global_objectives.py`` (TensorFlow 2.15, graph mode);
every case is run eagerly and under ``jax.jit``. The expectations ported from
the reference's ``loss_layers_test.py`` hold by construction, not by fixture.
"""

import functools
import json
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flaxheads import global_objectives as go

GOLDEN = json.loads((pathlib.Path(__file__).parent / 'golden' / 'global_objectives.json').read_text())
RTOL, ATOL = 2e-5, 2e-6
CONSTRAINED = {
    'recall_at_precision': go.recall_at_precision_loss,
    'precision_at_recall': go.precision_at_recall_loss,
    'false_positive_rate_at_true_positive_rate': go.false_positive_rate_at_true_positive_rate_loss,
    'true_positive_rate_at_false_positive_rate': go.true_positive_rate_at_false_positive_rate_loss,
}


def loss_fn(name, *, surrogate_type, dual_rate_factor, precision_range, num_anchors):
  """``(labels, logits, weights, target, lambdas, biases, priors) -> (loss, aux)`` of a named loss."""
  def fn(labels, logits, weights, target, lambdas, biases, priors):
    if name == 'roc_auc':
      return go.roc_auc_loss(labels, logits, weights=weights, surrogate_type=surrogate_type)
    common = dict(lambdas=lambdas, label_priors=priors, weights=weights,
                  dual_rate_factor=dual_rate_factor, surrogate_type=surrogate_type)
    if name == 'precision_recall_auc':
      return go.precision_recall_auc_loss(labels, logits, biases=biases, precision_range=precision_range,
                                          num_anchors=num_anchors, **common)
    return CONSTRAINED[name](labels, logits, target, **common)
  return fn


def evaluate(name, static, labels, logits, weights, target, lambdas, biases, counts):
  fn = loss_fn(name, **dict(static))
  state, priors = go.update_label_priors(go.LabelPriorsState(*counts), labels, weights)

  def total(logits, lambdas, biases):
    loss, aux = fn(labels, logits, weights, target, lambdas, biases, priors)
    return jnp.sum(loss), (loss, aux)

  grads, (loss, aux) = jax.grad(total, argnums=(0, 1, 2), has_aux=True)(logits, lambdas, biases)
  return state, priors, loss, aux, grads


evaluate_jit = jax.jit(evaluate, static_argnames=('name', 'static'))


def case_inputs(c):
  arr = lambda v: None if v is None else jnp.asarray(v, jnp.float32)
  static = (('surrogate_type', c['surrogate_type']), ('dual_rate_factor', c['dual_rate_factor']),
            ('precision_range', tuple(c['precision_range'])), ('num_anchors', c['num_anchors']))
  lambdas = arr(c['lambdas']) if c['lambdas'] is not None else jnp.zeros(())
  biases = arr(c['biases']) if c['biases'] is not None else jnp.zeros(())
  target = arr(c['target']) if c['target'] is not None else jnp.zeros(())
  return (c['loss'], static, arr(c['labels']), arr(c['logits']), arr(c['weights']), target, lambdas, biases,
          tuple(arr(x) for x in c['prior_counts']))


def close(actual, expected, what):
  np.testing.assert_allclose(np.asarray(actual).ravel(), np.asarray(expected, np.float32).ravel(),
                             rtol=RTOL, atol=ATOL, err_msg=what)


# Every case under jit; eagerly (slow: each op compiles per shape), two cases per loss.
EAGER = [c for c in GOLDEN['cases'] if c['id'].endswith(('hinge/vector/weights_scalar', 'xent/three/weights_full'))]
RUNS = [(c, True) for c in GOLDEN['cases']] + [(c, False) for c in EAGER]


@pytest.mark.parametrize('case,jit', RUNS, ids=[c['id'] + ('-jit' if j else '-eager') for c, j in RUNS])
def test_golden(case, jit):
  args = case_inputs(case)
  state, priors, loss, aux, grads = (evaluate_jit if jit else evaluate)(*args)
  e = case['expected']
  assert loss.shape == np.shape(case['logits'])
  close(loss, e['loss'], 'loss')
  close(grads[0], e['grad_logits'], 'grad_logits')
  if case['loss'] == 'roc_auc':
    assert aux == {}
    return
  close(grads[1], e['grad_lambdas'], 'grad_lambdas')
  if case['biases'] is not None:
    close(grads[2], e['grad_biases'], 'grad_biases')
    np.testing.assert_array_equal(aux['biases'], case['biases'])
  close(priors, e['label_priors'], 'label_priors')
  close(aux['label_priors'], e['label_priors'], 'aux label_priors')
  close(state.weighted_label_counts / state.weight_sum, e['label_priors'], 'state')
  close(aux['lambdas'], np.abs(case['lambdas']), 'lambdas')
  close(aux['true_positives_lower_bound'], e['true_positives_lower_bound'], 'tp lower bound')
  close(aux['false_positives_upper_bound'], e['false_positives_upper_bound'], 'fp upper bound')


def test_fixture_covers_the_issue():
  cases = GOLDEN['cases']
  assert {c['loss'] for c in cases} == {'roc_auc', 'precision_recall_auc', *CONSTRAINED}
  assert any(np.min(c['lambdas']) < 0 for c in cases if c['lambdas'] is not None)
  assert any(np.ndim(c['target']) == 1 for c in cases if c['target'] is not None)
  assert any(c['num_anchors'] != 20 and c['loss'] == 'precision_recall_auc' for c in cases)
  assert {np.ndim(c['weights']) for c in cases} == {0, 1, 2}


@functools.partial(jax.jit, static_argnames=('loss', 'static', 'lr'))
def _trajectory_step(params, counts, x, y, w, *, loss, static, lr):
  fn = loss_fn(loss, **dict(static))
  state, priors = go.update_label_priors(counts, y, w)

  def objective(p):
    out, _ = fn(y, x @ p['w'] + p['b'], w, p['target'], p['lambdas'], p.get('biases'), priors)
    return jnp.mean(out)

  trainable = {k: v for k, v in params.items() if k != 'target'}
  value, grads = jax.value_and_grad(lambda t: objective({**t, 'target': params['target']}))(trainable)
  new = jax.tree.map(lambda p, g: p - lr * g, trainable, grads)
  return {**new, 'target': params['target']}, state, value


@pytest.mark.parametrize('traj', GOLDEN['trajectories'], ids=[t['id'] for t in GOLDEN['trajectories']])
def test_training_trajectory(traj):
  """Ten gradient-descent steps of a linear model, label priors updated each step, as the reference."""
  init = traj['init']
  params = {k: jnp.asarray(v) for k, v in init.items() if v is not None}
  params['target'] = jnp.asarray(traj['target'] if traj['target'] is not None else 0., jnp.float32)
  n = params['b'].shape[0]
  counts = go.init_label_priors(n)
  static = (('surrogate_type', traj['surrogate_type']), ('dual_rate_factor', traj['dual_rate_factor']),
            ('precision_range', tuple(traj['precision_range'] or (0., 1.))),
            ('num_anchors', traj['num_anchors'] or 1))
  weights = np.asarray(traj['weights'], np.float32)
  for t, expected in enumerate(traj['steps']):
    w = weights[t] if weights.ndim else weights
    params, counts, value = _trajectory_step(params, counts, jnp.asarray(traj['x'][t]),
                                             jnp.asarray(traj['labels'][t]), jnp.asarray(w),
                                             loss=traj['loss'], static=static, lr=traj['learning_rate'])
    close(value, expected['loss'], f'loss at step {t}')
    for key in ('w', 'b', 'lambdas', 'biases'):
      if key in expected:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-4, atol=1e-5, err_msg=f'{key} at step {t}')
    close(counts.weighted_label_counts, expected['weighted_label_counts'], f'counts at step {t}')
    close(counts.weight_sum, expected['weight_sum'], f'weight sum at step {t}')
