"""Breast cancer diagnosis with ``BinaryClassHead`` and extra thresholds, on a wide & deep model.

scikit-learn's bundled breast cancer data (569 tumours, 30 features; label 1 =
benign). Metrics are reported at the default 0.5 threshold and at 0.3 and 0.7;
the plots are ROC and precision-recall curves and a reliability diagram.
"""

from ml_collections import config_dict

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'breast_cancer'
  config.head = {
      'type': 'binary_class',
      'thresholds': (0.3, 0.7),
      'label_vocabulary': config_dict.placeholder(tuple),
  }
  config.model = {'name': 'wide_deep', 'hidden_units': (64, 32), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-3}
  config.train_steps = 600
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
