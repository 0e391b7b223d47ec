"""The evaluation plots of every kind of head are written as PNG files."""

import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh
from flaxheads.job import plots

N = 40
RNG = np.random.default_rng(0)
PNG = b'\x89PNG\r\n\x1a\n'


def numpy_predictions(head, logits):
  return {k: np.asarray(v) for k, v in head.predictions(jnp.asarray(logits, jnp.float32)).items()}


@pytest.mark.parametrize('head, labels, files', [
    (fh.BinaryClassHead(thresholds=[0.3]), RNG.integers(0, 2, N),
     ['roc', 'precision_recall', 'reliability']),
    (fh.MultiClassHead(3, label_vocabulary=['cat', 'dog', 'eel']), RNG.integers(0, 3, N), ['confusion_matrix']),
    (fh.MultiLabelHead(3, label_vocabulary=['a', 'b', 'c']), RNG.integers(0, 2, (N, 3)), ['per_class_auc']),
    (fh.RegressionHead(), RNG.normal(size=N), ['predicted_vs_actual']),
    (fh.PoissonRegressionHead(), RNG.poisson(3., N).astype(float), ['predicted_vs_actual']),
], ids=['binary', 'multi_class', 'multi_label', 'regression', 'poisson'])
def test_single_head_plots(head, labels, files, tmp_path):
  predictions = numpy_predictions(head, RNG.normal(size=(N, head.logits_dimension)))
  written = plots.write(head, predictions, labels, {}, tmp_path, prefix='eval_')
  assert [p.name for p in written] == [f'eval_{f}.png' for f in files]
  assert all(p.read_bytes()[:8] == PNG for p in written)


def test_weighted_binary_plots(tmp_path):
  head = fh.BinaryClassHead(weight_column='weight')
  predictions = numpy_predictions(head, RNG.normal(size=(N, 1)))
  features = {'weight': RNG.uniform(0, 2, N).astype(np.float32)}
  assert len(plots.write(head, predictions, RNG.integers(0, 2, N), features, tmp_path)) == 3


def test_multi_head_plots_each_head_with_its_name(tmp_path):
  head = fh.MultiHead([fh.BinaryClassHead(name='odd'), fh.MultiClassHead(4, name='digit')])
  predictions = numpy_predictions(head, RNG.normal(size=(N, head.logits_dimension)))
  labels = {'odd': RNG.integers(0, 2, N), 'digit': RNG.integers(0, 4, N)}
  written = plots.write(head, predictions, labels, {}, tmp_path)
  assert [p.name for p in written] == ['odd_roc.png', 'odd_precision_recall.png', 'odd_reliability.png',
                                       'digit_confusion_matrix.png']


def test_sequential_plots_only_valid_steps(tmp_path):
  head = fh.SequentialHeadWrapper(fh.MultiClassHead(3), 'mask')
  mask = np.arange(5)[None, :] < RNG.integers(1, 6, (N, 1))
  labels = np.where(mask, RNG.integers(0, 3, (N, 5)), -1)
  predictions = numpy_predictions(head, RNG.normal(size=(N, 5, 3)))
  written = plots.write(head, predictions, labels, {'mask': mask.astype(np.int32)}, tmp_path)
  assert [p.name for p in written] == ['confusion_matrix.png']


def test_a_split_with_one_class_still_plots(tmp_path):
  head = fh.MultiLabelHead(2)
  predictions = numpy_predictions(head, RNG.normal(size=(N, 2)))
  labels = np.stack([np.ones(N, int), RNG.integers(0, 2, N)], axis=1)  # class 0 always on: no AUC
  assert plots.write(head, predictions, labels, {}, tmp_path)[0].read_bytes()[:8] == PNG
