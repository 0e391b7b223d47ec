"""Generate the golden fixture of Estimator's serving signatures.

This script runs only under the reference environment (TensorFlow 2.15.1 and
tensorflow-estimator 2.15.0, see README.md in this directory):

    /work/tf215/bin/python tests/golden/generate_signatures.py [--out DIR]

For every head the bundled configs use, it trains a one-layer
``tf.estimator.Estimator`` (whose ``model_fn`` calls the head's
``create_estimator_spec``) for one step on two numeric features ``a`` and
``b``, exports it with
``export_saved_model(build_parsing_serving_input_receiver_fn(spec))`` and reads
the signature defs back from ``saved_model.pb``. It writes
``signatures.json``::

    {"meta": {...}, "cases": [CASE, ...]}
    CASE = {
      "id": "<head>",
      "head": CLASS, "kwargs": {...},              # or "heads": [...] for MultiHead
      "signatures": {NAME: {
        "method_name": "tensorflow/serving/classify" | ".../regress" | ".../predict",
        "inputs":  {KEY: {"dtype": "string", "shape": [-1]}},
        "outputs": {KEY: {"dtype": "float32" | "int64" | ..., "shape": [-1, n] | null}},
      }},
    }

``-1`` is an unknown dimension; a ``null`` shape is an unknown rank. The
output is deterministic (it depends on the heads, not on trained values).
"""

import argparse
import json
import pathlib
import tempfile

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

FEATURES = ("a", "b")

CASES = [
    ("RegressionHead", {"label_dimension": 1}),
    ("PoissonRegressionHead", {}),
    ("LogisticRegressionHead", {}),
    ("BinaryClassHead", {"thresholds": [0.3, 0.7]}),
    ("BinaryClassHead", {"label_vocabulary": ["no", "yes"]}),
    ("MultiClassHead", {"n_classes": 10}),
    ("MultiLabelHead", {"n_classes": 4, "label_vocabulary": ["even", "large", "prime", "loop"],
                        "thresholds": [0.3]}),
]
MULTI_HEAD = [("MultiClassHead", {"n_classes": 10, "name": "digit"}),
              ("BinaryClassHead", {"name": "large"}),
              ("BinaryClassHead", {"name": "odd"})]


def build(cls, kwargs):
    if cls == "PoissonRegressionHead":
        return tf.estimator.PoissonRegressionHead(**kwargs)
    if cls == "LogisticRegressionHead":
        return tf.estimator.LogisticRegressionHead(**kwargs)
    return getattr(tf.estimator, cls)(**kwargs)


def labels_for(cls, kwargs):
    n = kwargs.get("n_classes", 1)
    if cls == "MultiLabelHead":
        return tf.constant([[1] * n, [0] * n], tf.int64)
    if cls == "BinaryClassHead" and "label_vocabulary" in kwargs:
        return tf.constant([[kwargs["label_vocabulary"][1]], [kwargs["label_vocabulary"][0]]])
    if cls in ("BinaryClassHead", "MultiClassHead"):
        return tf.constant([[1], [0]], tf.int64)
    return tf.constant([[0.5], [1.0]], tf.float32)


def export(head, labels, folder):
    def model_fn(features, labels, mode):
        x = tf.concat([tf.reshape(tf.cast(features[k], tf.float32), [-1, 1]) for k in FEATURES], axis=1)
        logits = tf.compat.v1.layers.dense(x, head.logits_dimension)
        def train_op_fn(loss):
            return tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
                loss, global_step=tf.compat.v1.train.get_global_step())
        return head.create_estimator_spec(features, mode, logits, labels=labels, train_op_fn=train_op_fn)

    def input_fn():
        features = {k: tf.constant([[1.0], [2.0]]) for k in FEATURES}
        return tf.data.Dataset.from_tensors((features, labels()))

    estimator = tf.estimator.Estimator(model_fn, model_dir=str(folder / "model"))
    estimator.train(input_fn, steps=1)
    spec = {k: tf.io.FixedLenFeature([1], tf.float32) for k in FEATURES}
    receiver = tf.estimator.export.build_parsing_serving_input_receiver_fn(spec)
    return pathlib.Path(estimator.export_saved_model(str(folder / "export"), receiver).decode())


def tensor_info(info):
    shape = None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]
    return {"dtype": tf.dtypes.as_dtype(info.dtype).name, "shape": shape}


def signatures(saved_model_dir):
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model_dir / "saved_model.pb").read_bytes())
    (graph,) = proto.meta_graphs
    out = {}
    for name in sorted(graph.signature_def):
        sig = graph.signature_def[name]
        out[name] = {"method_name": sig.method_name,
                     "inputs": {k: tensor_info(v) for k, v in sorted(sig.inputs.items())},
                     "outputs": {k: tensor_info(v) for k, v in sorted(sig.outputs.items())}}
    return out


def case_id(cls, kwargs):
    return cls + ("/vocabulary" if "label_vocabulary" in kwargs and cls == "BinaryClassHead" else "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent))
    args = parser.parse_args()
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (cls, kwargs) in enumerate(CASES):
            folder = pathlib.Path(tmp) / str(i)
            exported = export(build(cls, kwargs), lambda: labels_for(cls, kwargs), folder)
            cases.append({"id": case_id(cls, kwargs), "head": cls, "kwargs": kwargs,
                          "signatures": signatures(exported)})
        head = tf.estimator.MultiHead([build(c, k) for c, k in MULTI_HEAD])
        labels = lambda: {k["name"]: labels_for(c, k) for c, k in MULTI_HEAD}
        exported = export(head, labels, pathlib.Path(tmp) / "multi")
        cases.append({"id": "MultiHead", "head": "MultiHead",
                      "heads": [{"head": c, "kwargs": k} for c, k in MULTI_HEAD],
                      "signatures": signatures(exported)})
    meta = {"tensorflow": tf.__version__, "features": list(FEATURES),
            "receiver": "build_parsing_serving_input_receiver_fn({name: FixedLenFeature([1], float32)})"}
    path = pathlib.Path(args.out) / "signatures.json"
    path.write_text(json.dumps({"meta": meta, "cases": cases}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
