"""Evaluation plots as PNG files (matplotlib's Agg renderer; no display needed).

Binary heads get ROC and precision-recall curves and a reliability diagram,
multi-class heads a confusion matrix, multi-label heads per-class AUC bars and
regression heads predicted against actual values. A ``MultiHead`` gets each
sub-head's plots, prefixed with the head name; a ``SequentialHeadWrapper`` its
static head's plots over the valid steps.
"""

from __future__ import annotations

import pathlib
import warnings
from collections.abc import Mapping

import numpy as np

import flaxheads as fh
from flaxheads.job import data


def write(head: fh.Head, predictions: Mapping, labels, features: Mapping[str, np.ndarray],
          directory: str | pathlib.Path, prefix: str = '') -> list[pathlib.Path]:
  """Writes the head's plots of one split; returns the files written.

  Args:
    head: the head.
    predictions: the head's numeric predictions of the split (numpy).
    labels: the split's labels, as the head takes them.
    features: the split's features (for weights and the sequence mask).
    directory: where the PNG files go (created if needed).
    prefix: prepended to every file name.
  """
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  weights = features.get(data.WEIGHT)
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # e.g. a split with one class: its curves are undefined
    return _write(head, predictions, labels, weights, features, directory, prefix)


def _write(head, predictions, labels, weights, features, directory, prefix) -> list[pathlib.Path]:
  path = lambda name: directory / f'{prefix}{name}.png'
  if isinstance(head, fh.SequentialHeadWrapper):
    valid = np.asarray(features[data.MASK]) != 0
    steps = {k: np.asarray(v)[valid] for k, v in predictions.items() if np.ndim(v) >= 2
             and np.shape(v)[:2] == valid.shape}
    return _write(head.static_head, steps, np.asarray(labels)[valid], None, {}, directory, prefix)
  if isinstance(head, fh.MultiHead):
    files = []
    for h in head.heads:
      own = {k: v for (name, k), v in predictions.items() if name == h.name}
      files += _write(h, own, labels[h.name], weights, features, directory, f'{prefix}{h.name}_')
    return files
  if isinstance(head, fh.BinaryClassHead):
    p, y = np.asarray(predictions['logistic']).reshape(-1), np.asarray(labels).reshape(-1)
    return [roc(y, p, weights, path('roc')), precision_recall(y, p, weights, path('precision_recall')),
            reliability(y, p, weights, path('reliability'))]
  if isinstance(head, fh.MultiClassHead):
    names = class_names(head.label_vocabulary, head.n_classes)
    return [confusion(np.asarray(labels).reshape(-1), np.asarray(predictions['class_ids']).reshape(-1),
                      weights, names, path('confusion_matrix'))]
  if isinstance(head, fh.MultiLabelHead):
    names = class_names(head.label_vocabulary, head.n_classes)
    return [per_class_auc(np.asarray(labels), np.asarray(predictions['probabilities']), weights, names,
                          path('per_class_auc'))]
  return [predicted_vs_actual(np.asarray(labels, np.float64).reshape(-1),
                              np.asarray(predictions['predictions'], np.float64).reshape(-1),
                              path('predicted_vs_actual'))]


def class_names(vocabulary, n_classes: int) -> list[str]:
  """The class strings: the vocabulary, or the class ids."""
  return list(vocabulary) if vocabulary is not None else [str(i) for i in range(n_classes)]


def _figure(size=(5.5, 5)):
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  return Figure(figsize=size, dpi=100, layout='constrained')


def _save(figure, path: pathlib.Path) -> pathlib.Path:
  figure.savefig(path)
  return path


def roc(y, p, weights, path: pathlib.Path) -> pathlib.Path:
  """The ROC curve with its area."""
  from sklearn import metrics  # pylint: disable=g-import-not-at-top
  fpr, tpr, _ = metrics.roc_curve(y, p, sample_weight=weights)
  figure = _figure()
  ax = figure.subplots()
  ax.plot(fpr, tpr, lw=2, label=f'AUC = {metrics.auc(fpr, tpr):.3f}')
  ax.plot([0, 1], [0, 1], ls='--', color='grey', label='chance')
  ax.set(xlabel='false positive rate', ylabel='true positive rate', title='ROC curve',
         xlim=(0, 1), ylim=(0, 1.01))
  ax.legend(loc='lower right')
  return _save(figure, path)


def precision_recall(y, p, weights, path: pathlib.Path) -> pathlib.Path:
  """The precision-recall curve with its average precision."""
  from sklearn import metrics  # pylint: disable=g-import-not-at-top
  precision, recall, _ = metrics.precision_recall_curve(y, p, sample_weight=weights)
  average = metrics.average_precision_score(y, p, sample_weight=weights)
  base = np.average(y, weights=weights)
  figure = _figure()
  ax = figure.subplots()
  ax.step(recall, precision, where='post', lw=2, label=f'average precision = {average:.3f}')
  ax.axhline(base, ls='--', color='grey', label=f'positive rate = {base:.3f}')
  ax.set(xlabel='recall', ylabel='precision', title='Precision-recall curve', xlim=(0, 1), ylim=(0, 1.01))
  ax.legend(loc='lower left')
  return _save(figure, path)


