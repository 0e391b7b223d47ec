"""Generate the golden fixtures for the head conformance tests.

This script runs only under the reference environment (TensorFlow 2.15.1 and
tensorflow-estimator 2.15.0, see README.md in this directory):

    /work/tf215/bin/python tests/golden/generate.py [--out DIR]

It writes ``regression.json``, ``binary_class.json``, ``multi_class.json`` and
``multi_label.json`` next to this file (or into ``--out``).  Every input is
first encoded to JSON and decoded back before it is given to TensorFlow, so the
fixtures hold exactly what the reference heads saw.  All random data comes from
NumPy generators seeded with the CRC32 of the case id, so the output is
byte-for-byte reproducible.

File layout::

    {"meta": {...}, "cases": [CASE, ...]}

    CASE = {
      "id": "<family>/<description>",          # unique across all files
      "head": "BinaryClassHead",                # class name
      "kwargs": {...},                          # JSON constructor arguments
      "hooks": {"loss_fn": NAME, ...},          # optional, see HOOKS below
      "regularization_losses": [..] | null,
      "batches": [{"logits": T, "labels": T, "features": {name: T}}, ...],
      "expected": {
        "loss": [float per batch],              # head.loss(..., mode=TRAIN)
        "predictions": [{key: T} per batch],    # head.predictions(logits)
        "metrics": {key: float},                # streamed over all batches
      },
    }

    T = {"dtype": "float32" | "float64" | "int32" | "int64" | "bool" | "string",
         "shape": [...], "value": nested list}
      | {"dtype": "int64" | "string", "ragged": true, "value": [[...], ...]}

A ragged tensor holds MultiLabelHead class-id (or class-name) labels, one list
per example.  It is given to TensorFlow as a ``tf.SparseTensor`` with indices
``[example, position]`` and dense shape ``[B, max(1, longest row)]``.

Floats are written as the Python float of the exact float32 (or float64) value.
Metrics are ``float(metric.result())`` after ``head.metrics(R)`` followed by
one ``head.update_metrics(..., regularization_losses=R)`` call per batch.  The
key order of every ``predictions`` and ``metrics`` dict is TensorFlow's.

HOOKS
=====
Named functions used for the callable constructor arguments.  All arithmetic
is float32.  ``labels`` and ``logits`` are what the head passes to ``loss_fn``
(see the notes below each hook); every loss_fn returns the shape of its
``labels`` argument for regression and ``logits.shape[:-1] + (1,)`` for the
classification heads.

loss_fn
  "squared_plus_abs" (RegressionHead)
      d = logits - labels;  loss = d**2 + |d|
  "regression_feature_scaled" (RegressionHead; takes ``features``)
      loss = float32(features["x"]) * (logits - labels)**2
      ``features`` is the dict given to the head, unchanged; "x" has the shape
      of the logits, or a shape that broadcasts against them.
  "binary_squared" (BinaryClassHead)
      loss = (sigmoid(logits) - labels)**2
      labels: float32 [..., 1] (after vocabulary lookup).
  "multiclass_margin" (MultiClassHead)
      picked = sum_c(one_hot(labels[..., 0], n_classes) * logits, keepdims)
      loss = 2 * (logsumexp(logits, axis=-1, keepdims=True) - picked)
      labels: integer class ids [..., 1] in the labels' own integer dtype.
  "multilabel_mean_squared" (MultiLabelHead)
      loss = mean_c((sigmoid(logits) - float32(labels))**2, keepdims) -> [..., 1]
      labels: the multi-hot [..., n_classes] in the dense labels' dtype, or
      int64 for ragged (sparse) labels.

inverse_link_fn (RegressionHead)
  "exp"      predictions = exp(logits)
  "sigmoid"  predictions = sigmoid(logits)

weight_fn
  "plus_one"  weights = float32(features["w"]) + 1
      The TensorFlow weight column is
      ``numeric_column("w", shape=(1,), normalizer_fn=...)``; the case kwargs
      keep ``weight_column="w"``.  Before the function runs, TensorFlow expands
      a rank-1 feature ``[B]`` to ``[B, 1]``; other ranks are passed as given.
      The head then applies its usual weight shape rules, so the result is the
      same as adding one to the raw feature.
"""

import argparse
import json
import os
import sys
import zlib
from importlib import metadata

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")
tf.config.experimental.enable_op_determinism()

GENERATOR = "tests/golden/generate.py"
HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------


def _squared_plus_abs(labels, logits):
    d = logits - labels
    return tf.square(d) + tf.abs(d)


def _regression_feature_scaled(labels, logits, features):
    return tf.cast(features["x"], tf.float32) * tf.square(logits - labels)


def _binary_squared(labels, logits):
    return tf.square(tf.sigmoid(logits) - labels)


def _multiclass_margin(labels, logits):
    one_hot = tf.one_hot(labels[..., 0], depth=logits.shape[-1], dtype=tf.float32)
    picked = tf.reduce_sum(one_hot * logits, axis=-1, keepdims=True)
    return 2.0 * (tf.reduce_logsumexp(logits, axis=-1, keepdims=True) - picked)


def _multilabel_mean_squared(labels, logits):
    diff = tf.sigmoid(logits) - tf.cast(labels, tf.float32)
    return tf.reduce_mean(tf.square(diff), axis=-1, keepdims=True)


LOSS_FNS = {
    "squared_plus_abs": _squared_plus_abs,
    "regression_feature_scaled": _regression_feature_scaled,
    "binary_squared": _binary_squared,
    "multiclass_margin": _multiclass_margin,
    "multilabel_mean_squared": _multilabel_mean_squared,
}

INVERSE_LINK_FNS = {
    "exp": tf.exp,
    "sigmoid": tf.sigmoid,
}

