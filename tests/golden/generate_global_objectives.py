"""Generate the golden fixtures of the global-objective losses.

Runs only under the reference environment (TensorFlow 2.15.1, see README.md):

    /work/tf215/bin/python tests/golden/generate_global_objectives.py [--out DIR]

It writes ``global_objectives.json``: the math of TensorFlow's
``research/global_objectives`` (``loss_layers.py`` and ``util.py``) written
again against ``tf.compat.v1`` in graph mode (that library itself needs
``tf.contrib``, which TF 2 no longer has), evaluated with
``tf.compat.v1.Session``. Label priors are the reference's moving counts
(variables updated with ``assign_add`` before the priors are read). The one
deliberate difference: ``[batch]`` weights with several labels are broadcast
across labels before they are counted (the reference's counter raises there).

Layout::

    {"meta": {...},
     "cases": [{"id", "loss", "surrogate_type", "dual_rate_factor",
                "target" | null, "precision_range", "num_anchors",
                "labels", "logits", "weights", "lambdas", "biases",
                "prior_counts": [weighted_label_counts, weight_sum],
                "expected": {"loss", "grad_logits", "grad_lambdas",
                             "grad_biases", "label_priors",
                             "true_positives_lower_bound",
                             "false_positives_upper_bound"}}],
     "trajectories": [{"id", "loss", "surrogate_type", "target", "kwargs",
                       "learning_rate", "x": [step][batch][dim],
                       "labels": [step]..., "weights": [step]...,
                       "init": {"w", "b", "lambdas", "biases"},
                       "steps": [{"loss", "w", "b", "lambdas", "biases",
                                  "weighted_label_counts", "weight_sum"}]}]}

Gradients are those of ``sum(loss)`` (of ``mean(loss)`` in trajectories)
with respect to the logits, the *raw* lambdas and the biases. Inputs are
float32 values written as Python floats; the random generator is seeded with
the CRC32 of each case id, so the output is byte-for-byte reproducible.
"""

import argparse
import json
import pathlib
import zlib

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
tf1.disable_eager_execution()

BATCH = 6
LOSSES = ('precision_recall_auc', 'roc_auc', 'recall_at_precision', 'precision_at_recall',
          'false_positive_rate_at_true_positive_rate', 'true_positive_rate_at_false_positive_rate')


# ---- util.py -----------------------------------------------------------------------------------

def expand_outer(t, rank):
    while len(t.shape) < rank:
        t = tf.expand_dims(t, 0)
    return t


def weighted_surrogate_loss(labels, logits, surrogate_type, positive_weights=1.0,
                            negative_weights=1.0):
    logits = tf.convert_to_tensor(logits)
    labels = tf.cast(labels, logits.dtype)
    if len(labels.shape) == 2 and len(logits.shape) == 3:
        labels = tf.expand_dims(labels, 2)
    pw = expand_outer(tf.cast(tf.convert_to_tensor(positive_weights), logits.dtype), len(logits.shape))
    nw = expand_outer(tf.cast(tf.convert_to_tensor(negative_weights), logits.dtype), len(logits.shape))
    if surrogate_type == 'xent':
        softplus = tf.add(tf.maximum(-logits, 0.0), tf1.log(1.0 + tf.exp(-tf.abs(logits))))
        factor = nw + (pw - nw) * labels
        return nw * (logits - labels * logits) + factor * softplus
    if surrogate_type == 'hinge':
        return pw * labels * tf.maximum(1.0 - logits, 0) + nw * (1.0 - labels) * tf.maximum(1.0 + logits, 0)
    raise ValueError(surrogate_type)