def reliability(y, p, weights, path: pathlib.Path, bins: int = 10) -> pathlib.Path:
  """Observed positive rate against mean predicted probability in equal-width bins, with bin sizes."""
  w = np.ones_like(p, np.float64) if weights is None else np.asarray(weights, np.float64)
  index = np.clip((p * bins).astype(int), 0, bins - 1)
  total = np.bincount(index, w, bins)
  seen = total > 0
  predicted = np.bincount(index, w * p, bins)[seen] / total[seen]
  observed = np.bincount(index, w * y, bins)[seen] / total[seen]
  figure = _figure((5.5, 6))
  top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
  top.plot([0, 1], [0, 1], ls='--', color='grey', label='perfectly calibrated')
  top.plot(predicted, observed, marker='o', lw=2, label='model')
  top.set(ylabel='observed positive rate', title='Reliability diagram', xlim=(0, 1), ylim=(0, 1.01))
  top.legend(loc='upper left')
  bottom.bar((np.arange(bins) + 0.5) / bins, total, width=0.9 / bins, color='tab:blue', alpha=0.6)
  bottom.set(xlabel='predicted probability', ylabel='examples')
  return _save(figure, path)


def confusion(y, predicted, weights, names: list[str], path: pathlib.Path) -> pathlib.Path:
  """The confusion matrix: counts, coloured by the share of each true class."""
  n = len(names)
  valid = (y >= 0) & (y < n)
  counts = np.zeros((n, n))
  np.add.at(counts, (y[valid], predicted[valid]), 1. if weights is None else np.asarray(weights)[valid])
  shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12)
  accuracy = np.trace(counts) / max(counts.sum(), 1e-12)
  size = min(4 + 0.45 * n, 14)
  figure = _figure((size + 1, size))
  ax = figure.subplots()
  image = ax.imshow(shares, cmap='Blues', vmin=0, vmax=1)
  figure.colorbar(image, ax=ax, label='share of the true class')
  ticks = np.arange(n)
  ax.set_xticks(ticks, names, rotation=45 if max(map(len, names)) > 3 else 0, ha='right')
  ax.set_yticks(ticks, names)
  ax.set(xlabel='predicted class', ylabel='true class', title=f'Confusion matrix (accuracy {accuracy:.3f})')
  if n <= 20:
    for i in range(n):
      for j in range(n):
        if counts[i, j]:
          ax.text(j, i, f'{counts[i, j]:g}', ha='center', va='center', fontsize=8,
                  color='white' if shares[i, j] > 0.5 else 'black')
  return _save(figure, path)


def per_class_auc(y, p, weights, names: list[str], path: pathlib.Path) -> pathlib.Path:
  """The ROC AUC of every class of a multi-label head (blank for a class with one label value)."""
  from sklearn import metrics  # pylint: disable=g-import-not-at-top
  aucs = []
  for i in range(len(names)):
    both = len(np.unique(y[:, i])) == 2
    aucs.append(metrics.roc_auc_score(y[:, i], p[:, i], sample_weight=weights) if both else np.nan)
  figure = _figure((max(5, 0.6 * len(names) + 2), 4.5))
  ax = figure.subplots()
  bars = ax.bar(names, np.nan_to_num(aucs), color='tab:blue')
  ax.bar_label(bars, labels=['n/a' if np.isnan(a) else f'{a:.3f}' for a in aucs], padding=2)
  ax.axhline(0.5, ls='--', color='grey', label='chance')
  ax.set(ylabel='ROC AUC', ylim=(0, 1.1), title='AUC per class')
  ax.legend(loc='lower right')
  return _save(figure, path)


def predicted_vs_actual(y, predicted, path: pathlib.Path) -> pathlib.Path:
  """Predictions against labels, with the diagonal and R^2."""
  residual = np.sum((y - predicted) ** 2)
  total = np.sum((y - y.mean()) ** 2)
  r2 = 1 - residual / total if total > 0 else np.nan
  low, high = float(min(y.min(), predicted.min())), float(max(y.max(), predicted.max()))
  figure = _figure()
  ax = figure.subplots()
  ax.scatter(y, predicted, s=12, alpha=0.6, edgecolors='none')
  ax.plot([low, high], [low, high], ls='--', color='grey', label='predicted = actual')
  ax.set(xlabel='actual', ylabel='predicted', title=f'Predicted vs actual (R² = {r2:.3f}, {len(y)} examples)')
  ax.legend(loc='upper left')
  return _save(figure, path)