WEIGHT_FNS = {
    "plus_one": lambda w: tf.cast(w, tf.float32) + 1.0,
}

# ---------------------------------------------------------------------------
# Tensor encoding
# ---------------------------------------------------------------------------

_NP_DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}


class Ragged:
    """Per-example lists of class ids (ints) or class names (strs)."""

    def __init__(self, rows, dtype):
        assert dtype in ("int64", "string")
        self.rows = [list(r) for r in rows]
        self.dtype = dtype


def _to_str(x):
    if isinstance(x, list):
        return [_to_str(v) for v in x]
    if isinstance(x, bytes):
        return x.decode("utf-8")
    return str(x)


def encode(x):
    """Encodes a NumPy array, a tf.Tensor or a Ragged as a JSON tensor."""
    if isinstance(x, Ragged):
        if x.dtype == "int64":
            rows = [[int(v) for v in r] for r in x.rows]
        else:
            rows = [[str(v) for v in r] for r in x.rows]
        return {"dtype": x.dtype, "ragged": True, "value": rows}
    if isinstance(x, tf.Tensor):
        dtype = "string" if x.dtype == tf.string else x.dtype.name
        x = x.numpy()
    else:
        x = np.asarray(x)
        dtype = "string" if x.dtype.kind in "USO" else x.dtype.name
    if dtype == "string":
        value = _to_str(x.tolist())
    else:
        assert dtype in _NP_DTYPES, dtype
        value = x.tolist()
    return {"dtype": dtype, "shape": list(x.shape), "value": value}


def decode(t):
    """Builds the TensorFlow input for a JSON tensor."""
    if t.get("ragged"):
        rows = t["value"]
        indices = [[i, j] for i, r in enumerate(rows) for j in range(len(r))]
        values = [v for r in rows for v in r]
        width = max([1] + [len(r) for r in rows])
        tf_dtype = tf.string if t["dtype"] == "string" else tf.int64
        return tf.SparseTensor(
            indices=tf.constant(np.array(indices, np.int64).reshape(-1, 2)),
            values=tf.constant(values, dtype=tf_dtype, shape=[len(values)]),
            dense_shape=[len(rows), width])
    if t["dtype"] == "string":
        return tf.constant(t["value"], dtype=tf.string, shape=t["shape"])
    arr = np.array(t["value"], dtype=_NP_DTYPES[t["dtype"]]).reshape(t["shape"])
    return tf.constant(arr)


# ---------------------------------------------------------------------------
# Running a case against the reference heads
# ---------------------------------------------------------------------------


def build_head(c):
    cls = getattr(tf.estimator, c["head"])
    kwargs = dict(c["kwargs"])
    hooks = c.get("hooks", {})
    if "weight_fn" in hooks:
        kwargs["weight_column"] = tf.feature_column.numeric_column(
            kwargs["weight_column"], shape=(1,),
            normalizer_fn=WEIGHT_FNS[hooks["weight_fn"]])
    if "loss_fn" in hooks:
        kwargs["loss_fn"] = LOSS_FNS[hooks["loss_fn"]]
    if "inverse_link_fn" in hooks:
        kwargs["inverse_link_fn"] = INVERSE_LINK_FNS[hooks["inverse_link_fn"]]
    return cls(**kwargs)


def run_case(c):
    head = build_head(c)
    reg = c["regularization_losses"]
    reg_t = None if reg is None else [tf.constant(r, tf.float32) for r in reg]
    losses, predictions = [], []
    metrics = head.metrics(regularization_losses=reg_t)
    for b in c["batches"]:
        logits = decode(b["logits"])
        labels = decode(b["labels"])
        features = {k: decode(v) for k, v in b["features"].items()}
        loss = head.loss(labels=labels, logits=logits, features=features,
                         mode=tf.estimator.ModeKeys.TRAIN,
                         regularization_losses=reg_t)
        losses.append(float(loss.numpy()))
        preds = head.predictions(logits)
        predictions.append({k: encode(v) for k, v in preds.items()})
        metrics = head.update_metrics(metrics, features, logits, labels,
                                      regularization_losses=reg_t)
    results = {k: float(m.result().numpy()) for k, m in metrics.items()}
    return {"loss": losses, "predictions": predictions, "metrics": results}


def make_case(cid, head, kwargs, batches, hooks=None, reg=None):
    c = {"id": cid, "head": head, "kwargs": kwargs}
    if hooks:
        c["hooks"] = hooks
    if reg is not None:
        reg = [float(np.float32(r)) for r in reg]
    c["regularization_losses"] = reg
    c["batches"] = [
        {"logits": encode(b["logits"]), "labels": encode(b["labels"]),
         "features": {k: encode(v) for k, v in b.get("features", {}).items()}}
        for b in batches]
    # Round-trip through JSON so that TensorFlow sees exactly the stored inputs.
    c = json.loads(json.dumps(c))
    c["expected"] = run_case(c)
    return c


# ---------------------------------------------------------------------------
# Data helpers
# ---------------------------------------------------------------------------


def rng_for(cid):
    return np.random.default_rng(zlib.crc32(cid.encode("utf-8")))


def quantize(x, step=1.0 / 64):
    """Rounds to a grid so that inputs have short decimal representations."""
    return (np.round(np.asarray(x, np.float64) / step) * step).astype(np.float32)


def normal(r, shape, scale=2.0, step=1.0 / 64):
    return quantize(r.normal(size=shape) * scale, step)


