"""Trains one model for a fixed number of steps on several data-parallel setups.

Each setup ("path") starts from the same state and data, runs the same steps,
evaluates the head's metrics on the global batch and saves the results to one
``.npz`` file, keyed ``'<path>|<name>'``, for the caller to compare:

* ``single``: one device, ``jax.jit``, the global batch.
* ``jit_auto`` / ``jit_explicit``: ``jax.jit`` over batches sharded along a
  ``'data'`` mesh axis (of ``Auto`` / ``Explicit`` type), state replicated.
* ``shard_map``: per-device batch shards, ``axis_name='data'``.
* ``pmap``: per-device batch shards, ``axis_name='data'``, state broadcast.
* ``multiprocess``: ``jax.jit`` with sharding over the devices of several
  processes, each feeding its own rows of the batch.

Usage::

  python train_paths.py CASE OUT.npz [--paths single,shard_map,...]
  python train_paths.py CASE,CASE,... 'OUT-{case}.npz'
  python train_paths.py CASE OUT.npz --process-id I --num-processes N --port P

With several cases (each on its default paths), one process runs them in turn
and writes one file per case, ``{case}`` in ``OUT`` replaced by its name.

The multi-device paths need several devices, e.g. start with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``.
"""

import argparse
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import flaxheads as fh

AXIS = 'data'
GLOBAL_BATCH = 64


class LinenNet(nn.Module):
  """Bias-free Dense layers before BatchNorm; BatchNorm reduces over ``axis_name``."""
  outputs: int
  axis_name: str | None = None

  @nn.compact
  def __call__(self, features, train: bool):
    x = features['x']
    for _ in range(2):
      x = nn.Dense(16, use_bias=False)(x)
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.axis_name)(x)
      x = nn.relu(x)
    return nn.Dense(self.outputs)(x)


class NnxNet(nnx.Module):

  def __init__(self, outputs, rngs):
    self.dense1 = nnx.Linear(4, 16, use_bias=False, rngs=rngs)
    self.bn1 = nnx.BatchNorm(16, momentum=0.9, rngs=rngs)
    self.dense2 = nnx.Linear(16, 16, use_bias=False, rngs=rngs)
    self.bn2 = nnx.BatchNorm(16, momentum=0.9, rngs=rngs)
    self.out = nnx.Linear(16, outputs, rngs=rngs)

  def __call__(self, features):
    x = nnx.relu(self.bn1(self.dense1(features['x'])))
    return self.out(nnx.relu(self.bn2(self.dense2(x))))


def l2(params):
  return 1e-3 * sum(jnp.sum(jnp.square(p)) for p in jax.tree.leaves(params))


class Case(NamedTuple):
  make_head: Callable[[], fh.Head]
  make_tx: Callable[[], optax.GradientTransformation]
  model: str  # 'linen' or 'nnx'
  steps: int
  regularization_fn: Callable[[Any], jax.Array] | None
  paths: tuple[str, ...]  # the single-process paths to run by default
  evaluate: bool = True


ALL_PATHS = ('single', 'jit_auto', 'jit_explicit', 'shard_map', 'pmap')
CASES = {
    'binary': Case(lambda: fh.BinaryClassHead(weight_column='w'), lambda: optax.adam(1e-2), 'linen', 20,
                   None, ALL_PATHS),
    'multiclass': Case(lambda: fh.MultiClassHead(3, weight_column='w'), lambda: optax.adam(1e-2), 'linen',
                       20, None, ALL_PATHS),
    'nnx': Case(lambda: fh.BinaryClassHead(weight_column='w'), lambda: optax.adam(1e-2), 'nnx', 20, None,
                ('single', 'jit_auto', 'jit_explicit')),
    # Plain SGD shows any scaling of the combined gradients (Adam is nearly scale invariant); a SUM
    # reduction with a regularization loss checks that the latter is counted once.
    'sgd_sum': Case(lambda: fh.BinaryClassHead(weight_column='w', loss_reduction=fh.LossReduction.SUM),
                    lambda: optax.sgd(2e-3), 'linen', 5, l2, ('single', 'shard_map', 'pmap'), evaluate=False),
}


