"""Training as several processes under ``jax.distributed``, and stopping cleanly on SIGTERM.

Each process of a run calls :func:`initialize` with the coordinator's address,
the number of processes and its own id (flags, or ``JAX_COORDINATOR_ADDRESS``,
``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``; JAX's cluster detection, e.g.
SLURM, when none is given). The train state is replicated over every device of
every process, and a global batch is sharded over them: each process feeds the
rows of its own readers (:func:`global_batches`). Evaluation runs on each
process's own devices over all eval rows, with the replicated state; only
process 0 writes reports.

SIGTERM (how clusters preempt a job) sets a flag that the training loop reads
after every step (:class:`Preemption`); with several processes, JAX's
preemption sync point makes all of them stop at the same step.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import grain
import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec

from flaxheads.job import data
from flaxheads.job.errors import JobError

AXIS = 'data'
HEARTBEAT_TIMEOUT_S = 20  # default: a process that stops answering makes the others fail after this long


def initialize(coordinator: str | None, num_processes: int | None, process_id: int | None, *,
               heartbeat_timeout: int = HEARTBEAT_TIMEOUT_S) -> None:
  """Joins a multi-process run when one is described (by the arguments or the environment); else nothing.

  A process that stops answering for ``heartbeat_timeout`` seconds makes the others fail.
  """
  coordinator = coordinator or os.environ.get('JAX_COORDINATOR_ADDRESS')
  num_processes = num_processes if num_processes is not None else _int_env('JAX_NUM_PROCESSES')
  process_id = process_id if process_id is not None else _int_env('JAX_PROCESS_ID')
  if coordinator is None and num_processes is None and process_id is None:
    return
  if coordinator is None or num_processes is None or process_id is None:
    raise JobError('a multi-process run needs --coordinator_address, --num_processes and --process_id '
                   '(or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID)')
  if not 0 <= process_id < num_processes:
    raise JobError(f'--process_id must be in [0, {num_processes}), got {process_id}')
  if heartbeat_timeout < 1:
    raise JobError(f'--heartbeat_timeout must be at least 1 second, got {heartbeat_timeout}')
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')  # CPU devices only
  try:
    jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id,
                               initialization_timeout=120, heartbeat_timeout_seconds=heartbeat_timeout)
  except Exception as e:  # the runtime's errors have no common type
    raise JobError(f'cannot join the run at {coordinator} as process {process_id} of {num_processes}: '
                   f'{str(e).strip().splitlines()[0]}') from e


def _int_env(name: str) -> int | None:
  value = os.environ.get(name)
  if value is None:
    return None
  try:
    return int(value)
  except ValueError:
    raise JobError(f'{name} must be an integer, got {value!r}') from None


def is_main() -> bool:
  """Whether this process writes reports, plots and statistics."""
  return jax.process_index() == 0


def _mesh() -> jax.sharding.Mesh:
  return jax.make_mesh((jax.device_count(),), (AXIS,), (jax.sharding.AxisType.Auto,))


def replicate(tree: Any) -> Any:
  """``tree``'s arrays (the same in every process) on every device of every process; as is with one process."""
  if jax.process_count() == 1:
    return tree
  sharding = NamedSharding(_mesh(), PartitionSpec())

  def put(leaf):
    if not isinstance(leaf, jax.Array):
      return leaf
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(leaf)), impl=jax.random.key_impl(leaf))
    value = np.asarray(leaf)
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])
  return jax.tree.map(put, tree)


def local(tree: Any) -> Any:
  """A replicated tree's arrays on this process's first device, for work done by each process alone."""
  if jax.process_count() == 1:
    return tree
  return jax.tree.map(lambda a: a.addressable_data(0) if isinstance(a, jax.Array) else a, tree)


class GlobalBatches(grain.DatasetIterator):
  """A process's batches as one global batch sharded over all processes' devices (same state)."""

  def __init__(self, parent: grain.DatasetIterator, global_batch_size: int):
    super().__init__(parent)
    self._sharding = NamedSharding(_mesh(), PartitionSpec(AXIS))
    self._global_rows = global_batch_size

  def __next__(self) -> data.Split:
    batch = next(self._parent)
    to_global = lambda x: jax.make_array_from_process_local_data(
        self._sharding, np.asarray(x), (self._global_rows, *np.shape(x)[1:]))
    return data.Split(jax.tree.map(to_global, batch.features), jax.tree.map(to_global, batch.labels))

  def get_state(self) -> dict:
    return self._parent.get_state()

  def set_state(self, state: dict) -> None:
    self._parent.set_state(state)


def global_batches(batches: grain.DatasetIterator, global_batch_size: int) -> grain.DatasetIterator:
  """The iterator of global training batches (``batches`` itself with one process)."""
  if jax.process_count() == 1:
    return batches
  if global_batch_size % jax.device_count():
    raise JobError(f'config.batch_size={global_batch_size} must be a multiple of the {jax.device_count()} '
                   'devices of all processes')
  return GlobalBatches(batches, global_batch_size)


def barrier(name: str) -> None:
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


class Preemption:
  """Whether to stop after the current step because SIGTERM was received (by any process).

  A context manager: SIGTERM's handler is installed on entry and restored on exit.
  """

  def __init__(self):
    self.received = False
    self._previous = None

  def __enter__(self) -> Preemption:
    if jax.process_count() == 1:  # with several processes, JAX's runtime already handles SIGTERM
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)

  def _handle(self, signum, frame) -> None:
    del signum, frame
    self.received = True

  def reached(self, step: int) -> bool:
    """True at the step where every process stops (call after every step)."""
    if jax.process_count() > 1:
      return multihost_utils.reached_preemption_sync_point(step)
    return self.received
