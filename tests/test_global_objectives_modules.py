"""Objective objects, their config strings, and the Linen and NNX modules holding their variables."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from flaxheads import global_objectives as go

LABELS = jnp.array([[1., 0.], [0., 0.], [1., 1.], [0., 1.]])
LOGITS = jnp.array([[0.5, -1.], [0.2, 0.3], [-0.4, 2.], [1., -0.5]])
WEIGHTS = jnp.array([1., 2., 0.5, 1.])


@pytest.mark.parametrize('objective', [
    go.RecallAtPrecision(0.8), go.PrecisionAtRecall((0.6, 0.9), surrogate_type='hinge'),
    go.FalsePositiveRateAtTruePositiveRate(0.7), go.TruePositiveRateAtFalsePositiveRate(0.1, dual_rate_factor=1.),
    go.PrecisionRecallAUC(precision_range=(0.2, 0.9), num_anchors=4), go.ROCAUC()])
def test_linen_module_is_the_loss_with_priors_updated(objective):
  module = go.GlobalObjectiveLoss(objective, num_labels=2)
  variables = module.init(jax.random.key(0), LABELS, LOGITS, WEIGHTS)
  assert set(variables) == ({'params', 'label_priors'} if objective.init_params(2) else {'label_priors'})
  np.testing.assert_array_equal(variables['label_priors']['weight_sum'], [2., 2.])  # init adds nothing
  (loss, _), updates = module.apply(variables, LABELS, LOGITS, WEIGHTS, mutable=['label_priors'])
  state, priors = go.update_label_priors(go.init_label_priors(2), LABELS, WEIGHTS)
  expected, _ = objective.loss(LABELS, LOGITS, objective.init_params(2), priors, WEIGHTS)
  np.testing.assert_allclose(loss, expected, rtol=1e-6)
  np.testing.assert_allclose(updates['label_priors']['weight_sum'], state.weight_sum)
  # Not mutable: the stored priors are read, nothing is counted.
  loss_eval, _ = module.apply({**variables, **updates}, LABELS, LOGITS, WEIGHTS)
  expected, _ = objective.loss(LABELS, LOGITS, objective.init_params(2), priors, WEIGHTS)
  np.testing.assert_allclose(loss_eval, expected, rtol=1e-6)


def test_nnx_module_ascends_on_the_multipliers():
  module = go.NNXGlobalObjectiveLoss('recall_at_precision(target_precision=0.99)', num_labels=2)
  optimizer = nnx.Optimizer(module, optax.sgd(1.), wrt=nnx.Param)

  @nnx.jit
  def step(module, optimizer):
    def objective(m):
      return jnp.mean(m(LABELS, LOGITS)[0])
    grads = nnx.grad(objective)(module)
    optimizer.update(module, grads)

  step(module, optimizer)
  np.testing.assert_array_equal(module.weight_sum[...], [6., 6.])
  assert np.all(module.lambdas[...] > 1.)  # precision 0.99 is far out of reach: the multipliers rise
  module.eval()
  module(LABELS, LOGITS)
  np.testing.assert_array_equal(module.weight_sum[...], [6., 6.])  # eval mode reads, never counts


def test_parse():
  assert go.parse('precision_recall_auc(precision_range=(0.5, 1.0), num_anchors=5)') == go.PrecisionRecallAUC(
      precision_range=(0.5, 1.), num_anchors=5)
  assert go.parse('roc_auc') == go.ROCAUC()
  assert hash(go.parse('recall_at_precision(target_precision=[0.5, 0.7])')) == hash(go.RecallAtPrecision((0.5, 0.7)))


@pytest.mark.parametrize('spec,message', [
    ('recall_at_precision(0.9)', 'must read "name\\(keyword=value, ...\\)"'),
    ('f1(beta=1)', "unknown global objective 'f1'; choose from recall_at_precision"),
    ('recall_at_precision(target=0.9)', "unexpected keyword argument 'target'"),
    ('recall_at_precision(target_precision=1.9)', r'target_precision must be in \[0, 1\]'),
    ('precision_recall_auc(num_anchors=0)', 'num_anchors must be an int >= 1'),
    ('roc_auc(surrogate_type="log")', "surrogate_type must be 'xent' or 'hinge'"),
    ('precision_at_recall(target_recall=0.5, dual_rate_factor=-1.0)', 'dual_rate_factor must be >= 0'),
])
def test_bad_objective(spec, message):
  with pytest.raises(ValueError, match=message):
    go.parse(spec)