def make_data(head):
  """A fixed global batch: features ``{'x': [64, 4], 'w': [64]}`` and int labels."""
  rng = np.random.default_rng(0)
  x = (rng.normal(size=(GLOBAL_BATCH, 4)) * 3 + 1).astype(np.float32)
  w = rng.uniform(0.5, 2., GLOBAL_BATCH).astype(np.float32)
  if head.logits_dimension == 1:
    labels = x[:, 0] - x[:, 1] > 0
  else:
    labels = np.argmax(x[:, :3] + np.array([0., 1., -1.], np.float32), axis=1)
  return {'x': x, 'w': w}, labels.astype(np.int32)


@functools.cache
def initial_state(case):
  """The initial state on the host, built by one compiled program, the same for every path."""
  spec = CASES[case]
  head = spec.make_head()

  def build():
    if spec.model == 'nnx':
      return fh.TrainState.from_nnx(NnxNet(head.logits_dimension, nnx.Rngs(0)), spec.make_tx())
    model = LinenNet(head.logits_dimension)
    variables = model.init(jax.random.key(0), make_data(head)[0], train=False)
    return fh.TrainState.create(apply_fn=model.apply, variables=variables, tx=spec.make_tx())

  return jax.device_get(jax.jit(build)())


def make_state(case, axis_name=None):
  """The initial state; with ``axis_name``, BatchNorm reduces over that axis."""
  state = initial_state(case)
  if axis_name is None:
    return state
  if CASES[case].model == 'nnx':
    raise NotImplementedError('the NNX model runs on the single and jit paths only')
  return state.replace(apply_fn=LinenNet(CASES[case].make_head().logits_dimension, axis_name).apply)


def flatten(prefix, tree):
  return {f'{prefix}{jax.tree_util.keystr(path)}': np.asarray(leaf)
          for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def summarize(state, outs, metric_state):
  """Host arrays: final params and model state, per-step losses, metric results."""
  result = {**flatten('params', state.params), **flatten('model_state', state.model_state)}
  for name in ('loss', 'unregularized_loss', 'regularization_loss', 'finite'):
    result[name] = np.stack([np.asarray(getattr(out, name)) for out in outs])
  if metric_state is not None:
    for key, value in fh.metrics.results(metric_state).items():
      result[f'metrics/{key}'] = np.asarray(value)
  return result


def run(case, step, evaluate, state, metric_state, features, labels):
  spec = CASES[case]
  outs = []
  for _ in range(spec.steps):
    state, out = step(state, features, labels)
    outs.append(out)
  metric_state = evaluate(state, metric_state, features, labels) if spec.evaluate else None
  return state, outs, metric_state


def run_path(case, path):
  spec = CASES[case]
  head = spec.make_head()
  features, labels = make_data(head)
  train_step = functools.partial(head.train_step, regularization_fn=spec.regularization_fn)
  metric_state = head.metrics()
  num_devices = jax.device_count()
  state = make_state(case, AXIS if path in ('shard_map', 'pmap') else None)

  if path == 'single':
    put = functools.partial(jax.device_put, device=jax.devices()[0])
    return summarize(*run(case, jax.jit(train_step), jax.jit(head.eval_step), put(state),
                          put(metric_state), put(features), put(labels)))

  if path in ('jit_auto', 'jit_explicit'):
    axis_type = AxisType.Auto if path == 'jit_auto' else AxisType.Explicit
    mesh = jax.make_mesh((num_devices,), (AXIS,), (axis_type,))
    replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P(AXIS))
    with jax.set_mesh(mesh):
      return summarize(*run(case, jax.jit(train_step), jax.jit(head.eval_step),
                            jax.device_put(state, replicated),
                            jax.device_put(metric_state, replicated),
                            jax.device_put(features, batch), jax.device_put(labels, batch)))

  if path == 'shard_map':
    mesh = jax.make_mesh((num_devices,), (AXIS,))
    replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P(AXIS))
    step = jax.jit(jax.shard_map(functools.partial(train_step, axis_name=AXIS), mesh=mesh,
                                 in_specs=(P(), P(AXIS), P(AXIS)), out_specs=P()))
    evaluate = jax.jit(jax.shard_map(functools.partial(head.eval_step, axis_name=AXIS), mesh=mesh,
                                     in_specs=(P(), P(), P(AXIS), P(AXIS)), out_specs=P()))
    return summarize(*run(case, step, evaluate, jax.device_put(state, replicated),
                          jax.device_put(metric_state, replicated), jax.device_put(features, batch),
                          jax.device_put(labels, batch)))

  if path == 'pmap':
    # A leading device axis: copies of the state, slices of the batch. Placed as pmap places its
    # outputs, so the second step reuses the first step's compiled program.
    per_device = NamedSharding(jax.make_mesh((num_devices,), (AXIS,), (AxisType.Auto,)), P(AXIS))
    broadcast = lambda tree: jax.device_put(
        jax.tree.map(lambda x: np.broadcast_to(x, (num_devices, *np.shape(x))), tree), per_device)
    split = lambda tree: jax.device_put(
        jax.tree.map(lambda x: x.reshape(num_devices, -1, *x.shape[1:]), tree), per_device)
    step = jax.pmap(functools.partial(train_step, axis_name=AXIS), axis_name=AXIS)
    evaluate = jax.pmap(functools.partial(head.eval_step, axis_name=AXIS), axis_name=AXIS)
    results = run(case, step, evaluate, broadcast(state), broadcast(metric_state),
                  split(features), split(labels))
    for leaf in jax.tree.leaves(results):  # every device holds the same values
      leaf = np.asarray(leaf)
      np.testing.assert_array_equal(leaf, np.broadcast_to(leaf[0], leaf.shape))
    state, outs, metric_state = jax.tree.map(lambda x: np.asarray(x)[0], results)
    return summarize(state, outs, metric_state)

  raise ValueError(f'unknown path {path!r}')


