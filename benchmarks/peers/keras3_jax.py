"""Keras 3 (JAX backend) peer for ``benchmarks/run.py``: W1 with ``model.fit``, W2/W3 with
``keras.metrics`` updated statelessly under one ``jax.jit``.

Runs in its own environment (see ``benchmarks/peers/make_envs.sh``)::

  python3 -m venv ../keras3 && ../keras3/bin/pip install 'keras>=3' jax numpy
  KERAS_BACKEND=jax ../keras3/bin/python benchmarks/peers/keras3_jax.py

Prints one JSON line per measurement: ``case`` (the hand-written baseline it is compared
with), ``name``, ``unit`` and the raw ``times``.
"""

import os

os.environ.setdefault('KERAS_BACKEND', 'jax')

import time  # pylint: disable=g-import-not-at-top,wrong-import-position

import jax
import jax.numpy as jnp
import keras
import numpy as np

import protocol  # benchmarks/peers/, this script's folder

PEER = f'Keras {keras.__version__} (JAX backend)'


def emit(case, name, unit, times):
  protocol.emit(PEER, case, name, unit, times)


def w1(repeats, steps):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(256, 100)).astype(np.float32)
  tasks = {
      'regression': (1, keras.losses.MeanSquaredError(), rng.normal(size=(256, 1)).astype(np.float32)),
      'binary': (1, keras.losses.BinaryCrossentropy(from_logits=True),
                 rng.integers(0, 2, (256, 1)).astype(np.float32)),
      'multi_class_10': (10, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                         rng.integers(0, 10, (256,)).astype(np.int32)),
  }
  xs = np.tile(x, (steps, 1))
  for name, (units, loss, y) in tasks.items():
    ys = np.tile(y, (steps,) + (1,) * (y.ndim - 1))

    def build(units=units, loss=loss):
      model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(1000, 'relu'),
                                keras.layers.Dense(500, 'relu'), keras.layers.Dense(units)])
      model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
      return model

    first = []
    for _ in range(3):
      jax.clear_caches()
      model = build()
      start = time.perf_counter()
      model.fit(x, y, batch_size=256, epochs=1, verbose=0, shuffle=False)
      first.append(time.perf_counter() - start)
    emit(f'W1/{name}/compile', 'model.fit, first step (trace + compile + 1 step)', 's', first)
    times = []
    for _ in range(repeats):
      start = time.perf_counter()
      model.fit(xs, ys, batch_size=256, epochs=1, verbose=0, shuffle=False)
      times.append((time.perf_counter() - start) / steps)
    emit(f'W1/{name}/step', 'model.fit', 's/step', times)


def run_stateless(metrics, update, batches, repeats):
  """Seconds per pass over ``batches``: one jitted stateless update per batch, then results."""
  initial = [[v.value for v in m.variables] for m in metrics]

  @jax.jit
  def step(state, *batch):
    return [m.stateless_update_state(s, *args) for m, s, args in zip(metrics, state, update(*batch))]

  @jax.jit
  def results(state):
    return [m.stateless_result(s) for m, s in zip(metrics, state)]

  def one_pass():
    state = initial
    for batch in batches:
      state = step(state, *batch)
    jax.block_until_ready(results(state))

  one_pass()  # compiles
  return protocol.timed(one_pass, repeats)


def w2(repeats, total):
  batch = 65_536
  rng = np.random.default_rng(1)
  n_batches = total // batch
  logits = jnp.asarray(rng.normal(size=(n_batches, batch, 1)).astype(np.float32))
  labels = jnp.asarray(rng.integers(0, 2, (n_batches, batch, 1)).astype(np.float32))
  m = keras.metrics
  metrics = [m.BinaryCrossentropy(from_logits=True), m.BinaryAccuracy(), m.Precision(), m.Recall(),
             m.AUC(num_thresholds=200), m.AUC(num_thresholds=200, curve='PR'), m.Mean(), m.Mean()]
  for t in (0.3, 0.7):
    metrics += [m.BinaryAccuracy(threshold=t), m.Precision(thresholds=t), m.Recall(thresholds=t)]

  def update(logits, labels):
    p = jax.nn.sigmoid(logits)
    return ([(labels, logits)] + [(labels, p)] * 5 + [(labels,), (p,)] + [(labels, p)] * 6)

  times = run_stateless(metrics, update, [(logits[i], labels[i]) for i in range(n_batches)], repeats)
  emit('W2', 'keras.metrics, stateless under jax.jit', 's/pass', times)


def w3(repeats, n_batches):
  rng = np.random.default_rng(2)
  logits = jnp.asarray(rng.normal(size=(n_batches, 1024, 1000)).astype(np.float32))
  labels = jnp.asarray(rng.integers(0, 1000, (n_batches, 1024)).astype(np.int32))
  metrics = [keras.metrics.SparseCategoricalCrossentropy(from_logits=True),
             keras.metrics.SparseCategoricalAccuracy()]
  times = run_stateless(metrics, lambda logits, labels: [(labels, logits)] * 2,
                        [(logits[i], labels[i]) for i in range(n_batches)], repeats)
  emit('W3', 'keras.metrics, stateless under jax.jit', 's/pass', times)


if __name__ == '__main__':
  protocol.main(__doc__.splitlines()[0], {'W1': w1, 'W2': w2, 'W3': w3})
