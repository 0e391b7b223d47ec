"""Generate the golden fixtures for MultiHead and SequentialHeadWrapper.

This script runs only under the reference environment (TensorFlow 2.15.1 and
tensorflow-estimator 2.15.0, see README.md in this directory):

    /work/tf215/bin/python tests/golden/generate_composite.py [--out DIR]

It writes ``multi_head.json`` and ``sequential.json`` next to this file (or
into ``--out``).  The tensor encoding, the named hooks, the sub-head builders
and the seeding (NumPy generators seeded with the CRC32 of the case id) are
those of ``generate.py``; see its docstring.  As there, every input is encoded
to JSON and decoded back before TensorFlow sees it, and the output is
byte-for-byte reproducible.

File layout::

    {"meta": {...}, "cases": [CASE, ...]}

MultiHead cases::

    CASE = {
      "id": "multi_head/<description>",
      "head": "MultiHead",
      "heads": [{"head": CLASS, "kwargs": {..., "name": NAME},
                 "hooks": {...}}, ...],      # "hooks" optional
      "head_weights": [float, ...] | null,
      "regularization_losses": [float, ...] | null,
      "logits_format": "dict" | "concatenated",
      "batches": [{
        "logits": {NAME: T, ...}             # "dict"
                | T,                         # "concatenated": [..., sum of dims]
        "labels": {NAME: T, ...},
        "features": {name: T},               # shared by all sub-heads
      }, ...],
      "expected": {
        "loss": [float per batch],
        "predictions": [[[NAME, key, T], ...] per batch],
        "metrics": {key: float},
      },
    }

``loss`` is ``head.loss(labels, logits, features, mode=TRAIN,
regularization_losses=R)`` and ``predictions`` is ``head.predictions(logits)``
(whose keys are ``(head name, key)`` tuples), both in eager mode.

SequentialHeadWrapper cases::

    CASE = {
      "id": "sequential/<description>",
      "head": "SequentialHeadWrapper",
      "static_head": {"head": CLASS, "kwargs": {...}, "hooks": {...}},
      "kwargs": {"sequence_length_mask": "mask",
                 "feature_columns": [name, ...] | null},
      "regularization_losses": [float, ...] | null,
      "predictions_from": "head" | "static_head",
      "batches": [{"logits": T [B, T, L],
                   "labels": T [B, T] or [B, T, k],
                   "features": {"mask": T [B, T] (bool or int 0/1), ...}}],
      "expected": {
        "loss": [float per batch],
        "predictions": [{key: T} per batch],
        "metrics": {key: float},
      },
    }

``loss`` is ``head.loss(logits=..., labels=..., features=..., mode=TRAIN,
regularization_losses=R)`` in eager mode.  ``predictions`` is
``head.predictions(logits)`` on the unflattened logits; for the regression
family that call fails upstream, so those cases hold the static head's
``predictions(logits)`` on the same logits and say
``"predictions_from": "static_head"``.

Metrics
=======
For both heads ``metrics`` holds the results of a graph-mode
``tf.estimator.Estimator.evaluate`` over the case's batches, in the order
``evaluate`` returns them (sorted by key), without ``global_step``.  The
model function takes the logits from reserved input features (see
``LOGITS_KEY``), removes them from the features and returns
``head.create_estimator_spec(features, mode, logits, labels,
train_op_fn=..., regularization_losses=R)``.  The input function yields the
case's batches in order and ``evaluate`` runs ``len(batches)`` steps from a
checkpoint that holds only the global step, in a single-threaded session.
The results therefore include Estimator's own ``loss``: the mean over batches
of the per-batch regularized loss of the spec.  The cases are evaluated in
``--workers`` processes, each from its own temporary model directory; the
output does not depend on their number.

For MultiHead this differs from calling ``update_metrics`` eagerly once per
batch: eager MultiHead creates fresh sub-head metrics on every call, so its
per-head metrics would reflect only the last batch.  Under Estimator every
metric streams over all batches.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from importlib import metadata

sys.dont_write_bytecode = True  # keep the fixture directory free of caches
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import generate as g  # noqa: E402  (configures TensorFlow before its import)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_estimator.python.estimator.head.sequential_head import (  # noqa: E402
    SequentialHeadWrapper)

GENERATOR = "tests/golden/generate_composite.py"
TRAIN = tf.estimator.ModeKeys.TRAIN

# Feature key (or key prefix, for dict logits) under which the input function
# passes the logits to the model function.
LOGITS_KEY = "__logits__"

# ---------------------------------------------------------------------------
# Heads
# ---------------------------------------------------------------------------


def build_multi_head(c):
    heads = [g.build_head(h) for h in c["heads"]]
    return tf.estimator.MultiHead(heads, head_weights=c["head_weights"])


def build_sequential_head(c):
    return SequentialHeadWrapper(g.build_head(c["static_head"]), **c["kwargs"])


def regularization(c):
    reg = c["regularization_losses"]
    return None if reg is None else [tf.constant(r, tf.float32) for r in reg]


def is_tensor(x):
    """Whether ``x`` is one JSON tensor rather than a dict of them."""
    return "dtype" in x


def decode_tree(x):
    """Decodes a JSON tensor, or a dict of them keyed by head name."""
    if is_tensor(x):
        return g.decode(x)
    return {k: g.decode(v) for k, v in x.items()}


# ---------------------------------------------------------------------------
# Eager loss and predictions
# ---------------------------------------------------------------------------


def eager_multi_head(c):
    head = build_multi_head(c)
    reg = regularization(c)
    losses, predictions = [], []
    for b in c["batches"]:
        logits = decode_tree(b["logits"])
        labels = decode_tree(b["labels"])
        features = {k: g.decode(v) for k, v in b["features"].items()}
        loss = head.loss(labels, logits, features, mode=TRAIN,
                         regularization_losses=reg)
        losses.append(float(loss.numpy()))
        preds = head.predictions(logits)
        predictions.append([[name, key, g.encode(v)]
                            for (name, key), v in preds.items()])
    return losses, predictions


def eager_sequential(c):
    head = build_sequential_head(c)
    reg = regularization(c)
    losses, predictions = [], []
    for b in c["batches"]:
        logits = g.decode(b["logits"])
        labels = g.decode(b["labels"])
        features = {k: g.decode(v) for k, v in b["features"].items()}
        loss = head.loss(logits=logits, labels=labels, features=features,
                         mode=TRAIN, regularization_losses=reg)
        losses.append(float(loss.numpy()))
        if c["predictions_from"] == "head":
            preds = head.predictions(logits)
        else:
            preds = head.static_head.predictions(logits)
        predictions.append({k: g.encode(v) for k, v in preds.items()})
    return losses, predictions


# ---------------------------------------------------------------------------
# Graph-mode Estimator.evaluate
# ---------------------------------------------------------------------------


class Evaluator:
    """Runs ``Estimator.evaluate`` for cases from a checkpoint in ``root``."""

    def __init__(self, root):
        self.model_dir = tempfile.mkdtemp(prefix="model_", dir=root)
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.train.get_or_create_global_step()
            saver = tf.compat.v1.train.Saver()
            with tf.compat.v1.Session(graph=graph) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                saver.save(sess, os.path.join(self.model_dir, "model.ckpt"),
                           global_step=0)
        session_config = tf.compat.v1.ConfigProto(
            inter_op_parallelism_threads=1, intra_op_parallelism_threads=1)
        self.config = tf.estimator.RunConfig(
            model_dir=self.model_dir, session_config=session_config)

    def evaluate(self, c):
        build = BUILDERS[c["head"]]
        batches = c["batches"]

        def input_fn():
            dataset = None
            for b in batches:
                features = {k: g.decode(v) for k, v in b["features"].items()}
                logits = b["logits"]
                if is_tensor(logits):
                    features[LOGITS_KEY] = g.decode(logits)
                else:
                    for name, t in logits.items():
                        features[LOGITS_KEY + "/" + name] = g.decode(t)
                element = tf.data.Dataset.from_tensors(
                    (features, decode_tree(b["labels"])))
                dataset = element if dataset is None else dataset.concatenate(
                    element)
            return dataset

        def model_fn(features, labels, mode):
            features = dict(features)
            if LOGITS_KEY in features:
                logits = features.pop(LOGITS_KEY)
            else:
                prefix = LOGITS_KEY + "/"
                logits = {k[len(prefix):]: features.pop(k)
                          for k in sorted(features) if k.startswith(prefix)}
            return build(c).create_estimator_spec(
                features=features, mode=mode, logits=logits, labels=labels,
                train_op_fn=lambda _: tf.no_op(),
                regularization_losses=regularization(c))

        estimator = tf.estimator.Estimator(model_fn, config=self.config)
        results = estimator.evaluate(input_fn, steps=len(batches))
        return {k: float(v) for k, v in results.items()
                if k != tf.compat.v1.GraphKeys.GLOBAL_STEP}


# ---------------------------------------------------------------------------
# Case construction
# ---------------------------------------------------------------------------


def _encode_tree(x):
    if isinstance(x, dict):
        return {k: g.encode(v) for k, v in x.items()}
    return g.encode(x)


def _encode_batches(batches):
    return [{"logits": _encode_tree(b["logits"]),
             "labels": _encode_tree(b["labels"]),
             "features": {k: g.encode(v)
                          for k, v in b.get("features", {}).items()}}
            for b in batches]


def _floats(values):
    return None if values is None else [float(np.float32(v)) for v in values]


def make_multi_case(cid, heads, batches, logits_format="dict",
                    head_weights=None, reg=None):
    c = {"id": cid, "head": "MultiHead", "heads": heads,
         "head_weights": _floats(head_weights),
         "regularization_losses": _floats(reg),
         "logits_format": logits_format,
         "batches": _encode_batches(batches)}
    c = json.loads(json.dumps(c))
    losses, predictions = eager_multi_head(c)
    c["expected"] = {"loss": losses, "predictions": predictions,
                     "metrics": None}
    return c


def make_sequential_case(cid, static_head, batches, feature_columns=None,
                         reg=None):
    regression = static_head["head"] in (
        "RegressionHead", "PoissonRegressionHead", "LogisticRegressionHead")
    c = {"id": cid, "head": "SequentialHeadWrapper",
         "static_head": static_head,
         "kwargs": {"sequence_length_mask": "mask",
                    "feature_columns": feature_columns},
         "regularization_losses": _floats(reg),
         "predictions_from": "static_head" if regression else "head",
         "batches": _encode_batches(batches)}
    c = json.loads(json.dumps(c))
    losses, predictions = eager_sequential(c)
    c["expected"] = {"loss": losses, "predictions": predictions,
                     "metrics": None}
    return c


def head_spec(head, hooks=None, **kwargs):
    spec = {"head": head, "kwargs": kwargs}
    if hooks:
        spec["hooks"] = hooks
    return spec


# ---------------------------------------------------------------------------
# Data helpers
# ---------------------------------------------------------------------------


def sub_batch(r, spec, bshape, squeeze=False, label_kind=None, separation=1.0):
    """Logits, labels and weight feature of one sub-head for ``bshape``."""
    head, kw = spec["head"], spec["kwargs"]
    vocab = kw.get("label_vocabulary")
    if head == "BinaryClassHead":
        b = g.binary_batch(r, bshape, squeeze=squeeze, vocab=vocab,
                           label_kind=label_kind or "int64",
                           separation=separation)
    elif head == "MultiClassHead":
        b = g.multiclass_batch(r, bshape, kw["n_classes"], squeeze=squeeze,
                               vocab=vocab)
    elif head == "MultiLabelHead":
        b = g.multilabel_batch(r, bshape, kw["n_classes"],
                               label_kind=label_kind or "int64",
                               vocab=vocab, separation=separation)
    elif head == "RegressionHead":
        b = g.reg_batch(r, bshape, d=kw.get("label_dimension", 1),
                        squeeze=squeeze)
    else:
        raise ValueError(head)
    features = {}
    if kw.get("weight_column"):
        features[kw["weight_column"]] = g.weights(r, tuple(bshape))
    return b["logits"], b["labels"], features


def multi_batch(r, heads, bshape, concatenated=False, options=None):
    """One MultiHead batch; ``options`` maps head names to sub_batch kwargs."""
    logits, labels, features = {}, {}, {}
    for spec in heads:
        name = spec["kwargs"]["name"]
        lg, lb, ft = sub_batch(r, spec, bshape,
                               **(options or {}).get(name, {}))
        logits[name], labels[name] = lg, lb
        features.update(ft)
    if concatenated:
        logits = np.concatenate(
            [logits[h["kwargs"]["name"]] for h in heads], axis=-1)
    return {"logits": logits, "labels": labels, "features": features}


def sequence_mask(r, batch, time, kind="bool", empty_rows=(),
                  scattered=False):
    """A [batch, time] mask of dtype ``kind`` with the given rows all off.

    Rows are prefixes of random length (at least 1), or with ``scattered``
    independent random steps.
    """
    if scattered:
        mask = r.uniform(size=(batch, time)) < 0.6
    else:
        lengths = r.integers(1, time + 1, size=batch)
        mask = np.arange(time)[None, :] < lengths[:, None]
    mask[list(empty_rows)] = False
    return mask if kind == "bool" else mask.astype(kind)


def seq_batch(r, static, batch, time, mask="bool", empty_rows=(), weight=None,
              squeeze=True, label_kind=None, scattered=False):
    """One SequentialHeadWrapper batch of shape [batch, time]."""
    logits, labels, _ = sub_batch(r, static, [batch, time], squeeze=squeeze,
                                  label_kind=label_kind)
    features = {"mask": sequence_mask(r, batch, time, mask, empty_rows,
                                      scattered)}
    if weight is not None:
        features[weight] = g.weights(r, (batch, time))
    return {"logits": logits, "labels": labels, "features": features}


# ---------------------------------------------------------------------------
# MultiHead
# ---------------------------------------------------------------------------


def multi_head_cases():
    cases = []

    def add(cid, heads, make, logits_format="dict", head_weights=None,
            reg=None):
        batches = make(g.rng_for(cid), heads, logits_format == "concatenated")
        cases.append(make_multi_case(cid, heads, batches, logits_format,
                                     head_weights, reg))

    binary = head_spec("BinaryClassHead", name="b")
    mclass = head_spec("MultiClassHead", n_classes=3, name="mc")
    mlabel = head_spec("MultiLabelHead", n_classes=2, name="ml")
    regr = head_spec("RegressionHead", name="r")
    regr2 = head_spec("RegressionHead", label_dimension=2, name="r2")

    add("multi_head/binary_multiclass_dict", [binary, mclass],
        lambda r, h, cat: [multi_batch(r, h, [5], cat)])
    add("multi_head/multilabel_multiclass_concatenated", [mlabel, mclass],
        lambda r, h, cat: [multi_batch(r, h, [4], cat)], "concatenated")
    add("multi_head/one_head_regularized", [mclass],
        lambda r, h, cat: [multi_batch(r, h, [4], cat)], reg=[0.5])
    add("multi_head/rank3_concatenated", [mlabel, mclass],
        lambda r, h, cat: [multi_batch(r, h, [2, 3], cat)], "concatenated")
    add("multi_head/rank3_concatenated_binary_regression_dim2_weighted",
        [head_spec("BinaryClassHead", weight_column="wb", name="b"),
         head_spec("RegressionHead", label_dimension=2, weight_column="wr",
                   name="r2")],
        lambda r, h, cat: [multi_batch(r, h, [2, 3], cat,
                                       {"b": {"squeeze": True}})
                           for _ in range(2)], "concatenated")
    add("multi_head/head_weights", [binary, regr],
        lambda r, h, cat: [multi_batch(r, h, [6], cat)],
        head_weights=[1.0, 3.0])
    add("multi_head/head_weights_regularized_concatenated", [mclass, binary],
        lambda r, h, cat: [multi_batch(r, h, [5], cat)], "concatenated",
        head_weights=[0.5, 2.0], reg=[0.25, 0.125])
    add("multi_head/four_mixed_heads_concatenated",
        [binary, mclass, regr2, head_spec("MultiLabelHead", n_classes=3,
                                          name="ml3")],
        lambda r, h, cat: [multi_batch(r, h, [6], cat)], "concatenated")
    add("multi_head/weight_columns_per_head",
        [head_spec("BinaryClassHead", weight_column="wb", name="b"),
         head_spec("MultiClassHead", n_classes=3, weight_column="wc",
                   name="mc"),
         head_spec("RegressionHead", weight_column="wr", name="r")],
        lambda r, h, cat: [multi_batch(r, h, [6], cat,
                                       {"b": {"squeeze": True}})])
    add("multi_head/thresholds",
        [head_spec("BinaryClassHead", thresholds=[0.3, 0.7], name="b"),
         head_spec("MultiLabelHead", n_classes=3, thresholds=[0.5],
                   name="ml")],
        lambda r, h, cat: [multi_batch(r, h, [8], cat)])
    add("multi_head/label_vocabulary",
        [head_spec("MultiClassHead", n_classes=3,
                   label_vocabulary=["cat", "dog", "bird"], name="pet"),
         head_spec("BinaryClassHead", label_vocabulary=["no", "yes"],
                   name="clicked")],
        lambda r, h, cat: [multi_batch(r, h, [6], cat,
                                       {"pet": {"squeeze": True}})])
    add("multi_head/ragged_multilabel_labels",
        [head_spec("MultiLabelHead", n_classes=4, name="tags"), binary],
        lambda r, h, cat: [multi_batch(r, h, [5], cat,
                                       {"tags": {"label_kind": "ragged"}})])
    add("multi_head/hooks",
        [head_spec("BinaryClassHead", weight_column="wb", name="b",
                   hooks={"loss_fn": "binary_squared",
                          "weight_fn": "plus_one"}),
         head_spec("MultiClassHead", n_classes=3, name="mc",
                   hooks={"loss_fn": "multiclass_margin"})],
        lambda r, h, cat: [multi_batch(r, h, [5], cat)])
    add("multi_head/streamed_three_batches_weighted",
        [head_spec("BinaryClassHead", weight_column="wb", thresholds=[0.5],
                   name="b"),
         head_spec("MultiClassHead", n_classes=3, weight_column="wc",
                   name="mc"),
         head_spec("MultiLabelHead", n_classes=3, name="ml")],
        lambda r, h, cat: [multi_batch(r, h, [n], cat) for n in (4, 7, 3)])
    add("multi_head/sum_reduction_streamed",
        [head_spec("BinaryClassHead", loss_reduction="sum", name="b"),
         head_spec("MultiClassHead", n_classes=3, loss_reduction="sum",
                   name="mc"),
         head_spec("RegressionHead", label_dimension=2, loss_reduction="sum",
                   name="r2")],
        lambda r, h, cat: [multi_batch(r, h, [n], cat) for n in (3, 5, 4)],
        "concatenated", head_weights=[1.0, 0.5, 0.25])
    add("multi_head/mixed_reductions",
        [head_spec("BinaryClassHead", loss_reduction="sum", name="b"),
         head_spec("RegressionHead", loss_reduction="sum_over_batch_size",
                   weight_column="wr", name="r")],
        lambda r, h, cat: [multi_batch(r, h, [n], cat) for n in (4, 2)])
    add("multi_head/rank3_concatenated_streamed_weighted_regularized",
        [head_spec("MultiClassHead", n_classes=3, weight_column="wc",
                   name="mc"),
         head_spec("MultiLabelHead", n_classes=2, weight_column="wl",
                   thresholds=[0.4], name="ml")],
        lambda r, h, cat: [multi_batch(r, h, [n, 3], cat,
                                       {"mc": {"squeeze": True}})
                           for n in (2, 3, 1)],
        "concatenated", head_weights=[2.0, 1.0], reg=[0.5])
    add("multi_head/everything_streamed",
        [head_spec("BinaryClassHead", label_vocabulary=["neg", "pos"],
                   weight_column="wb", thresholds=[0.25], loss_reduction="sum",
                   name="b"),
         head_spec("MultiClassHead", n_classes=4,
                   label_vocabulary=["a", "b", "c", "d"], weight_column="wc",
                   loss_reduction="sum", name="mc"),
         head_spec("RegressionHead", label_dimension=2, weight_column="wr",
                   loss_reduction="sum", name="r2")],
        lambda r, h, cat: [multi_batch(r, h, [n], cat) for n in (5, 3, 6)],
        "concatenated", head_weights=[1.0, 2.0, 0.5], reg=[0.25, 0.5])
    return cases


# ---------------------------------------------------------------------------
# SequentialHeadWrapper
# ---------------------------------------------------------------------------


def sequential_cases():
    cases = []

    def add(cid, static, make, feature_columns=None, reg=None):
        batches = make(g.rng_for(cid), static)
        cases.append(make_sequential_case(cid, static, batches,
                                          feature_columns, reg))

    add("sequential/binary_bool_mask",
        head_spec("BinaryClassHead"),
        lambda r, s: [seq_batch(r, s, 3, 4)])
    add("sequential/binary_labels_bt1_int32_mask",
        head_spec("BinaryClassHead", thresholds=[0.5]),
        lambda r, s: [seq_batch(r, s, 3, 4, mask="int32", squeeze=False)])
    add("sequential/binary_weighted_int_mask_regularized",
        head_spec("BinaryClassHead", weight_column="w", thresholds=[0.3]),
        lambda r, s: [seq_batch(r, s, 4, 5, mask="int32", weight="w")],
        feature_columns=["w"], reg=[0.25, 0.5])
    add("sequential/binary_streamed_empty_row_sum_over_batch_size",
        head_spec("BinaryClassHead", loss_reduction="sum_over_batch_size",
                  weight_column="w"),
        lambda r, s: [seq_batch(r, s, n, 4, mask="int64", weight="w",
                                empty_rows=e)
                      for n, e in ((3, (1,)), (4, ()), (2, (0,)))],
        feature_columns=["w"])
    add("sequential/binary_weight_fn_named",
        head_spec("BinaryClassHead", weight_column="w", name="click",
                  hooks={"weight_fn": "plus_one"}),
        lambda r, s: [seq_batch(r, s, 3, 4, weight="w")],
        feature_columns=["w"])
    add("sequential/multiclass_weighted_sum",
        head_spec("MultiClassHead", n_classes=3, weight_column="w",
                  loss_reduction="sum"),
        lambda r, s: [seq_batch(r, s, 3, 5, weight="w")],
        feature_columns=["w"])
    add("sequential/multiclass_empty_row_sum_over_batch_size",
        head_spec("MultiClassHead", n_classes=4,
                  loss_reduction="sum_over_batch_size"),
        lambda r, s: [seq_batch(r, s, 4, 3, empty_rows=(2,))])
    add("sequential/multiclass_streamed_fully_masked_batch_weighted",
        head_spec("MultiClassHead", n_classes=3, weight_column="w"),
        lambda r, s: [seq_batch(r, s, 3, 4, weight="w", empty_rows=e)
                      for e in ((), (0, 1, 2), (1,))],
        feature_columns=["w"])
    add("sequential/binary_scattered_mask_sum",
        head_spec("BinaryClassHead", loss_reduction="sum", thresholds=[0.4]),
        lambda r, s: [seq_batch(r, s, 4, 5, mask="int32", scattered=True,
                                empty_rows=(2,))])
    add("sequential/multiclass_vocabulary_named_streamed_regularized",
        head_spec("MultiClassHead", n_classes=3,
                  label_vocabulary=["noun", "verb", "adj"], name="pos"),
        lambda r, s: [seq_batch(r, s, n, 4, mask="int32") for n in (2, 3)],
        reg=[0.5])
    add("sequential/multiclass_loss_fn_margin",
        head_spec("MultiClassHead", n_classes=3,
                  hooks={"loss_fn": "multiclass_margin"}),
        lambda r, s: [seq_batch(r, s, 3, 4)])
    add("sequential/multilabel_dense_thresholds",
        head_spec("MultiLabelHead", n_classes=3, thresholds=[0.5]),
        lambda r, s: [seq_batch(r, s, 3, 4)])
    add("sequential/multilabel_weighted_streamed_sum",
        head_spec("MultiLabelHead", n_classes=3, weight_column="w",
                  loss_reduction="sum", name="tags"),
        lambda r, s: [seq_batch(r, s, n, 3, mask="int32", weight="w",
                                empty_rows=e)
                      for n, e in ((2, ()), (3, (0,)), (2, ()))],
        feature_columns=["w"])
    add("sequential/regression",
        head_spec("RegressionHead"),
        lambda r, s: [seq_batch(r, s, 3, 4)])
    add("sequential/regression_label_dim2_weighted_streamed_regularized",
        head_spec("RegressionHead", label_dimension=2, weight_column="w",
                  name="y"),
        lambda r, s: [seq_batch(r, s, n, 4, mask="int32", weight="w",
                                squeeze=False) for n in (3, 2)],
        feature_columns=["w"], reg=[0.125])
    return cases


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

FILES = (
    ("multi_head.json", multi_head_cases),
    ("sequential.json", sequential_cases),
)

BUILDERS = {
    "MultiHead": build_multi_head,
    "SequentialHeadWrapper": build_sequential_head,
}

_worker_evaluator = None


def _init_worker(root):
    global _worker_evaluator
    _worker_evaluator = Evaluator(root)


def _evaluate(c):
    return _worker_evaluator.evaluate(c)


def evaluate_all(cases, workers):
    """Graph-mode metrics of every case, in order.

    Each case is independent, so the cases are spread over worker processes;
    every worker evaluates from its own model directory.
    """
    root = tempfile.mkdtemp(prefix="golden_estimator_")
    try:
        if workers <= 1:
            _init_worker(root)
            return [_evaluate(c) for c in cases]
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, _init_worker, (root,)) as pool:
            return pool.map(_evaluate, cases, chunksize=1)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=g.HERE,
                        help="output directory (default: this directory)")
    parser.add_argument("--workers", type=int,
                        default=min(8, os.cpu_count() or 1),
                        help="processes running Estimator.evaluate "
                             "(default: the number of CPUs, at most 8)")
    args = parser.parse_args(argv)
    meta = {
        "tensorflow": tf.__version__,
        "tensorflow_estimator": metadata.version("tensorflow-estimator"),
        "generator": GENERATOR,
    }
    files = [(filename, build()) for filename, build in FILES]
    seen = set()
    for _, cases in files:
        for c in cases:
            if c["id"] in seen:
                raise ValueError("duplicate case id: " + c["id"])
            seen.add(c["id"])
    all_cases = [c for _, cases in files for c in cases]
    for c, metrics in zip(all_cases, evaluate_all(all_cases, args.workers)):
        c["expected"]["metrics"] = metrics
    os.makedirs(args.out, exist_ok=True)
    for filename, cases in files:
        path = os.path.join(args.out, filename)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(g.dumps(meta, cases))
        print("%s: %d cases" % (path, len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
