"""Streaming metrics with additive state: ``empty``, per-batch constructors, ``merge``, ``result``."""

from flaxheads._src.metrics import AUC, AccuracyBaseline, Mean, Metric, Precision, Recall, divide_no_nan, results

__all__ = ('AUC', 'AccuracyBaseline', 'Mean', 'Metric', 'Precision', 'Recall', 'divide_no_nan', 'results')
