"""Three tasks on one network with ``MultiHead``: the digit, whether it is odd, whether it is large.

scikit-learn's bundled digits, with labels per head name: ``digit``
(``MultiClassHead``, 10 classes), ``odd`` and ``large`` (``BinaryClassHead``,
large meaning >= 5). The training loss is the weighted sum of the three heads'
losses; metrics carry the head name as a suffix (``accuracy/odd``). The logits
are one array: the heads' logits concatenated in head-name order.
"""

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'digits_tasks'
  config.head = {
      'type': 'multi_head',
      'heads': {
          'digit': {'type': 'multi_class', 'n_classes': 10},
          'large': {'type': 'binary_class'},
          'odd': {'type': 'binary_class'},
      },
      'head_weights': {'digit': 1.0, 'large': 0.5, 'odd': 0.5},
  }
  config.model = {'name': 'dnn', 'hidden_units': (128, 64), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 1e-3}
  config.train_steps = 800
  config.batch_size = 64
  config.eval_every = 200
  config.checkpoint_every = 200
  return config
