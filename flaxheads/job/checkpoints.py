"""Orbax checkpoints of the train state in ``<workdir>/checkpoints/<step>``."""

from __future__ import annotations

import pathlib

import jax
import orbax.checkpoint as ocp

from flaxheads.job.errors import JobError, first_line


class Checkpoints:
  """Saves and restores :class:`flaxheads.TrainState` pytrees, keeping the latest few.

  Saving is asynchronous; orbax writes each checkpoint to a temporary folder
  and renames it when complete, so a process killed mid-save leaves the
  previous checkpoints intact and the partial one is ignored.
  """

  def __init__(self, workdir: str | pathlib.Path, *, keep: int = 3, create: bool = True):
    self.directory = pathlib.Path(workdir).absolute() / 'checkpoints'
    if not create and not self.directory.is_dir():
      raise JobError(f'no checkpoints in {self.directory}; run `flaxheads train` with this workdir first')
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def restore(self, state, step: int | None = None):
    """``state`` with its arrays read from checkpoint ``step`` (default: the latest).

    Raises:
      JobError: no checkpoint, or one whose structure or shapes differ from
        ``state`` (another model or optimizer than the checkpoint's).
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise JobError(f'no checkpoints in {self.directory}; run `flaxheads train` with this workdir first')
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(target))
    except (ValueError, TypeError, KeyError) as e:
      raise JobError(f'checkpoint {self.directory / str(step)} does not fit the configured model and '
                     f'optimizer ({first_line(e).rstrip(":")}); use the config it was trained with '
                     f'(saved in {self.directory.parent / "config.json"}) or another workdir') from e

  def save(self, step: int, state) -> None:
    """Starts writing checkpoint ``step`` (returns before it is complete)."""
    self._manager.save(step, args=ocp.args.StandardSave(state))

  def wait(self) -> None:
    """Blocks until pending checkpoint writes are complete."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
