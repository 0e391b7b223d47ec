"""xgboost.dask with a head objective on a 2-worker LocalCluster (one subprocess, with a timeout)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip('xgboost')
pytest.importorskip('dask.distributed')

TIMEOUT_S = 300
SCRIPT = pathlib.Path(__file__).parent / 'dask_trees' / 'train.py'


@pytest.mark.slow
def test_dask_head_objective_grows_the_builtin_trees_and_merges_metrics():
  root = str(pathlib.Path(__file__).resolve().parents[1])
  env = {**os.environ, 'PYTHONPATH': os.pathsep.join([root, os.environ.get('PYTHONPATH', '')])}
  out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=TIMEOUT_S,
                       env=env, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result['head'] == result['builtin']
  np.testing.assert_allclose(result['head_leaves'], result['builtin_leaves'], rtol=1e-4, atol=1e-6)
  assert list(result['merged']) == list(result['local'])
  for key, value in result['local'].items():
    np.testing.assert_allclose(result['merged'][key], value, rtol=1e-5, atol=1e-6, err_msg=key)
  # what averaging over partitions would report instead
  assert result['mean_partition_auc'] != pytest.approx(result['local']['auc'], abs=1e-6)