def build_label_priors(labels, weights, counts):
    """The reference's moving counts; returns (priors, [count variables])."""
    num_labels = labels.shape[1]
    weights = weights * tf.ones_like(labels)  # see the module docstring
    wlc = tf1.get_variable('weighted_label_counts', initializer=np.float32(counts[0]), trainable=False)
    ws = tf1.get_variable('weight_sum', initializer=np.float32(counts[1]), trainable=False)
    assert wlc.shape == (num_labels,)
    update_wlc = wlc.assign_add(tf.reduce_sum(weights * labels, 0))
    update_ws = ws.assign_add(tf.reduce_sum(weights, 0))
    return tf1.div(update_wlc, update_ws), [wlc, ws]


# ---- loss_layers.py ----------------------------------------------------------------------------

def prepare(labels, logits, weights):
    logits = tf.convert_to_tensor(logits)
    labels = tf.cast(labels, tf.float32)
    weights = tf.cast(tf.convert_to_tensor(weights), tf.float32)
    original_shape = labels.shape.as_list()
    if labels.shape.ndims > 0:
        original_shape[0] = -1
    if labels.shape.ndims <= 1:
        labels = tf.reshape(labels, [-1, 1])
        logits = tf.reshape(logits, [-1, 1])
    if weights.shape.ndims == 1:
        weights = tf.reshape(weights, [-1, 1])
    if weights.shape.ndims == 0:
        weights *= tf.ones_like(logits)
    return labels, logits, weights, original_shape


def dual(raw, rate):
    value = tf.abs(raw)
    return tf.stop_gradient((1.0 + rate) * value) - rate * value


def maybe_log2(surrogate_type):
    return tf.cast(tf1.log(2.0) if surrogate_type == 'xent' else 1.0, tf.float32)


def tp_lower_bound(labels, logits, weights, surrogate_type):
    if logits.shape.ndims == 3 and labels.shape.ndims < 3:
        labels = tf.expand_dims(labels, 2)
    on_pos = weighted_surrogate_loss(labels, logits, surrogate_type, negative_weights=0.0) / maybe_log2(surrogate_type)
    return tf.reduce_sum(weights * (labels - on_pos), 0)


def fp_upper_bound(labels, logits, weights, surrogate_type):
    on_neg = weighted_surrogate_loss(labels, logits, surrogate_type, positive_weights=0.0) / maybe_log2(surrogate_type)
    return tf.reduce_sum(weights * on_neg, 0)


def bounds(labels, logits, weights, surrogate_type):
    return {'true_positives_lower_bound': tp_lower_bound(labels, logits, weights, surrogate_type),
            'false_positives_upper_bound': fp_upper_bound(labels, logits, weights, surrogate_type)}


def constrained_loss(name, labels, logits, target, weights, raw_lambdas, counts, rate, surrogate_type):
    labels, logits, weights, original_shape = prepare(labels, logits, weights)
    target = tf.cast(tf.convert_to_tensor(target), tf.float32)
    lambdas = dual(raw_lambdas, rate)
    priors, count_vars = build_label_priors(labels, weights, counts)
    log2 = maybe_log2(surrogate_type)
    if name == 'recall_at_precision':
        loss = weights * weighted_surrogate_loss(labels, logits, surrogate_type,
                                                 positive_weights=1.0 + lambdas * (1.0 - target),
                                                 negative_weights=lambdas * target)
        loss = loss - lambdas * (1.0 - target) * priors * log2
    elif name in ('precision_at_recall', 'false_positive_rate_at_true_positive_rate'):
        loss = weights * weighted_surrogate_loss(labels, logits, surrogate_type,
                                                 positive_weights=lambdas, negative_weights=1.0)
        loss = loss + lambdas * priors * (target - 1.0) * log2
    elif name == 'true_positive_rate_at_false_positive_rate':
        loss = weights * weighted_surrogate_loss(labels, logits, surrogate_type,
                                                 positive_weights=1.0, negative_weights=lambdas)
        loss = loss - lambdas * target * (1.0 - priors) * log2
    else:
        raise ValueError(name)
    out = {'label_priors': priors, **bounds(labels, logits, weights, surrogate_type)}
    return tf.reshape(loss, original_shape), out, count_vars