def run_multiprocess(case, process_id, num_processes, port):
  """jit with sharding over the devices of all processes; each process feeds its own rows."""
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(f'127.0.0.1:{port}', num_processes=num_processes, process_id=process_id,
                             initialization_timeout=120)
  spec = CASES[case]
  head = spec.make_head()
  features, labels = make_data(head)
  mesh = jax.make_mesh((jax.device_count(),), (AXIS,), (AxisType.Auto,))
  replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P(AXIS))
  # This process's devices hold a contiguous block of rows of the global batch.
  shards = sorted(index[0].start for index in batch.addressable_devices_indices_map((GLOBAL_BATCH,)).values())
  rows = slice(shards[0], shards[-1] + GLOBAL_BATCH // jax.device_count())
  assert rows.stop - rows.start == GLOBAL_BATCH // num_processes, rows
  to_global = lambda x: jax.make_array_from_process_local_data(batch, x[rows], x.shape)
  train_step = functools.partial(head.train_step, regularization_fn=spec.regularization_fn)
  result = summarize(*run(case, jax.jit(train_step), jax.jit(head.eval_step),
                          jax.device_put(make_state(case), replicated),
                          jax.device_put(head.metrics(), replicated),
                          jax.tree.map(to_global, features), to_global(labels)))
  result['rows'] = np.array([rows.start, rows.stop])
  result['devices'] = np.array([jax.device_count(), jax.local_device_count()])
  return result


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('case', help=f'one of {", ".join(sorted(CASES))}, or several, comma-separated')
  parser.add_argument('out', help='the .npz file to write (with several cases, a name with {case}); '
                      'multi-process: by process 0, which also runs the single-device path')
  parser.add_argument('--paths', help='comma-separated single-process paths; default: the case\'s')
  parser.add_argument('--process-id', type=int, help='run the multi-process path as this process')
  parser.add_argument('--num-processes', type=int, default=2)
  parser.add_argument('--port', type=int, help='the coordinator port on 127.0.0.1')
  args = parser.parse_args()
  cases = args.case.split(',')
  unknown = sorted(set(cases) - set(CASES))
  if unknown:
    parser.error(f'unknown case(s) {", ".join(unknown)}; choose from {", ".join(sorted(CASES))}')
  if len(cases) > 1:
    if args.process_id is not None or args.paths or '{case}' not in args.out:
      parser.error('several cases run on their default paths, in one process, into OUT with {case}')
    for case in cases:
      save(args.out.format(case=case), {path: run_path(case, path) for path in CASES[case].paths})
    return
  if args.process_id is not None:
    results = {'multiprocess': run_multiprocess(args.case, args.process_id, args.num_processes, args.port)}
    if args.process_id != 0:
      return
    results['single'] = run_path(args.case, 'single')  # the reference, on one local device
  else:
    paths = args.paths.split(',') if args.paths else CASES[args.case].paths
    results = {path: run_path(args.case, path) for path in paths}
  save(args.out, results)


def save(out, results):
  np.savez(out, **{f'{path}|{name}': value for path, result in results.items() for name, value in result.items()})


if __name__ == '__main__':
  main()
