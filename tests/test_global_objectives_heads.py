"""Heads trained on a global objective: train step, sharded step, the CLI and resuming."""

import os
import subprocess
import sys
import textwrap

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flaxheads as fh
from flaxheads import global_objectives as go
from flaxheads.job import cli, reporting, runner
from flaxheads.job import config as config_lib


class Linear(nn.Module):
  features: int

  @nn.compact
  def __call__(self, x, train=False):
    return nn.Dense(self.features)(x)


def data(n_labels, seed=0, batch=16):
  r = np.random.default_rng(seed)
  x = r.normal(size=(batch, 5)).astype(np.float32)
  y = (x[:, :n_labels] + r.normal(size=(batch, n_labels)) > 1.).astype(np.int32)
  w = r.uniform(0.5, 2., size=batch).astype(np.float32)
  return x, y, w


def make_state(head, x, lr=0.1):
  model = go.with_global_objective(Linear(head.logits_dimension), head)
  variables = model.init(jax.random.key(0), x)
  return fh.TrainState.create(apply_fn=model.apply, variables=variables, tx=optax.sgd(lr))


class DictLinear(nn.Module):
  features: int

  @nn.compact
  def __call__(self, features, train=False):
    return nn.Dense(self.features)(features['x'])


@pytest.mark.parametrize('head', [
    fh.BinaryClassHead(weight_column='w', global_objective='recall_at_precision(target_precision=0.9)'),
    fh.MultiLabelHead(3, weight_column='w', global_objective=go.PrecisionAtRecall((0.5, 0.8, 0.9))),
    fh.MultiLabelHead(3, loss_reduction='sum', global_objective=go.PrecisionRecallAUC(num_anchors=4))])
def test_train_step_is_one_gradient_step_on_the_objective(head):
  n = head.logits_dimension
  x, y, w = data(n)
  features, labels = {'x': x, 'w': w}, (y[:, 0] if n == 1 else y)
  model = go.with_global_objective(DictLinear(n), head)
  state = fh.TrainState.create(apply_fn=model.apply, variables=model.init(jax.random.key(0), features),
                               tx=optax.sgd(0.1))
  new, out = jax.jit(head.train_step)(state, features, labels)
  weights = w if head.weight_column is not None else 1.
  counts, priors = go.update_label_priors(go.init_label_priors(n), y.astype(np.float32), weights)

  def expected_loss(params):
    logits = state.apply_fn({'params': params}, features)
    loss, _ = head.global_objective.loss(y.astype(np.float32), logits, params['global_objective'], priors, weights)
    return jnp.sum(loss) if head.loss_reduction == fh.LossReduction.SUM else jnp.mean(loss)

  value, grads = jax.value_and_grad(expected_loss)(state.params)
  np.testing.assert_allclose(out.loss, value, rtol=1e-5)
  expected = jax.tree.map(lambda p, g: p - 0.1 * g, state.params, grads)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), new.params, expected)
  stored = new.model_state['label_priors']['global_objective']
  np.testing.assert_allclose(stored['weighted_label_counts'], counts.weighted_label_counts)
  np.testing.assert_allclose(stored['weight_sum'], counts.weight_sum)
  # Evaluation stays the head's own (its loss is sigmoid cross-entropy).
  metrics = fh.metrics.results(jax.jit(head.eval_step)(new, head.metrics(), features, labels))
  assert 'auc' in metrics and 'average_loss' in metrics


def test_multipliers_ascend_when_the_constraint_fails():
  head = fh.BinaryClassHead(global_objective=go.RecallAtPrecision(0.999, dual_rate_factor=1.))
  x, y, _ = data(1)
  state = make_state(head, x)
  for _ in range(3):
    state, _ = jax.jit(head.train_step)(state, x, y[:, 0])
  assert float(state.params['global_objective']['lambdas'][0]) > 1.


