"""The benchmarks compare like with like: their hand-written programs and exact references."""

import importlib.util
import pathlib
import sys

import jax
import numpy as np
import pytest

import flaxheads as fh

_spec = importlib.util.spec_from_file_location(
    'benchmarks_run', pathlib.Path(__file__).parents[1] / 'benchmarks' / 'run.py')
run = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


@pytest.mark.parametrize('task, variant', [(t, v) for t, variants in run.W2_HAND_WRITTEN.items() for v in variants])
def test_hand_written_w2_passes_compute_the_heads_metrics(task, variant):
  rng = np.random.default_rng(0)
  head = run.w2_heads()[task]
  (logits, labels), (hand_logits, hand_labels) = run.w2_data(task, rng, [512, 300])
  state = head.metrics()
  for x, y in zip(logits, labels):
    state = head.update_metrics(state, None, x, y)
  ours = fh.metrics.results(state)
  update, results, empty = run.W2_HAND_WRITTEN[task][variant]
  hand_state = empty()
  for x, y in zip(hand_logits, hand_labels):
    hand_state = jax.jit(update)(hand_state, x, y)
  hand = results(hand_state)
  assert set(hand) == set(ours) - {'accuracy_baseline'}  # the baseline accuracy is a derived figure
  for key, value in hand.items():
    np.testing.assert_allclose(ours[key], value, rtol=2e-5, err_msg=key)


def test_exact_interpolated_pr_auc_is_the_limit_of_the_bucketed_one():
  rng = np.random.default_rng(1)
  scores = np.round(rng.random(3000), 2).astype(np.float32)  # many ties
  labels = (rng.random(3000) < scores).astype(np.float32)
  exact = run.exact_interpolated_pr_auc(labels, scores)
  fine = fh.metrics.AUC.from_predictions(labels, scores, num_thresholds=100_001, curve='PR').compute()
  coarse = fh.metrics.AUC.from_predictions(labels, scores, num_thresholds=7, curve='PR').compute()
  np.testing.assert_allclose(fine, exact, rtol=1e-5)
  assert abs(float(coarse) - exact) > 1e-3  # the comparison can tell a coarse estimate apart


def test_exact_interpolated_pr_auc_of_a_perfect_ranking_is_one():
  labels = np.array([0, 0, 1, 1, 1], np.float32)
  assert run.exact_interpolated_pr_auc(labels, np.array([.1, .2, .7, .8, .9], np.float32)) == 1.0


def test_the_click_through_table_has_the_rows_shards_and_rate_asked_for(tmp_path):
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
  spec = importlib.util.spec_from_file_location('ctr_table', pathlib.Path(__file__).parents[1] / 'benchmarks' /
                                                'ctr_table.py')
  ctr_table = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(ctr_table)
  paths = ctr_table.write(tmp_path, rows=100_001, features=5, shards=3, positive_rate=0.01)
  tables = [pq.read_table(p) for p in paths]
  assert [len(t) for t in tables] == [33_334, 33_334, 33_333]
  assert tables[0].column_names == ['f0', 'f1', 'f2', 'f3', 'f4', 'click']
  rate = np.mean(np.concatenate([t.column('click').to_numpy() for t in tables]))
  assert 0.005 < rate < 0.02, rate
