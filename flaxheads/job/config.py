"""Job configurations: ``ml_collections`` config files, ``--config.field=value`` overrides, checks.

A config file is a Python file with a ``get_config()`` returning a
``ConfigDict``; most start from :func:`defaults` and set the data, the head and
the model. The loaded config is locked: overriding or reading a field that does
not exist is an error, and a value must have the field's type.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import pathlib
from collections.abc import Sequence

from ml_collections import config_dict

from flaxheads.job.errors import JobError, first_line

ConfigDict = config_dict.ConfigDict

def _config_dir() -> pathlib.Path:
  """The bundled configs: ``flaxheads/configs`` when installed, ``configs/`` in a source tree."""
  installed = pathlib.Path(__file__).resolve().parents[1] / 'configs'
  return installed if installed.is_dir() else pathlib.Path(__file__).resolve().parents[2] / 'configs'


CONFIG_DIR = _config_dir()
DEFAULT_CONFIG = CONFIG_DIR / 'default.py'
_TRUE, _FALSE = ('true', '1', 'yes'), ('false', '0', 'no')


def data_defaults() -> ConfigDict:
  """The ``data`` fields: a bundled data set by name, a CSV file (``name='csv'``) or shards (``'shards'``)."""
  return ConfigDict({
      'name': 'diabetes',  # a bundled data set (see flaxheads.job.data.BUNDLED), 'csv' or 'shards'
      'eval_fraction': 0.2,  # the share of rows held out for evaluation
      'split_seed': 0,  # the seed of the train/eval split
      'standardize': True,  # scale features to zero mean, unit variance (train statistics)
      'path': config_dict.placeholder(str),  # the CSV file; for 'shards', files, globs, comma-separated
      'format': config_dict.placeholder(str),  # 'shards': 'csv' or 'parquet' (default: from the extension)
      'eval_path': config_dict.placeholder(str),  # 'shards': eval files (default: rows held out of path)
      'readers': 0,  # 'shards': readers of the training rows, each its own shards (0: one per process)
      'interleave': 16,  # 'shards': shards a reader reads at a time
      'shuffle_buffer': 10_000,  # 'shards': rows shuffled together (per reader; 0: rows in file order)
      'prefetch': 2,  # 'shards': batches a reader prepares ahead (on a thread)
      'feature_columns': config_dict.placeholder(tuple),  # default: every other column
      'label_column': 'label',
      'weight_column': config_dict.placeholder(str),  # per-row example weights
      'label_separator': '|',  # separates the classes of a multi-label cell
  })


def defaults() -> ConfigDict:
  """Every field a job reads, with defaults; a config file sets the head and the model.

  Returns:
    An unlocked ``ConfigDict``: ``data``, ``head`` (``type`` plus the head's
    constructor arguments), ``model``, ``optimizer`` and the training schedule.
  """
  return ConfigDict({
      'seed': 0,  # model initialization, batch order and dropout
      'data': data_defaults(),
      'head': {'type': 'regression'},
      'model': {'name': 'dnn', 'hidden_units': (64, 32), 'dropout': 0.0},
      'optimizer': {'name': 'adam', 'learning_rate': 1e-3},
      'train_steps': 1000,
      'batch_size': 32,
      'eval_batch_size': 1024,
      'eval_every': 250,  # steps between evaluations; 0: only at the end
      'checkpoint_every': 250,  # steps between checkpoints (and one at the end)
      'keep_checkpoints': 3,  # the most recent checkpoints kept
      'log_every': 10,  # steps between training-loss reports
      'plots': True,  # write PNG plots after the final evaluation
      'progress_bar': True,
  })


def resolve_path(path: str | pathlib.Path) -> pathlib.Path:
  """A config path as given, or the name of a bundled config (``binary_class``, ``configs/binary_class.py``)."""
  given = pathlib.Path(path)
  if given.is_file():
    return given
  bundled = given.parent in (pathlib.Path('.'), pathlib.Path('configs'))
  for candidate in (CONFIG_DIR / given.name, CONFIG_DIR / f'{given.name}.py'):
    if candidate.is_file() and bundled:
      return candidate
  names = ', '.join(sorted(p.stem for p in CONFIG_DIR.glob('*.py')))
  raise JobError(f'config file {str(path)!r} does not exist (looked in the current directory and in the '
                 f'bundled configs {CONFIG_DIR}: {names})')


def load(path: str | pathlib.Path, overrides: Sequence[str] = ()) -> ConfigDict:
  """Loads a config file, locks it and applies ``field=value`` overrides.

  Args:
    path: a Python file defining ``get_config()``, or the name of a file in ``configs/``.
    overrides: ``'train_steps=3'``-style strings (the text after ``--config.``).

  Returns:
    The locked config.

  Raises:
    JobError: the file is missing or broken, or an override names an unknown
      field or has a value of the wrong type.
  """
  path = resolve_path(path)
  spec = importlib.util.spec_from_file_location(f'flaxheads_config_{path.stem}', path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except Exception as e:  # a config file is user code: any error is the file's
    raise JobError(f'config file {path} failed to load: {type(e).__name__}: {e}') from e
  if not callable(getattr(module, 'get_config', None)):
    raise JobError(f'config file {path} defines no get_config() function')
  config = module.get_config()
  if not isinstance(config, ConfigDict):
    raise JobError(f'get_config() in {path} returned {type(config).__name__}, not a ConfigDict')
  config.lock()
  for override in overrides:
    apply_override(config, override)
  return config


def apply_override(config: ConfigDict, override: str) -> None:
  """Sets one ``dotted.field=value``; the text is parsed as the field's type."""
  name, sep, text = override.partition('=')
  if not sep:
    raise JobError(f'config override --config.{override} needs a value: --config.{name}=VALUE')
  *parents, key = name.split('.')
  node = config
  for depth, part in enumerate(parents + [key]):
    if not isinstance(node, ConfigDict) or part not in node:
      raise JobError(_unknown_field(node, '.'.join((parents + [key])[:depth + 1])))
    if depth < len(parents):
      node = node[part]
  value = _parse(text, node.get_type(key), f'config.{name}')
  try:
    node[key] = value
  except (TypeError, ValueError) as e:
    raise JobError(f'config.{name}: cannot set {text!r}: {first_line(e)}') from e