def weights(r, shape, kind="float"):
    if kind == "float":
        return quantize(r.uniform(0.0, 3.0, size=shape), 1.0 / 8)
    if kind == "zero":
        return np.zeros(shape, np.float32)
    if kind == "int32":
        return r.integers(0, 4, size=shape).astype(np.int32)
    if kind == "bool":
        return r.uniform(size=shape) < 0.7
    raise ValueError(kind)


def with_weights(r, batch, weight_shape, kind="float"):
    if weight_shape is not None:
        batch.setdefault("features", {})["w"] = weights(r, weight_shape, kind)
    return batch


def large_logits(r, shape):
    vals = np.array([-100.0, -50.0, -3.0, 0.0, 2.5, 50.0, 100.0], np.float32)
    return r.choice(vals, size=shape).astype(np.float32)


# ---------------------------------------------------------------------------
# Regression family
# ---------------------------------------------------------------------------


def reg_batch(r, bshape, d=1, squeeze=False, label_dtype="float32",
              w=None, wkind="float", x=None, logits=None, labels=None,
              logits_dtype="float32"):
    """A regression batch; ``bshape`` is [D0..DN], logits are bshape + [d]."""
    lshape = tuple(bshape) + (d,)
    if logits is None:
        logits = normal(r, lshape)
    logits = np.asarray(logits).astype(logits_dtype)
    if labels is None:
        if label_dtype.startswith("int"):
            labels = r.integers(-3, 4, size=lshape)
        else:
            labels = normal(r, lshape)
    labels = np.asarray(labels).astype(label_dtype)
    if squeeze:
        labels = labels.reshape(tuple(bshape))
    b = {"logits": logits, "labels": labels, "features": {}}
    if x is not None:
        b["features"]["x"] = quantize(r.uniform(0.0, 2.0, size=x), 1.0 / 16)
    return with_weights(r, b, w, wkind)


POISSON_LABELS = np.array([0.0, 1.0, 2.0, 5.0, 0.5, 3.75, 1.5, 0.25], np.float32)


def poisson_batch(r, bshape, d=1, squeeze=False, label_dtype="float32", w=None,
                  wkind="float"):
    lshape = tuple(bshape) + (d,)
    logits = normal(r, lshape, scale=1.0)
    if label_dtype.startswith("int"):
        labels = r.choice(np.array([0, 1, 2, 5]), size=lshape)
    else:
        labels = r.choice(POISSON_LABELS, size=lshape)
    return reg_batch(r, bshape, d, squeeze, label_dtype, w, wkind,
                     logits=logits, labels=labels)


def logistic_batch(r, bshape, squeeze=False, label_kind="soft", w=None,
                   wkind="float", logits=None):
    lshape = tuple(bshape) + (1,)
    if label_kind == "soft":
        labels = quantize(r.uniform(size=lshape), 1.0 / 8).astype(np.float32)
        label_dtype = "float32"
    else:
        labels = r.integers(0, 2, size=lshape)
        label_dtype = label_kind
    if logits is None:
        logits = normal(r, lshape)
    return reg_batch(r, bshape, 1, squeeze, label_dtype, w, wkind,
                     logits=logits, labels=labels)


