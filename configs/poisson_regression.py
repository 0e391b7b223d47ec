"""Counts with ``PoissonRegressionHead`` on a linear model (a Poisson GLM).

The label is the number of saturated pixels (value 16) in each image of
scikit-learn's bundled digits (0 to 17, mean about 6); the features are the
images with those pixels capped at 15, so the count is estimated from the
strokes. The model's output is the log rate; the plot is predicted (rate)
against actual counts.
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits_ink'
  config.head = {'type': 'poisson_regression'}
  config.model = {'name': 'linear', 'hidden_units': (), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-2}
  config.train_steps = 800
  config.batch_size = 64
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
