"""BinaryClassHead: configuration, vocabulary, predictions and keys."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh


def test_heads_are_frozen_hashable_and_static():
  head = fh.BinaryClassHead(thresholds=[0.3], label_vocabulary=['no', 'yes'])
  assert head == fh.BinaryClassHead(thresholds=(0.3,), label_vocabulary=('no', 'yes'))
  assert hash(head) == hash(fh.BinaryClassHead(thresholds=(0.3,), label_vocabulary=('no', 'yes')))
  assert {head: 1}[fh.BinaryClassHead(thresholds=[0.3], label_vocabulary=['no', 'yes'])] == 1
  with pytest.raises(dataclasses.FrozenInstanceError):
    head.name = 'other'
  loss = jax.jit(lambda h, y, x: h.loss(y, x), static_argnums=0)
  np.testing.assert_allclose(loss(head, jnp.array([1.]), jnp.zeros((1, 1))), np.log(2.), rtol=1e-6)


@pytest.mark.parametrize('thresholds', [[0.], [1.], [0.5, 1.2]])
def test_thresholds_outside_unit_interval(thresholds):
  with pytest.raises(ValueError, match=r'thresholds not in \(0, 1\)'):
    fh.BinaryClassHead(thresholds=thresholds)


def test_thresholds_whose_keys_collide_are_rejected():
  with pytest.raises(ValueError, match='duplicate metric keys'):
    fh.BinaryClassHead(thresholds=[0.1234567, 0.1234568])


def test_threshold_keys_use_percent_g():
  head = fh.BinaryClassHead(thresholds=[1 / 3, 0.123456789], name='h')
  keys = list(head.metrics())
  assert 'accuracy/positive_threshold_0.333333/h' in keys
  assert 'recall/positive_threshold_0.123457/h' in keys


@pytest.mark.parametrize('vocabulary, error, message', [
    ('ab', ValueError, 'label_vocabulary should be a list or a tuple'),
    (['a', 'b', 'c'], ValueError, 'exactly 2 entries'),
    ([], ValueError, 'exactly 2 entries'),
    (['a', 'a'], ValueError, 'duplicate entries'),
    ([0, 1], TypeError, 'must hold strings'),
])
def test_vocabulary_errors(vocabulary, error, message):
  with pytest.raises(error, match=message):
    fh.BinaryClassHead(label_vocabulary=vocabulary)


def test_string_labels():
  head = fh.BinaryClassHead(label_vocabulary=['neg', 'pos'])
  logits = np.array([[2.], [-1.]], np.float32)
  np.testing.assert_array_equal(head.encode_labels(['pos', 'neg']), [1, 0])
  np.testing.assert_allclose(head.loss(['pos', 'neg'], logits), head.loss(np.array([1, 0]), logits))
  np.testing.assert_allclose(head.loss(np.array([b'pos', b'neg']), logits),
                             head.loss(np.array([1, 0]), logits))
  with pytest.raises(ValueError, match=r"Labels \['maybe'\] are not in label_vocabulary"):
    head.loss(['pos', 'maybe'], logits)
  with pytest.raises(ValueError, match='need a label_vocabulary'):
    fh.BinaryClassHead().loss(['pos', 'neg'], logits)


def test_predictions_keys_and_decoding():
  head = fh.BinaryClassHead(label_vocabulary=['neg', 'pos'])
  logits = np.array([[2.], [0.], [-1.]], np.float32)
  numeric = head.predictions(logits)
  assert list(numeric) == ['logits', 'logistic', 'probabilities', 'class_ids', 'all_class_ids']
  np.testing.assert_array_equal(numeric['class_ids'], [[1], [0], [0]])  # a tie at 0 is class 0
  decoded = head.decode_predictions(numeric)
  assert list(decoded) == ['logits', 'logistic', 'probabilities', 'class_ids', 'classes',
                           'all_class_ids', 'all_classes']
  np.testing.assert_array_equal(decoded['classes'], [['pos'], ['neg'], ['neg']])
  np.testing.assert_array_equal(decoded['all_classes'], [['neg', 'pos']] * 3)
  assert list(head.predictions(logits, keys=['classes'])) == ['class_ids']
  assert list(head.decode_predictions(head.predictions(logits, keys=['classes']))) == ['class_ids', 'classes']
  assert list(jax.jit(head.predictions, static_argnames='keys')(logits, keys=('logistic',))) == ['logistic']


def test_rank3_logits_keep_estimators_all_class_ids_shape():
  head = fh.BinaryClassHead()
  predictions = head.predictions(np.zeros((2, 5, 1), np.float32))
  assert predictions['class_ids'].shape == (2, 5, 1)
  assert predictions['all_class_ids'].shape == (2, 2)  # batch axis only, as Estimator


def test_auc_num_thresholds_validated_and_used():
  with pytest.raises(ValueError, match='num_thresholds'):
    fh.BinaryClassHead(auc_num_thresholds=1)
  state = fh.BinaryClassHead(auc_num_thresholds=1000).metrics()
  assert state['auc'].positives.shape == (1000,)


@pytest.mark.parametrize('weight_column', [None, 'w'])
def test_metrics_of_soft_labels_equal_separate_float64_sums(weight_column):
  rng = np.random.default_rng(4)
  labels = rng.choice(np.float32([0., 1., 0.25, 0.8]), 300)
  logits = rng.normal(size=(300, 1)).astype(np.float32)
  w = rng.uniform(0., 2., 300).astype(np.float32) if weight_column else np.ones(300, np.float32)
  head = fh.BinaryClassHead(weight_column=weight_column)
  state = jax.jit(head.update_metrics)(head.metrics(), {'w': w}, logits, labels)
  got = fh.metrics.results(state)
  w64, y, predicted = w.astype(np.float64), labels.astype(np.float64), logits[:, 0] > 0
  np.testing.assert_allclose(got['label/mean'], np.sum(w64 * y) / np.sum(w64), rtol=1e-6)
  np.testing.assert_allclose(got['accuracy'], np.sum(w64 * (y == predicted)) / np.sum(w64), rtol=1e-6)
  positives = np.sum(w64 * (y != 0) * predicted)
  np.testing.assert_allclose(got['precision'], positives / np.sum(w64 * predicted), rtol=1e-6)
  np.testing.assert_allclose(got['recall'], positives / np.sum(w64 * (y != 0)), rtol=1e-6)
  hard = jax.jit(head.update_metrics)(head.metrics(), {'w': w}, logits, np.round(labels))
  np.testing.assert_allclose(fh.metrics.results(hard)['label/mean'],
                             np.sum(w64 * np.round(y)) / np.sum(w64), rtol=1e-6)


@pytest.mark.parametrize('weight_column', [None, 'w'])
@pytest.mark.parametrize('bad', ['label', 'logit'])
def test_one_invalid_row_makes_every_metric_nan_under_jit(weight_column, bad):
  labels, logits = np.float32([0., 1., 1., 0.]), np.float32([[1.], [-1.], [2.], [0.5]])
  if bad == 'label':
    labels[2] = 1.5
  else:
    logits[2] = np.nan
  head = fh.BinaryClassHead(weight_column=weight_column, thresholds=[0.5])
  state = jax.jit(head.update_metrics)(head.metrics(), {'w': np.ones(4, np.float32)}, logits, labels)
  for key, value in fh.metrics.results(state).items():
    assert np.isnan(value), key
