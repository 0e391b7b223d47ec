"""Shared by the boosted-trees tests: small data sets and tree comparisons."""

import json
import re

import numpy as np

N, F = 400, 5


def data(kind: str, n: int = N, seed: int = 0):
  """Features ``[n, F]`` and labels of a small synthetic task; weights ``[n]``."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, F)).astype(np.float32)
  score = x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2] * x[:, 3]
  weights = rng.uniform(0.5, 2., size=n).astype(np.float32)
  if kind == 'binary':
    y = (score + 0.5 * rng.normal(size=n) > 0).astype(np.float32)
  elif kind == 'regression':
    y = (score + 0.1 * rng.normal(size=n)).astype(np.float32)
  elif kind == 'poisson':
    y = rng.poisson(np.exp(0.5 * score)).astype(np.float32)
  elif kind == 'multi_class':
    y = np.digitize(score + 0.3 * rng.normal(size=n), [-0.7, 0.7]).astype(np.float32)
  elif kind == 'multi_label':
    y = np.stack([score > 0, x[:, 1] > 0.3, x[:, 4] + x[:, 0] > 0], axis=1).astype(np.float32)
  else:
    raise ValueError(kind)
  return x, y, weights


def xgboost_trees(booster):
  """(the trees' structure with leaf values blanked, all leaf values) of an XGBoost booster."""
  dump = '\n'.join(booster.get_dump())
  leaves = [float(v) for v in re.findall(r'leaf=([-0-9.e+]+)', dump)]
  return re.sub(r'leaf=[-0-9.e+]+', 'leaf=?', dump), np.array(leaves)


def lightgbm_trees(booster, x):
  """(the split features in order and the leaf of every row of ``x`` in every tree; all leaf values).

  Two LightGBM trees are the same when they split on the same features and send
  every row to the same leaf: thresholds of equal gain (between the same two
  data values) may differ by rounding.
  """
  features, leaves = [], []

  def walk(node):
    if 'leaf_value' in node:
      leaves.append(node['leaf_value'])
      return
    features.append(node['split_feature'])
    walk(node['left_child'])
    walk(node['right_child'])

  for tree in booster.dump_model()['tree_info']:
    walk(tree['tree_structure'])
  rows = booster.predict(x, pred_leaf=True)
  return json.dumps([features, np.asarray(rows).tolist()]), np.array(leaves)


def assert_same_trees(a, b, *, rtol=1e-4, atol=1e-6):
  """Equal structure and splits, leaf values equal to float32 rounding."""
  assert a[0] == b[0]
  np.testing.assert_allclose(a[1], b[1], rtol=rtol, atol=atol)