def regression_cases():
    cases = []

    def add(cid, head, kwargs, make, hooks=None, reg=None):
        cases.append(make_case(cid, head, kwargs, make(rng_for(cid)), hooks, reg))

    H = "RegressionHead"
    add("regression/default", H, {}, lambda r: [reg_batch(r, [4])])
    add("regression/labels_rank1_int32_sum", H, {"loss_reduction": "sum"},
        lambda r: [reg_batch(r, [5], squeeze=True, label_dtype="int32")])
    add("regression/weights_rank1_sum", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [4], w=[4])])
    add("regression/weights_b1_sum_over_batch_size", H,
        {"weight_column": "w", "loss_reduction": "sum_over_batch_size"},
        lambda r: [reg_batch(r, [4], w=[4, 1])])
    add("regression/weights_rank1_auto_int64_labels", H,
        {"weight_column": "w", "loss_reduction": "auto"},
        lambda r: [reg_batch(r, [6], label_dtype="int64", w=[6])])
    add("regression/int32_weights_labels_rank1", H, {"weight_column": "w"},
        lambda r: [reg_batch(r, [5], squeeze=True, w=[5], wkind="int32")])
    add("regression/label_dim3_per_logit_weights_sum", H,
        {"label_dimension": 3, "weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [4], d=3, w=[4, 3])])
    add("regression/label_dim3_weights_rank1_sum_over_batch_size", H,
        {"label_dimension": 3, "weight_column": "w",
         "loss_reduction": "sum_over_batch_size"},
        lambda r: [reg_batch(r, [4], d=3, w=[4])])
    add("regression/label_dim3_weights_b1_auto", H,
        {"label_dimension": 3, "weight_column": "w", "loss_reduction": "auto"},
        lambda r: [reg_batch(r, [3], d=3, w=[3, 1])])
    add("regression/label_dim3_per_logit_weights_streamed", H,
        {"label_dimension": 3, "weight_column": "w"},
        lambda r: [reg_batch(r, [n], d=3, w=[n, 3]) for n in (2, 4, 3)])
    add("regression/rank3_labels_bt1_weights_bt_sum", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [2, 3], w=[2, 3])])
    add("regression/rank3_labels_bt_weights_bt1", H, {"weight_column": "w"},
        lambda r: [reg_batch(r, [3, 2], squeeze=True, w=[3, 2, 1])])
    add("regression/rank3_label_dim3_per_logit_weights_auto", H,
        {"label_dimension": 3, "weight_column": "w", "loss_reduction": "auto"},
        lambda r: [reg_batch(r, [2, 2], d=3, w=[2, 2, 3])])
    add("regression/rank3_label_dim2_unweighted_sum", H,
        {"label_dimension": 2, "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [2, 3], d=2)])
    add("regression/named_regularized", H,
        {"weight_column": "w", "name": "price"},
        lambda r: [reg_batch(r, [4], w=[4])], reg=[0.25, 0.5])
    add("regression/regularized_sum", H, {"loss_reduction": "sum"},
        lambda r: [reg_batch(r, [3]), reg_batch(r, [2])], reg=[0.1])
    add("regression/all_zero_weights", H, {"weight_column": "w"},
        lambda r: [reg_batch(r, [4], w=[4], wkind="zero")])
    add("regression/all_zero_weights_sum_regularized", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [3], d=1, w=[3, 1], wkind="zero")], reg=[0.75])
    add("regression/one_example", H, {"weight_column": "w"},
        lambda r: [reg_batch(r, [1], w=[1])], reg=[0.125])
    add("regression/streamed_weighted_sum", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [n], w=[n]) for n in (3, 5, 1, 2)])
    add("regression/large_logits", H, {},
        lambda r: [reg_batch(r, [7], logits=large_logits(r, (7, 1)))])
    add("regression/float64_logits_int64_labels", H, {"loss_reduction": "sum"},
        lambda r: [reg_batch(r, [4], label_dtype="int64", logits_dtype="float64")])
    add("regression/loss_fn_squared_plus_abs_weighted_sum", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [5], w=[5])],
        hooks={"loss_fn": "squared_plus_abs"})
    add("regression/loss_fn_squared_plus_abs_label_dim3", H,
        {"label_dimension": 3},
        lambda r: [reg_batch(r, [3], d=3)],
        hooks={"loss_fn": "squared_plus_abs"})
    add("regression/loss_fn_feature_scaled", H, {},
        lambda r: [reg_batch(r, [4], x=[4, 1])],
        hooks={"loss_fn": "regression_feature_scaled"})
    add("regression/loss_fn_feature_scaled_label_dim3_weighted", H,
        {"label_dimension": 3, "weight_column": "w", "loss_reduction": "auto"},
        lambda r: [reg_batch(r, [3], d=3, w=[3], x=[3, 3])],
        hooks={"loss_fn": "regression_feature_scaled"})
    add("regression/inverse_link_exp", H, {},
        lambda r: [reg_batch(r, [4])], hooks={"inverse_link_fn": "exp"})
    add("regression/inverse_link_sigmoid_weighted_named", H,
        {"weight_column": "w", "name": "ctr"},
        lambda r: [reg_batch(r, [4], w=[4, 1])],
        hooks={"inverse_link_fn": "sigmoid"})
    add("regression/weight_fn_plus_one_rank1", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [reg_batch(r, [4], w=[4])], hooks={"weight_fn": "plus_one"})
    add("regression/weight_fn_plus_one_rank3", H, {"weight_column": "w"},
        lambda r: [reg_batch(r, [2, 3], w=[2, 3])],
        hooks={"weight_fn": "plus_one"})
    add("regression/weight_fn_plus_one_label_dim3_per_logit", H,
        {"label_dimension": 3, "weight_column": "w"},
        lambda r: [reg_batch(r, [2], d=3, w=[2, 3])],
        hooks={"weight_fn": "plus_one"})
    add("regression/all_hooks_streamed_named_regularized", H,
        {"weight_column": "w", "loss_reduction": "sum", "name": "y"},
        lambda r: [reg_batch(r, [n], w=[n]) for n in (2, 3, 4)],
        hooks={"loss_fn": "squared_plus_abs", "inverse_link_fn": "exp",
               "weight_fn": "plus_one"},
        reg=[0.25, 0.125])

    H = "PoissonRegressionHead"
    add("poisson/full_loss_default", H, {},
        lambda r: [poisson_batch(r, [8])])
    add("poisson/partial_loss", H, {"compute_full_loss": False},
        lambda r: [poisson_batch(r, [8])])
    add("poisson/full_loss_int32_labels_rank1_sum", H,
        {"compute_full_loss": True, "loss_reduction": "sum"},
        lambda r: [poisson_batch(r, [6], squeeze=True, label_dtype="int32")])
    add("poisson/full_loss_weights_rank1_sum", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [poisson_batch(r, [6], w=[6])])
    add("poisson/partial_loss_weights_b1_auto_streamed", H,
        {"compute_full_loss": False, "weight_column": "w",
         "loss_reduction": "auto"},
        lambda r: [poisson_batch(r, [n], w=[n, 1]) for n in (3, 4, 2)])
    add("poisson/label_dim2_per_logit_weights", H,
        {"label_dimension": 2, "weight_column": "w"},
        lambda r: [poisson_batch(r, [4], d=2, w=[4, 2])])
    add("poisson/rank3_weights_bt", H,
        {"weight_column": "w", "loss_reduction": "sum_over_batch_size"},
        lambda r: [poisson_batch(r, [2, 3], w=[2, 3])])
    add("poisson/named_regularized_int64_labels", H, {"name": "counts"},
        lambda r: [poisson_batch(r, [5], label_dtype="int64")], reg=[0.5])
    add("poisson/all_zero_weights", H, {"weight_column": "w"},
        lambda r: [poisson_batch(r, [4], w=[4], wkind="zero")])

    H = "LogisticRegressionHead"
    add("logistic/soft_labels_default", H, {},
        lambda r: [logistic_batch(r, [6])])
    add("logistic/int64_labels_rank1_weighted_sum", H,
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [logistic_batch(r, [5], squeeze=True, label_kind="int64",
                                  w=[5])])
    add("logistic/large_logits", H, {},
        lambda r: [logistic_batch(r, [7], label_kind="int32",
                                  logits=large_logits(r, (7, 1)))])
    add("logistic/soft_labels_weighted_auto_streamed_named_regularized", H,
        {"weight_column": "w", "loss_reduction": "auto", "name": "p"},
        lambda r: [logistic_batch(r, [n], w=[n, 1]) for n in (3, 2, 4)],
        reg=[0.25])
    add("logistic/rank3_soft_labels_bt_weights_bt", H, {"weight_column": "w"},
        lambda r: [logistic_batch(r, [2, 3], squeeze=True, w=[2, 3])])
    add("logistic/one_example", H, {"weight_column": "w"},
        lambda r: [logistic_batch(r, [1], w=[1])])
    add("logistic/weight_fn_plus_one", H, {"weight_column": "w"},
        lambda r: [logistic_batch(r, [4], label_kind="float32", w=[4])],
        hooks={"weight_fn": "plus_one"})
    return cases


