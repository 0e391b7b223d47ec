"""head.gradient_and_hessian against the full autodiff Hessian, finite differences and closed forms."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh

N = 5
_RNG = np.random.default_rng(0)
_WEIGHTS = np.array([1., 2., 0.5, 0., 3.], np.float32)


def _log_cosh(labels, logits):
  return jnp.log(jnp.cosh(logits - labels))


CASES = {
    'regression': (fh.RegressionHead(weight_column='w'), _RNG.normal(size=N)),
    'regression_3': (fh.RegressionHead(3, weight_column='w'), _RNG.normal(size=(N, 3))),
    'poisson': (fh.PoissonRegressionHead(weight_column='w'), np.array([0., 1., 2., 5., 0.5])),
    'logistic_regression': (fh.LogisticRegressionHead(weight_column='w'), _RNG.uniform(size=N)),
    'binary': (fh.BinaryClassHead(weight_column='w'), np.array([0., 1., 1., 0., 1.])),
    'multi_class': (fh.MultiClassHead(3, weight_column='w'), np.array([0, 2, 1, 1, 0], np.int32)),
    'multi_label': (fh.MultiLabelHead(3, weight_column='w'), _RNG.integers(0, 2, size=(N, 3))),
    'custom_loss_fn': (fh.RegressionHead(2, weight_column='w', loss_fn=_log_cosh), _RNG.normal(size=(N, 2))),
}


def _inputs(name):
  head, labels = CASES[name]
  logits = _RNG.normal(size=(N, head.logits_dimension)).astype(np.float32)
  return head, jnp.asarray(labels), jnp.asarray(logits), {'w': jnp.asarray(_WEIGHTS)}


def _row_losses(head, labels, logits, features):
  """The weighted loss of each example, one example at a time."""
  summed = dataclasses.replace(head, loss_reduction='sum')
  one = lambda y, z, w: summed.loss(y[None], z[None], {'w': w[None]})
  return jax.vmap(one)(labels, logits, features['w'])


@pytest.mark.parametrize('name', sorted(CASES))
def test_matches_full_autodiff_hessian_under_jit(name):
  head, labels, logits, features = _inputs(name)
  g, h = jax.jit(head.gradient_and_hessian)(labels, logits, features)
  assert g.shape == h.shape == logits.shape and g.dtype == h.dtype == jnp.float32
  summed = dataclasses.replace(head, loss_reduction='sum')
  total = lambda z: summed.loss(labels, z, features)
  # The references compiled (as one program each, rather than op by op: the same values, sooner).
  np.testing.assert_allclose(g, jax.jit(jax.grad(total))(logits), rtol=1e-5, atol=1e-6)
  full = jax.jit(jax.hessian(total))(logits).reshape(logits.size, logits.size)
  np.testing.assert_allclose(h, jnp.diag(full).reshape(logits.shape), rtol=1e-5, atol=1e-6)
  # the loss is a sum over examples: no Hessian entries between examples
  rows = np.repeat(np.arange(N), head.logits_dimension)
  np.testing.assert_array_equal(np.asarray(full)[rows[:, None] != rows[None, :]], 0.)


@pytest.mark.parametrize('name', sorted(CASES))
def test_matches_finite_differences(name):
  head, labels, logits, features = _inputs(name)
  g, h = head.gradient_and_hessian(labels, logits, features)
  row_losses = jax.jit(lambda z: _row_losses(head, labels, z, features))
  losses = lambda z: np.asarray(row_losses(z), np.float64)
  eps1, eps2 = 1e-3, 3e-2
  for k in range(head.logits_dimension):
    e = np.zeros(logits.shape, np.float32)
    e[:, k] = 1.
    g_fd = (losses(logits + eps1 * e) - losses(logits - eps1 * e)) / (2 * eps1)
    h_fd = (losses(logits + eps2 * e) - 2 * losses(logits) + losses(logits - eps2 * e)) / eps2**2
    np.testing.assert_allclose(g[:, k], g_fd, rtol=1e-2, atol=2e-3)
    np.testing.assert_allclose(h[:, k], h_fd, rtol=2e-2, atol=5e-3)


def test_closed_forms_at_zero_logits():
  """Boosting starts at margin 0: the sigmoid losses must be smooth there too."""
  w = jnp.asarray(_WEIGHTS)
  y = jnp.array([0., 1., 1., 0., 1.])
  g, h = fh.BinaryClassHead(weight_column='w').gradient_and_hessian(y, jnp.zeros((N, 1)), {'w': w})
  np.testing.assert_allclose(g[:, 0], w * (0.5 - y))
  np.testing.assert_allclose(h[:, 0], w * 0.25)
  y3 = jnp.asarray(CASES['multi_label'][1], jnp.float32)
  g, h = fh.MultiLabelHead(3).gradient_and_hessian(y3, jnp.zeros((N, 3)))
  np.testing.assert_allclose(g, (0.5 - y3) / 3, rtol=1e-6)
  np.testing.assert_allclose(h, jnp.full((N, 3), 0.25 / 3), rtol=1e-6)
  z = jnp.asarray(_RNG.normal(size=(N, 3)), jnp.float32)
  ids = jnp.asarray(CASES['multi_class'][1])
  g, h = fh.MultiClassHead(3).gradient_and_hessian(ids, z)
  p = jax.nn.softmax(z)
  np.testing.assert_allclose(g, p - jax.nn.one_hot(ids, 3), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(h, p * (1 - p), rtol=1e-5, atol=1e-6)
  counts = jnp.asarray(CASES['poisson'][1], jnp.float32)
  g, h = fh.PoissonRegressionHead().gradient_and_hessian(counts, z[:, :1])
  np.testing.assert_allclose(g[:, 0], jnp.exp(z[:, 0]) - counts, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(h[:, 0], jnp.exp(z[:, 0]), rtol=1e-5)
  g, h = fh.RegressionHead().gradient_and_hessian(counts, z[:, :1])
  np.testing.assert_allclose(g[:, 0], 2 * (z[:, 0] - counts), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(h, 2.)


def test_independent_of_the_heads_loss_reduction():
  y, z = jnp.array([0., 1.]), jnp.array([[0.3], [-1.]])
  reduced = fh.BinaryClassHead().gradient_and_hessian(y, z)
  summed = fh.BinaryClassHead(loss_reduction='sum').gradient_and_hessian(y, z)
  np.testing.assert_array_equal(reduced[0], summed[0])
  np.testing.assert_array_equal(reduced[1], summed[1])


def test_string_labels_through_the_vocabulary():
  head = fh.MultiClassHead(3, label_vocabulary=('a', 'b', 'c'))
  z = jnp.asarray(_RNG.normal(size=(2, 3)), jnp.float32)
  g, _ = head.gradient_and_hessian(['c', 'a'], z)
  np.testing.assert_allclose(g, jax.nn.softmax(z) - jax.nn.one_hot(jnp.array([2, 0]), 3), atol=1e-6)


def test_invalid_input():
  with pytest.raises(ValueError, match='n_classes'):
    fh.MultiClassHead(3).gradient_and_hessian(jnp.array([3]), jnp.zeros((1, 3)))
  with pytest.raises(ValueError, match=r'\[batch, 3\].*\(4, 2\)'):
    fh.MultiClassHead(3).gradient_and_hessian(jnp.zeros(4, jnp.int32), jnp.zeros((4, 2)))
  with pytest.raises(ValueError, match='w'):
    fh.BinaryClassHead(weight_column='w').gradient_and_hessian(jnp.zeros(2), jnp.zeros((2, 1)))
  # under jit an invalid label cannot raise; it must not give a plausible number
  g, h = jax.jit(fh.BinaryClassHead().gradient_and_hessian)(jnp.array([2., 1.]), jnp.zeros((2, 1)))
  assert np.isnan(g[0, 0]) and np.isnan(h[0, 0]) and not np.isnan(g[1, 0])
