"""Lazy imports of the boosting libraries, with the extra to install when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA = 'flaxheads[trees]'


def require(module: str) -> ModuleType:
  """Imports ``module`` (``'xgboost'``, ``'lightgbm'``, ``'xgboost.dask'`` ...) or explains how to get it."""
  try:
    return importlib.import_module(module)
  except ImportError as e:
    raise ImportError(f'{module} is not installed: pip install "{EXTRA}" ({e}).') from e


def is_xgboost(obj) -> bool:
  """Whether ``obj`` is an XGBoost object (without importing XGBoost)."""
  return type(obj).__module__.split('.')[0] == 'xgboost'


def is_lightgbm(obj) -> bool:
  """Whether ``obj`` is a LightGBM object (without importing LightGBM)."""
  return type(obj).__module__.split('.')[0] == 'lightgbm'
