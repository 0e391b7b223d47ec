"""TF 2.15 ``tf.estimator`` peer for ``benchmarks/run.py``: W1 with an Estimator whose
``model_fn`` uses a head, W2/W3 with ``head.update_metrics`` in a ``tf.function``.

Runs in its own environment (Python 3.11; see ``benchmarks/peers/make_envs.sh``)::

  python3 -m venv ../tf215
  ../tf215/bin/pip install tensorflow-cpu==2.15.1 tensorflow-estimator==2.15.0
  ../tf215/bin/python benchmarks/peers/tf_estimator.py --sizes '{"W2": 2000000}'

Prints one JSON line per measurement: ``case`` (the hand-written baseline it is compared
with), ``name``, ``unit`` and the raw ``times``.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import tempfile  # pylint: disable=g-import-not-at-top,wrong-import-position
import time

import numpy as np
import tensorflow as tf

import protocol  # benchmarks/peers/, this script's folder

tf.get_logger().setLevel('ERROR')
PEER = f'tf.estimator {tf.__version__}'


def emit(case, name, unit, times):
  protocol.emit(PEER, case, name, unit, times)


class StepTimes(tf.estimator.SessionRunHook):
  """Wall-clock time at the end of every training step, and when the first one began."""

  def begin(self):
    self.start, self.ends = time.perf_counter(), []

  def after_run(self, run_context, run_values):
    self.ends.append(time.perf_counter())


def head_model_fn(head):
  """The model of Estimator's head documentation: Dense(1000, relu), Dense(500, relu), logits."""

  def model_fn(features, labels, mode):
    hidden = tf.keras.layers.Dense(1000, 'relu')(features['x'])
    hidden = tf.keras.layers.Dense(500, 'relu')(hidden)
    logits = tf.keras.layers.Dense(head.logits_dimension)(hidden)
    optimizer = tf.keras.optimizers.legacy.Adam(1e-3)
    optimizer.iterations = tf.compat.v1.train.get_or_create_global_step()  # as canned Estimators do
    return head.create_estimator_spec(features, mode, logits, labels=labels, optimizer=optimizer,
                                      trainable_variables=tf.compat.v1.trainable_variables())

  return model_fn


def w1(repeats, steps):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(256, 100)).astype(np.float32)
  heads = {
      'regression': (tf.estimator.RegressionHead(), rng.normal(size=(256, 1)).astype(np.float32)),
      'binary': (tf.estimator.BinaryClassHead(), rng.integers(0, 2, (256, 1)).astype(np.float32)),
      'multi_class_10': (tf.estimator.MultiClassHead(10), rng.integers(0, 10, (256, 1)).astype(np.int64)),
  }
  for name, (head, y) in heads.items():

    def input_fn(y=y):
      return tf.data.Dataset.from_tensors(({'x': x}, y)).repeat()

    timer = StepTimes()
    with tempfile.TemporaryDirectory() as model_dir:
      config = tf.estimator.RunConfig(model_dir, save_summary_steps=None, save_checkpoints_steps=None,
                                      save_checkpoints_secs=None, log_step_count_steps=None)
      estimator = tf.estimator.Estimator(head_model_fn(head), config=config)
      estimator.train(input_fn, steps=1 + repeats * steps, hooks=[timer])
    emit(f'W1/{name}/compile', 'Estimator.train, first step (graph + session + 1 step)', 's',
         [timer.ends[0] - timer.start])
    ends = timer.ends
    emit(f'W1/{name}/step', 'Estimator.train', 's/step',
         [(ends[(r + 1) * steps] - ends[r * steps]) / steps for r in range(repeats)])


def run_head_metrics(head, batches, repeats):
  """Seconds per pass: ``head.update_metrics`` in a ``tf.function`` per batch, then results."""
  metrics = head.metrics()

  # The binary head sets accuracy_baseline's total and count to tensors of its update
  # (from label/mean); read eagerly, those are out of scope, so it is derived here.
  derived = {'accuracy_baseline'}

  @tf.function
  def update(logits, labels):
    head.update_metrics(metrics, features={}, logits=logits, labels=labels)

  def one_pass():
    for m in metrics.values():
      m.reset_state()
    for logits, labels in batches:
      update(logits, labels)
    results = {k: m.result().numpy() for k, m in metrics.items() if k not in derived}
    if 'label/mean' in results and 'accuracy_baseline' in metrics:
      results['accuracy_baseline'] = max(results['label/mean'], 1 - results['label/mean'])
    return results

  one_pass()  # compiles
  return protocol.timed(one_pass, repeats)


def w2(repeats, total):
  batch = 65_536
  rng = np.random.default_rng(1)
  n_batches = total // batch
  logits = rng.normal(size=(n_batches, batch, 1)).astype(np.float32)
  labels = rng.integers(0, 2, (n_batches, batch, 1)).astype(np.float32)
  batches = [(tf.constant(logits[i]), tf.constant(labels[i])) for i in range(n_batches)]
  times = run_head_metrics(tf.estimator.BinaryClassHead(thresholds=[0.3, 0.7]), batches, repeats)
  emit('W2', 'BinaryClassHead.update_metrics in tf.function', 's/pass', times)


def w3(repeats, n_batches):
  rng = np.random.default_rng(2)
  logits = rng.normal(size=(n_batches, 1024, 1000)).astype(np.float32)
  labels = rng.integers(0, 1000, (n_batches, 1024, 1)).astype(np.int64)
  batches = [(tf.constant(logits[i]), tf.constant(labels[i])) for i in range(n_batches)]
  times = run_head_metrics(tf.estimator.MultiClassHead(1000), batches, repeats)
  emit('W3', 'MultiClassHead.update_metrics in tf.function', 's/pass', times)


if __name__ == '__main__':
  protocol.main(__doc__.splitlines()[0], {'W1': w1, 'W2': w2, 'W3': w3})
