"""MultiHead: configuration errors, logits and labels handling, streaming metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh

BINARY = fh.BinaryClassHead(name='b')
MULTI = fh.MultiClassHead(3, name='m')
REGRESSION = fh.RegressionHead(2, name='r')


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(heads=[]), ValueError, 'Must specify heads'),
    (dict(heads=[fh.BinaryClassHead()]), ValueError, 'All given heads must have name specified'),
    (dict(heads=[BINARY, fh.BinaryClassHead(name='b')]), ValueError, r"unique; \['b'\]"),
    (dict(heads=[BINARY, MULTI], head_weights=[1.]), ValueError,
     'Given len\\(heads\\): 2. Given len\\(head_weights\\): 1'),
    (dict(heads=[BINARY, MULTI], head_weights=[1., 2.], loss_aggregation_fn=max), ValueError,
     'either head_weights or loss_aggregation_fn'),
    (dict(heads=[BINARY, 'head']), TypeError, 'heads must be flaxheads heads'),
])
def test_constructor_errors(kwargs, error, message):
  with pytest.raises(error, match=message):
    fh.MultiHead(**kwargs)


def test_properties():
  head = fh.MultiHead([BINARY, MULTI, REGRESSION])
  assert head.name == 'b_m_r'
  assert head.logits_dimension == 6
  assert head.loss_reduction == fh.LossReduction.SUM_OVER_BATCH_SIZE
  mixed = fh.MultiHead([BINARY, fh.RegressionHead(name='s', loss_reduction='sum')])
  with pytest.raises(ValueError, match='The loss_reduction must be the same for different heads'):
    mixed.loss_reduction  # pylint: disable=pointless-statement
  assert hash(head) == hash(fh.MultiHead((BINARY, MULTI, REGRESSION)))


def test_missing_logits_labels_and_wrong_width():
  head = fh.MultiHead([BINARY, MULTI])
  labels = {'b': np.zeros(2), 'm': np.zeros(2, np.int32)}
  with pytest.raises(ValueError, match=r"logits has missing values for head\(s\): \['m'\]"):
    head.loss(labels, {'b': np.zeros((2, 1))})
  with pytest.raises(ValueError, match=r"labels has missing values for head\(s\): \['b'\]"):
    head.loss({'m': labels['m']}, np.zeros((2, 4)))
  with pytest.raises(ValueError, match='labels must be a dict'):
    head.loss(np.zeros(2), np.zeros((2, 4)))
  with pytest.raises(ValueError, match=r'individual logits dimensions: \[1, 3\]. The last dimension of the '
                     r'logits tensor should equal 4 but is \(5,\)'):
    jax.jit(head.loss)(labels, np.zeros((2, 5)))


def test_dict_and_concatenated_logits_agree_and_weights_apply():
  head = fh.MultiHead([BINARY, MULTI], head_weights=[2., 0.5])
  logits = jax.random.normal(jax.random.key(0), (4, 4))
  labels = {'b': jnp.array([1, 0, 1, 0]), 'm': jnp.array([0, 2, 1, 1])}
  split = {'b': logits[:, :1], 'm': logits[:, 1:]}
  expected = 2. * BINARY.loss(labels['b'], split['b']) + 0.5 * MULTI.loss(labels['m'], split['m'])
  np.testing.assert_allclose(head.loss(labels, logits), expected, rtol=1e-6)
  np.testing.assert_allclose(jax.jit(head.loss)(labels, split, regularization_losses=[1.]), expected + 1., rtol=1e-6)


def test_loss_aggregation_fn():
  head = fh.MultiHead([BINARY, MULTI], loss_aggregation_fn=lambda losses: jnp.maximum(losses['b'], losses['m']))
  logits = jnp.zeros((2, 4))
  labels = {'b': jnp.array([1, 0]), 'm': jnp.array([0, 2])}
  np.testing.assert_allclose(head.loss(labels, logits), np.log(3.), rtol=1e-6)


def test_predictions_are_keyed_by_head_and_key():
  head = fh.MultiHead([fh.BinaryClassHead(name='b', label_vocabulary=['n', 'y']), REGRESSION])
  predictions = head.predictions(np.zeros((2, 3), np.float32))
  assert ('b', 'logistic') in predictions and ('r', 'predictions') in predictions
  decoded = head.decode_predictions(predictions)
  np.testing.assert_array_equal(decoded[('b', 'classes')], [['n'], ['n']])
  assert list(head.predictions(np.zeros((2, 3)), keys=[('r', 'predictions')])) == [('r', 'predictions')]
  with pytest.raises(ValueError, match='pairs with a head name'):
    head.predictions(np.zeros((2, 3)), keys=['logits'])


def test_metrics_stream_across_batches_unlike_estimators_eager_mode():
  head = fh.MultiHead([BINARY, MULTI])
  rng = np.random.default_rng(0)
  batches = [(rng.normal(size=(8, 4)).astype(np.float32),
              {'b': rng.integers(0, 2, 8), 'm': rng.integers(0, 3, 8)}) for _ in range(3)]
  state = head.metrics([0.])
  update = jax.jit(head.update_metrics)
  for logits, labels in batches:
    state = update(state, None, logits, labels, [0.5])
  results = fh.metrics.results(state)
  all_logits = np.concatenate([b[0] for b in batches])
  all_labels = {k: np.concatenate([b[1][k] for b in batches]) for k in ('b', 'm')}
  whole_b = fh.metrics.results(BINARY.update_metrics(BINARY.metrics(), None, all_logits[:, :1], all_labels['b']))
  for key, value in whole_b.items():
    np.testing.assert_allclose(results[key], value, rtol=1e-5, err_msg=key)
  mean_loss = np.mean([BINARY.loss(labels['b'], logits[:, :1]) for logits, labels in batches])
  np.testing.assert_allclose(results['loss/b'], mean_loss, rtol=1e-6)
  np.testing.assert_allclose(results['regularization_loss/b_m'], 0.5)


def test_nested_heads():
  inner = fh.MultiHead([fh.BinaryClassHead(name='x'), fh.RegressionHead(name='y')])
  seq = fh.SequentialHeadWrapper(fh.MultiClassHead(3, name='s'), 'mask')
  head = fh.MultiHead([inner, seq, fh.RegressionHead(name='z')])
  assert head.logits_dimension == 2 + 3 + 1
  logits = {'x_y': jnp.zeros((2, 2)), 's_sequential': jnp.zeros((2, 4, 3)), 'z': jnp.zeros((2, 1))}
  labels = {'x_y': {'x': jnp.array([1, 0]), 'y': jnp.array([1., 1.])},
            's_sequential': jnp.zeros((2, 4), jnp.int32), 'z': jnp.array([2., 2.])}
  features = {'mask': jnp.array([[1, 1, 0, 0], [1, 0, 0, 0]])}
  loss = jax.jit(head.loss)(labels, logits, features)
  np.testing.assert_allclose(loss, (np.log(2.) + 1.) + np.log(3.) + 4., rtol=1e-6)
  state = head.update_metrics(head.metrics(), features, logits, labels)
  assert {'loss/x_y', 'loss/s_sequential', 'loss/z', 'loss/x', 'auc/x', 'accuracy/s'} <= set(state)
