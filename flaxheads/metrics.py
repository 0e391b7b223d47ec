"""Streaming metrics with additive state: ``empty``, per-batch constructors, ``merge``, ``compute``."""

from flaxheads._src.metric_state import MetricState, results
from flaxheads._src.metrics import (AUC, AccuracyBaseline, Mean, Metric, Precision, Recall,
                                    divide_no_nan)

__all__ = ('AUC', 'AccuracyBaseline', 'Mean', 'Metric', 'MetricState', 'Precision', 'Recall', 'divide_no_nan',
           'results')
