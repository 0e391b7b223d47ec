"""Handwritten digits with ``MultiClassHead(10)`` as the objective and metrics of boosted trees.

scikit-learn's bundled digits (1797 8x8 images, 10 classes): one tree per class
and round, grown on the gradient and Hessian of the head's softmax
cross-entropy. The plot is a confusion matrix.
"""

from ml_collections import config_dict

from flaxheads.job.trees import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits'
  config.data.standardize = False
  config.head = {
      'type': 'multi_class',
      'n_classes': 10,
      'label_vocabulary': config_dict.placeholder(tuple),
  }
  config.trees.library = 'xgboost'
  config.trees.max_depth = 3
  config.trees.learning_rate = 0.3
  config.train_steps = 40
  config.eval_every = 10
  config.checkpoint_every = 10
  return config
