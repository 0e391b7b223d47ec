"""The parameters with which a head objective grows the trees of a built-in objective.

If a built-in objective's derivatives are ``(a * g_head, b * h_head)``, a
tree's leaf values are ``-G / (H + lambda)`` and its split gains
``G**2 / (H + lambda)`` (before the threshold), so the head run grows the same
trees, with the same margins, when L2 ``lambda`` is divided by ``b``, L1
``alpha`` by ``a``, the minimum child Hessian by ``b``, the split-gain
threshold multiplied by ``b / a**2``, the learning rate by ``a / b`` and the
maximum delta step by ``b / a``. Both runs must start from margin 0
(XGBoost ``base_score=0`` or ``base_margin``; LightGBM ``init_score`` and
``boost_from_average=False``).

========================  ====================================  ==================
head                      built-in objective                    ``(a, b)``
========================  ====================================  ==================
``BinaryClassHead``       XGBoost ``binary:logistic``,          ``(1, 1)``
                          LightGBM ``binary``
``LogisticRegressionHead`` XGBoost ``reg:logistic``,            ``(1, 1)``
                          LightGBM ``cross_entropy``
``RegressionHead``        ``reg:squarederror``, ``regression``  ``(1/2, 1/2)``
``PoissonRegressionHead`` ``count:poisson``, ``poisson``        ``(1, e**m)``, ``m``: max delta step
``MultiClassHead(K)``     ``multi:softprob``                    ``(1, 2)``
                          LightGBM ``multiclass``               ``(1, K / (K - 1))``
``MultiLabelHead(K)``     ``binary:logistic`` on ``[n, K]``     ``(K, K)``
========================  ====================================  ==================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import flaxheads as fh

# (aliases, the library default, exponent of a, exponent of b): head value = built-in * a**i * b**j
_PARAMETERS = {
    'xgboost': {
        'lambda': (('lambda', 'reg_lambda'), 1.0, 0, -1),
        'alpha': (('alpha', 'reg_alpha'), 0.0, -1, 0),
        'min_child_weight': (('min_child_weight',), 1.0, 0, -1),
        'gamma': (('gamma', 'min_split_loss'), 0.0, -2, 1),
        'eta': (('eta', 'learning_rate'), 0.3, 1, -1),
        'max_delta_step': (('max_delta_step',), 0.0, -1, 1),
    },
    'lightgbm': {
        'lambda_l2': (('lambda_l2', 'reg_lambda', 'lambda'), 0.0, 0, -1),
        'lambda_l1': (('lambda_l1', 'reg_alpha'), 0.0, -1, 0),
        'min_sum_hessian_in_leaf': (('min_sum_hessian_in_leaf', 'min_sum_hessian_per_leaf',
                                     'min_sum_hessian', 'min_hessian', 'min_child_weight'), 1e-3, 0, -1),
        'min_gain_to_split': (('min_gain_to_split', 'min_split_gain'), 0.0, -2, 1),
        'learning_rate': (('learning_rate', 'shrinkage_rate', 'eta'), 0.1, 1, -1),
        'max_delta_step': (('max_delta_step', 'max_tree_output', 'max_leaf_output'), 0.0, -1, 1),
    },
}

_OBJECTIVES = {
    'xgboost': {
        fh.BinaryClassHead: ('binary:logistic',),
        fh.LogisticRegressionHead: ('reg:logistic', 'binary:logistic'),
        fh.RegressionHead: ('reg:squarederror',),
        fh.PoissonRegressionHead: ('count:poisson',),
        fh.MultiClassHead: ('multi:softprob', 'multi:softmax'),
        fh.MultiLabelHead: ('binary:logistic',),
    },
    'lightgbm': {
        fh.BinaryClassHead: ('binary',),
        fh.LogisticRegressionHead: ('cross_entropy', 'xentropy'),
        fh.RegressionHead: ('regression', 'regression_l2', 'l2', 'mean_squared_error', 'mse'),
        fh.PoissonRegressionHead: ('poisson',),
        fh.MultiClassHead: ('multiclass', 'softmax'),
    },
}


def builtin_scales(head: Any, params: Mapping[str, Any], *, library: str) -> tuple[float, float]:
  """``(a, b)``: the built-in objective of ``params`` has derivatives ``(a * g_head, b * h_head)``."""
  if library not in _OBJECTIVES:
    raise ValueError(f"library must be 'xgboost' or 'lightgbm', got {library!r}.")
  objective = params.get('objective')
  known = _OBJECTIVES[library].get(type(head), ())
  if objective not in known:
    raise ValueError(f'params["objective"] must be a built-in {library} objective with the loss of '
                     f'{type(head).__name__} ({", ".join(known) or "none"}), got {objective!r}.')
  if isinstance(head, fh.RegressionHead) and head.label_dimension != 1:
    raise ValueError('RegressionHead must have label_dimension=1 to match a built-in objective, got '
                     f'{head.label_dimension}.')
  if isinstance(head, fh.RegressionHead):
    return 0.5, 0.5
  if isinstance(head, fh.PoissonRegressionHead):
    key = 'max_delta_step' if library == 'xgboost' else 'poisson_max_delta_step'
    return 1., math.exp(params.get(key, 0.7))
  if isinstance(head, fh.MultiClassHead):
    k = head.n_classes
    return (1., 2.) if library == 'xgboost' else (1., k / (k - 1))
  if isinstance(head, fh.MultiLabelHead):
    return float(head.n_classes), float(head.n_classes)
  return 1., 1.


def head_params(head: Any, params: Mapping[str, Any], *, library: str) -> dict[str, Any]:
  """The parameters with which ``head``'s objective grows the trees of the built-in ``params``.

  Args:
    head: the head whose objective replaces the built-in one.
    params: the built-in run's parameters, with its ``objective``.
    library: ``'xgboost'`` or ``'lightgbm'``.

  Returns:
    ``params`` without ``objective`` (and, for XGBoost, with ``base_score=0``),
    the Hessian-scaled parameters (L2, L1, minimum child Hessian, split-gain
    threshold, learning rate, maximum delta step) under their canonical names,
    library defaults included.

  Example:
    >>> import flaxheads as fh
    >>> from flaxheads import boosted_trees as bt
    >>> params = {'objective': 'reg:squarederror', 'lambda': 1., 'max_depth': 3}
    >>> p = bt.head_params(fh.RegressionHead(), params, library='xgboost')
    >>> p['lambda'], p['min_child_weight'], p['eta'], p['max_depth']
    (2.0, 2.0, 0.3, 3)
  """
  a, b = builtin_scales(head, params, library=library)
  head_side = {k: v for k, v in params.items() if k != 'objective'}
  for name, (aliases, default, i, j) in _PARAMETERS[library].items():
    value = next((head_side.pop(k) for k in aliases if k in head_side), default)
    for k in aliases:
      head_side.pop(k, None)
    head_side[name] = value * a**i * b**j
  if library == 'xgboost':
    head_side['base_score'] = 0.
  return head_side
