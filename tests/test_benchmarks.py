"""The benchmarks compare like with like: their hand-written programs and exact references."""

import functools
import importlib.util
import pathlib
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh

_spec = importlib.util.spec_from_file_location(
    'benchmarks_run', pathlib.Path(__file__).parents[1] / 'benchmarks' / 'run.py')
run = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


@pytest.mark.parametrize('one_reduction', [True, False])
def test_hand_written_binary_metrics_equal_the_heads(one_reduction):
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(512, 1)).astype(np.float32)
  labels = rng.integers(0, 2, (512, 1)).astype(np.float32)
  head = fh.BinaryClassHead(thresholds=[0.3, 0.7])
  ours = fh.metrics.results(head.update_metrics(head.metrics(), None, logits, labels))
  hand = functools.partial(run.hand_binary_metrics, one_reduction=one_reduction)
  sums, counts = hand((jnp.zeros(16), jnp.zeros((200, 2))), jnp.asarray(logits), jnp.asarray(labels))
  loss, correct, tp, fp, fn, p, y, n = sums[:8]
  expected = {'average_loss': loss / n, 'accuracy': correct / n, 'precision': tp / (tp + fp),
              'recall': tp / (tp + fn), 'prediction/mean': p / n, 'label/mean': y / n,
              'auc': fh.metrics.AUC(counts[:, 0], counts[:, 1]).compute(),
              'auc_precision_recall': fh.metrics.AUC(counts[:, 0], counts[:, 1], 'PR').compute()}
  for i, t in enumerate((0.3, 0.7)):
    correct, tp, fp, fn = sums[8 + 4 * i:12 + 4 * i]
    expected.update({f'accuracy/positive_threshold_{t:g}': correct / n,
                     f'precision/positive_threshold_{t:g}': tp / (tp + fp),
                     f'recall/positive_threshold_{t:g}': tp / (tp + fn)})
  for key, value in expected.items():
    np.testing.assert_allclose(ours[key], value, rtol=1e-5, err_msg=key)


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
