"""``flaxheads export``: the latest checkpoint as a TF SavedModel and a ``jax.export`` artifact.

The config and the checkpoint are checked first (with the job's own setup and
restore), then TensorFlow is imported and the export directory prepared, so a
bad input fails with one line before anything is written. The served model
takes the raw feature values of the data's columns (the bundled data set's
``feature_names``, or the CSV header) and standardizes them with the training
statistics, as ``flaxheads predict`` does.

Boosted-tree configs export the latest booster in its library's own format and
a ``jax.export`` artifact of the head's predictions of its raw margins (no
SavedModel, no TensorFlow); the booster is checked against the config first.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

from ml_collections import config_dict

from flaxheads import export as export_lib
from flaxheads._src.export import booster as booster_lib
from flaxheads._src.export import saved_model as saved_model_lib
from flaxheads.job import boosters, data, runner, trees
from flaxheads.job.errors import JobError, first_line

EXPORT_DIR = 'export'
PLATFORMS = ('cpu', 'cuda', 'rocm', 'tpu')  # what jax.export lowers for


def input_spec(job: runner.Job | trees.TreesJob) -> export_lib.InputSpec:
  """The served model's inputs: the data's feature columns and their standardisation."""
  x = job.dataset.train.features['x']
  sequence_length = int(x.shape[1]) if data.MASK in job.dataset.train.features else None
  return export_lib.InputSpec(job.dataset.feature_names, mean=job.dataset.mean, std=job.dataset.std,
                              sequence_length=sequence_length)


def _export_dir(workdir: pathlib.Path, export_dir: str | pathlib.Path | None) -> pathlib.Path:
  return pathlib.Path(export_dir) if export_dir else workdir / EXPORT_DIR


def _writable(export_dir: pathlib.Path) -> None:
  try:
    export_dir.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise JobError(f'cannot create export dir {export_dir}: {first_line(e)}') from e
  if not os.access(export_dir, os.W_OK | os.X_OK):
    raise JobError(f'export dir {export_dir} is not writable')


def _check_platforms(platforms: Sequence[str]) -> None:
  unknown = sorted(set(platforms) - set(PLATFORMS))
  if unknown:
    raise JobError(f'unknown platform(s) {", ".join(unknown)} for --platforms; choose from {", ".join(PLATFORMS)}')


def export(config: config_dict.ConfigDict, workdir: str | pathlib.Path,
           export_dir: str | pathlib.Path | None = None, *,
           platforms: Sequence[str] = ('cpu',)) -> export_lib.ExportPaths | export_lib.BoosterExportPaths:
  """Exports the latest checkpoint in ``workdir`` to ``export_dir/<unix timestamp>`` (default ``workdir/export``).

  Prints ``saved_model: <dir>`` and ``jax_export: <file>``; for a boosted-trees
  config (see :func:`export_trees`) ``booster: <file>`` and ``jax_export:
  <file>``. ``platforms`` are those the ``jax.export`` artifact is lowered for.

  Raises:
    JobError: a bad config, no checkpoint or one that does not fit the config,
      TensorFlow missing (not for trees), or an export dir that cannot be written.
  """
  _check_platforms(platforms)
  if trees.is_trees(config):
    return export_trees(config, workdir, export_dir, platforms=platforms)
  job = runner.setup(config)
  workdir = pathlib.Path(workdir)
  state = runner.restore(job, workdir)
  try:
    saved_model_lib.import_tensorflow()
  except ImportError as e:
    raise JobError(f'TensorFlow is not installed; {saved_model_lib.INSTALL_HINT}') from e
  export_dir = _export_dir(workdir, export_dir)
  _writable(export_dir)
  apply_fn = lambda variables, features: job.model.apply(variables, features, train=False)
  variables = {'params': state.params, **state.model_state}
  try:
    paths = export_lib.export(job.head, apply_fn, variables, input_spec(job), export_dir, platforms=platforms,
                              extra_metadata={'step': int(state.step), 'head': type(job.head).__name__})
  except OSError as e:
    raise JobError(f'export to {export_dir} failed: {first_line(e)}') from e
  print(f'saved_model: {paths.saved_model}')
  print(f'jax_export: {paths.jax_export}')
  return paths


def export_trees(config: config_dict.ConfigDict, workdir: str | pathlib.Path,
                 export_dir: str | pathlib.Path | None = None, *,
                 platforms: Sequence[str] = ('cpu',)) -> export_lib.BoosterExportPaths:
  """Exports the latest booster in ``workdir``: its library's file and the head's ``jax.export`` artifact.

  Writes ``export_dir/<unix timestamp>/`` (default ``workdir/export``) with
  ``booster.json`` (XGBoost) or ``booster.txt`` (LightGBM), ``predict.jax_export``
  (the head's predictions of the raw margins) and ``predict.json``; prints
  ``booster: <file>`` and ``jax_export: <file>``. TensorFlow is not imported.

  Raises:
    JobError: a bad config, no booster or one that does not fit the config (its
      library, features or outputs), or an export dir that cannot be written.
  """
  job = trees.setup(config)
  workdir = pathlib.Path(workdir)
  booster = boosters.load(job.lib, workdir)
  inputs = input_spec(job)
  try:
    booster_lib.check(job.head, booster, inputs)
  except ValueError as e:
    checkpoint = workdir / boosters.CHECKPOINTS / str(boosters.steps(workdir)[-1])
    raise JobError(f'the booster in {checkpoint} does not fit the config: {first_line(e)}') from e
  export_dir = _export_dir(workdir, export_dir)
  _writable(export_dir)
  try:
    paths = export_lib.export_booster(job.head, booster, inputs, export_dir, platforms=platforms)
  except OSError as e:
    raise JobError(f'export to {export_dir} failed: {first_line(e)}') from e
  print(f'booster: {paths.booster}')
  print(f'jax_export: {paths.jax_export}')
  return paths