def pr_auc_loss(labels, logits, precision_range, num_anchors, weights, raw_lambdas, biases, counts,
                rate, surrogate_type):
    labels, logits, weights, original_shape = prepare(labels, logits, weights)
    num_labels = logits.shape[1]
    values = np.linspace(precision_range[0], precision_range[1], num_anchors + 2)[1:-1]
    precision_values = expand_outer(tf.cast(tf.convert_to_tensor(values), tf.float32), 3)
    delta = tf.cast(tf.convert_to_tensor(values[0] - precision_range[0]), tf.float32)
    lambdas = tf.reshape(dual(raw_lambdas, rate), [1, num_labels, num_anchors])
    biases3 = tf.reshape(biases, [1, num_labels, num_anchors])
    priors, count_vars = build_label_priors(labels, weights, counts)
    priors3 = tf.reshape(priors, [1, num_labels, 1])
    logits3, labels3, weights3 = (tf.expand_dims(t, 2) for t in (logits, labels, weights))
    loss = weights3 * weighted_surrogate_loss(labels3, logits3 + biases3, surrogate_type,
                                              positive_weights=1.0 + lambdas * (1.0 - precision_values),
                                              negative_weights=lambdas * precision_values)
    lambda_term = lambdas * (1.0 - precision_values) * priors3 * maybe_log2(surrogate_type)
    per_label = delta * tf.reduce_sum(loss - lambda_term, 2)
    scaled = tf1.div(per_label, precision_range[1] - precision_range[0] - delta)
    # The reference computes the bounds on the [batch, num_labels, 1] views: [num_labels, 1].
    out = {'label_priors': priors,
           **{k: tf.reshape(v, [-1]) for k, v in bounds(labels3, logits3, weights3, surrogate_type).items()}}
    return tf.reshape(scaled, original_shape), out, count_vars


def roc_loss(labels, logits, weights, surrogate_type):
    labels, logits, weights, original_shape = prepare(labels, logits, weights)
    logits_difference = tf.expand_dims(logits, 0) - tf.expand_dims(logits, 1)
    labels_difference = tf.expand_dims(labels, 0) - tf.expand_dims(labels, 1)
    weights_product = tf.expand_dims(weights, 0) * tf.expand_dims(weights, 1)
    signed = labels_difference * logits_difference
    raw = weighted_surrogate_loss(tf.ones_like(signed), signed, surrogate_type)
    loss = tf.reduce_mean(tf.abs(labels_difference) * weights_product * raw, 0) * 0.5
    return tf.reshape(loss, original_shape)


# ---- cases -------------------------------------------------------------------------------------

def f32(x):
    return np.asarray(x, np.float32).tolist()


def rng_for(cid):
    return np.random.default_rng(zlib.crc32(cid.encode()))


def build(loss_name, kw, labels, logits, weights, lambdas, biases, counts):
    """Graph pieces of one loss; returns (loss tensor, outputs dict, count variables)."""
    if loss_name == 'roc_auc':
        return roc_loss(labels, logits, weights, kw['surrogate_type']), {}, []
    if loss_name == 'precision_recall_auc':
        return pr_auc_loss(labels, logits, kw['precision_range'], kw['num_anchors'], weights, lambdas,
                           biases, counts, kw['dual_rate_factor'], kw['surrogate_type'])
    return constrained_loss(loss_name, labels, logits, kw['target'], weights, lambdas, counts,
                            kw['dual_rate_factor'], kw['surrogate_type'])


