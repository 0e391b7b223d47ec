"""Handwritten digits with ``MultiClassHead`` on a DNN with batch normalization.

scikit-learn's bundled digits (1797 8x8 images, 10 classes). The model's
``batch_stats`` are a mutable Flax collection: updated by every train step,
used as running averages in evaluation, and checkpointed with the parameters.
The plot is a confusion matrix.
"""

from ml_collections import config_dict

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits'
  config.head = {
      'type': 'multi_class',
      'n_classes': 10,
      'label_vocabulary': config_dict.placeholder(tuple),
  }
  config.model = {'name': 'batch_norm_dnn', 'hidden_units': (128, 64), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-3}
  config.train_steps = 800
  config.batch_size = 64
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
