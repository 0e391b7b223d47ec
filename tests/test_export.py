"""flaxheads.export on a user's own model: inputs, Estimator's signature plan, a SavedModel written and reloaded.

The SavedModels written here are reloaded in this process (TensorFlow is
imported by the export anyway); `test_job_export.py` serves the bundled
configs' exports in a fresh process.
"""

import importlib.util
import json
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh
from flaxheads import export
from flaxheads._src.export import jax_artifact

# One worker imports TensorFlow (see test_job_export.py).
pytestmark = [pytest.mark.xdist_group('tensorflow'), pytest.mark.slow]

HERE = pathlib.Path(__file__).parent
GOLDEN = {c['id']: c for c in json.loads((HERE / 'golden' / 'signatures.json').read_text())['cases']}
HEADS = {'RegressionHead': fh.RegressionHead, 'PoissonRegressionHead': fh.PoissonRegressionHead,
         'LogisticRegressionHead': fh.LogisticRegressionHead, 'BinaryClassHead': fh.BinaryClassHead,
         'MultiClassHead': fh.MultiClassHead, 'MultiLabelHead': fh.MultiLabelHead}


def golden_head(case):
  if case['head'] == 'MultiHead':
    return fh.MultiHead([HEADS[h['head']](**h['kwargs']) for h in case['heads']])
  return HEADS[case['head']](**case['kwargs'])


def apply_fn(variables, features):
  """A linear model that also reads a non-trainable collection."""
  return features['x'] @ variables['params']['w'] * variables['stats']['scale']


def variables_for(head, n_features=2):
  w = np.random.default_rng(0).normal(size=(n_features, head.logits_dimension)).astype(np.float32)
  return {'params': {'w': w}, 'stats': {'scale': np.float32(2.)}}


INPUTS = export.InputSpec(('height', 'weight'), mean=[170., 70.], std=[10., 15.])
ROWS = np.array([[180., 60.], [150., 95.], [170., 70.]], np.float32)


@pytest.mark.parametrize('kwargs, message', [
    ({'feature_names': ()}, 'feature_names must be non-empty strings'),
    ({'feature_names': ('a', 'a')}, 'feature_names must be distinct'),
    ({'feature_names': ('a', 'b'), 'mean': [1., 2., 3.]}, 'mean must be a scalar or have one value per feature (2)'),
    ({'feature_names': ('a',), 'std': 0.}, 'std must be finite and non-zero'),
    ({'feature_names': ('a',), 'sequence_length': 0}, 'sequence_length must be a positive int or None'),
])
def test_input_spec_rejects(kwargs, message):
  with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
    export.InputSpec(**kwargs)


def test_sequence_heads_need_a_sequence_length():
  head = fh.SequentialHeadWrapper(fh.BinaryClassHead(), 'mask')
  with pytest.raises(ValueError, match='inputs.sequence_length must be set for SequentialHeadWrapper'):
    export.prediction_fn(head, apply_fn, export.InputSpec(('a',)))
  with pytest.raises(ValueError, match='inputs.sequence_length must be None for BinaryClassHead'):
    export.prediction_fn(fh.BinaryClassHead(), apply_fn, export.InputSpec(('a',), sequence_length=3))


@pytest.mark.parametrize('case_id', sorted(GOLDEN))
def test_signature_plan_names_methods_keys_and_dtypes_are_estimators(case_id):
  head = golden_head(GOLDEN[case_id])
  plan = export.signatures(head, head.export_outputs(jnp.zeros((1, head.logits_dimension))))
  golden = GOLDEN[case_id]['signatures']
  assert {s.name: s.method_name for s in plan} == {n: g['method_name'] for n, g in golden.items()}
  for s in plan:
    assert {o.key: o.dtype for o in s.outputs} == {k: v['dtype'] for k, v in golden[s.name]['outputs'].items()}


def test_jax_export_for_cpu_and_cuda_runs_on_cpu():
  head = fh.MultiClassHead(3)
  variables = variables_for(head)
  exported = export.jax_export(head, apply_fn, variables, INPUTS, platforms=('cpu', 'cuda'))
  restored = jax.export.deserialize(exported.serialize())
  assert restored.platforms == ('cpu', 'cuda')
  expected = head.predictions(apply_fn(variables, {'x': INPUTS.standardize(ROWS)}))
  for rows in (ROWS[:1], ROWS):
    np.testing.assert_allclose(restored.call(rows)['probabilities'], expected['probabilities'][:len(rows)],
                               rtol=1e-6)


