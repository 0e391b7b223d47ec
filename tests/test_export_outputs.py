"""Export signatures: Estimator's serving_default / classification / regression / predict."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh

S = fh.SignatureKeys


@pytest.mark.parametrize('head, signatures', [
    (fh.RegressionHead(2), {S.SERVING_DEFAULT, S.REGRESS, S.PREDICT}),
    (fh.PoissonRegressionHead(), {S.SERVING_DEFAULT, S.REGRESS, S.PREDICT}),
    (fh.LogisticRegressionHead(), {S.SERVING_DEFAULT, S.REGRESS, S.PREDICT}),
    (fh.BinaryClassHead(), {S.SERVING_DEFAULT, S.CLASSIFY, S.REGRESS, S.PREDICT}),
    (fh.MultiClassHead(3), {S.SERVING_DEFAULT, S.CLASSIFY, S.PREDICT}),
    (fh.MultiLabelHead(3), {S.SERVING_DEFAULT, S.CLASSIFY, S.PREDICT}),
])
def test_signatures_per_head(head, signatures):
  logits = jax.random.normal(jax.random.key(0), (4, head.logits_dimension))
  outputs = jax.jit(head.export_outputs)(logits)
  assert set(outputs) == signatures
  predictions = head.predictions(logits)
  assert set(outputs[S.PREDICT]) == set(predictions)
  if S.CLASSIFY in outputs:
    scores = outputs[S.CLASSIFY]['scores']
    assert outputs[S.CLASSIFY]['classes'].shape == scores.shape
    np.testing.assert_allclose(outputs[S.SERVING_DEFAULT]['scores'], scores)
  else:
    np.testing.assert_allclose(outputs[S.REGRESS]['value'], predictions['predictions'])


def test_binary_regression_signature_is_the_logistic():
  outputs = fh.BinaryClassHead().export_outputs(jnp.array([[0.], [2.]]))
  np.testing.assert_allclose(outputs[S.REGRESS]['value'], jax.nn.sigmoid(jnp.array([[0.], [2.]])))
  np.testing.assert_array_equal(outputs[S.CLASSIFY]['classes'], [[0, 1], [0, 1]])


def test_multi_head_merges_signatures_as_estimator():
  head = fh.MultiHead([fh.MultiClassHead(3, name='m'), fh.RegressionHead(name='r')])
  outputs = head.export_outputs(jnp.zeros((2, 4)))
  assert set(outputs) == {'serving_default', 'm', 'm/classification', 'm/predict', 'r', 'r/regression',
                          'r/predict', 'predict'}
  assert set(outputs['serving_default']) == {'scores', 'classes'}  # the first head's default
  assert 'r/predictions' in outputs['predict'] and 'm/probabilities' in outputs['predict']


def test_sequential_predict_signature_carries_the_mask():
  head = fh.SequentialHeadWrapper(fh.BinaryClassHead(), 'mask')
  mask = jnp.array([[True, False]])
  outputs = head.export_outputs(jnp.zeros((1, 2, 1)), {'mask': mask})
  np.testing.assert_array_equal(outputs['predict']['mask'], mask)
