"""Parity with tf.estimator 2.15: losses, predictions and streamed metrics.

The fixtures in ``tests/golden/`` were produced by Estimator's heads (see
``tests/golden/README.md``); this module needs no TensorFlow. Every case is run
eagerly and under ``jax.jit``.
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh

GOLDEN = pathlib.Path(__file__).parent / 'golden'
SINGLE_HEAD_FILES = ('regression', 'binary_class', 'multi_class', 'multi_label')


def load(*names):
  return [case for name in names for case in json.loads((GOLDEN / f'{name}.json').read_text())['cases']]


CASES = load(*SINGLE_HEAD_FILES)
LOSS_RTOL, METRIC_RTOL = 1e-5, 1e-4


# The named hooks of tests/golden/generate.py, with the same math in JAX.
def _squared_plus_abs(labels, logits):
  d = logits - labels
  return jnp.square(d) + jnp.abs(d)


def _regression_feature_scaled(labels, logits, features):
  return jnp.asarray(features['x'], jnp.float32) * jnp.square(logits - labels)


def _binary_squared(labels, logits):
  return jnp.square(jax.nn.sigmoid(logits) - labels)


def _multiclass_margin(labels, logits):
  picked = jnp.take_along_axis(logits, labels, axis=-1)
  return 2. * (jax.nn.logsumexp(logits, axis=-1, keepdims=True) - picked)


def _multilabel_mean_squared(labels, logits):
  return jnp.mean(jnp.square(jax.nn.sigmoid(logits) - labels), axis=-1, keepdims=True)


LOSS_FNS = {
    'squared_plus_abs': _squared_plus_abs,
    'regression_feature_scaled': _regression_feature_scaled,
    'binary_squared': _binary_squared,
    'multiclass_margin': _multiclass_margin,
    'multilabel_mean_squared': _multilabel_mean_squared,
}
INVERSE_LINKS = {'exp': jnp.exp, 'sigmoid': jax.nn.sigmoid}
WEIGHT_FNS = {'plus_one': lambda w: jnp.asarray(w, jnp.float32) + 1.}


def make_head(case):
  """The head of a case (or of a composite case's head spec): one object per spec, shared by its tests.

  Heads are frozen and hashable, and compile their eager programs once per head; a head with a
  ``weight_fn`` hook holds a new function each time it is built, and would compile them again.
  """
  key = json.dumps({k: case.get(k) for k in ('head', 'kwargs', 'hooks')}, sort_keys=True)
  if key not in _HEADS:
    _HEADS[key] = _build_head(case)
  return _HEADS[key]


_HEADS = {}


def _build_head(case):
  kwargs = dict(case['kwargs'])
  hooks = case.get('hooks') or {}
  if 'loss_fn' in hooks:
    kwargs['loss_fn'] = LOSS_FNS[hooks['loss_fn']]
  if 'inverse_link_fn' in hooks:
    kwargs['inverse_link_fn'] = INVERSE_LINKS[hooks['inverse_link_fn']]
  if 'weight_fn' in hooks:
    column, fn = kwargs['weight_column'], WEIGHT_FNS[hooks['weight_fn']]
    kwargs['weight_column'] = lambda features: fn(features[column])
  return getattr(fh, case['head'])(**kwargs)


def tensor(t):
  if t.get('ragged'):
    return t['value']
  if t['dtype'] == 'string':
    return np.asarray(t['value'], dtype=str).reshape(t['shape'])
  return np.asarray(t['value'], dtype=t['dtype']).reshape(t['shape'])


def batches(case, *, encode=False):
  """Yields (logits, labels, features); ``encode``: string labels as ``encode_labels`` ids.

  Ragged (class-id list) labels always go through ``encode_labels``, as they must.
  """
  head = make_head(case)
  for b in case['batches']:
    labels = tensor(b['labels'])
    if b['labels'].get('ragged') or (encode and b['labels']['dtype'] == 'string'):
      labels = head.encode_labels(labels)
    yield tensor(b['logits']), labels, {k: tensor(v) for k, v in b['features'].items()}


def reg(case):
  return case['regularization_losses']


def stream_metrics(head, case, update):
  state = head.metrics(reg(case))
  for logits, labels, features in batches(case, encode=True):
    state = update(state, features, logits, labels, reg(case))
  return state


ids = [c['id'] for c in CASES]


@pytest.mark.parametrize('case', CASES, ids=ids)
def test_loss(case):
  head = make_head(case)
  for (logits, labels, features), expected in zip(batches(case), case['expected']['loss']):
    loss = head.loss(labels, logits, features, regularization_losses=reg(case))
    np.testing.assert_allclose(loss, expected, rtol=LOSS_RTOL, atol=1e-7)
    assert loss.dtype == jnp.float32


@pytest.mark.parametrize('case', CASES, ids=ids)
def test_predictions(case):
  head = make_head(case)
  for (logits, _, _), expected in zip(batches(case), case['expected']['predictions']):
    predictions = head.decode_predictions(head.predictions(logits))
    assert list(predictions) == list(expected)
    for key, want in expected.items():
      got, want_value = predictions[key], tensor(want)
      assert got.shape == want_value.shape, key
      if want['dtype'] == 'string':
        np.testing.assert_array_equal(got, want_value, err_msg=key)
      else:
        np.testing.assert_allclose(got, want_value, rtol=LOSS_RTOL, atol=1e-7, err_msg=key)


@pytest.mark.parametrize('case', CASES, ids=ids)
def test_metrics(case):
  head = make_head(case)
  results = fh.metrics.results(stream_metrics(head, case, head.update_metrics))
  expected = case['expected']['metrics']
  assert list(results) == list(expected)
  for key, want in expected.items():
    np.testing.assert_allclose(results[key], want, rtol=METRIC_RTOL, atol=1e-6, err_msg=key)


@pytest.mark.parametrize('case', CASES, ids=ids)
def test_string_and_raw_labels_match_encoded(case):
  """Labels as given (strings included) and as ``encode_labels`` output agree."""
  head = make_head(case)
  for (logits, raw, features), (_, encoded, _) in zip(batches(case), batches(case, encode=True)):
    np.testing.assert_array_equal(head.loss(raw, logits, features, regularization_losses=reg(case)),
                                  head.loss(encoded, logits, features, regularization_losses=reg(case)))


@pytest.mark.parametrize('case', CASES, ids=ids)
def test_jit_equals_eager(case):
  head = make_head(case)
  loss_jit = jax.jit(head.loss, static_argnames='mode')
  predictions_jit = jax.jit(head.predictions)
  for logits, labels, features in batches(case, encode=True):
    np.testing.assert_allclose(loss_jit(labels, logits, features, regularization_losses=reg(case)),
                               head.loss(labels, logits, features, regularization_losses=reg(case)),
                               rtol=1e-6)
    chex_tree_close(predictions_jit(logits), head.predictions(logits))
  eager = stream_metrics(head, case, head.update_metrics)
  jitted = stream_metrics(head, case, jax.jit(head.update_metrics))
  chex_tree_close(fh.metrics.results(jitted), fh.metrics.results(eager))


def chex_tree_close(actual, expected):
  assert jax.tree.structure(actual) == jax.tree.structure(expected)
  for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)


# Composite heads: MultiHead and SequentialHeadWrapper against graph-mode Estimator.evaluate.
MULTI_CASES = load('multi_head')
SEQUENTIAL_CASES = load('sequential')


def make_composite(case):
  if case['head'] == 'MultiHead':
    return fh.MultiHead([make_head(spec) for spec in case['heads']], case['head_weights'])
  return fh.SequentialHeadWrapper(make_head(case['static_head']), **case['kwargs'])


def composite_batches(case, head):
  """Yields (logits, labels, features) with labels as the jitted path takes them."""
  for b in case['batches']:
    logits = ({k: tensor(v) for k, v in b['logits'].items()} if 'dtype' not in b['logits']
              else tensor(b['logits']))
    if case['head'] == 'MultiHead':
      labels = {h.name: encoded(h, b['labels'][h.name]) for h in head.heads}
    else:
      labels = encoded(head, b['labels'])
    yield logits, labels, {k: tensor(v) for k, v in b['features'].items()}


def encoded(head, labels):
  """Labels through ``encode_labels`` where they must be (strings, class-id lists)."""
  value = tensor(labels)
  return head.encode_labels(value) if labels.get('ragged') or labels['dtype'] == 'string' else value


def check_composite_metrics(case, results, losses):
  expected = dict(case['expected']['metrics'])
  np.testing.assert_allclose(np.mean(losses), expected.pop('loss'), rtol=LOSS_RTOL)  # Estimator's own
  assert sorted(results) == sorted(expected)
  for key, want in expected.items():
    np.testing.assert_allclose(results[key], want, rtol=METRIC_RTOL, atol=1e-6, err_msg=key)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
@pytest.mark.parametrize('case', MULTI_CASES + SEQUENTIAL_CASES,
                         ids=[c['id'] for c in MULTI_CASES + SEQUENTIAL_CASES])
def test_composite_loss_and_streamed_metrics(case, jit):
  head = make_composite(case)
  loss_fn = jax.jit(head.loss) if jit else head.loss
  update = jax.jit(head.update_metrics) if jit else head.update_metrics
  state, losses = head.metrics(reg(case)), []
  for (logits, labels, features), expected in zip(composite_batches(case, head), case['expected']['loss']):
    losses.append(loss_fn(labels, logits, features, regularization_losses=reg(case)))
    np.testing.assert_allclose(losses[-1], expected, rtol=LOSS_RTOL, atol=1e-7)
    state = update(state, features, logits, labels, reg(case))
  check_composite_metrics(case, fh.metrics.results(state), losses)


@pytest.mark.parametrize('case', MULTI_CASES, ids=[c['id'] for c in MULTI_CASES])
def test_multi_head_predictions(case):
  head = make_composite(case)
  for (logits, _, _), expected in zip(composite_batches(case, head), case['expected']['predictions']):
    predictions = head.decode_predictions(head.predictions(logits))
    assert list(predictions) == [(name, key) for name, key, _ in expected]
    for name, key, want in expected:
      compare_prediction(predictions[(name, key)], want, f'{name}/{key}')


@pytest.mark.parametrize('case', SEQUENTIAL_CASES, ids=[c['id'] for c in SEQUENTIAL_CASES])
def test_sequential_predictions(case):
  head = make_composite(case)
  for (logits, _, _), expected in zip(composite_batches(case, head), case['expected']['predictions']):
    predictions = head.decode_predictions(head.predictions(logits))
    assert list(predictions) == list(expected)
    for key, want in expected.items():
      compare_prediction(predictions[key], want, key)


def compare_prediction(got, want, key):
  want_value = tensor(want)
  assert got.shape == want_value.shape, key
  if want['dtype'] == 'string':
    np.testing.assert_array_equal(got, want_value, err_msg=key)
  else:
    np.testing.assert_allclose(got, want_value, rtol=LOSS_RTOL, atol=1e-7, err_msg=key)