def test_bad_configuration():
  with pytest.raises(ValueError, match=r'target_recall must be a float or 3 values \(one per label\), got 2'):
    fh.MultiLabelHead(3, global_objective=go.PrecisionAtRecall((0.5, 0.8)))
  with pytest.raises(ValueError, match='unknown global objective'):
    fh.BinaryClassHead(global_objective='accuracy')
  head = fh.BinaryClassHead(global_objective=go.ROCAUC())
  x, y, _ = data(1)
  variables = Linear(1).init(jax.random.key(0), x)  # not wrapped: no objective variables
  state = fh.TrainState.create(apply_fn=Linear(1).apply, variables=variables, tx=optax.sgd(0.1))
  with pytest.raises(ValueError, match='build the model with global_objectives.with_global_objective'):
    head.train_step(state, x, y[:, 0])
  with pytest.raises(ValueError, match='BinaryClassHead inside MultiHead has a global objective'):
    fh.MultiHead([fh.BinaryClassHead(name='a', global_objective=go.ROCAUC()), fh.BinaryClassHead(name='b')])
  with pytest.raises(ValueError, match='BinaryClassHead inside SequentialHeadWrapper has a global objective'):
    fh.SequentialHeadWrapper(fh.BinaryClassHead(global_objective=go.ROCAUC()))


SHARDED = textwrap.dedent('''
    import jax, jax.numpy as jnp, numpy as np, optax, flax.linen as nn
    from jax.sharding import PartitionSpec as P
    import flaxheads as fh
    from flaxheads import global_objectives as go

    class Linear(nn.Module):
      @nn.compact
      def __call__(self, x, train=False):
        return nn.Dense(2)(x)

    head = fh.MultiLabelHead(2, global_objective=go.RecallAtPrecision((0.8, 0.6)))
    r = np.random.default_rng(0)
    x = r.normal(size=(32, 5)).astype(np.float32)
    y = (x[:, :2] > 0.7).astype(np.int32)
    model = go.with_global_objective(Linear(), head)
    state = fh.TrainState.create(apply_fn=model.apply, variables=model.init(jax.random.key(0), x),
                                 tx=optax.sgd(0.5))
    mesh = jax.make_mesh((8,), ('d',))
    sharded = jax.jit(jax.shard_map(lambda s, x, y: head.train_step(s, x, y, axis_name='d')[0], mesh=mesh,
                                    in_specs=(P(), P('d'), P('d')), out_specs=P()))
    single = jax.jit(head.train_step)
    put = lambda v, spec: jax.device_put(v, jax.sharding.NamedSharding(mesh, spec))
    a, b, xs, ys = put(state, P()), state, put(x, P('d')), put(y, P('d'))
    for _ in range(3):
      a, b = sharded(a, xs, ys), single(b, x, y)[0]
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), a.params, b.params)
    counts = a.model_state['label_priors']['global_objective']
    np.testing.assert_allclose(counts['weight_sum'], [2 + 3 * 32] * 2)
    jax.tree.map(np.testing.assert_allclose, a.model_state, b.model_state)
    print('ok')
''')


@pytest.mark.slow
def test_sharded_step_counts_the_global_batch():
  flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8".strip()
  env = {**os.environ, 'XLA_FLAGS': flags, 'JAX_PLATFORMS': 'cpu'}
  result = subprocess.run([sys.executable, '-c', SHARDED], env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0 and result.stdout.strip() == 'ok', result.stderr[-3000:]


CONFIG = str(config_lib.CONFIG_DIR / 'global_objectives.py')
ARGS = ['--config.train_steps=6', '--config.eval_every=3', '--config.checkpoint_every=3',
        '--config.progress_bar=false', '--config.plots=false']


@pytest.mark.slow
def test_cli_trains_and_resumes_to_the_uninterrupted_result(tmp_path):
  whole, parts = tmp_path / 'whole', tmp_path / 'parts'
  assert cli.main(['train', '--config', CONFIG, '--workdir', str(whole), *ARGS]) == 0
  assert cli.main(['train', '--config', CONFIG, '--workdir', str(parts), *ARGS, '--config.train_steps=3']) == 0
  assert cli.main(['train', '--config', CONFIG, '--workdir', str(parts), *ARGS]) == 0
  assert reporting.read_metrics(parts)[-1] == reporting.read_metrics(whole)[-1]
  overrides = [a[len('--config.'):] for a in ARGS]
  job = runner.setup(config_lib.load(CONFIG, overrides))
  a, b = runner.restore(job, parts), runner.restore(job, whole)
  assert int(a.step) == 6
  jax.tree.map(np.testing.assert_array_equal, a.params, b.params)
  jax.tree.map(np.testing.assert_array_equal, a.model_state, b.model_state)
  np.testing.assert_array_equal(a.model_state['label_priors']['global_objective']['weight_sum'],
                                [2. + 6 * job.config.batch_size])
