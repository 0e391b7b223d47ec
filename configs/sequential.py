"""Digits read row by row with ``SequentialHeadWrapper`` around ``MultiClassHead``, on a GRU.

Each 8x8 image of scikit-learn's bundled digits is a sequence of its rows (8
steps of 8 pixels), cut to 4 to 8 rows; the model tags every step with the
digit seen so far. Padded steps are masked out of the loss and the metrics by
the ``mask`` feature. The plot is the confusion matrix over the valid steps.
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits_rows'
  config.head = {
      'type': 'sequential',
      'static_head': {'type': 'multi_class', 'n_classes': 10},
  }
  config.model = {'name': 'rnn', 'hidden_units': (64,), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 3e-3}
  config.train_steps = 600
  config.batch_size = 64
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
