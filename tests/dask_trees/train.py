"""xgboost.dask on a 2-worker LocalCluster: the head objective against binary:logistic.

Prints one JSON line: the two boosters' trees (structure and leaf values), the
head's metrics by merged partition states (``bt.dask_evaluate``) and on one
machine, and the mean of per-partition AUCs.
"""

import json
import sys

import numpy as np


def main():
  import dask.array as da
  import xgboost as xgb
  import xgboost.dask  # pylint: disable=unused-import
  from dask.distributed import Client, LocalCluster

  import flaxheads as fh
  from flaxheads import boosted_trees as bt

  sys.path.insert(0, __file__.rsplit('/', 2)[0])
  import trees_util  # pylint: disable=g-import-not-at-top

  x, y, _ = trees_util.data('binary', n=800)
  head = fh.BinaryClassHead()
  params = {'tree_method': 'hist', 'max_depth': 3, 'nthread': 1, 'seed': 0}
  with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
      Client(cluster) as client:
    dx, dy = da.from_array(x, chunks=(200, -1)), da.from_array(y, chunks=200)
    zeros = da.zeros(len(x), chunks=200, dtype=np.float32)
    builtin = xgb.dask.train(client, {**params, 'objective': 'binary:logistic'},
                             xgb.dask.DaskDMatrix(client, dx, dy, base_margin=zeros), num_boost_round=5)
    trained = xgb.dask.train(client, {**params, 'base_score': 0.}, xgb.dask.DaskDMatrix(client, dx, dy),
                             num_boost_round=5, obj=bt.xgboost_objective(head))
    booster = trained['booster']
    merged = bt.dask_evaluate(head, client, booster, dx, dy)
    parts = [bt.predict(head, booster, x[i:i + 200]) for i in range(0, len(x), 200)]
  margins = bt.margins(head, booster, x)
  local = {k: float(v) for k, v in fh.metrics.results(head.update_metrics(head.metrics(), None, margins,
                                                                          y)).items()}
  per_part = [float(head.update_metrics(head.metrics(), None, p['logits'], y[i * 200:(i + 1) * 200])['auc']
                    .compute()) for i, p in enumerate(parts)]
  print(json.dumps({'builtin': trees_util.xgboost_trees(builtin['booster'])[0],
                    'builtin_leaves': trees_util.xgboost_trees(builtin['booster'])[1].tolist(),
                    'head': trees_util.xgboost_trees(booster)[0],
                    'head_leaves': trees_util.xgboost_trees(booster)[1].tolist(),
                    'merged': merged, 'local': local, 'mean_partition_auc': float(np.mean(per_part))}))


if __name__ == '__main__':
  main()