def _unknown_field(node, dotted: str) -> str:
  message = f'unknown config field config.{dotted}'
  if isinstance(node, ConfigDict):
    close = difflib.get_close_matches(dotted.rsplit('.', 1)[-1], list(node.keys()), n=1)
    if close:
      prefix = dotted.rsplit('.', 1)[0] + '.' if '.' in dotted else ''
      message += f' (did you mean config.{prefix}{close[0]}?)'
  return message


def _parse(text: str, field_type: type, name: str):
  """Parses override text as ``field_type`` (``None`` resets an optional field)."""
  if text == 'None':
    return None
  try:
    if field_type is str:
      return text
    if field_type is bool:
      if text.lower() not in _TRUE + _FALSE:
        raise ValueError('expected true or false')
      return text.lower() in _TRUE
    if field_type in (int, float):
      return field_type(text)
    if field_type is type(None):  # a field set to None: any literal, else the text
      return _literal_or_text(text)
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError) as e:
    raise JobError(f'{name}: {text!r} is not a valid {field_type.__name__}') from e
  if field_type in (tuple, list) and not isinstance(value, (tuple, list)):
    value = (value,)
  return field_type(value) if field_type in (tuple, list) else value



def _literal_or_text(text: str):
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def validate(config: ConfigDict) -> None:
  """Checks the training schedule; heads, models and data are checked where they are built."""
  positive = ('train_steps', 'batch_size', 'eval_batch_size', 'checkpoint_every',
              'keep_checkpoints', 'log_every')
  for name in positive:
    if config[name] <= 0:
      raise JobError(f'config.{name} must be positive, got {config[name]}')
  if config.eval_every < 0:
    raise JobError(f'config.eval_every must be >= 0, got {config.eval_every}')
  for name in ('readers', 'interleave', 'shuffle_buffer', 'prefetch'):
    least = 1 if name == 'interleave' else 0
    if config.data[name] < least:
      raise JobError(f'config.data.{name} must be >= {least}, got {config.data[name]}')
  if not 0 < config.data.eval_fraction < 1:
    raise JobError(f'config.data.eval_fraction must be in (0, 1), got {config.data.eval_fraction}')
  if config.optimizer.learning_rate <= 0:
    raise JobError(f'config.optimizer.learning_rate must be positive, got {config.optimizer.learning_rate}')
