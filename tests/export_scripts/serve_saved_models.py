"""Loads exported SavedModels in a fresh process and runs every signature on raw rows.

    python tests/export_scripts/serve_saved_models.py REQUEST.json RESPONSE.json

REQUEST: ``[{"dir": SAVED_MODEL, "feature_names": [...], "rows": [[raw floats], ...]}
          | {"dir": ..., "sequences": [[[...]]], "lengths": [...]}, ...]``.
RESPONSE: per model, ``{"signature_defs": {name: {"method_name", "inputs", "outputs"}},
"outputs": {signature: {key: nested list (strings decoded)}}}``, the signature
defs read from ``saved_model.pb`` in the layout of ``tests/golden/signatures.json``.
"""

import json
import pathlib
import sys

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2


def tensor_info(info):
  shape = None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]
  return {'dtype': tf.dtypes.as_dtype(info.dtype).name, 'shape': shape}


def signature_defs(directory):
  proto = saved_model_pb2.SavedModel()
  proto.ParseFromString((pathlib.Path(directory) / 'saved_model.pb').read_bytes())
  (graph,) = proto.meta_graphs
  return {name: {'method_name': sig.method_name,
                 'inputs': {k: tensor_info(v) for k, v in sorted(sig.inputs.items())},
                 'outputs': {k: tensor_info(v) for k, v in sorted(sig.outputs.items())}}
          for name, sig in sorted(graph.signature_def.items())
          if not name.startswith('__')}  # TF 2's internal __saved_model_init_op


def examples(feature_names, rows):
  return [tf.train.Example(features=tf.train.Features(feature={
      name: tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
      for name, value in zip(feature_names, row)})).SerializeToString() for row in rows]


def to_json(value):
  value = value.numpy()
  if value.dtype == object:
    return np.vectorize(lambda b: b.decode())(value).tolist()
  return value.tolist()


def serve(model):
  loaded = tf.saved_model.load(model['dir'])
  outputs = {}
  for name, fn in loaded.signatures.items():
    if 'rows' in model:
      (arg,) = fn.structured_input_signature[1]  # 'inputs' or 'examples'
      result = fn(**{arg: tf.constant(examples(model['feature_names'], model['rows']))})
    else:
      result = fn(sequences=tf.constant(model['sequences'], tf.float32),
                  lengths=tf.constant(model['lengths'], tf.int64))
    outputs[name] = {k: to_json(v) for k, v in result.items()}
  return {'signature_defs': signature_defs(model['dir']), 'outputs': outputs}


def main():
  request = json.loads(pathlib.Path(sys.argv[1]).read_text())
  response = [serve(model) for model in request]
  pathlib.Path(sys.argv[2]).write_text(json.dumps(response))


if __name__ == '__main__':
  main()