# ---------------------------------------------------------------------------
# BinaryClassHead
# ---------------------------------------------------------------------------


def binary_batch(r, bshape, squeeze=False, label_kind="int64", vocab=None,
                 pos_rate=0.5, w=None, wkind="float", logits=None,
                 separation=0.0, scale=2.0):
    """A binary batch.  ``separation`` shifts positive examples' logits up."""
    lshape = tuple(bshape) + (1,)
    y = (r.uniform(size=lshape) < pos_rate).astype(np.int64)
    if logits is None:
        logits = normal(r, lshape, scale=scale) + np.float32(separation) * y
        logits = logits.astype(np.float32)
    if vocab is not None:
        labels = np.array(vocab, dtype=object)[y]
    elif label_kind == "soft":
        labels = quantize(r.uniform(size=lshape), 1.0 / 8)
    else:
        labels = y.astype(label_kind)
    if squeeze:
        labels = labels.reshape(tuple(bshape))
    return with_weights(r, {"logits": logits, "labels": labels}, w, wkind)


def binary_cases():
    cases = []
    H = "BinaryClassHead"

    def add(cid, kwargs, make, hooks=None, reg=None):
        cases.append(make_case(cid, H, kwargs, make(rng_for(cid)), hooks, reg))

    add("binary/default", {}, lambda r: [binary_batch(r, [6])])
    add("binary/labels_rank1_int32_sum", {"loss_reduction": "sum"},
        lambda r: [binary_batch(r, [6], squeeze=True, label_kind="int32")])
    add("binary/float_labels_weights_rank1_sum_over_batch_size",
        {"weight_column": "w", "loss_reduction": "sum_over_batch_size"},
        lambda r: [binary_batch(r, [6], label_kind="float32", w=[6])])
    add("binary/soft_labels_weights_b1_auto",
        {"weight_column": "w", "loss_reduction": "auto"},
        lambda r: [binary_batch(r, [6], label_kind="soft", w=[6, 1])])
    add("binary/soft_labels_rank1_thresholds",
        {"thresholds": [0.25, 0.5]},
        lambda r: [binary_batch(r, [5], squeeze=True, label_kind="soft")])
    add("binary/weighted_thresholds_sum",
        {"weight_column": "w", "thresholds": [0.3], "loss_reduction": "sum"},
        lambda r: [binary_batch(r, [8], w=[8])])
    add("binary/thresholds_key_format",
        {"thresholds": [1.0 / 3.0, 0.123456789, 0.5, 0.75, 0.9]},
        lambda r: [binary_batch(r, [8], separation=1.0)])
    add("binary/vocabulary_labels_rank1",
        {"label_vocabulary": ["neg", "pos"]},
        lambda r: [binary_batch(r, [5], squeeze=True, vocab=["neg", "pos"])])
    add("binary/vocabulary_b1_thresholds_named_regularized",
        {"label_vocabulary": ["no", "yes"], "thresholds": [0.2, 0.8],
         "weight_column": "w", "name": "clicked"},
        lambda r: [binary_batch(r, [6], vocab=["no", "yes"], w=[6])],
        reg=[0.25, 0.5])
    add("binary/rank3_labels_bt_weights_bt1",
        {"weight_column": "w"},
        lambda r: [binary_batch(r, [2, 3], squeeze=True, w=[2, 3, 1])])
    add("binary/rank3_labels_bt1_weights_bt_sum",
        {"weight_column": "w", "loss_reduction": "sum", "thresholds": [0.4]},
        lambda r: [binary_batch(r, [3, 2], w=[3, 2])])
    add("binary/rank3_vocabulary_auto",
        {"label_vocabulary": ["a", "b"], "loss_reduction": "auto"},
        lambda r: [binary_batch(r, [2, 2], squeeze=True, vocab=["a", "b"])])
    add("binary/all_zero_weights", {"weight_column": "w", "thresholds": [0.5]},
        lambda r: [binary_batch(r, [5], w=[5], wkind="zero")])
    add("binary/one_example", {"weight_column": "w"},
        lambda r: [binary_batch(r, [1], w=[1])])
    add("binary/one_example_per_batch_streamed", {},
        lambda r: [binary_batch(r, [1]) for _ in range(3)])
    add("binary/streamed_weighted_thresholds",
        {"weight_column": "w", "thresholds": [0.3, 0.7]},
        lambda r: [binary_batch(r, [n], w=[n], separation=1.5)
                   for n in (4, 6, 3)])
    add("binary/large_logits", {"thresholds": [0.5]},
        lambda r: [binary_batch(r, [7], logits=large_logits(r, (7, 1)))])
    add("binary/all_positive_labels", {},
        lambda r: [binary_batch(r, [5], pos_rate=1.0)])
    add("binary/all_negative_labels_sum", {"loss_reduction": "sum"},
        lambda r: [binary_batch(r, [5], pos_rate=0.0)])
    add("binary/zero_logits", {},
        lambda r: [binary_batch(r, [4], logits=np.zeros((4, 1), np.float32))])
    add("binary/int32_weights", {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [binary_batch(r, [6], w=[6], wkind="int32")])
    add("binary/bool_weights", {"weight_column": "w"},
        lambda r: [binary_batch(r, [6], w=[6], wkind="bool")])
    add("binary/auc_skewed_weighted_3x64",
        {"weight_column": "w", "thresholds": [0.1, 0.5]},
        lambda r: [binary_batch(r, [64], pos_rate=0.15, w=[64],
                                separation=1.5) for _ in range(3)])
    add("binary/auc_skewed_unweighted_3x64", {"loss_reduction": "sum"},
        lambda r: [binary_batch(r, [64], pos_rate=0.3, separation=0.75,
                                scale=1.5) for _ in range(3)])
    add("binary/loss_fn_binary_squared",
        {"weight_column": "w", "loss_reduction": "sum"},
        lambda r: [binary_batch(r, [5], w=[5])],
        hooks={"loss_fn": "binary_squared"})
    add("binary/loss_fn_binary_squared_rank3_soft",
        {},
        lambda r: [binary_batch(r, [2, 3], squeeze=True, label_kind="soft")],
        hooks={"loss_fn": "binary_squared"})
    add("binary/weight_fn_plus_one", {"weight_column": "w"},
        lambda r: [binary_batch(r, [5], w=[5])],
        hooks={"weight_fn": "plus_one"})
    add("binary/vocabulary_weight_fn_streamed_regularized",
        {"label_vocabulary": ["bad", "good"], "weight_column": "w",
         "loss_reduction": "sum", "name": "q"},
        lambda r: [binary_batch(r, [n], squeeze=True, vocab=["bad", "good"],
                                w=[n, 1]) for n in (3, 2, 4)],
        hooks={"weight_fn": "plus_one"}, reg=[0.5])
    return cases


# ---------------------------------------------------------------------------
# MultiClassHead
# ---------------------------------------------------------------------------


def multiclass_batch(r, bshape, n, squeeze=False, label_dtype="int64",
                     vocab=None, w=None, wkind="float", logits=None):
    lshape = tuple(bshape) + (1,)
    ids = r.integers(0, n, size=lshape)
    if logits is None:
        logits = normal(r, tuple(bshape) + (n,))
    if vocab is not None:
        labels = np.array(vocab, dtype=object)[ids]
    else:
        labels = ids.astype(label_dtype)
    if squeeze:
        labels = labels.reshape(tuple(bshape))
    return with_weights(r, {"logits": logits, "labels": labels}, w, wkind)


def multi_class_cases():
    cases = []
    H = "MultiClassHead"

    def add(cid, kwargs, make, hooks=None, reg=None):
        cases.append(make_case(cid, H, kwargs, make(rng_for(cid)), hooks, reg))

    v4 = ["cat", "dog", "bird", "fish"]
    add("multi_class/default", {"n_classes": 3},
        lambda r: [multiclass_batch(r, [5], 3, label_dtype="int32")])
    add("multi_class/labels_rank1_int64_sum",
        {"n_classes": 3, "loss_reduction": "sum"},
        lambda r: [multiclass_batch(r, [5], 3, squeeze=True)])
    add("multi_class/weights_rank1_sum_over_batch_size",
        {"n_classes": 4, "weight_column": "w",
         "loss_reduction": "sum_over_batch_size"},
        lambda r: [multiclass_batch(r, [6], 4, w=[6])])
    add("multi_class/weights_b1_auto",
        {"n_classes": 3, "weight_column": "w", "loss_reduction": "auto"},
        lambda r: [multiclass_batch(r, [5], 3, squeeze=True, w=[5, 1])])
    add("multi_class/vocabulary_labels_rank1",
        {"n_classes": 4, "label_vocabulary": v4},
        lambda r: [multiclass_batch(r, [6], 4, squeeze=True, vocab=v4)])
    add("multi_class/vocabulary_b1_weighted_sum_named",
        {"n_classes": 4, "label_vocabulary": v4, "weight_column": "w",
         "loss_reduction": "sum", "name": "animal"},
        lambda r: [multiclass_batch(r, [5], 4, vocab=v4, w=[5])])
    add("multi_class/named_regularized", {"n_classes": 3, "name": "mc"},
        lambda r: [multiclass_batch(r, [4], 3)], reg=[0.25, 0.5])
    add("multi_class/regularized_weighted_sum",
        {"n_classes": 3, "weight_column": "w", "loss_reduction": "sum"},
        lambda r: [multiclass_batch(r, [4], 3, w=[4])], reg=[1.5])
    add("multi_class/rank3_labels_bt_weights_bt",
        {"n_classes": 3, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [2, 3], 3, squeeze=True, w=[2, 3])])
    add("multi_class/rank3_labels_bt1_weights_bt1_sum",
        {"n_classes": 4, "weight_column": "w", "loss_reduction": "sum"},
        lambda r: [multiclass_batch(r, [3, 2], 4, w=[3, 2, 1])])
    add("multi_class/rank3_vocabulary",
        {"n_classes": 4, "label_vocabulary": v4},
        lambda r: [multiclass_batch(r, [2, 2], 4, squeeze=True, vocab=v4)])
    add("multi_class/all_zero_weights", {"n_classes": 3, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [4], 3, w=[4], wkind="zero")])
    add("multi_class/one_example", {"n_classes": 3, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [1], 3, w=[1])])
    add("multi_class/streamed_weighted",
        {"n_classes": 3, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [n], 3, w=[n]) for n in (3, 5, 1)])
    add("multi_class/large_logits", {"n_classes": 4},
        lambda r: [multiclass_batch(r, [6], 4, logits=large_logits(r, (6, 4)))])
    add("multi_class/tied_logits", {"n_classes": 3},
        lambda r: [multiclass_batch(r, [4], 3, logits=np.array(
            [[1, 1, 0], [0, 2, 2], [3, 3, 3], [-1, 0, 0]], np.float32))])
    add("multi_class/int32_logits", {"n_classes": 3},
        lambda r: [multiclass_batch(r, [4], 3, logits=r.integers(
            -3, 4, size=(4, 3)).astype(np.int32))])
    add("multi_class/n5_batch64_weighted",
        {"n_classes": 5, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [64], 5, w=[64])])
    add("multi_class/loss_fn_margin", {"n_classes": 3, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [5], 3, w=[5])],
        hooks={"loss_fn": "multiclass_margin"})
    add("multi_class/loss_fn_margin_rank3_sum",
        {"n_classes": 4, "loss_reduction": "sum"},
        lambda r: [multiclass_batch(r, [2, 3], 4, squeeze=True)],
        hooks={"loss_fn": "multiclass_margin"})
    add("multi_class/weight_fn_plus_one",
        {"n_classes": 3, "weight_column": "w"},
        lambda r: [multiclass_batch(r, [5], 3, w=[5])],
        hooks={"weight_fn": "plus_one"})
    add("multi_class/vocabulary_streamed_regularized_auto",
        {"n_classes": 4, "label_vocabulary": v4, "loss_reduction": "auto",
         "weight_column": "w", "name": "pet"},
        lambda r: [multiclass_batch(r, [n], 4, vocab=v4, w=[n])
                   for n in (2, 4, 3)], reg=[0.25])
    return cases


