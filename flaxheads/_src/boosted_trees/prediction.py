"""The head's predictions from a trained booster's raw margins (XGBoost, LightGBM, their wrappers)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from flaxheads._src.boosted_trees import inputs, libraries


def base_margin(booster: Any) -> list[float]:
  """The margin XGBoost starts every prediction from: ``base_score`` in margin space.

  XGBoost stores ``base_score`` as the booster's objective reads it: a
  probability for the logistic objectives (``XGBClassifier`` sets
  ``binary:logistic`` next to a callable objective), a rate for the log-link
  ones, a margin otherwise (``xgboost.train`` with ``obj=``, ``multi:softprob``).
  """
  learner = json.loads(booster.save_config())['learner']
  text = learner['learner_model_param']['base_score']
  score = np.array([float(v) for v in text.strip('[]').split(',')])
  objective = learner['objective']['name']
  with np.errstate(divide='ignore'):
    if objective in ('binary:logistic', 'reg:logistic'):
      score = np.log(score) - np.log1p(-score)
    elif objective in ('count:poisson', 'reg:gamma', 'reg:tweedie'):
      score = np.log(score)
  return score.tolist()


def check_base_score(booster: Any) -> None:
  """Raises ``ValueError`` unless an XGBoost booster starts every margin at 0."""
  margin = base_margin(booster)
  if any(m != 0 for m in margin):
    raise ValueError(f'the booster\'s base_score must be 0 as a margin for a head objective, got a '
                     f'starting margin of {margin}: train with params base_score=0 (xgboost.train; '
                     'base_score=0.5 in XGBClassifier, whose base_score is a probability), so that every '
                     'margin starts at 0 in training and prediction alike.')


def margins(head: Any, booster: Any, x: Any) -> np.ndarray:
  """The booster's raw margins of ``x`` as float32 ``[n, logits_dimension]``.

  Args:
    head: the head the booster was trained with.
    booster: an ``xgboost.Booster`` (trained with ``base_score=0``), an
      ``lightgbm.Booster``, or a fitted scikit-learn wrapper of either.
    x: features: an array, a data frame, or an ``xgboost.DMatrix``.
  """
  if hasattr(booster, 'get_booster'):  # xgboost scikit-learn wrapper
    booster = booster.get_booster()
  if hasattr(booster, 'booster_'):  # lightgbm scikit-learn wrapper
    booster = booster.booster_
  if libraries.is_xgboost(booster):
    xgb = libraries.require('xgboost')
    check_base_score(booster)
    data = x if isinstance(x, xgb.DMatrix) else xgb.DMatrix(x)
    raw = booster.predict(data, output_margin=True)
  elif libraries.is_lightgbm(booster):
    raw = booster.predict(x, raw_score=True)
  else:
    raise TypeError(f'booster must be an XGBoost or LightGBM booster (or scikit-learn model), got '
                    f'{type(booster).__name__}.')
  return inputs.as_margins(head, raw)


def predict(head: Any, booster: Any, x: Any, keys: Any = None) -> dict[str, np.ndarray]:
  """``head.predictions`` of the booster's raw margins of ``x``, as numpy arrays.

  Example:
    >>> import numpy as np, xgboost as xgb
    >>> import flaxheads as fh
    >>> from flaxheads import boosted_trees as bt
    >>> head = fh.BinaryClassHead()
    >>> x, y = np.arange(8.)[:, None], np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> booster = xgb.train({'base_score': 0}, xgb.DMatrix(x, label=y), 2,
    ...                     obj=bt.xgboost_objective(head))
    >>> predictions = bt.predict(head, booster, x)
    >>> predictions['class_ids'][:, 0].tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
  """
  predictions = head.predictions(margins(head, booster, x), keys)
  return {k: np.asarray(v) for k, v in predictions.items()}
