"""Metric states: formulas, the additive protocol, and AUC accuracy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk_metrics

import flaxheads as fh
from flaxheads import metrics


def test_mean_weights_broadcast_to_values():
  values = jnp.array([[1., 2., 3.], [4., 5., 6.]])
  m = metrics.Mean.from_values(values, jnp.array([[1.], [3.]]))
  assert float(m.count) == 12.  # each example weight counts once per value
  np.testing.assert_allclose(m.compute(), (6. + 3 * 15.) / 12.)


def test_empty_and_zero_weight_streams_give_zero_not_nan():
  for m in (metrics.Mean.empty(), metrics.Precision.empty(), metrics.Recall.empty(),
            metrics.AccuracyBaseline.empty(), metrics.AUC.empty(), metrics.AUC.empty(curve='PR')):
    assert float(m.compute()) == 0.
  m = metrics.Mean.from_values(jnp.array([5.]), jnp.array([0.]))
  assert float(m.compute()) == 0.


def test_precision_recall_strict_threshold_and_nonzero_labels_are_positive():
  labels = jnp.array([0., 0.3, 1., 1.])  # 0.3 counts as positive
  predictions = jnp.array([0.5, 0.9, 0.5, 0.6])  # 0.5 is not > 0.5
  p = metrics.Precision.from_predictions(labels, predictions)
  r = metrics.Recall.from_predictions(labels, predictions)
  assert float(p.compute()) == 1.  # TP: 0.9, 0.6; FP: none
  np.testing.assert_allclose(r.compute(), 2 / 3)


def test_accuracy_baseline_is_majority_rate():
  m = metrics.AccuracyBaseline.from_labels(jnp.array([1., 1., 0.]), jnp.array([1., 1., 4.]))
  np.testing.assert_allclose(m.compute(), 4 / 6)


def test_single_class_roc_auc_is_zero_as_in_estimator():
  m = metrics.AUC.from_predictions(jnp.ones(4), jnp.array([.1, .4, .6, .9]))
  assert float(m.compute()) == 0.


def test_auc_nan_prediction_gives_nan_not_a_bucket():
  m = metrics.AUC.from_predictions(jnp.array([0., 1., 1.]), jnp.array([0.2, jnp.nan, 0.8]))
  assert np.isnan(m.compute())
  assert np.isnan(jax.jit(m.with_curve('PR').compute)())


def test_auc_state_has_final_shape_and_merges_by_addition():
  m = metrics.AUC.empty(num_thresholds=7)
  assert m.positives.shape == m.negatives.shape == (7,)
  batch = metrics.AUC.from_predictions(jnp.array([0., 1.]), jnp.array([.2, .8]), num_thresholds=7)
  merged = m.merge(batch)
  np.testing.assert_array_equal(merged.positives, batch.positives)
  np.testing.assert_array_equal(merged.merge(batch).negatives, 2 * batch.negatives)
  with pytest.raises(ValueError):  # a different config is a different pytree structure
    metrics.AUC.empty(num_thresholds=8).merge(batch)


def test_positives_above_are_kerass_true_and_false_positives_at_every_threshold():
  rng = np.random.default_rng(0)
  labels = rng.choice(np.float32([0., 1., 0.4]), 500)
  predictions = rng.random(500).astype(np.float32)
  weights = rng.uniform(0., 2., 500).astype(np.float32)
  tp, fp = metrics.AUC.from_predictions(labels, predictions, weights, num_thresholds=11).positives_above()
  thresholds = np.r_[-1e-7, np.arange(1, 10) / 10, 1 + 1e-7]  # Keras' evenly spaced thresholds
  above = predictions[None, :] > thresholds[:, None]
  np.testing.assert_allclose(tp, (above * weights * (labels != 0)).sum(1), rtol=1e-5)
  np.testing.assert_allclose(fp, (above * weights * (labels == 0)).sum(1), rtol=1e-5)


@pytest.mark.parametrize('bad', [dict(num_thresholds=1), dict(num_thresholds=2.5), dict(curve='XY')])
def test_auc_config_errors(bad):
  with pytest.raises(ValueError):
    metrics.AUC.empty(**bad)


def _skewed(n=200_000, seed=0):
  rng = np.random.default_rng(seed)
  scores = rng.beta(0.6, 40., size=n).astype(np.float32)  # click-through-like: mostly near 0
  labels = (rng.random(n) < np.clip(scores * 1.5, 0, 1)).astype(np.float32)
  return labels, scores


@pytest.mark.parametrize('curve', ['ROC', 'PR'])
def test_high_resolution_auc_is_close_to_exact_on_skewed_data(curve):
  labels, scores = _skewed()
  exact = (sk_metrics.roc_auc_score(labels, scores) if curve == 'ROC' else
           sk_metrics.average_precision_score(labels, scores))
  coarse = metrics.AUC.from_predictions(labels, scores, curve=curve).compute()
  fine = metrics.AUC.from_predictions(labels, scores, num_thresholds=100_000, curve=curve).compute()
  assert abs(float(fine) - exact) < 2e-3 if curve == 'PR' else abs(float(fine) - exact) < 1e-4
  assert abs(float(fine) - exact) < abs(float(coarse) - exact)


def test_psum_merges_device_states():
  labels = jnp.array([[0., 1., 1., 0.], [1., 1., 0., 0.]])
  scores = jnp.array([[.1, .7, .4, .3], [.9, .2, .6, .5]])

  def per_device(y, p):
    return jax.lax.psum(metrics.AUC.from_predictions(y, p), 'devices')

  merged = jax.vmap(per_device, axis_name='devices')(labels, scores)
  whole = metrics.AUC.from_predictions(labels.ravel(), scores.ravel())
  np.testing.assert_allclose(merged.positives[0], whole.positives)
  np.testing.assert_allclose(jax.tree.map(lambda x: x[0], merged).compute(), whole.compute())


def test_metric_state_is_a_scan_carry():
  head = fh.BinaryClassHead()
  logits = jax.random.normal(jax.random.key(0), (5, 16, 1))
  labels = (jax.random.uniform(jax.random.key(1), (5, 16)) > 0.5).astype(jnp.float32)

  def step(state, batch):
    return head.update_metrics(state, None, *batch), None

  scanned, _ = jax.lax.scan(step, head.metrics(), (logits, labels))
  whole = head.update_metrics(head.metrics(), None, logits.reshape(80, 1), labels.reshape(80))
  for key in whole:
    np.testing.assert_allclose(scanned[key].compute(), whole[key].compute(), rtol=1e-5, err_msg=key)


# Streaming over any split equals one pass; merge equals streaming both.
N = 48
PARTS = (8, 16, 24)  # few distinct batch shapes, so few compilations
HEADS = {
    'binary': fh.BinaryClassHead(weight_column='w', thresholds=[0.3, 0.7]),
    'multi_class': fh.MultiClassHead(4, weight_column='w'),
    'multi_label': fh.MultiLabelHead(3, weight_column='w', thresholds=[0.5],
                                     classes_for_class_based_metrics=[0, 2]),
    'regression': fh.RegressionHead(2, weight_column='w'),
}


def _dataset(name, seed):
  rng = np.random.default_rng(seed)
  head = HEADS[name]
  logits = rng.normal(size=(N, head.logits_dimension)).astype(np.float32)
  labels = {
      'binary': rng.integers(0, 2, N),
      'multi_class': rng.integers(0, 4, N),
      'multi_label': rng.integers(0, 2, (N, 3)),
      'regression': rng.normal(size=(N, 2)).astype(np.float32),
  }[name]
  weights = rng.choice([0., 0.5, 1., 2.], N).astype(np.float32)
  return logits, labels, weights


_update = {name: jax.jit(head.update_metrics) for name, head in HEADS.items()}


def _stream(name, logits, labels, weights, sizes, state=None):
  head = HEADS[name]
  state = head.metrics([0.]) if state is None else state
  start = 0
  for size in sizes:
    rows = slice(start, start + size)
    state = _update[name](state, {'w': weights[rows]}, logits[rows], labels[rows], [0.1])
    start += size
  return state


def _split(draw):
  sizes, left = [], N
  while left:
    size = draw(st.sampled_from([p for p in PARTS if p <= left]))
    sizes.append(size)
    left -= size
  return sizes


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(sorted(HEADS)), seed=st.integers(0, 2**16), data=st.data())
def test_streaming_any_split_equals_one_pass(name, seed, data):
  logits, labels, weights = _dataset(name, seed)
  order = np.random.default_rng(seed).permutation(N)
  sizes = _split(data.draw)
  streamed = _stream(name, logits[order], labels[order], weights[order], sizes)
  whole = _stream(name, logits, labels, weights, [N])
  for key, metric in whole.items():
    expected = metric.compute()
    if key.startswith('regularization_loss'):
      expected = 0.1  # a mean over calls, whatever their number
    np.testing.assert_allclose(streamed[key].compute(), expected, rtol=2e-5, atol=1e-6, err_msg=key)


@settings(max_examples=8, deadline=None)
@given(name=st.sampled_from(sorted(HEADS)), seed=st.integers(0, 2**16), data=st.data())
def test_merge_equals_streaming_both(name, seed, data):
  logits, labels, weights = _dataset(name, seed)
  first = data.draw(st.sampled_from([8, 16, 24]))
  a = _stream(name, logits[:first], labels[:first], weights[:first], [first])
  b = _stream(name, logits[first:], labels[first:], weights[first:], _remaining(N - first))
  both = _stream(name, logits[first:], labels[first:], weights[first:], _remaining(N - first), state=a)
  merged = {k: a[k].merge(b[k]) for k in a}
  for key in merged:
    np.testing.assert_allclose(merged[key].compute(), both[key].compute(), rtol=1e-5, atol=1e-6,
                               err_msg=key)


def _remaining(n):
  sizes = []
  for part in sorted(PARTS, reverse=True):
    while n >= part:
      sizes.append(part)
      n -= part
  return sizes


@pytest.mark.parametrize('shape, axis', [((5,), 0), ((64,), 0), ((2, 200), 1), ((1000, 2), 0), ((2, 100_000), 1)])
def test_reverse_cumsum_is_exact_for_counts_and_close_for_real_values(shape, axis):
  from flaxheads._src.metrics import reverse_cumsum  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  counts = rng.integers(0, 9, shape).astype(np.float32)
  reverse = lambda x: np.flip(np.cumsum(np.flip(x.astype(np.float64), axis), axis), axis)
  np.testing.assert_array_equal(jax.jit(reverse_cumsum, static_argnums=1)(counts, axis), reverse(counts))
  values = rng.uniform(0., 1., shape).astype(np.float32)
  np.testing.assert_allclose(reverse_cumsum(values, axis), reverse(values), rtol=1e-5)
