"""Breast cancer diagnosis with ``BinaryClassHead`` as the objective and metrics of boosted trees.

scikit-learn's bundled breast cancer data (569 tumours, 30 features; label 1 =
benign). XGBoost (``--config.trees.library=lightgbm`` for LightGBM) grows
``train_steps`` rounds of trees on the gradient and Hessian of the head's loss;
the head's metrics (at 0.5, 0.3 and 0.7) are reported every ``eval_every``
rounds, as for the neural configs.
"""

from ml_collections import config_dict

from flaxheads.job.trees import defaults


def get_config():
  config = defaults()
  config.data.name = 'breast_cancer'
  config.data.standardize = False  # trees split on raw values
  config.head = {
      'type': 'binary_class',
      'thresholds': (0.3, 0.7),
      'label_vocabulary': config_dict.placeholder(tuple),
  }
  config.trees.library = 'xgboost'
  config.trees.max_depth = 3
  config.trees.learning_rate = 0.3
  config.train_steps = 60
  config.eval_every = 20
  config.checkpoint_every = 20
  return config
