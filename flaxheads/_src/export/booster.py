"""A served booster: its library's own model file and a ``jax.export`` artifact of the head's predictions.

A boosted-trees model needs no SavedModel: XGBoost and LightGBM serve their
own model files. What flaxheads adds is the head: the artifact maps the
booster's **raw margins** (``output_margin=True`` / ``raw_score=True``) to
every numeric prediction of the head, as :func:`flaxheads.boosted_trees.predict`
does. ``<export_dir>/<unix timestamp>/`` holds the booster (XGBoost JSON
``booster.json`` or LightGBM text ``booster.txt``), ``predict.jax_export`` and
``predict.json``, written atomically. TensorFlow is not imported.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from flaxheads._src.boosted_trees import inputs as trees_inputs
from flaxheads._src.boosted_trees import libraries
from flaxheads._src.boosted_trees import prediction
from flaxheads._src.export import inputs as inputs_lib
from flaxheads._src.export import jax_artifact
from flaxheads._src.export import writer

FILES = {'xgboost': 'booster.json', 'lightgbm': 'booster.txt'}  # the libraries' own formats, by extension
_MARGINS = {
    'xgboost': "xgboost.Booster(model_file='{file}').predict(xgboost.DMatrix(x), output_margin=True)",
    'lightgbm': "lightgbm.Booster(model_file='{file}').predict(x, raw_score=True)",
}


@dataclasses.dataclass(frozen=True)
class BoosterExportPaths:
  directory: pathlib.Path  # <export_dir>/<timestamp>
  booster: pathlib.Path  # the booster in its library's format inside it
  jax_export: pathlib.Path  # the serialized jax.export artifact inside it


def unwrap(booster: Any) -> Any:
  """The native booster of a scikit-learn wrapper (``XGBModel``, ``LGBMModel``); others unchanged."""
  if hasattr(booster, 'get_booster'):
    return booster.get_booster()
  if hasattr(booster, 'booster_'):
    return booster.booster_
  return booster


def library(booster: Any) -> str:
  """``'xgboost'`` or ``'lightgbm'``: the library of a native booster.

  Raises:
    TypeError: ``booster`` is neither an XGBoost nor a LightGBM booster.
  """
  if libraries.is_xgboost(booster):
    return 'xgboost'
  if libraries.is_lightgbm(booster):
    return 'lightgbm'
  raise TypeError(f'booster must be an XGBoost or LightGBM booster (or scikit-learn model), got '
                  f'{type(booster).__name__}')


def shape(booster: Any) -> tuple[int, int]:
  """``(features, outputs)`` of a native booster: input columns and margins per row."""
  if library(booster) == 'xgboost':
    param = json.loads(booster.save_config())['learner']['learner_model_param']
    return booster.num_features(), max(int(param['num_class']), 1) * int(param['num_target'])
  return booster.num_feature(), booster.num_model_per_iteration()


def rounds(booster: Any) -> int:
  """The boosting rounds in a native booster."""
  return booster.num_boosted_rounds() if library(booster) == 'xgboost' else booster.current_iteration()


def check(head: Any, booster: Any, inputs: inputs_lib.InputSpec) -> None:
  """Raises ``ValueError`` unless the native ``booster`` fits ``head`` and ``inputs``.

  It must take one column per feature name, give ``head.logits_dimension``
  margins per row and (XGBoost) start every margin at 0, as a head objective
  is trained; the head must be single-task and ``inputs`` flat.
  """
  try:
    trees_inputs.check_head(head)
  except TypeError as e:
    raise ValueError(str(e)) from e
  if inputs.sequence_length is not None:
    raise ValueError(f'inputs.sequence_length must be None for a booster (rows of flat features), got '
                     f'{inputs.sequence_length}')
  features, outputs = shape(booster)
  if features != inputs.num_features:
    raise ValueError(f'the booster takes {features} features per row, but inputs.feature_names has '
                     f'{inputs.num_features}')
  if outputs != head.logits_dimension:
    raise ValueError(f'the booster gives {outputs} margins per row, but {type(head).__name__} has '
                     f'logits_dimension={head.logits_dimension}')
  if library(booster) == 'xgboost':
    prediction.check_base_score(booster)


def booster_input(inputs: inputs_lib.InputSpec) -> str:
  """What the booster takes: the raw feature values, or their standardisation when it was trained on that."""
  values = 'the raw values'
  if np.any(inputs.mean != 0) or np.any(inputs.std != 1):
    values = '(raw - mean) / std in float32'
  return f'x: float32 [batch, {inputs.num_features}], the features in feature_names order: {values}'


def metadata(exported: jax.export.Exported, head: Any, booster: Any,
             inputs: inputs_lib.InputSpec) -> dict[str, Any]:
  """The JSON beside the artifact: the booster's input and margins, how to call the artifact, its outputs."""
  lib = library(booster)
  spec = inputs.metadata()
  return jax_artifact.describe(
      exported, [f'margins: float32 [batch, {head.logits_dimension}], the booster\'s raw margins of x'],
      library=lib, booster=FILES[lib], booster_input=booster_input(inputs),
      margins=_MARGINS[lib].format(file=FILES[lib]) + '.reshape(len(x), -1).astype(numpy.float32)',
      feature_names=spec['feature_names'], mean=spec['mean'], std=spec['std'],
      head=type(head).__name__, logits_dimension=head.logits_dimension, round=rounds(booster))


def export_booster(head: Any, booster: Any, inputs: inputs_lib.InputSpec, export_dir: str | pathlib.Path, *,
                   platforms: Sequence[str] = ('cpu',)) -> BoosterExportPaths:
  """Writes the booster and the ``jax.export`` artifact of the head's predictions into ``export_dir/<unix timestamp>``.

  Args:
    head: the single-task head the booster was trained with (its objective).
    booster: an ``xgboost.Booster`` trained with ``base_score=0``, a
      ``lightgbm.Booster``, or a fitted scikit-learn wrapper of either.
    inputs: the feature names in column order, and the standardisation the
      booster's training rows had (none: ``mean=0``, ``std=1``); recorded in
      the JSON for the caller to apply before the booster.
    export_dir: the folder of timestamped exports (created if missing).
    platforms: the platforms the ``jax.export`` artifact is lowered for.

  Returns:
    The paths written.

  Raises:
    ValueError: the booster does not fit ``head`` or ``inputs`` (see :func:`check`).
    TypeError: ``booster`` is not a booster of either library.
    OSError: ``export_dir`` cannot be written.
  """
  booster = unwrap(booster)
  check(head, booster, inputs)
  exported = jax_artifact.margins_jax_export(head, platforms=platforms)
  description = metadata(exported, head, booster, inputs)

  def fill(staging: pathlib.Path) -> pathlib.Path:
    staging.mkdir()
    booster.save_model(str(staging / description['booster']))
    return jax_artifact.write(exported, description, staging)

  final, artifact = writer.write_timestamped(export_dir, fill)
  return BoosterExportPaths(final, final / description['booster'], final / artifact.name)
