"""Train, eval and predict steps with Linen and NNX models (single device)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax.training import train_state as flax_train_state

import flaxheads as fh


class LinenBN(nn.Module):
  """Bias-free layer before BatchNorm, as real BatchNorm models are."""
  outputs: int

  @nn.compact
  def __call__(self, features, train: bool):
    x = nn.Dense(16, use_bias=False)(features['x'])
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
    return nn.Dense(self.outputs)(nn.relu(x))


class NnxBN(nnx.Module):

  def __init__(self, outputs, rngs):
    self.dense = nnx.Linear(4, 16, use_bias=False, rngs=rngs)
    self.bn = nnx.BatchNorm(16, momentum=0.9, rngs=rngs)
    self.out = nnx.Linear(16, outputs, rngs=rngs)

  def __call__(self, features):
    return self.out(nnx.relu(self.bn(self.dense(features['x']))))


def data(n=64, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 4)).astype(np.float32) * 3 + 1
  labels = (x[:, 0] - x[:, 1] > 0).astype(np.int32)
  return {'x': x, 'w': rng.uniform(0.5, 2., n).astype(np.float32)}, labels


def linen_state(head, tx=optax.adam(1e-2)):
  features, _ = data()
  model = LinenBN(head.logits_dimension)
  variables = model.init(jax.random.key(0), features, train=False)
  return fh.TrainState.create(apply_fn=model.apply, variables=variables, tx=tx)


def nnx_state(head, tx=optax.adam(1e-2)):
  return fh.TrainState.from_nnx(NnxBN(head.logits_dimension, nnx.Rngs(0)), tx)


@pytest.mark.parametrize('make_state', [linen_state, nnx_state], ids=['linen', 'nnx'])
def test_training_updates_params_and_batch_statistics_and_eval_uses_them(make_state):
  head = fh.BinaryClassHead(weight_column='w')
  state = make_state(head)
  features, labels = data()
  step = jax.jit(head.train_step)
  initial_stats = jax.tree.leaves(state.model_state)
  losses = []
  for _ in range(20):
    state, out = step(state, features, labels)
    losses.append(float(out.loss))
  assert int(state.step) == 20
  assert losses[-1] < losses[0] * 0.7
  stats = jax.tree.leaves(state.model_state)
  assert any(not np.allclose(a, b) for a, b in zip(stats, initial_stats))
  metrics = jax.jit(head.eval_step)(state, head.metrics(), features, labels)
  results = fh.metrics.results(metrics)
  assert results['accuracy'] > 0.8
  # Eval runs in inference mode: it uses the running statistics, not the batch's.
  shifted = {'x': features['x'][:8], 'w': features['w'][:8]}
  full = jax.jit(head.predict_step)(state, features).predictions['logits'][:8]
  np.testing.assert_allclose(jax.jit(head.predict_step)(state, shifted).predictions['logits'], full, rtol=1e-5)


def flax_dense_state(x):
  """A ``flax.training`` ``TrainState`` of a Dense layer, its apply in the Linen convention."""
  model = nn.Dense(1)
  return flax_train_state.TrainState.create(apply_fn=lambda v, f, train, rngs=None, mutable=False:
                                            (model.apply(v, f), {}) if mutable else model.apply(v, f),
                                            params=model.init(jax.random.key(0), x)['params'],
                                            tx=optax.sgd(0.1))


def test_flax_train_state_is_accepted():
  head = fh.RegressionHead()
  x = jnp.ones((4, 3))
  state = flax_dense_state(x)
  new, out = jax.jit(head.train_step)(state, x, jnp.zeros(4))
  assert isinstance(new, flax_train_state.TrainState) and int(new.step) == 1
  assert float(out.loss) > 0.


def test_train_op_fn_replaces_the_optimizer():
  head = fh.RegressionHead()
  state = linen_state(head, tx=None)
  features, labels = data()

  def sgd(state, grads):
    return state.replace(params=jax.tree.map(lambda p, g: p - 0.1 * g, state.params, grads))

  new, _ = head.train_step(state, features, labels.astype(np.float32), train_op_fn=sgd)
  assert int(new.step) == 1
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), new.params, state.params)
  assert any(jax.tree.leaves(changed))
  with pytest.raises(ValueError, match='train_op_fn and optimizer cannot both be None'):
    head.train_step(state, features, labels)
  with pytest.raises(ValueError, match='train_op_fn and optimizer cannot both be set'):
    head.train_step(linen_state(head), features, labels, train_op_fn=sgd)


def test_regularization_from_params_and_sown_losses():

  class Sowing(nn.Module):

    @nn.compact
    def __call__(self, features, train):
      dense = nn.Dense(1)
      self.sow('losses', 'activity', 0.5 * jnp.ones(()))
      return dense(features)

  head = fh.RegressionHead()
  model = Sowing()
  x = jnp.ones((4, 3))
  state = fh.TrainState.create(apply_fn=model.apply, variables=model.init(jax.random.key(0), x, False),
                               tx=optax.sgd(0.))
  l2 = lambda params: 0.25 * sum(jnp.sum(p ** 2) for p in jax.tree.leaves(params))
  _, out = jax.jit(lambda s: head.train_step(s, x, jnp.zeros(4), regularization_fn=l2))(state)
  expected_reg = 0.5 + l2(state.params)
  np.testing.assert_allclose(out.regularization_loss, expected_reg, rtol=1e-6)
  np.testing.assert_allclose(out.loss, out.unregularized_loss + expected_reg, rtol=1e-6)
  assert 'losses' not in state.model_state


def test_optimizer_gets_the_loss_value():
  head = fh.RegressionHead()
  tx = optax.chain(optax.sgd(0.1), optax.contrib.reduce_on_plateau(patience=1, factor=0.5))
  state = linen_state(head, tx)
  features, labels = data()
  state, _ = jax.jit(head.train_step)(state, features, labels.astype(np.float32))
  assert int(state.step) == 1


def test_nonfinite_loss_is_skipped_with_the_step_count_advanced():
  head = fh.RegressionHead()
  state = linen_state(head)
  features, labels = data()
  bad = labels.astype(np.float32) * np.nan
  skipped, out = jax.jit(lambda s: head.train_step(s, features, bad, nonfinite='skip'))(state)
  assert not bool(out.finite) and int(skipped.step) == 1 and int(skipped.nonfinite_step) == -1
  for a, b in zip(jax.tree.leaves(skipped.params), jax.tree.leaves(state.params)):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('make_state', [linen_state, nnx_state], ids=['linen', 'nnx'])
def test_default_step_records_the_first_nonfinite_step_and_the_host_check_names_it(make_state):
  head = fh.RegressionHead()
  features, labels = data()
  good, bad = labels.astype(np.float32), labels.astype(np.float32) * np.nan
  step = jax.jit(head.train_step)
  state = make_state(head)
  for _ in range(2):
    state, out = step(state, features, good)
  fh.raise_if_nonfinite(state)  # finite so far: no error
  assert bool(out.finite) and int(state.nonfinite_step) == -1
  state, out = step(state, features, bad)
  assert not bool(out.finite) and int(state.nonfinite_step) == 2 and int(state.step) == 3
  for _ in range(2):  # later steps, finite or not, keep the first one
    state, _ = step(state, features, good)
  assert int(state.nonfinite_step) == 2
  with pytest.raises(fh.NonFiniteLossError, match='Non-finite loss or gradients at step 2;') as raised:
    fh.raise_if_nonfinite(state)
  assert raised.value.step == 2 and isinstance(raised.value, FloatingPointError)


def test_default_step_with_a_flax_train_state_raises_through_a_callback():
  head = fh.RegressionHead()
  x = jnp.ones((4, 3))
  state = flax_dense_state(x)
  with pytest.raises(Exception, match='Non-finite loss or gradients at step 0'):
    new, _ = jax.jit(head.train_step)(state, x, jnp.full(4, jnp.nan))
    jax.block_until_ready(new)


def test_predict_step_returns_the_heads_predictions():
  head = fh.MultiClassHead(3)
  state = linen_state(head)
  features, _ = data()
  predictions, export_outputs = jax.jit(head.predict_step)(state, features)
  assert set(predictions) == {'logits', 'probabilities', 'class_ids', 'all_class_ids'}
  assert set(export_outputs) == {'serving_default', 'classification', 'predict'}
  np.testing.assert_array_equal(export_outputs['classification']['scores'], predictions['probabilities'])


def test_composite_heads_train():
  features, labels = data()
  multi = fh.MultiHead([fh.BinaryClassHead(name='b', weight_column='w'), fh.RegressionHead(name='r')])
  state = linen_state(multi)
  both = {'b': labels, 'r': features['x'][:, 2]}
  for _ in range(3):
    state, out = jax.jit(multi.train_step)(state, features, both)
  assert np.isfinite(float(out.loss))
  metrics = jax.jit(multi.eval_step)(state, multi.metrics(), features, both)
  assert {'loss/b', 'loss/r', 'auc/b', 'average_loss/r'} <= set(metrics)

  class PerStep(nn.Module):

    @nn.compact
    def __call__(self, features, train):
      return nn.Dense(3)(features['x'])

  sequential = fh.SequentialHeadWrapper(fh.MultiClassHead(3), 'mask')
  x = np.random.default_rng(0).normal(size=(4, 5, 2)).astype(np.float32)
  seq_features = {'x': x, 'mask': np.arange(5)[None, :] < np.array([[5], [3], [1], [0]])}
  model = PerStep()
  state = fh.TrainState.create(apply_fn=model.apply, variables=model.init(jax.random.key(0), seq_features, False),
                               tx=optax.adam(1e-2))
  tags = (x[..., 0] > 0).astype(np.int32)
  state, out = jax.jit(sequential.train_step)(state, seq_features, tags)
  assert np.isfinite(float(out.loss))
  assert jax.jit(sequential.predict_step)(state, seq_features).predictions['probabilities'].shape == (4, 5, 3)


def test_nan_gradients_under_a_finite_loss_are_caught_unless_applied():
  head = fh.RegressionHead()
  state = linen_state(head)
  features, labels = data()
  # Value 0, gradient 0 * inf = NaN.
  nan_gradient = lambda params: sum(jnp.sum(jnp.sqrt(jnp.abs(p) * 0)) for p in jax.tree.leaves(params))
  step = lambda s, nonfinite: head.train_step(s, features, labels, regularization_fn=nan_gradient,
                                              nonfinite=nonfinite)
  kept, out = jax.jit(step, static_argnums=1)(state, 'skip')
  assert np.isfinite(float(out.loss)) and not bool(out.finite)
  for a, b in zip(jax.tree.leaves(kept.params), jax.tree.leaves(state.params)):
    np.testing.assert_array_equal(a, b)
  applied, out = jax.jit(step, static_argnums=1)(state, 'apply')
  assert not bool(out.finite)
  assert np.isnan(jax.tree.leaves(applied.params)[0]).any()
