"""A target in [0, 1] with ``LogisticRegressionHead`` on a linear model.

The label is scikit-learn's bundled diabetes progression scaled into [0, 1];
the head fits it with a sigmoid cross-entropy loss and reports regression
metrics. The plot is predicted against actual values.
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'diabetes_unit'
  config.head = {'type': 'logistic_regression'}
  config.model = {'name': 'linear', 'hidden_units': (), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-2}
  config.train_steps = 600
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
