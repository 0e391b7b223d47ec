"""SequentialHeadWrapper: configuration errors, masking as weights, predictions."""

import jax
import numpy as np
import pytest

import flaxheads as fh


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(sequence_length_mask=3), TypeError, '`sequence_mask` column must be a string'),
    (dict(feature_columns=3), TypeError, '`feature_columns` must be either a string or an iterable'),
    (dict(feature_columns=['w', 3]), TypeError, 'Column must a string'),
])
def test_constructor_errors(kwargs, error, message):
  with pytest.raises(error, match=message):
    fh.SequentialHeadWrapper(fh.BinaryClassHead(), **kwargs)


def test_multi_head_static_head_is_rejected():
  with pytest.raises(ValueError, match='`MultiHead` is not supported with `SequentialHeadWrapper`'):
    fh.SequentialHeadWrapper(fh.MultiHead([fh.BinaryClassHead(name='a')]))


def test_properties():
  head = fh.SequentialHeadWrapper(fh.MultiClassHead(4, name='tag'), 'm', feature_columns='w')
  assert head.name == 'tag_sequential'
  assert head.logits_dimension == 4 and head.feature_columns == ('w',)
  assert head.input_sequence_mask_key == 'm'
  assert fh.SequentialHeadWrapper(fh.BinaryClassHead()).name is None


@pytest.mark.parametrize('features, message', [
    ({}, 'The provided sequence_length_mask key `mask` should be included in the features dictionary'),
    ({'mask': np.ones(2)}, 'Mask is expected to have two dimensions, got 1 instead'),
    ({'mask': np.ones((2, 4))}, 'Tensor shape is incompatible with provided mask'),
])
def test_mask_errors_under_jit(features, message):
  head = fh.SequentialHeadWrapper(fh.BinaryClassHead(), 'mask')
  with pytest.raises(ValueError, match=message):
    jax.jit(head.loss)(np.zeros((2, 3)), np.zeros((2, 3, 1)), features)


def test_missing_feature_column():
  head = fh.SequentialHeadWrapper(fh.BinaryClassHead(weight_column='w'), 'mask', feature_columns=['x'])
  with pytest.raises(ValueError, match='`x` column expected in features dictionary'):
    head.loss(np.zeros((1, 2)), np.zeros((1, 2, 1)), {'mask': np.ones((1, 2)), 'w': np.ones((1, 2))})


@pytest.mark.parametrize('reduction', ['sum', 'sum_over_batch_size'])
def test_masking_equals_dropping_the_masked_steps(reduction):
  static = fh.MultiClassHead(3, weight_column='w', loss_reduction=reduction, name='t')
  head = fh.SequentialHeadWrapper(static, 'mask', feature_columns=['w'])
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 4, 3)).astype(np.float32)
  labels = rng.integers(0, 3, (3, 4))
  weights = rng.uniform(size=(3, 4)).astype(np.float32)
  mask = np.array([[1, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 1]], bool)
  labels[~mask] = -1  # padding: invalid ids where masked
  logits[~mask] = np.nan
  features = {'mask': mask, 'w': weights}
  expected = static.loss(labels[mask], logits[mask], {'w': weights[mask]})
  np.testing.assert_allclose(jax.jit(head.loss)(labels, logits, features), expected, rtol=1e-6)
  np.testing.assert_allclose(head.loss(labels, logits, features), expected, rtol=1e-6)
  state = jax.jit(head.update_metrics)(head.metrics(), features, logits, labels)
  flat = static.update_metrics(static.metrics(), {'w': weights[mask]}, logits[mask], labels[mask])
  for key, value in fh.metrics.results(flat).items():
    np.testing.assert_allclose(fh.metrics.results(state)[key], value, rtol=1e-6, err_msg=key)


def test_fully_masked_batch_gives_zero():
  head = fh.SequentialHeadWrapper(fh.BinaryClassHead(), 'mask')
  features = {'mask': np.zeros((2, 3), np.int32)}
  assert float(head.loss(np.zeros((2, 3)), np.zeros((2, 3, 1)), features)) == 0.
  state = head.update_metrics(head.metrics(), features, np.zeros((2, 3, 1)), np.zeros((2, 3)))
  assert all(float(v) == 0. for v in fh.metrics.results(state).values())


def test_predictions_for_every_head_keep_sequence_shape():
  for static in (fh.RegressionHead(2), fh.PoissonRegressionHead(), fh.BinaryClassHead(),
                 fh.MultiClassHead(3, label_vocabulary=['a', 'b', 'c']), fh.MultiLabelHead(2)):
    head = fh.SequentialHeadWrapper(static, 'mask')
    logits = np.zeros((2, 5, static.logits_dimension), np.float32)
    mask = np.ones((2, 5), bool)
    predictions = jax.jit(head.predictions)(logits, features={'mask': mask})
    assert predictions['predictions' if 'predictions' in predictions else 'probabilities'].shape[:2] == (2, 5)
    np.testing.assert_array_equal(predictions['mask'], mask)
  decoded = head.decode_predictions(predictions)
  assert decoded['mask'].shape == (2, 5)


def test_string_labels_per_step():
  static = fh.BinaryClassHead(label_vocabulary=['no', 'yes'])
  head = fh.SequentialHeadWrapper(static, 'mask')
  labels = np.array([['yes', 'no'], ['no', 'no']])
  features = {'mask': np.array([[1, 1], [1, 0]])}
  logits = np.zeros((2, 2, 1), np.float32)
  np.testing.assert_allclose(head.loss(labels, logits, features), np.log(2.), rtol=1e-6)