def make_case(loss_name, surrogate_type, layout, wshape):
    cid = f'{loss_name}/{surrogate_type}/{layout}/weights_{wshape}'
    r = rng_for(cid)
    num_labels = 3 if layout == 'three' else 1
    shape = (BATCH,) if layout == 'vector' else (BATCH, num_labels)
    labels = (r.uniform(size=shape) < 0.45).astype(np.float32)
    logits = r.normal(size=shape).astype(np.float32) * 2
    weights = {'scalar': np.float32(r.uniform(0.5, 2.0)),
               'batch': r.uniform(0, 2, size=(BATCH,)).astype(np.float32),
               'full': r.uniform(0, 2, size=shape).astype(np.float32)}[wshape]
    if wshape != 'scalar':
        weights = np.where(r.uniform(size=weights.shape) < 0.15, 0, weights).astype(np.float32)
    per_label = layout == 'three' and wshape != 'scalar'
    target = (r.uniform(0.2, 0.95, size=(num_labels,)) if per_label else r.uniform(0.2, 0.95))
    target = np.round(target, 2)
    default_pr = wshape == 'scalar'
    precision_range = (0.0, 1.0) if default_pr else (0.3, 0.9)
    num_anchors = 20 if default_pr else 3
    k = num_anchors if loss_name == 'precision_recall_auc' else None
    lam_shape = (num_labels, k) if k else (num_labels,)
    lambdas = r.uniform(-1.5, 1.5, size=lam_shape).astype(np.float32)
    biases = (r.normal(size=lam_shape) * 0.5).astype(np.float32) if k else None
    wlc = (1 + r.uniform(0, 5, size=num_labels)).astype(np.float32)
    counts = [wlc, (wlc + 2 + r.uniform(0, 10, size=num_labels)).astype(np.float32)]
    kw = dict(surrogate_type=surrogate_type, dual_rate_factor=0.1 if wshape != 'full' else 0.5,
              target=None if loss_name in ('roc_auc', 'precision_recall_auc') else target.tolist(),
              precision_range=precision_range, num_anchors=num_anchors)

    graph = tf.Graph()
    with graph.as_default():
        logits_t = tf.constant(logits)
        lambdas_t = tf.constant(lambdas)
        biases_t = tf.constant(biases) if k else None
        with tf1.variable_scope('case'):
            loss, out, _ = build(loss_name, kw, tf.constant(labels), logits_t, tf.constant(weights),
                                 lambdas_t, biases_t, counts)
        total = tf.reduce_sum(loss)
        wrt = [logits_t] + ([lambdas_t] if loss_name != 'roc_auc' else []) + ([biases_t] if k else [])
        grads = dict(zip(['grad_logits', 'grad_lambdas', 'grad_biases'], tf.gradients(total, wrt)))
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            got = sess.run({'loss': loss, **grads, **out})
    return {'id': cid, 'loss': loss_name, **kw, 'labels': f32(labels), 'logits': f32(logits),
            'weights': f32(weights), 'lambdas': f32(lambdas) if loss_name != 'roc_auc' else None,
            'biases': f32(biases) if k else None, 'prior_counts': [f32(c) for c in counts],
            'expected': {key: f32(v) for key, v in got.items()}}


def cases():
    layouts = (('vector', 'scalar'), ('one', 'batch'), ('three', 'scalar'), ('three', 'batch'),
               ('three', 'full'))
    return [make_case(loss, s, layout, w) for loss in LOSSES for s in ('xent', 'hinge')
            for layout, w in layouts]


TRAJECTORIES = (
    dict(id='recall_at_precision/xent/two_labels', loss='recall_at_precision', surrogate_type='xent',
         target=[0.7, 0.9], num_labels=2, weights='batch', learning_rate=0.5, dual_rate_factor=0.1),
    dict(id='precision_recall_auc/hinge/one_label', loss='precision_recall_auc', surrogate_type='hinge',
         target=None, num_labels=1, weights='scalar', learning_rate=0.5, dual_rate_factor=0.5,
         precision_range=(0.2, 0.95), num_anchors=5),
    dict(id='true_positive_rate_at_false_positive_rate/xent/two_labels',
         loss='true_positive_rate_at_false_positive_rate', surrogate_type='xent', target=0.2,
         num_labels=2, weights='full', learning_rate=0.3, dual_rate_factor=1.0),
)
STEPS, TRAJ_BATCH, DIM = 10, 8, 4


