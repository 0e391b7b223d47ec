"""The default job: DNN regression of diabetes progression with ``RegressionHead``.

Estimator's head documentation example: a DNN (Dense 1000 ReLU, Dense 500
ReLU, then ``head.logits_dimension`` logits) trained with a regression head,
here on scikit-learn's bundled diabetes data (442 patients, 10 features).

  flaxheads train                       # this config, in ./workdir/default
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'diabetes'
  config.head = {'type': 'regression', 'label_dimension': 1}
  config.model = {'name': 'dnn', 'hidden_units': (1000, 500), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 3e-4}
  config.train_steps = 1000
  config.batch_size = 32
  config.eval_every = 250
  config.checkpoint_every = 250
  return config
