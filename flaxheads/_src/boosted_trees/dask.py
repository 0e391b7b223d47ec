"""Exact head metrics of a booster on a ``dask.distributed`` cluster, from merged metric states.

``xgboost.dask`` averages a custom metric over the workers, and the mean of
per-worker AUCs is not the AUC of the data. A head's metric state is additive:
each partition's state is computed where the partition lives, the states are
merged (summed) on the client, and the metrics computed once from the sum.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np

import flaxheads as fh
from flaxheads._src.boosted_trees import inputs, libraries, metric, prediction


def partition_state(head: Any, margins: np.ndarray, labels: np.ndarray,
                    weights: np.ndarray | None) -> dict[str, fh.metrics.Metric]:
  """The head's metric state of one partition, as numpy arrays (it travels to the client)."""
  state = metric.metric_state(head, inputs.batch(head, labels, margins, weights))
  return jax.device_get(state)


def merge(states: list[dict[str, fh.metrics.Metric]]) -> dict[str, fh.metrics.Metric]:
  """The metric state of all partitions: the states merged key by key."""
  return {k: functools.reduce(lambda a, b: a.merge(b), [s[k] for s in states]) for k in states[0]}


def _array(collection: Any) -> Any:
  """A dask array of a dask array, Series or DataFrame (row chunk sizes made known)."""
  if hasattr(collection, 'to_dask_array'):
    return collection.to_dask_array(lengths=True)
  return collection


def dask_evaluate(head: Any, client: Any, booster: Any, x: Any, labels: Any,
                  weights: Any = None) -> dict[str, float]:
  """The head's metrics of a booster on dask collections, exactly as on one machine.

  Args:
    head: the head the booster was trained with.
    client: a ``dask.distributed.Client``.
    booster: an ``xgboost.Booster`` (trained with ``base_score=0``), e.g.
      ``xgboost.dask.train(...)['booster']``.
    x: the features, a dask array or DataFrame.
    labels: a dask array or Series of the labels, rows as ``x``.
    weights: a dask array or Series of example weights, or None.

  Returns:
    ``{metric key: value}`` for every key of ``head.metrics()``.
  """
  inputs.check_head(head)
  xgb_dask = libraries.require('xgboost.dask')
  dask = libraries.require('dask')
  prediction.check_base_score(booster)
  margins = _array(xgb_dask.predict(client, booster, x, output_margin=True))
  if margins.ndim == 2:
    margins = margins.rechunk({1: -1})
  row_chunks = margins.chunks[0]
  columns = [margins, _array(labels)] + ([] if weights is None else [_array(weights)])
  columns = [columns[0]] + [c.rechunk({0: row_chunks}) for c in columns[1:]]
  blocks = [c.to_delayed().ravel() for c in columns]
  parts = [dask.delayed(partition_state)(head, m, y, w[0] if w else None)
           for m, y, *w in zip(*blocks)]
  merged = merge(client.compute(parts, sync=True))
  state = {k: merged[k] for k in head.metrics()}  # Estimator's key order (pytrees come back sorted)
  return {k: float(v) for k, v in fh.metrics.results(state).items()}