def trajectory(spec):
    """Gradient descent on mean(loss) of a linear model, label priors updated each step."""
    r = rng_for(spec['id'])
    n = spec['num_labels']
    x = r.normal(size=(STEPS, TRAJ_BATCH, DIM)).astype(np.float32)
    true_w = r.normal(size=(DIM, n))
    labels = ((x @ true_w + r.normal(size=(STEPS, TRAJ_BATCH, n))) > 0.8).astype(np.float32)
    wshape = {'scalar': (), 'batch': (STEPS, TRAJ_BATCH), 'full': (STEPS, TRAJ_BATCH, n)}[spec['weights']]
    weights = r.uniform(0.2, 2.0, size=wshape).astype(np.float32) if wshape else np.float32(1.5)
    k = spec.get('num_anchors')
    init = {'w': (r.normal(size=(DIM, n)) * 0.3).astype(np.float32), 'b': np.zeros(n, np.float32),
            'lambdas': np.ones((n, k) if k else (n,), np.float32),
            'biases': np.zeros((n, k), np.float32) if k else None}
    counts = [np.ones(n, np.float32), np.full(n, 2.0, np.float32)]
    kw = dict(surrogate_type=spec['surrogate_type'], dual_rate_factor=spec['dual_rate_factor'],
              target=spec['target'], precision_range=spec.get('precision_range'), num_anchors=k)
    graph = tf.Graph()
    with graph.as_default():
        xp = tf1.placeholder(tf.float32, (TRAJ_BATCH, DIM))
        yp = tf1.placeholder(tf.float32, (TRAJ_BATCH, n))
        wp = tf1.placeholder(tf.float32, wshape[1:])
        w = tf1.get_variable('w', initializer=init['w'])
        b = tf1.get_variable('b', initializer=init['b'])
        lam = tf1.get_variable('lambdas', initializer=init['lambdas'])
        bias = tf1.get_variable('biases', initializer=init['biases']) if k else None
        logits = tf.matmul(xp, w) + b
        with tf1.variable_scope('priors'):
            loss, _, count_vars = build(spec['loss'], kw, yp, logits, wp, lam, bias, counts)
        mean = tf.reduce_mean(loss)
        train = tf1.train.GradientDescentOptimizer(spec['learning_rate']).minimize(
            mean, var_list=[w, b, lam] + ([bias] if k else []))
        steps = []
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            for t in range(STEPS):
                feed = {xp: x[t], yp: labels[t], wp: weights[t] if wshape else weights}
                value, _ = sess.run([mean, train], feed)
                state = sess.run({'w': w, 'b': b, 'lambdas': lam, **({'biases': bias} if k else {}),
                                  'weighted_label_counts': count_vars[0], 'weight_sum': count_vars[1]})
                steps.append({'loss': float(value), **{key: f32(v) for key, v in state.items()}})
    return {'id': spec['id'], 'loss': spec['loss'], **kw, 'learning_rate': spec['learning_rate'],
            'x': f32(x), 'labels': f32(labels), 'weights': f32(weights),
            'init': {key: None if v is None else f32(v) for key, v in init.items()}, 'steps': steps}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=str(pathlib.Path(__file__).parent))
    out = pathlib.Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    data = {'meta': {'tensorflow': tf.__version__,
                     'reference': 'tensorflow/models research/global_objectives (loss_layers.py, util.py)'},
            'cases': cases(), 'trajectories': [trajectory(s) for s in TRAJECTORIES]}
    path = out / 'global_objectives.json'
    path.write_text(json.dumps(data, separators=(',', ':')) + '\n')
    print(f'{path}: {len(data["cases"])} cases, {len(data["trajectories"])} trajectories, '
          f'{path.stat().st_size / 1e3:.0f} kB')


if __name__ == '__main__':
    main()