# ---------------------------------------------------------------------------
# MultiLabelHead
# ---------------------------------------------------------------------------


def multilabel_batch(r, bshape, n, label_kind="int64", vocab=None, w=None,
                     wkind="float", logits=None, pos_rate=0.4, separation=0.0):
    """A multi-label batch.

    label_kind: a dense dtype ("int64", "int32", "float32"), "soft" (dense
    fractional labels), "ragged" (class-id lists) or "ragged_str" (class-name
    lists, requires ``vocab``).
    """
    lshape = tuple(bshape) + (n,)
    y = (r.uniform(size=lshape) < pos_rate).astype(np.int64)
    if logits is None:
        logits = (normal(r, lshape) + np.float32(separation) * y).astype(
            np.float32)
    if label_kind == "soft":
        labels = quantize(r.uniform(size=lshape), 1.0 / 8)
    elif label_kind in ("ragged", "ragged_str"):
        assert len(bshape) == 1
        rows = []
        for row in y:
            ids = [int(i) for i in np.flatnonzero(row)]
            r.shuffle(ids)
            rows.append(ids)
        if label_kind == "ragged":
            labels = Ragged(rows, "int64")
        else:
            labels = Ragged([[vocab[i] for i in row] for row in rows], "string")
    else:
        labels = y.astype(label_kind)
    return with_weights(r, {"logits": logits, "labels": labels}, w, wkind)