def test_missing_tensorflow_names_the_extra(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'tensorflow', None)
  head = fh.RegressionHead()
  with pytest.raises(ImportError, match=r"pip install 'flaxheads\[export\]'"):
    export.export(head, apply_fn, variables_for(head), export.InputSpec(('a', 'b')), tmp_path)
  assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope='module')
def serving():
  spec = importlib.util.spec_from_file_location('serve_saved_models', HERE / 'export_scripts' / 'serve_saved_models.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def served(serving, directory, feature_names, rows):
  return serving.serve({'dir': str(directory), 'feature_names': list(feature_names), 'rows': rows.tolist()})




def test_binary_head_with_vocabulary_exports_estimators_signatures(tmp_path, serving):
  head = fh.BinaryClassHead(label_vocabulary=('no', 'yes'))
  variables = variables_for(head)
  paths = export.export(head, apply_fn, variables, INPUTS, tmp_path)
  result = served(serving, paths.saved_model, INPUTS.feature_names, ROWS)
  assert result['signature_defs'] == GOLDEN['BinaryClassHead/vocabulary']['signatures']
  expected = head.decode_predictions(head.predictions(apply_fn(variables, {'x': INPUTS.standardize(ROWS)})))
  predict = result['outputs']['predict']
  assert sorted(predict) == sorted(expected)
  for key, value in expected.items():
    if value.dtype.kind == 'U':
      np.testing.assert_array_equal(predict[key], value)
    else:
      np.testing.assert_allclose(predict[key], value, rtol=1e-5, atol=1e-6)
  classify = result['outputs']['classification']
  np.testing.assert_array_equal(classify['classes'], [['no', 'yes']] * len(ROWS))
  np.testing.assert_allclose(classify['scores'], expected['probabilities'], rtol=1e-5)
  np.testing.assert_allclose(result['outputs']['regression']['outputs'], expected['logistic'], rtol=1e-5)
  assert result['outputs']['serving_default'] == classify


def test_multi_head_with_vocabularies_serves_strings_per_head(tmp_path, serving):
  head = fh.MultiHead([fh.MultiClassHead(3, label_vocabulary=('a', 'b', 'c'), name='letter'),
                       fh.MultiLabelHead(2, label_vocabulary=('x', 'y'), name='tags'),
                       fh.RegressionHead(name='size')])
  variables = variables_for(head)
  paths = export.export(head, apply_fn, variables, INPUTS, tmp_path, extra_metadata={'note': 'test'})
  outputs = served(serving, paths.saved_model, INPUTS.feature_names, ROWS)['outputs']
  assert sorted(outputs) == ['letter', 'letter/classification', 'letter/predict', 'predict', 'serving_default',
                             'size', 'size/predict', 'size/regression', 'tags', 'tags/classification',
                             'tags/predict']
  logits = head.split_logits(apply_fn(variables, {'x': INPUTS.standardize(ROWS)}))
  letter = head.heads[0].decode_predictions(head.heads[0].predictions(logits['letter']))
  np.testing.assert_array_equal(outputs['predict']['letter/classes'], letter['classes'])
  np.testing.assert_array_equal(outputs['letter/predict']['all_classes'], letter['all_classes'])
  np.testing.assert_array_equal(outputs['tags']['classes'], [['x', 'y']] * len(ROWS))
  np.testing.assert_array_equal(outputs['predict']['tags/classes'], [['x', 'y']] * len(ROWS))
  np.testing.assert_allclose(outputs['size']['outputs'], logits['size'], rtol=1e-5, atol=1e-6)
  assert outputs['serving_default'] == outputs['letter']
  metadata = json.loads((paths.jax_export.parent / jax_artifact.METADATA).read_text())
  assert metadata['note'] == 'test' and metadata['feature_names'] == ['height', 'weight']
  assert metadata['signatures']['letter'] == 'tensorflow/serving/classify'
  exported = jax.export.deserialize(paths.jax_export.read_bytes())
  np.testing.assert_allclose(exported.call(ROWS)['size/predictions'], logits['size'], rtol=1e-6)
