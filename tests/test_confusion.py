"""The one-scatter confusion counts equal the sums they replace."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxheads._src import confusion
from flaxheads._src import metrics as metrics_lib

THRESHOLDS = (0.7, 0.25, 0.5, 0.25)  # unsorted, with a repeat


def batch(n=3000, seed=0, integer_weights=False):
  rng = np.random.default_rng(seed)
  labels = rng.choice(np.float32([0., 1., 0.3]), n)  # soft labels: positive, never correct
  # Probabilities on the thresholds and on AUC bucket edges, and in between.
  probabilities = np.concatenate([np.float32([0., 1., 0.25, 0.5, 0.7, 1 / 199, 2 / 199]),
                                  rng.random(n - 7).astype(np.float32)])
  weights = (rng.integers(0, 4, n) if integer_weights else rng.uniform(0., 3., n)).astype(np.float32)
  predicted = rng.random(n) < 0.5
  return labels, probabilities, weights, predicted


def expected(labels, probabilities, weights, predicted):
  """(correct, TP, FP, FN) as the separate float64 sums Estimator's metrics take."""
  w = weights.astype(np.float64)
  positive = labels != 0
  return (np.sum(w * (labels == predicted)), np.sum(w * (positive & predicted)),
          np.sum(w * (~positive & predicted)), np.sum(w * (positive & ~predicted)))


def counted(num_buckets=200, **kwargs):
  labels, probabilities, weights, predicted = batch(**kwargs)
  fn = jax.jit(lambda *a: confusion.count(*a[:3], num_buckets=num_buckets, thresholds=THRESHOLDS,
                                          predicted=a[3]))
  return fn(labels, probabilities, weights, predicted), (labels, probabilities, weights, predicted)


def test_counts_at_the_predictions_and_every_threshold_equal_separate_sums():
  counts, (labels, probabilities, weights, predicted) = counted()
  np.testing.assert_allclose(confusion.at(counts), expected(labels, probabilities, weights, predicted),
                             rtol=1e-5)
  for i, t in enumerate(THRESHOLDS):
    np.testing.assert_allclose(confusion.at(counts, i), expected(labels, probabilities, weights, probabilities > t),
                               rtol=1e-5, err_msg=f'threshold {t}')
  np.testing.assert_allclose(counts.total, np.sum(weights.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize('num_buckets', [200, 100_000], ids=['joint', 'separate'])
def test_auc_buckets_equal_the_auc_metric_exactly_for_integer_weights(num_buckets):
  counts, (labels, probabilities, weights, _) = counted(num_buckets, integer_weights=True)
  state = confusion.auc(counts)
  reference = metrics_lib.AUC.from_predictions(labels, probabilities, weights, num_thresholds=num_buckets)
  np.testing.assert_array_equal(state.positives, reference.positives)
  np.testing.assert_array_equal(state.negatives, reference.negatives)


def test_the_separate_auc_histogram_gives_the_joint_counts(monkeypatch):
  joint, _ = counted(integer_weights=True)
  monkeypatch.setattr(confusion, '_MAX_JOINT_BINS', 0)
  separate, _ = counted(integer_weights=True)
  np.testing.assert_array_equal(joint.table, separate.table)
  np.testing.assert_array_equal(joint.total, separate.total)
  np.testing.assert_array_equal(joint.by_bucket, separate.by_bucket)


def test_a_nan_weight_makes_every_count_nan_and_zero_weights_count_nothing():
  labels, probabilities, weights, predicted = batch(50)
  weights[3] = np.nan
  counts = confusion.count(labels, probabilities, weights, num_buckets=10, thresholds=(0.5,), predicted=predicted)
  assert all(np.isnan(x).all() for x in counts)
  zero = confusion.count(labels, jnp.full(50, jnp.nan), np.zeros(50, np.float32), num_buckets=10,
                         thresholds=(0.5,), predicted=predicted)
  assert not any(np.asarray(x).any() for x in zero)


def test_metrics_at_builds_estimators_threshold_metrics():
  counts, (labels, probabilities, weights, _) = counted()
  state = confusion.metrics_at(lambda k: k + '/head', counts, THRESHOLDS[:2])
  assert list(state) == ['accuracy/positive_threshold_0.7/head', 'precision/positive_threshold_0.7/head',
                         'recall/positive_threshold_0.7/head', 'accuracy/positive_threshold_0.25/head',
                         'precision/positive_threshold_0.25/head', 'recall/positive_threshold_0.25/head']
  correct, tp, fp, fn = expected(labels, probabilities, weights, probabilities > 0.25)
  np.testing.assert_allclose(state['precision/positive_threshold_0.25/head'].compute(), tp / (tp + fp), rtol=1e-5)
  np.testing.assert_allclose(state['recall/positive_threshold_0.25/head'].compute(), tp / (tp + fn), rtol=1e-5)
  np.testing.assert_allclose(state['accuracy/positive_threshold_0.25/head'].compute(),
                             correct / np.sum(weights.astype(np.float64)), rtol=1e-5)


@pytest.mark.parametrize('weight', [1., 2.5, np.nan])
def test_one_weight_for_every_example_scales_the_counts(weight):
  labels, probabilities, _, predicted = batch(500)
  count = lambda w: confusion.count(labels, probabilities, w, num_buckets=200, thresholds=THRESHOLDS,
                                    predicted=predicted)
  scalar, every = count(np.float32(weight)), count(np.full(500, weight, np.float32))
  for name, got, want in zip(scalar._fields, scalar, every):
    np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize('weights', [np.float32(1.), np.linspace(0., 2., 60, dtype=np.float32)],
                         ids=['scalar', 'per example'])
def test_an_invalid_example_makes_every_count_nan_and_all_valid_changes_nothing(weights):
  labels, probabilities, _, predicted = batch(60)
  count = lambda valid: confusion.count(labels, probabilities, weights, num_buckets=200, thresholds=(0.5,),
                                        predicted=predicted, valid=valid)
  unchecked, all_valid = count(None), count(np.ones(60, bool))
  for name, got, want in zip(unchecked._fields, all_valid, unchecked):
    np.testing.assert_array_equal(got, want, err_msg=name)
  one_invalid = count(np.arange(60) != 7)
  assert all(np.isnan(x).all() for x in one_invalid), one_invalid


def test_without_predictions_row_0_of_the_table_is_zero():
  labels, probabilities, weights, _ = batch(100)
  counts = confusion.count(labels, probabilities, weights, num_buckets=50, thresholds=(0.5, 0.2))
  np.testing.assert_array_equal(counts.table[0], np.zeros(4))
  np.testing.assert_allclose(confusion.at(counts, 1), expected(labels, probabilities, weights, probabilities > 0.2),
                             rtol=1e-5)
