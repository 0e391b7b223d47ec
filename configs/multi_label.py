"""Attributes of handwritten digits with ``MultiLabelHead``, on a DNN with dropout.

Each digit image of scikit-learn's bundled digits is tagged with any of four
attributes of its digit: even, large (>= 5), prime, and has a loop (0, 6, 8,
9). The plot shows the AUC of each attribute.
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits_attributes'
  config.head = {
      'type': 'multi_label',
      'n_classes': 4,
      'label_vocabulary': ('even', 'large', 'prime', 'loop'),
      'thresholds': (0.3,),
  }
  config.model = {'name': 'dnn', 'hidden_units': (128, 64), 'dropout': 0.2}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-3}
  config.train_steps = 800
  config.batch_size = 64
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
