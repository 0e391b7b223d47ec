"""Your own data: a CSV file with feature columns, a label column and an optional weight column.

Set the file and the columns on the command line, e.g. for a CSV with a
``species`` column of strings::

  flaxheads train --config configs/csv_file.py --config.data.path=iris.csv \
      --config.data.label_column=species --config.head.n_classes=3 \
      --config.head.label_vocabulary="('setosa', 'versicolor', 'virginica')"

Every column other than the label and the weight is a numeric feature unless
``data.feature_columns`` lists them. String labels are mapped to class ids by
the head's ``label_vocabulary``; numeric labels are class ids. For a
``multi_label`` head a cell lists its classes separated by
``data.label_separator`` (``|``). For another
head, set ``--config.head.type`` (e.g. ``regression``; fields the head does not
take must be reset with ``=None``) or copy this file.
"""

from ml_collections import config_dict

from flaxheads.job.config import defaults


def get_config():
  config = defaults()
  config.data.name = 'csv'
  config.data.label_column = 'label'
  config.head = {
      'type': 'multi_class',
      'n_classes': 3,
      'label_vocabulary': config_dict.placeholder(tuple),
  }
  config.model = {'name': 'dnn', 'hidden_units': (32, 16), 'dropout': 0.0}
  config.optimizer = {'name': 'adam', 'learning_rate': 3e-3}
  config.train_steps = 500
  config.eval_every = 100
  config.checkpoint_every = 100
  return config
