"""Orbax checkpoints of the train state and the data iterator in ``<workdir>/checkpoints/<step>``.

A checkpoint holds two items: ``state`` (the train state's arrays) and
``data`` (the training data iterator's state, written by grain's orbax
handler: one JSON file per process), so a resumed run reads exactly the rows
an uninterrupted one would have.
"""

from __future__ import annotations

import pathlib

import grain
import jax
import orbax.checkpoint as ocp

from flaxheads.job.errors import JobError, first_line


class Checkpoints:
  """Saves and restores :class:`flaxheads.TrainState` pytrees with a data iterator, keeping the latest few.

  Saving is asynchronous; orbax writes each checkpoint to a temporary folder
  and renames it when complete, so a process killed mid-save leaves the
  previous checkpoints intact and the partial one is ignored.
  """

  def __init__(self, workdir: str | pathlib.Path, *, keep: int = 3, create: bool = True):
    self.directory = pathlib.Path(workdir).absolute() / 'checkpoints'
    if not create and not self.directory.is_dir():
      raise JobError(f'no checkpoints in {self.directory}; run `flaxheads train` with this workdir first')
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create)
    self._manager = ocp.CheckpointManager(
        self.directory, options=options,
        item_handlers={'state': ocp.StandardCheckpointHandler(), 'data': grain.checkpoint.CheckpointHandler()})

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def restore(self, state, step: int | None = None, *, data: grain.DatasetIterator | None = None):
    """``state`` with its arrays read from checkpoint ``step`` (default: the latest).

    With ``data``, the data iterator is also set to its checkpointed state.

    Raises:
      JobError: no checkpoint, or one whose structure or shapes differ from
        ``state`` (another model or optimizer than the checkpoint's).
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise JobError(f'no checkpoints in {self.directory}; run `flaxheads train` with this workdir first')
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    self._check_fits(step, target)
    items = {'state': ocp.args.StandardRestore(target)}
    if data is not None:
      items['data'] = grain.checkpoint.CheckpointRestore(data)
    try:
      return self._manager.restore(step, args=ocp.args.Composite(**items))['state']
    except (ValueError, TypeError, KeyError) as e:
      raise JobError(f'checkpoint {self.directory / str(step)} does not fit the configured model and '
                     f'optimizer ({first_line(e).rstrip(":")}); use the config it was trained with '
                     f'(saved in {self.directory.parent / "config.json"}) or another workdir') from e

  def _check_fits(self, step: int, target) -> None:
    """Raises a :class:`JobError` naming the first array whose name or shape differs from ``target``'s."""
    saved = _shapes(self._manager.item_metadata(step)['state'])
    wanted = _shapes(target)
    if saved == wanted:
      return
    for name in sorted(set(saved) | set(wanted)):
      if saved.get(name) != wanted.get(name):
        found = 'missing' if name not in saved else f'shape {saved[name]}'
        expected = 'absent' if name not in wanted else f'shape {wanted[name]}'
        raise JobError(f'checkpoint {self.directory / str(step)} does not fit the configured model and '
                       f'optimizer: {name} is {found} in the checkpoint, {expected} in the config; use the '
                       f'config it was trained with (saved in {self.directory.parent / "config.json"}) '
                       'or another workdir')

  def save(self, step: int, state, data: grain.DatasetIterator) -> None:
    """Starts writing checkpoint ``step`` (the arrays are written after it returns)."""
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                     data=grain.checkpoint.CheckpointSave(data)))

  def wait(self) -> None:
    """Blocks until pending checkpoint writes are complete."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def latest_step(workdir: str | pathlib.Path) -> int:
  """The step of the latest complete checkpoint in ``workdir`` (0 if none); creates nothing.

  Reads the folder names only (orbax renames a checkpoint to its step when it
  is complete), so every process of a run can call it alone.
  """
  directory = pathlib.Path(workdir).absolute() / 'checkpoints'
  steps = [int(p.name) for p in directory.iterdir() if p.name.isdigit()] if directory.is_dir() else []
  return max(steps, default=0)


def _shapes(tree) -> dict[str, tuple[int, ...]]:
  """``{'params.Dense_0.kernel': shape, ...}`` for the arrays of a pytree or of checkpoint metadata."""
  def name(path) -> str:
    return '.'.join(str(getattr(k, 'key', getattr(k, 'name', getattr(k, 'idx', k)))) for k in path)
  return {name(path): tuple(leaf.shape) for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}
