"""Boosters for the trees job: XGBoost or LightGBM parameters, rounds of training, saved models.

A booster is saved as ``<workdir>/checkpoints/<round>/booster.json`` (XGBoost)
or ``booster.txt`` (LightGBM), written to a temporary folder and renamed when
complete; the latest ``keep`` rounds are kept.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import numpy as np
from ml_collections import config_dict

import flaxheads as fh
from flaxheads import boosted_trees as bt
from flaxheads._src.boosted_trees import libraries
from flaxheads._src.export.booster import FILES  # the same file in checkpoints and exports
from flaxheads.job.errors import JobError

LIBRARIES = ('xgboost', 'lightgbm')
CHECKPOINTS = 'checkpoints'


def trees_defaults() -> config_dict.ConfigDict:
  """The ``trees`` fields: the library and the parameters every tree learner has."""
  return config_dict.ConfigDict({
      'library': 'xgboost',  # or 'lightgbm'
      'max_depth': 3,
      'learning_rate': 0.3,
      'l2': 1.0,  # XGBoost lambda, LightGBM lambda_l2
      'min_child_hessian': 1.0,  # XGBoost min_child_weight, LightGBM min_sum_hessian_in_leaf
      'num_threads': 2,
  })


def library(cfg: config_dict.ConfigDict, head: fh.Head):
  """The boosting library module the config names (a :class:`JobError` if unknown or missing)."""
  if cfg.library not in LIBRARIES:
    raise JobError(f'unknown config.trees.library={cfg.library!r}; choose from {", ".join(LIBRARIES)}')
  if cfg.library == 'lightgbm' and head.logits_dimension > 1 and not isinstance(head, fh.MultiClassHead):
    raise JobError(f'{type(head).__name__} has {head.logits_dimension} outputs per example; LightGBM '
                   "grows one per class only (MultiClassHead): use config.trees.library='xgboost'")
  try:
    return libraries.require(cfg.library)
  except ImportError as e:
    raise JobError(str(e)) from e


def params(cfg: config_dict.ConfigDict, head: fh.Head, seed: int) -> dict[str, Any]:
  """The library's parameters with the head objective (LightGBM) and margins starting at 0."""
  multi = {'num_class': head.logits_dimension} if isinstance(head, fh.MultiClassHead) else {}
  if cfg.library == 'xgboost':
    return {'tree_method': 'hist', 'max_depth': cfg.max_depth, 'eta': cfg.learning_rate, 'lambda': cfg.l2,
            'min_child_weight': cfg.min_child_hessian, 'nthread': cfg.num_threads, 'seed': seed,
            'base_score': 0., 'disable_default_eval_metric': 1, **multi}
  return {'objective': bt.lightgbm_objective(head), 'num_leaves': 2**cfg.max_depth, 'max_depth': cfg.max_depth,
          'learning_rate': cfg.learning_rate, 'lambda_l2': cfg.l2, 'min_sum_hessian_in_leaf': cfg.min_child_hessian,
          'num_threads': cfg.num_threads, 'seed': seed, 'deterministic': True, 'verbose': -1, **multi}


def train_data(lib, x: np.ndarray, labels: np.ndarray, weights: np.ndarray | None):
  """The library's training data object."""
  if lib.__name__ == 'xgboost':
    return lib.DMatrix(x, label=labels, weight=weights)
  return lib.Dataset(x, label=labels, weight=weights, params={'verbose': -1}, free_raw_data=False)


def train(lib, head: fh.Head, parameters: dict[str, Any], data, rounds: int, booster=None):
  """``booster`` (None: a new one) after ``rounds`` more rounds on the head objective."""
  if lib.__name__ == 'xgboost':
    return lib.train(parameters, data, rounds, obj=bt.xgboost_objective(head), xgb_model=booster)
  return lib.train(parameters, data, rounds, init_model=booster, keep_training_booster=True)


def save(lib, booster, workdir: pathlib.Path, step: int, keep: int) -> pathlib.Path:
  """Writes ``checkpoints/<step>/`` atomically; keeps the latest ``keep`` checkpoints."""
  root = workdir / CHECKPOINTS
  final, partial = root / str(step), root / f'{step}.partial'
  shutil.rmtree(partial, ignore_errors=True)
  partial.mkdir(parents=True)
  booster.save_model(str(partial / FILES[lib.__name__]))
  shutil.rmtree(final, ignore_errors=True)
  partial.rename(final)
  for old in steps(workdir)[:-keep]:
    shutil.rmtree(root / str(old))
  return final


def steps(workdir: pathlib.Path) -> list[int]:
  """The rounds of the complete checkpoints in ``workdir``, ascending."""
  root = workdir / CHECKPOINTS
  if not root.is_dir():
    return []
  return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def load(lib, workdir: pathlib.Path, step: int | None = None):
  """The booster of checkpoint ``step`` (default: the latest); a :class:`JobError` if there is none."""
  saved = steps(workdir)
  if not saved:
    raise JobError(f'no checkpoints in {workdir.absolute() / CHECKPOINTS}; run `flaxheads train` with this '
                   'workdir first')
  path = workdir / CHECKPOINTS / str(saved[-1] if step is None else step) / FILES[lib.__name__]
  if not path.is_file():
    raise JobError(f'checkpoint {path.parent} holds no {lib.__name__} booster ({path.name}); was it trained '
                   'with another config.trees.library?')
  if lib.__name__ == 'xgboost':
    booster = lib.Booster()
    booster.load_model(str(path))
    return booster
  return lib.Booster(model_file=str(path))


def rounds(lib, booster) -> int:
  """The number of boosting rounds in ``booster``."""
  return booster.num_boosted_rounds() if lib.__name__ == 'xgboost' else booster.current_iteration()
