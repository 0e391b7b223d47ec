"""MultiClassHead: configuration, labels, predictions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh


@pytest.mark.parametrize('n_classes, error, message', [
    (None, ValueError, 'n_classes cannot be None'),
    (2, ValueError, 'n_classes must be > 2: 2'),
    (-1, ValueError, 'n_classes must be > 2: -1'),
    (3., TypeError, 'n_classes must be an int'),
])
def test_n_classes(n_classes, error, message):
  with pytest.raises(error, match=message):
    fh.MultiClassHead(n_classes)


def test_vocabulary_length():
  with pytest.raises(ValueError, match='"label_vocabulary" does not have "n_classes" items'):
    fh.MultiClassHead(3, label_vocabulary=['a', 'b'])


def test_float_labels_are_rejected():
  with pytest.raises(ValueError, match='Labels dtype should be integer. Instead got float32'):
    fh.MultiClassHead(3).loss(np.array([0., 1.], np.float32), np.zeros((2, 3)))


def test_out_of_range_ids_never_wrap_under_jit():
  head = fh.MultiClassHead(3)
  logits = jnp.array([[0., 0., 9.]])  # -1 would wrap to class 2 and give a tiny loss
  assert np.isnan(jax.jit(head.loss)(jnp.array([-1]), logits))


def test_string_labels_and_decoding():
  head = fh.MultiClassHead(3, label_vocabulary=['a', 'b', 'c'])
  logits = np.array([[0., 1., 0.], [3., 3., 0.]], np.float32)
  np.testing.assert_allclose(head.loss(['b', 'a'], logits), head.loss(np.array([1, 0]), logits))
  decoded = head.decode_predictions(head.predictions(logits))
  np.testing.assert_array_equal(decoded['classes'], [['b'], ['a']])  # first maximum on ties
  np.testing.assert_array_equal(decoded['all_classes'], [['a', 'b', 'c']] * 2)
  with pytest.raises(ValueError, match='not in label_vocabulary'):
    head.encode_labels(['d'])


def test_metric_keys_put_regularization_before_accuracy():
  assert list(fh.MultiClassHead(3, name='m').metrics([1.])) == [
      'average_loss/m', 'regularization_loss/m', 'accuracy/m']
