"""Recall at precision >= 0.9 with ``BinaryClassHead`` and a global objective, on a skewed task.

scikit-learn's bundled digits, label 1 for a "0" (about 10% positives). The
head trains on ``recall_at_precision(target_precision=0.9)`` (Eban et al.,
2017): the multiplier lives in the params, the label priors in the
``label_priors`` collection; evaluation reports the head's usual metrics.
Other objectives: ``--config.head.global_objective='precision_recall_auc(num_anchors=10)'``.
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits_zero'
  config.head = {
      'type': 'binary_class',
      'thresholds': (0.3, 0.7),
      'global_objective': 'recall_at_precision(target_precision=0.9)',
  }
  config.model = {'name': 'linear', 'hidden_units': (), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-2}
  config.train_steps = 300
  config.eval_every = 100
  config.checkpoint_every = 100
  return config