def multi_label_cases():
    cases = []
    H = "MultiLabelHead"

    def add(cid, kwargs, make, hooks=None, reg=None):
        cases.append(make_case(cid, H, kwargs, make(rng_for(cid)), hooks, reg))

    v4 = ["red", "green", "blue", "black"]
    add("multi_label/default", {"n_classes": 3},
        lambda r: [multilabel_batch(r, [5], 3)])
    add("multi_label/dense_int32_sum", {"n_classes": 3, "loss_reduction": "sum"},
        lambda r: [multilabel_batch(r, [5], 3, label_kind="int32")])
    add("multi_label/dense_float_weights_rank1_sum_over_batch_size",
        {"n_classes": 4, "weight_column": "w",
         "loss_reduction": "sum_over_batch_size"},
        lambda r: [multilabel_batch(r, [5], 4, label_kind="float32", w=[5])])
    add("multi_label/soft_labels_weights_b1_auto",
        {"n_classes": 3, "weight_column": "w", "loss_reduction": "auto",
         "thresholds": [0.5]},
        lambda r: [multilabel_batch(r, [5], 3, label_kind="soft", w=[5, 1])])
    add("multi_label/thresholds_key_format",
        {"n_classes": 3, "thresholds": [1.0 / 3.0, 0.123456789, 0.5, 0.7]},
        lambda r: [multilabel_batch(r, [6], 3, separation=1.0)])
    add("multi_label/ragged_ids",
        {"n_classes": 4},
        lambda r: [{"logits": normal(r, (5, 4)),
                    "labels": Ragged([[0, 2], [1], [], [3, 0, 1], [2]],
                                     "int64")}])
    add("multi_label/ragged_ids_duplicates", {"n_classes": 3},
        lambda r: [{"logits": normal(r, (3, 3)),
                    "labels": Ragged([[1, 1], [2, 0, 2], [0]], "int64")}])
    add("multi_label/ragged_ids_all_empty", {"n_classes": 3},
        lambda r: [{"logits": normal(r, (3, 3)),
                    "labels": Ragged([[], [], []], "int64")}])
    add("multi_label/ragged_ids_weighted_sum_streamed",
        {"n_classes": 4, "weight_column": "w", "loss_reduction": "sum",
         "thresholds": [0.3]},
        lambda r: [multilabel_batch(r, [n], 4, label_kind="ragged", w=[n])
                   for n in (3, 4, 2)])
    add("multi_label/ragged_strings_vocabulary",
        {"n_classes": 4, "label_vocabulary": v4},
        lambda r: [multilabel_batch(r, [5], 4, label_kind="ragged_str",
                                    vocab=v4)])
    add("multi_label/ragged_strings_class_metrics_by_name_named_regularized",
        {"n_classes": 4, "label_vocabulary": v4,
         "classes_for_class_based_metrics": ["blue", "red"],
         "weight_column": "w", "name": "colors"},
        lambda r: [multilabel_batch(r, [8], 4, label_kind="ragged_str",
                                    vocab=v4, w=[8], separation=1.5)],
        reg=[0.25, 0.5])
    add("multi_label/dense_labels_with_vocabulary",
        {"n_classes": 4, "label_vocabulary": v4},
        lambda r: [multilabel_batch(r, [5], 4)])
    add("multi_label/class_metrics_ids",
        {"n_classes": 4, "classes_for_class_based_metrics": [0, 2]},
        lambda r: [multilabel_batch(r, [6], 4, separation=1.0)])
    add("multi_label/class_metrics_ids_with_vocabulary_weighted",
        {"n_classes": 4, "label_vocabulary": v4, "weight_column": "w",
         "classes_for_class_based_metrics": [3, 1]},
        lambda r: [multilabel_batch(r, [6], 4, w=[6], separation=1.0)])
    add("multi_label/class_metrics_names_dense",
        {"n_classes": 4, "label_vocabulary": v4,
         "classes_for_class_based_metrics": ["green", "black"],
         "loss_reduction": "sum"},
        lambda r: [multilabel_batch(r, [6], 4, label_kind="int32")])
    add("multi_label/rank3_weights_bt",
        {"n_classes": 3, "weight_column": "w"},
        lambda r: [multilabel_batch(r, [2, 3], 3, w=[2, 3])])
    add("multi_label/rank3_weights_bt1_sum_thresholds_class_metrics",
        {"n_classes": 3, "weight_column": "w", "loss_reduction": "sum",
         "thresholds": [0.4], "classes_for_class_based_metrics": [1]},
        lambda r: [multilabel_batch(r, [3, 2], 3, w=[3, 2, 1],
                                    separation=1.5)])
    add("multi_label/named_regularized", {"n_classes": 3, "name": "tags"},
        lambda r: [multilabel_batch(r, [4], 3)], reg=[0.25])
    add("multi_label/all_zero_weights",
        {"n_classes": 3, "weight_column": "w", "thresholds": [0.5],
         "classes_for_class_based_metrics": [0]},
        lambda r: [multilabel_batch(r, [4], 3, w=[4], wkind="zero")])
    add("multi_label/one_example", {"n_classes": 3, "weight_column": "w"},
        lambda r: [multilabel_batch(r, [1], 3, w=[1])])
    add("multi_label/streamed_weighted",
        {"n_classes": 3, "weight_column": "w", "thresholds": [0.5]},
        lambda r: [multilabel_batch(r, [n], 3, w=[n, 1]) for n in (4, 2, 5)])
    add("multi_label/large_logits", {"n_classes": 4, "thresholds": [0.5]},
        lambda r: [multilabel_batch(r, [5], 4, logits=large_logits(r, (5, 4)))])
    add("multi_label/auc_n5_weighted_3x48_all_class_metrics",
        {"n_classes": 5, "weight_column": "w", "thresholds": [0.25, 0.5],
         "classes_for_class_based_metrics": [0, 1, 2, 3, 4]},
        lambda r: [multilabel_batch(r, [48], 5, w=[48], pos_rate=0.3,
                                    separation=1.5) for _ in range(3)])
    add("multi_label/auc_n4_random_64",
        {"n_classes": 4, "classes_for_class_based_metrics": [2]},
        lambda r: [multilabel_batch(r, [64], 4, pos_rate=0.5)])
    add("multi_label/loss_fn_mean_squared",
        {"n_classes": 3, "weight_column": "w", "loss_reduction": "sum"},
        lambda r: [multilabel_batch(r, [5], 3, w=[5])],
        hooks={"loss_fn": "multilabel_mean_squared"})
    add("multi_label/loss_fn_mean_squared_ragged",
        {"n_classes": 4},
        lambda r: [multilabel_batch(r, [5], 4, label_kind="ragged")],
        hooks={"loss_fn": "multilabel_mean_squared"})
    add("multi_label/weight_fn_plus_one",
        {"n_classes": 3, "weight_column": "w"},
        lambda r: [multilabel_batch(r, [5], 3, w=[5])],
        hooks={"weight_fn": "plus_one"})
    add("multi_label/n2_soft_labels", {"n_classes": 2},
        lambda r: [multilabel_batch(r, [4], 2, label_kind="soft")])
    return cases


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

FILES = (
    ("regression.json", regression_cases),
    ("binary_class.json", binary_cases),
    ("multi_class.json", multi_class_cases),
    ("multi_label.json", multi_label_cases),
)


def dumps(meta, cases):
    body = ",\n".join(json.dumps(c, allow_nan=False) for c in cases)
    return ('{"meta": ' + json.dumps(meta) + ',\n"cases": [\n' + body
            + "\n]}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=HERE,
                        help="output directory (default: this directory)")
    args = parser.parse_args(argv)
    meta = {
        "tensorflow": tf.__version__,
        "tensorflow_estimator": metadata.version("tensorflow-estimator"),
        "generator": GENERATOR,
    }
    seen = set()
    os.makedirs(args.out, exist_ok=True)
    for filename, build in FILES:
        cases = build()
        for c in cases:
            if c["id"] in seen:
                raise ValueError("duplicate case id: " + c["id"])
            seen.add(c["id"])
        path = os.path.join(args.out, filename)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(dumps(meta, cases))
        print("%s: %d cases" % (path, len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
