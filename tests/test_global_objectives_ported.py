"""The expectations of the reference's ``loss_layers_test.py`` that apply, and bad input.

Each test states the special case the reference checks (a loss equal to plain
cross-entropy at target 1, multipliers moving the right way, bounds of known
value, weights equivalent to repeated examples, ...), computed here with
flaxheads alone.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxheads import global_objectives as go

ALL_CONSTRAINED = (go.recall_at_precision_loss, go.precision_at_recall_loss,
                   go.false_positive_rate_at_true_positive_rate_loss,
                   go.true_positive_rate_at_false_positive_rate_loss)


def random_data(seed, shape, threshold=0.4):
  r = np.random.default_rng(seed)
  logits = jnp.asarray(r.normal(size=shape), jnp.float32)
  labels = jnp.asarray(r.uniform(size=shape) > threshold, jnp.float32)
  return labels, logits


def priors_of(labels, weights=1.):
  n = 1 if labels.ndim == 1 else labels.shape[1]
  return go.update_label_priors(go.init_label_priors(n), labels, weights)[1]


def xent(labels, logits):
  return go.weighted_sigmoid_cross_entropy(labels, logits)


def close(a, b, **kw):
  np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=kw.get('rtol', 1e-5), atol=kw.get('atol', 1e-6))


# ---- PR-AUC ----

@pytest.mark.parametrize('surrogate_type,target', [('xent', 0.7), ('hinge', 0.7), ('hinge', 0.5)])
def test_single_point_auc_is_recall_at_precision(surrogate_type, target):
  labels, logits = random_data(0, (10, 2))
  priors = priors_of(labels)
  auc, _ = go.precision_recall_auc_loss(labels, logits, lambdas=jnp.ones((2, 1)), biases=jnp.zeros((2, 1)),
                                        label_priors=priors, precision_range=(target - 0.01, target + 0.01),
                                        num_anchors=1, surrogate_type=surrogate_type)
  point, _ = go.recall_at_precision_loss(labels, logits, target, lambdas=jnp.ones(2), label_priors=priors,
                                         surrogate_type=surrogate_type)
  close(auc, point)


@pytest.mark.parametrize('surrogate_type', ['xent', 'hinge'])
def test_three_point_auc_is_mean_of_recall_at_precision(surrogate_type):
  labels, logits = random_data(1, (11, 3))
  priors = priors_of(labels)
  auc, _ = go.precision_recall_auc_loss(labels, logits, lambdas=jnp.ones((3, 1)), biases=jnp.zeros((3, 1)),
                                        label_priors=priors, num_anchors=1, surrogate_type=surrogate_type)
  points = [go.recall_at_precision_loss(labels, logits, p, lambdas=jnp.ones(3), label_priors=priors,
                                        surrogate_type=surrogate_type)[0] for p in (0.25, 0.5, 0.75)]
  close(auc, sum(points) / 3)


def test_anchors_and_normalisation():
  values, delta = go.precision_recall_auc_loss.__globals__['anchors']((0.2, 0.8), 5)
  close(values, np.linspace(0.2, 0.8, 7)[1:-1])
  close(delta, 0.1)
  # A perfect, very confident scorer has a PR-AUC loss of about -log 2 * mean prior-weighted term.
  labels = jnp.array([1., 0., 1., 0.])
  priors = jnp.array([0.5])
  loss, _ = go.precision_recall_auc_loss(labels, 50. * (2 * labels - 1), lambdas=jnp.zeros((1, 5)),
                                         biases=jnp.zeros((1, 5)), label_priors=priors, num_anchors=5,
                                         surrogate_type='hinge')
  close(loss, jnp.zeros(4))


# ---- ROC-AUC ----

def test_roc_simple_scores():
  r = np.random.default_rng(2)
  positives = jnp.asarray(3. * r.normal(size=(10, 1)), jnp.float32)
  labels = jnp.asarray([[0.]] + [[1.]] * 10)
  scores = jnp.concatenate([jnp.zeros((1, 1)), positives])
  loss = jnp.sum(go.roc_auc_loss(labels, scores, surrogate_type='hinge')[0])
  close(loss, jnp.sum(jnp.maximum(1. - positives, 0)) / 11)


def test_roc_random_scores_swap_a_quarter():
  r = np.random.default_rng(3)
  scores = jnp.asarray(r.integers(0, 2, size=(500, 6)), jnp.float32)
  labels = jnp.asarray(r.integers(0, 2, size=(500, 6)), jnp.float32)
  loss = jnp.mean(go.roc_auc_loss(labels, scores, surrogate_type='hinge')[0])
  assert abs(float(loss) - 0.25) < 1e-2


@pytest.mark.parametrize('surrogate_type,labels,logits,expected', [
    ('xent', [0., 0., 0., 1., 1., 1.], [-5., -7., -9., 8., 10., 14.], 0.),
    ('hinge', [0., 0., 0., 1., 1., 1.], [-0.2, 0, -0.1, 1.0, 1.1, 1.0], 0.),
    ('xent', [0., 0., 0., 1., 1., 1.], [0., -17., -19., 1., 14., 14.], math.log(1. + math.exp(-1.)) / 6),
    ('hinge', [0., 0., 0., 1., 1., 1.], [-0.2, -0.05, 0.0, 0.95, 0.8, 1.0], 0.4 / 6),
])
def test_roc_manual(surrogate_type, labels, logits, expected):
  loss, _ = go.roc_auc_loss(jnp.array(labels), jnp.array(logits), surrogate_type=surrogate_type)
  close(jnp.sum(loss), expected, atol=1e-6)


def test_roc_multi_label_is_sum_of_labels():
  targets = jnp.array([[0., 0., 1., 1.], [0., 0., 1., 1.]])
  scores = jnp.array([[0.1, 1.0, 1.1, 1.0], [1.0, 0.0, 1.3, 1.1]])
  per_label = sum(jnp.sum(go.roc_auc_loss(targets[i], scores[i])[0]) for i in range(2))
  close(jnp.sum(go.roc_auc_loss(targets.T, scores.T)[0]), per_label)


def test_roc_weights_equal_repeated_examples():
  logits = jnp.array([2.54321, -0.26, 3.334334, -0.6, 1, -1.3, -1.3, -0.6, 1])[:, None]
  targets = jnp.array([1., 1, 1, 0, 0, 0, 0, 0, 0])[:, None]
  weights = jnp.array([1., 1, 1, 0, 0, 0, 2, 2, 2])[:, None]
  close(jnp.sum(go.roc_auc_loss(targets, logits)[0]), jnp.sum(go.roc_auc_loss(targets, logits, weights=weights)[0]))


# ---- constrained losses: special cases ----

def test_recall_at_precision_one_is_cross_entropy():
  labels, logits = random_data(4, (20, 5), 0.7)
  for target in (1.0, jnp.ones(5)):
    loss, _ = go.recall_at_precision_loss(labels, logits, target, lambdas=jnp.ones(5),
                                          label_priors=jnp.full(5, 0.34))
    close(loss, xent(labels, logits))


def test_recall_at_precision_zero_lambdas_is_positives_only():
  labels, logits = random_data(5, (30, 3))
  loss, _ = go.recall_at_precision_loss(labels, logits, 1.0, lambdas=jnp.zeros(3), label_priors=jnp.full(3, 0.45))
  close(loss, go.weighted_sigmoid_cross_entropy(labels, logits, negative_weights=0.))


@pytest.mark.parametrize('fn', ALL_CONSTRAINED)
def test_per_label_targets_equal_single_label_losses(fn):
  labels, logits = random_data(6, (30, 3))
  targets, priors = [0.2, 0.9, 0.4], jnp.array([0.45, 0.8, 0.3])
  multi, _ = fn(labels, logits, jnp.array(targets), lambdas=jnp.ones(3), label_priors=priors)
  single = [fn(labels[:, i:i + 1], logits[:, i:i + 1], targets[i], lambdas=jnp.ones(1),
               label_priors=priors[i:i + 1])[0] for i in range(3)]
  close(multi, jnp.concatenate(single, axis=1))
  equal, _ = fn(labels, logits, jnp.full(3, 0.75), lambdas=jnp.ones(3), label_priors=priors)
  close(equal, fn(labels, logits, 0.75, lambdas=jnp.ones(3), label_priors=priors)[0])


@pytest.mark.parametrize('fn', [go.precision_at_recall_loss, go.false_positive_rate_at_true_positive_rate_loss])
def test_precision_at_recall_special_cases(fn):
  labels, logits = random_data(7, (10, 3))
  loss, _ = fn(labels, logits, 1.0, lambdas=jnp.ones(3), label_priors=priors_of(labels))
  close(loss, xent(labels, logits))
  labels, logits = random_data(8, (8, 4), 0.6)
  loss, _ = fn(labels, logits, 0.61828, lambdas=jnp.zeros(4), label_priors=priors_of(labels),
               surrogate_type='hinge')
  close(loss, go.weighted_hinge(labels, logits, positive_weights=0.))


def test_true_positive_rate_at_false_positive_rate_special_cases():
  labels, logits = random_data(9, (20, 3), 0.6)
  priors = jnp.array([0.2, 0.5, 0.7])
  for s in ('xent', 'hinge'):
    loss, _ = go.true_positive_rate_at_false_positive_rate_loss(labels, logits, 0.3, lambdas=jnp.zeros(3),
                                                                label_priors=priors, surrogate_type=s)
    close(loss, go.weighted_surrogate(labels, logits, s, negative_weights=0.))
    negatives = jnp.zeros_like(logits)
    loss, _ = go.true_positive_rate_at_false_positive_rate_loss(negatives, logits, 0.3, lambdas=jnp.ones(3),
                                                                label_priors=priors, surrogate_type=s)
    log2 = math.log(2.) if s == 'xent' else 1.
    close(loss, go.weighted_surrogate(negatives, logits, s, positive_weights=0.) - 0.3 * (1 - priors) * log2)


# ---- multipliers ----

def test_trainable_dual_variable():
  """One gradient step of 0.5 (x - |y|)^2 at x=2, y=1, rate 0.3: y ascends to 0.7 (the reference's test)."""
  grad = jax.grad(lambda y: 0.5 * jnp.square(2. - go.dual_value(y, 0.3)))(jnp.float32(1.))
  close(1. - 1. * grad, 0.7)
  assert float(go.dual_value(jnp.float32(-1.5), 0.3)) == 1.5
  assert float(jax.grad(lambda y: go.dual_value(y, 0.3))(jnp.float32(0.))) == 0.  # frozen at exactly 0


def multilabel_data():
  targets = jnp.tile(jnp.array([1., 1, 1, 0, 0, 0])[:, None], (1, 2))
  logits = jnp.array([[0.0, 15], [16, 0.0], [14, 0.0], [-17, 0.0], [-15, 0.0], [0.0, -101]])
  return targets, logits, jnp.full(2, 0.5)


def other_multilabel_data(surrogate_type):
  targets = jnp.tile(jnp.array([1.] * 6 + [0.] * 6)[:, None], (1, 2))
  cost_2 = 1.0 if surrogate_type == 'hinge' else 1.09861229
  logits = jnp.array([[0.0, 13], [12, 0.0], [15, 0.0], [0.0, 30], [13, 0.0], [18, 0.0],
                      [-16, cost_2], [-15, cost_2], [cost_2, -111], [-133, -14], [-14.0100101, -16],
                      [-19.888828882, -101]])
  return targets, logits, jnp.full(2, 0.5)


UPDATE_DIRECTION = [(fn, target, rate) for fn, rate in zip(ALL_CONSTRAINED, (0.1, 1.0, 0.1, 0.1))
                    for target in ((0.35, 0.65) if fn is not go.precision_at_recall_loss else (0.34, 0.66))]
UPDATE_DIRECTION += [(fn, jnp.array([0.65, 0.35]), rate) for fn, rate in zip(ALL_CONSTRAINED, (0.1, 1.0, 0.1, 0.1))]


@pytest.mark.parametrize('surrogate_type', ['xent', 'hinge'])
@pytest.mark.parametrize('fn,target,rate', UPDATE_DIRECTION)
def test_lagrange_multiplier_update_direction(fn, target, rate, surrogate_type):
  """The constraint holds on label 0 (its multiplier falls) and fails on label 1 (it rises)."""
  for targets, logits, priors in (multilabel_data(), other_multilabel_data(surrogate_type)):
    def total(lam):
      return jnp.sum(fn(targets, logits, target, lambdas=lam, label_priors=priors, dual_rate_factor=rate,
                        surrogate_type=surrogate_type)[0])
    after = jnp.ones(2) - 0.1 * jax.grad(total)(jnp.ones(2))
    assert after[0] < 1. < after[1]


@pytest.mark.parametrize('surrogate_type', ['xent', 'hinge'])
@pytest.mark.parametrize('target', [0.35, 0.65])
def test_pr_auc_lagrange_multiplier_update_direction(target, surrogate_type):
  for targets, logits, priors in (multilabel_data(), other_multilabel_data(surrogate_type)):
    def total(lam):
      return jnp.sum(go.precision_recall_auc_loss(
          targets, logits, lambdas=lam, biases=jnp.zeros((2, 1)), label_priors=priors,
          precision_range=(target - 0.01, target + 0.01), num_anchors=1, surrogate_type=surrogate_type)[0])
    after = jnp.ones((2, 1)) - 0.1 * jax.grad(total)(jnp.ones((2, 1)))
    assert after[0, 0] < 1. < after[1, 0]


# ---- bounds ----

@pytest.mark.parametrize('surrogate_type,weights,expected', [
    ('xent', 1.0, [2.0, 1.0]),
    ('xent', np.array([0, 2, 0.5, 1, 2, 3]).reshape(6, 1), [2.5, 0]),
    ('hinge', 1.0, [2.0, 1.0]),
    ('hinge', np.array([1.0, 2, 3, 4, 5, 6]).reshape(6, 1), [5.0, 1])])
def test_true_positives_lower_bound(surrogate_type, weights, expected):
  labels, logits, _ = multilabel_data()
  close(go.true_positives_lower_bound(labels, logits, weights, surrogate_type), expected, atol=1e-5)


@pytest.mark.parametrize('surrogate_type,weights,expected', [
    ('xent', 1.0, [1.0, 2.0]),
    ('xent', np.array([3.0, 2, 1, 0, 1, 2]).reshape(6, 1), [2.0, 1.0]),
    ('hinge', 1.0, [1.0, 2.0]),
    ('hinge', np.array([13, 12, 11, 0.5, 0, 0.5]).reshape(6, 1), [0.5, 0.5])])
def test_false_positives_upper_bound(surrogate_type, weights, expected):
  labels, logits, _ = multilabel_data()
  close(go.false_positives_upper_bound(labels, logits, weights, surrogate_type), expected, atol=1e-5)


@pytest.mark.parametrize('surrogate_type', ['xent', 'hinge'])
def test_bounds_other_data(surrogate_type):
  labels, logits, _ = other_multilabel_data(surrogate_type)
  close(go.true_positives_lower_bound(labels, logits, 1., surrogate_type), [4., 2.], atol=1e-5)
  close(go.false_positives_upper_bound(labels, logits, 1., surrogate_type), [2., 4.], atol=1e-5)


# ---- weights and shapes ----

WEIGHTED = [(go.precision_recall_auc_loss, dict(precision_range=(0., 1.), surrogate_type='xent')),
            (go.precision_recall_auc_loss, dict(precision_range=(0.5, 1.), surrogate_type='xent')),
            (go.precision_recall_auc_loss, dict(precision_range=(0., 1.), surrogate_type='hinge')),
            (go.recall_at_precision_loss, dict(target=0.4, surrogate_type='xent')),
            (go.recall_at_precision_loss, dict(target=0.7, surrogate_type='hinge')),
            (go.false_positive_rate_at_true_positive_rate_loss, dict(target=0.66, surrogate_type='xent')),
            (go.false_positive_rate_at_true_positive_rate_loss, dict(target=0.36, surrogate_type='hinge')),
            (go.true_positive_rate_at_false_positive_rate_loss, dict(target=0.76, surrogate_type='xent'))]


def call(fn, labels, logits, lambdas, kw, weights=1.):
  kw = dict(kw)
  if fn is go.precision_recall_auc_loss:
    return fn(labels, logits, lambdas=lambdas, biases=jnp.zeros((1, 20)), label_priors=jnp.array([1 / 3]),
              weights=weights, **kw)[0]
  target = kw.pop('target')
  return fn(labels, logits, target, lambdas=lambdas, label_priors=jnp.array([1 / 3]), weights=weights, **kw)[0]


@pytest.mark.parametrize('fn,kw', WEIGHTED)
def test_weights_equal_repeated_examples(fn, kw):
  """Weights 0 and 2 on repeated negatives: the same loss, logit gradients and multiplier step."""
  logits = jnp.array([1, -0.5, 3, -0.5, 1, -1, -1, -0.5, 1])[:, None]
  targets = jnp.array([1., 1, 1, 0, 0, 0, 0, 0, 0])[:, None]
  weights = jnp.array([1., 1, 1, 0, 0, 0, 2, 2, 2])[:, None]
  lam = jnp.ones((1, 20)) if fn is go.precision_recall_auc_loss else jnp.ones(1)
  plain = jax.value_and_grad(lambda s, l: jnp.sum(call(fn, targets, s * logits, l, kw)), (0, 1))
  weighted = jax.value_and_grad(lambda s, l: jnp.sum(call(fn, targets, s * logits, l, kw, weights)), (0, 1))
  (v1, g1), (v2, g2) = plain(1., lam), weighted(1., lam)
  close(v1, v2)
  close(g1[0], g2[0])
  close(g1[1], g2[1])


@pytest.mark.parametrize('fn,kw', WEIGHTED + [(go.roc_auc_loss, {})])
def test_vector_and_matrix_labels_are_equivalent(fn, kw):
  labels, logits = jnp.array([1., 1., 0., 0.]), jnp.array([1.0, 0.1, 0.1, -1.0])
  lam = jnp.ones((1, 20)) if fn is go.precision_recall_auc_loss else jnp.ones(1)
  if fn is go.roc_auc_loss:
    vector, matrix = fn(labels, logits)[0], fn(labels[:, None], logits[:, None])[0]
  else:
    vector, matrix = call(fn, labels, logits, lam, kw), call(fn, labels[:, None], logits[:, None], lam, kw)
  assert vector.ndim == 1 and matrix.ndim == 2
  close(jnp.sum(vector), jnp.sum(matrix))


def test_label_priors_include_the_batch_and_broadcast_batch_weights():
  state = go.init_label_priors(3, positive_pseudocount=2., negative_pseudocount=1.)
  labels = jnp.array([[1., 0., 1.], [0., 0., 1.]])
  state, priors = go.update_label_priors(state, labels, jnp.array([2., 1.]))
  close(state.weighted_label_counts, [4., 2., 5.])
  close(state.weight_sum, [6., 6., 6.])
  close(priors, [4 / 6, 2 / 6, 5 / 6])
  state, priors = go.update_label_priors(state, labels, 0.5)  # a scalar adds 0.5 * batch
  close(state.weight_sum, [7., 7., 7.])
  assert jax.grad(lambda w: jnp.sum(go.update_label_priors(state, labels, w)[1]))(1.) == 0.


# ---- bad input ----

def rap(**kw):
  args = dict(labels=jnp.ones((4, 3)), logits=jnp.zeros((4, 3)), target_precision=0.9, lambdas=jnp.ones(3),
              label_priors=jnp.full(3, 0.5))
  args.update(kw)
  return go.recall_at_precision_loss(**args)


def prauc(**kw):
  args = dict(labels=jnp.ones((4, 3)), logits=jnp.zeros((4, 3)), lambdas=jnp.ones((3, 5)),
              biases=jnp.zeros((3, 5)), label_priors=jnp.full(3, 0.5), num_anchors=5)
  args.update(kw)
  return go.precision_recall_auc_loss(**args)


@pytest.mark.parametrize('call_fn,kw,message', [
    (rap, dict(surrogate_type='log'), "surrogate_type must be 'xent' or 'hinge', got 'log'"),
    (prauc, dict(surrogate_type='sigmoid'), "surrogate_type must be 'xent' or 'hinge'"),
    (lambda **kw: go.roc_auc_loss(jnp.ones(3), jnp.ones(3), **kw), dict(surrogate_type='x'), 'surrogate_type'),
    (prauc, dict(precision_range=(0.8, 0.2)), r'precision_range must be increasing within \[0, 1\].*\(0.8, 0.2\)'),
    (prauc, dict(precision_range=(0.5, 0.5)), 'precision_range must be increasing'),
    (prauc, dict(precision_range=(-0.1, 0.5)), 'precision_range must be increasing'),
    (prauc, dict(precision_range=(0.1, 1.2)), 'precision_range must be increasing'),
    (prauc, dict(precision_range=(0.1,)), r'precision_range must be a pair'),
    (prauc, dict(num_anchors=0), 'num_anchors must be an int >= 1, got 0'),
    (rap, dict(target_precision=1.5), r'target_precision must be in \[0, 1\], got 1.5'),
    (rap, dict(target_precision=jnp.array([0.5, -0.1, 0.2])), r'target_precision must be in \[0, 1\]'),
    (rap, dict(target_precision=jnp.array([0.5, 0.5])), r'target_precision must be a scalar or of shape \[num_labels\] = \(3,\), got \(2,\)'),
    (lambda **kw: go.precision_at_recall_loss(jnp.ones(4), jnp.ones(4), 2., lambdas=jnp.ones(1),
                                              label_priors=jnp.ones(1)), {}, 'target_recall must be in'),
    (lambda **kw: go.true_positive_rate_at_false_positive_rate_loss(
        jnp.ones(4), jnp.ones(4), -1., lambdas=jnp.ones(1), label_priors=jnp.ones(1)), {}, 'target_rate must be in'),
    (rap, dict(labels=jnp.ones(4), logits=jnp.zeros((4, 1)), lambdas=jnp.ones(1), label_priors=jnp.ones(1)),
     r'labels and logits must have the same shape, got labels \(4,\) and logits \(4, 1\)'),
    (lambda **kw: go.roc_auc_loss(jnp.ones((4, 1)), jnp.ones(4)), {}, 'labels and logits must have the same shape'),
    (rap, dict(lambdas=jnp.ones(1)), r'lambdas must have shape \[num_labels\] = \(3,\), got \(1,\)'),
    (rap, dict(lambdas=jnp.ones((3, 1))), r'lambdas must have shape \[num_labels\] = \(3,\), got \(3, 1\)'),
    (prauc, dict(lambdas=jnp.ones((3, 4))), r'lambdas must have shape \[num_labels, num_anchors\] = \(3, 5\), got \(3, 4\)'),
    (prauc, dict(biases=jnp.zeros((1, 5))), r'biases must have shape \[num_labels, num_anchors\] = \(3, 5\), got \(1, 5\)'),
    (rap, dict(weights=jnp.ones((4, 2))), r'weights must be a scalar or of shape \[batch\].*got \(4, 2\)'),
    (rap, dict(label_priors=jnp.ones(2)), r'label_priors must be a scalar or of shape \[num_labels\] = \(3,\), got \(2,\)'),
    (rap, dict(labels=jnp.ones((2, 2, 3)), logits=jnp.ones((2, 2, 3))), r'logits must have shape \[batch\] or \[batch, num_labels\]'),
])
def test_bad_input(call_fn, kw, message):
  with pytest.raises(ValueError, match=message):
    call_fn(**kw)


def test_bad_input_is_a_trace_time_error_under_jit():
  with pytest.raises(ValueError, match=r'lambdas must have shape \[num_labels\] = \(3,\), got \(1,\)'):
    jax.jit(lambda lam: rap(lambdas=lam))(jnp.ones(1))
  with pytest.raises(ValueError, match='labels and logits must have the same shape'):
    jax.jit(lambda y, x: go.roc_auc_loss(y, x))(jnp.ones(3), jnp.ones((3, 1)))


@pytest.mark.parametrize('fn,kw,message', [
    (go.init_label_priors, dict(num_labels=0), 'num_labels must be an int >= 1, got 0'),
    (go.init_label_priors, dict(num_labels=2, positive_pseudocount=-1.), 'positive_pseudocount must be >= 0'),
    (go.init_label_priors, dict(num_labels=2, positive_pseudocount=0., negative_pseudocount=0.),
     'positive_pseudocount \\+ negative_pseudocount must be > 0'),
    (lambda **kw: go.update_label_priors(go.init_label_priors(2), jnp.ones((4, 3))), {},
     r'labels have 3 labels \(shape \(4, 3\)\), but the label priors state counts 2'),
    (lambda **kw: go.update_label_priors(go.init_label_priors(2), jnp.ones((4, 2)), jnp.ones(3)), {},
     r'weights must be a scalar or of shape \[batch\] = \(4,\)'),
])
def test_bad_label_priors_input(fn, kw, message):
  with pytest.raises(ValueError, match=message):
    fn(**kw)
