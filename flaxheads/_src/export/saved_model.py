"""The TF SavedModel with Estimator's serving signatures, through ``jax2tf``.

The head's ``export_outputs`` of raw features is converted once with
``jax2tf.convert`` (a symbolic batch dimension, no gradient) inside a
``tf.Module`` whose ``tf.Variable`` s hold the model's variables, so large
models stay outside the 2 GB graph protobuf. Every signature is a
``tf.function(autograph=False)`` that parses serialized ``tf.Example`` s
(``inputs`` for classification and regression, ``examples`` for predict),
calls the converted function and renames its outputs as Estimator did; class
strings are gathered from the vocabulary in TensorFlow (JAX has no strings).
The signature method names (``tensorflow/serving/classify`` ...) are set as
Estimator sets them, so TF Serving's Classify and Regress APIs accept them.

TensorFlow is imported only when a SavedModel is written.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import jax
import numpy as np

from flaxheads._src.export import inputs as inputs_lib
from flaxheads._src.export import jax_artifact
from flaxheads._src.export import signatures as signatures_lib

EXTRA_DIR = 'assets.extra'  # files TF Serving ignores: the jax.export artifact
INSTALL_HINT = "install the export extra: pip install 'flaxheads[export]'"


def import_tensorflow():
  """``(tf, jax2tf)``; an ``ImportError`` naming the extra to install when TensorFlow is missing."""
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from jax.experimental import jax2tf  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(f'writing a SavedModel needs TensorFlow ({e}); {INSTALL_HINT}') from e
  return tf, jax2tf


def _variable_name(path) -> str:
  name = '.'.join(str(getattr(k, 'key', getattr(k, 'name', getattr(k, 'idx', k)))) for k in path)
  return re.sub(r'[^A-Za-z0-9_.\-]', '_', name) or 'variable'


class _Builder:
  """Builds the signature outputs from the converted function's nested outputs."""

  def __init__(self, tf):
    self.tf = tf

  def outputs(self, signature: signatures_lib.Signature, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tf, out = self.tf, {}
    for o in signature.outputs:
      value = values[o.source[0]][o.source[1]]
      if o.kind == 'numeric':
        out[o.key] = tf.cast(value, o.dtype)
      elif o.kind == 'strings':
        out[o.key] = tf.gather(tf.constant(o.vocabulary), value)
      else:  # every class of the vocabulary, for each example
        out[o.key] = tf.broadcast_to(tf.constant(o.vocabulary), tf.shape(value))
    return out


def _signature_functions(tf, module, plan, inputs: inputs_lib.InputSpec) -> dict[str, Any]:
  """``{name: concrete function}``; the argument names are the signature input keys."""
  build = _Builder(tf).outputs
  spec = {name: tf.io.FixedLenFeature([], tf.float32) for name in inputs.feature_names}

  def parse(serialized):
    parsed = tf.io.parse_example(serialized, spec)
    return tf.stack([parsed[name] for name in inputs.feature_names], axis=1)

  functions = {}
  for signature in plan:
    if inputs.sequence_length is not None:
      def sequence_fn(sequences, lengths, signature=signature):
        return build(signature, module.outputs(sequences, tf.cast(lengths, tf.int32)))
      fn = tf.function(sequence_fn, autograph=False, input_signature=[
          tf.TensorSpec([None, inputs.sequence_length, inputs.num_features], tf.float32),
          tf.TensorSpec([None], tf.int64)])
    elif signatures_lib.EXAMPLES_INPUT[signature.method] == 'inputs':
      def inputs_fn(inputs, signature=signature):  # pylint: disable=redefined-outer-name
        return build(signature, module.outputs(parse(inputs)))
      fn = tf.function(inputs_fn, autograph=False, input_signature=[tf.TensorSpec([None], tf.string)])
    else:
      def examples_fn(examples, signature=signature):
        return build(signature, module.outputs(parse(examples)))
      fn = tf.function(examples_fn, autograph=False, input_signature=[tf.TensorSpec([None], tf.string)])
    functions[signature.name] = fn.get_concrete_function()
  return functions


def _set_method_names(tf, directory: pathlib.Path, plan) -> None:
  """Sets Estimator's method name on each signature (TF 2 saves every one as ``predict``)."""
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  from tensorflow.python.saved_model import fingerprinting_utils  # pylint: disable=g-import-not-at-top
  path = directory / 'saved_model.pb'
  proto = saved_model_pb2.SavedModel()
  proto.ParseFromString(path.read_bytes())
  for graph in proto.meta_graphs:
    for signature in plan:
      graph.signature_def[signature.name].method_name = signature.method_name
  path.write_bytes(proto.SerializeToString())
  (directory / 'fingerprint.pb').unlink(missing_ok=True)
  fingerprinting_utils.write_fingerprint(str(directory))
  del tf


def write_saved_model(head, apply_fn: inputs_lib.ApplyFn, variables: Any, inputs: inputs_lib.InputSpec,
                      directory: str | pathlib.Path) -> tuple[signatures_lib.Signature, ...]:
  """Writes the SavedModel of the head's serving signatures into ``directory``; returns its signatures."""
  tf, jax2tf = import_tensorflow()
  outputs_fn = inputs_lib.export_outputs_fn(head, apply_fn, inputs)
  leaves, treedef = jax.tree.flatten(jax.device_get(variables))
  probe = jax.eval_shape(outputs_fn, variables, *jax_artifact.input_specs(inputs, 1))
  plan = (signatures_lib.plan if inputs.sequence_length is None else signatures_lib.sequence_plan)(head, probe)
  x_shape = '(b, _)' if inputs.sequence_length is None else '(b, _, _)'
  polymorphic = [None, x_shape] + ([] if inputs.sequence_length is None else ['(b,)'])
  converted = jax2tf.convert(outputs_fn, polymorphic_shapes=polymorphic, with_gradient=False)

  module = tf.Module()
  paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(variables)[0]]
  module.model_variables = [tf.Variable(np.asarray(leaf), trainable=False, name=_variable_name(path))
                            for leaf, path in zip(leaves, paths)]

  @tf.function(autograph=False)
  def model_outputs(*args):
    return converted(jax.tree.unflatten(treedef, list(module.model_variables)), *args)
  module.outputs = model_outputs

  functions = _signature_functions(tf, module, plan, inputs)
  tf.saved_model.save(module, str(directory), signatures=functions)
  _set_method_names(tf, pathlib.Path(directory), plan)
  return plan
