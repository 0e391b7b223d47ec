"""Estimator's names: modes, loss reductions, metric keys and prediction keys."""

from __future__ import annotations

import enum


class ModeKeys(str, enum.Enum):
  """The three modes of a model function (``tf.estimator.ModeKeys``).

  Plain strings are accepted wherever a mode is: ``ModeKeys('infer')`` is
  ``ModeKeys.PREDICT``.
  """

  TRAIN = 'train'
  EVAL = 'eval'
  PREDICT = 'infer'


class LossReduction(str, enum.Enum):
  """How a head reduces the weighted per-example losses to the training loss.

  ``SUM`` adds them up. ``SUM_OVER_BATCH_SIZE`` divides the sum by the number of
  loss elements, zero-weighted ones included (not by the sum of the weights),
  and gives 0 for an empty batch. ``AUTO`` is ``SUM_OVER_BATCH_SIZE``.
  Estimator's ``NONE`` is not a valid head reduction.
  """

  AUTO = 'auto'
  SUM = 'sum'
  SUM_OVER_BATCH_SIZE = 'sum_over_batch_size'


class MetricKeys:
  """Estimator's metric keys (``tf.estimator`` ``metric_keys.MetricKeys``).

  Keys with ``%g`` or ``%d`` are templates: ``MetricKeys.ACCURACY_AT_THRESHOLD % 0.5``
  is ``'accuracy/positive_threshold_0.5'``.
  """

  LOSS = 'loss'
  LOSS_MEAN = 'average_loss'
  LOSS_REGULARIZATION = 'regularization_loss'
  ACCURACY = 'accuracy'
  PRECISION = 'precision'
  RECALL = 'recall'
  ACCURACY_BASELINE = 'accuracy_baseline'
  AUC = 'auc'
  AUC_PR = 'auc_precision_recall'
  LABEL_MEAN = 'label/mean'
  PREDICTION_MEAN = 'prediction/mean'
  ACCURACY_AT_THRESHOLD = 'accuracy/positive_threshold_%g'
  PRECISION_AT_THRESHOLD = 'precision/positive_threshold_%g'
  RECALL_AT_THRESHOLD = 'recall/positive_threshold_%g'
  PROBABILITY_MEAN_AT_CLASS = 'probability_mean/class%d'
  AUC_AT_CLASS = 'auc/class%d'
  AUC_PR_AT_CLASS = 'auc_precision_recall/class%d'
  PROBABILITY_MEAN_AT_NAME = 'probability_mean/%s'
  AUC_AT_NAME = 'auc/%s'
  AUC_PR_AT_NAME = 'auc_precision_recall/%s'


class PredictionKeys:
  """Estimator's prediction keys (``tf.estimator`` ``prediction_keys.PredictionKeys``)."""

  ALL_CLASSES = 'all_classes'
  ALL_CLASS_IDS = 'all_class_ids'
  CLASSES = 'classes'
  CLASS_IDS = 'class_ids'
  LOGISTIC = 'logistic'
  LOGITS = 'logits'
  PREDICTIONS = 'predictions'
  PROBABILITIES = 'probabilities'


# A string prediction key and the numeric key it is decoded from on the host.
STRING_KEY_SOURCES = {PredictionKeys.CLASSES: PredictionKeys.CLASS_IDS,
                      PredictionKeys.ALL_CLASSES: PredictionKeys.ALL_CLASS_IDS}


class SignatureKeys:
  """Estimator's export signature names (``tf.saved_model`` signature keys)."""

  SERVING_DEFAULT = 'serving_default'
  CLASSIFY = 'classification'
  REGRESS = 'regression'
  PREDICT = 'predict'


def summary_key(key: str, head_name: str | None) -> str:
  """Returns ``key`` suffixed with ``/head_name`` when the head has a name."""
  return f'{key}/{head_name}' if head_name else key
