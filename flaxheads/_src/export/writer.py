"""A served model's directory, written atomically: ``<export_dir>/<unix timestamp>/``.

For a neural model it holds the SavedModel and, in ``assets.extra/`` (which TF
Serving ignores), the ``jax.export`` artifact and its JSON (:func:`export`).
Everything is written to a temporary directory beside it and renamed when
complete (:func:`write_timestamped`, also used for boosters), so a failed
export leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flaxheads._src.export import inputs as inputs_lib
from flaxheads._src.export import jax_artifact
from flaxheads._src.export import saved_model as saved_model_lib


T = TypeVar('T')


@dataclasses.dataclass(frozen=True)
class ExportPaths:
  saved_model: pathlib.Path  # the SavedModel directory <export_dir>/<timestamp>
  jax_export: pathlib.Path  # the serialized jax.export artifact inside it


def _free_timestamp(export_dir: pathlib.Path) -> pathlib.Path:
  """``export_dir/<now>``, or a later second if that exists (as Estimator's timestamped dirs)."""
  stamp = int(time.time())
  while (export_dir / str(stamp)).exists():
    stamp += 1
  return export_dir / str(stamp)


def export(head, apply_fn: inputs_lib.ApplyFn, variables: Any, inputs: inputs_lib.InputSpec,
           export_dir: str | pathlib.Path, *, platforms: Sequence[str] = ('cpu',),
           extra_metadata: dict[str, Any] | None = None) -> ExportPaths:
  """Writes the SavedModel and the ``jax.export`` artifact into ``export_dir/<unix timestamp>``.

  Args:
    head: a flaxheads head.
    apply_fn: ``apply_fn(variables, features) -> logits`` in inference mode; the
      features dict holds the standardized inputs under ``inputs.key`` (and the
      mask, for sequence heads, under the head's ``sequence_length_mask``).
    variables: every collection of the model's variables.
    inputs: the input description (feature names, standardisation).
    export_dir: the folder of timestamped exports (created if missing).
    platforms: the platforms the ``jax.export`` artifact is lowered for.
    extra_metadata: more fields for the artifact's JSON (e.g. the training step).

  Returns:
    The paths written.

  Raises:
    ImportError: TensorFlow is not installed (the ``export`` extra).
    OSError: ``export_dir`` cannot be written.
  """
  saved_model_lib.import_tensorflow()
  inputs_lib.check_head_inputs(head, inputs)

  def fill(staging: pathlib.Path) -> pathlib.Path:
    plan = saved_model_lib.write_saved_model(head, apply_fn, variables, inputs, staging)
    exported = jax_artifact.jax_export(head, apply_fn, variables, inputs, platforms=platforms)
    description = {**jax_artifact.metadata(exported, inputs),
                   'signatures': {s.name: s.method_name for s in plan}, **(extra_metadata or {})}
    return jax_artifact.write(exported, description, staging / saved_model_lib.EXTRA_DIR)

  final, artifact = write_timestamped(export_dir, fill)
  return ExportPaths(final, final / saved_model_lib.EXTRA_DIR / artifact.name)


def write_timestamped(export_dir: str | pathlib.Path, fill: Callable[[pathlib.Path], T]) -> tuple[pathlib.Path, T]:
  """Writes a new ``export_dir/<unix timestamp>/`` atomically.

  Args:
    export_dir: the folder of timestamped exports (created if missing).
    fill: ``fill(staging)`` writes the export into ``staging``, a path that does
      not exist yet inside a temporary directory in ``export_dir``.

  Returns:
    The final directory and what ``fill`` returned.

  Raises:
    OSError: ``export_dir`` cannot be written. Whatever ``fill`` raises
      propagates; the temporary directory is removed either way.
  """
  export_dir = pathlib.Path(export_dir)
  export_dir.mkdir(parents=True, exist_ok=True)
  tmp = pathlib.Path(tempfile.mkdtemp(prefix='.tmp-export-', dir=export_dir))
  try:
    staging = tmp / 'model'
    result = fill(staging)
    final = _free_timestamp(export_dir)
    staging.rename(final)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return final, result
