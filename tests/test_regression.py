"""Regression, Poisson and logistic regression heads."""

import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh


@pytest.mark.parametrize('label_dimension, error', [(0, ValueError), (-2, ValueError), (None, TypeError)])
def test_label_dimension(label_dimension, error):
  with pytest.raises(error, match='label_dimension'):
    fh.RegressionHead(label_dimension)


def test_inverse_link_must_be_callable():
  with pytest.raises(TypeError, match='inverse_link_fn must be callable'):
    fh.RegressionHead(inverse_link_fn='exp')


def test_predictions_accept_keys():
  head = fh.RegressionHead(inverse_link_fn=jnp.exp)
  assert list(head.predictions(np.zeros((2, 1)))) == ['predictions', 'logits']
  assert list(head.predictions(np.zeros((2, 1)), keys=['logits'])) == ['logits']
  assert list(fh.RegressionHead().predictions(np.zeros((2, 1)))) == ['predictions']


def test_per_value_weights_for_label_dimension():
  head = fh.RegressionHead(2, weight_column='w', loss_reduction='sum')
  loss = head.loss(np.ones((1, 2)), np.zeros((1, 2)), {'w': np.array([[1., 3.]])})
  assert float(loss) == 4.


def test_string_labels_are_a_type_error():
  with pytest.raises(TypeError, match='labels must be numeric'):
    fh.RegressionHead().loss(['1.5'], np.zeros((1, 1)))


def test_poisson_loss_and_predictions():
  head = fh.PoissonRegressionHead()
  logits = np.log(np.array([[2.], [3.]], np.float32))
  labels = np.array([1., 4.], np.float32)
  stirling = 4 * np.log(4) - 4 + 0.5 * np.log(2 * np.pi * 4)
  expected = np.mean([2 - np.log(2.), 3 - 4 * np.log(3.) + stirling])
  np.testing.assert_allclose(head.loss(labels, logits), expected, rtol=1e-6)
  np.testing.assert_allclose(head.predictions(logits)['predictions'], [[2.], [3.]], rtol=1e-6)


def test_logistic_regression_predictions():
  head = fh.LogisticRegressionHead()
  assert head.logits_dimension == 1
  np.testing.assert_allclose(head.predictions(np.zeros((1, 1)))['predictions'], [[0.5]])


@pytest.mark.parametrize('argument', ['loss_fn', 'weight_column', 'inverse_link_fn'])
def test_an_unhashable_callable_is_rejected_by_name(argument):
  class SquaredError:
    __hash__ = None

    def __call__(self, labels, logits):
      return (labels - logits) ** 2

  with pytest.raises(TypeError, match=f'{argument} must be hashable .* SquaredError'):
    fh.RegressionHead(**{argument: SquaredError()})
