"""Model families and optimizers from the ``model`` and ``optimizer`` configs.

Every model is a Linen module called as ``model.apply(variables, features,
train=...)`` on the features dict (it reads ``features['x']``) and returns
logits with ``logits_dimension`` on the last axis, so any head fits any model.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import optax
from ml_collections import config_dict

from flaxheads.job.errors import JobError


class DNN(nn.Module):
  """A feed-forward network: Dense-ReLU(-Dropout) layers, then the logits (Estimator's DNN)."""

  hidden_units: Sequence[int]
  logits_dimension: int
  dropout: float = 0.

  @nn.compact
  def __call__(self, features, *, train: bool = False):
    x = features['x']
    for units in self.hidden_units:
      x = nn.relu(nn.Dense(units)(x))
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.logits_dimension)(x)


class Linear(nn.Module):
  """A linear model of the features (Estimator's linear, "wide", model)."""

  logits_dimension: int

  @nn.compact
  def __call__(self, features, *, train: bool = False):
    del train
    return nn.Dense(self.logits_dimension)(features['x'])


class WideDeep(nn.Module):
  """The sum of a linear model's and a DNN's logits (Estimator's DNNLinearCombined)."""

  hidden_units: Sequence[int]
  logits_dimension: int
  dropout: float = 0.

  @nn.compact
  def __call__(self, features, *, train: bool = False):
    wide = Linear(self.logits_dimension, name='wide')(features, train=train)
    deep = DNN(self.hidden_units, self.logits_dimension, self.dropout, name='deep')(features, train=train)
    return wide + deep


class BatchNormDNN(nn.Module):
  """A DNN with batch normalization before each ReLU; its ``batch_stats`` are model state."""

  hidden_units: Sequence[int]
  logits_dimension: int
  dropout: float = 0.

  @nn.compact
  def __call__(self, features, *, train: bool = False):
    x = features['x']
    for units in self.hidden_units:
      x = nn.Dense(units, use_bias=False)(x)
      x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.logits_dimension)(x)


class RNN(nn.Module):
  """Stacked GRUs over ``[B, T, F]`` sequences, then logits at every step ``[B, T, L]``."""

  hidden_units: Sequence[int]
  logits_dimension: int
  dropout: float = 0.

  @nn.compact
  def __call__(self, features, *, train: bool = False):
    x = features['x']
    if x.ndim != 3:
      raise ValueError(f'the rnn model needs sequence features [B, T, F], got shape {x.shape}')
    for units in self.hidden_units:
      x = nn.RNN(nn.GRUCell(units))(x)
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.logits_dimension)(x)


MODELS = {
    'dnn': DNN,
    'linear': Linear,
    'wide_deep': WideDeep,
    'batch_norm_dnn': BatchNormDNN,
    'rnn': RNN,
}

OPTIMIZERS = {
    'adam': optax.adam,
    'adamw': optax.adamw,
    'sgd': optax.sgd,
    'adagrad': optax.adagrad,
    'rmsprop': optax.rmsprop,
    'lion': optax.lion,
}


def build(cfg: config_dict.ConfigDict, logits_dimension: int, *, sequence: bool) -> nn.Module:
  """The model the config names, with ``logits_dimension`` outputs.

  Raises:
    JobError: an unknown model, bad sizes, or an RNN without sequence data.
  """
  if cfg.name not in MODELS:
    raise JobError(f'unknown model config.model.name={cfg.name!r}; choose from {", ".join(MODELS)}')
  if cfg.name == 'rnn' and not sequence:
    raise JobError("config.model.name='rnn' needs sequence data (e.g. config.data.name='digits_rows')")
  if cfg.name == 'linear':
    return Linear(logits_dimension)
  units = tuple(cfg.hidden_units)
  if not units or any(not isinstance(u, int) or u <= 0 for u in units):
    raise JobError(f'config.model.hidden_units must be positive integers, got {cfg.hidden_units}')
  if not 0 <= cfg.dropout < 1:
    raise JobError(f'config.model.dropout must be in [0, 1), got {cfg.dropout}')
  return MODELS[cfg.name](units, logits_dimension, cfg.dropout)


def optimizer(cfg: config_dict.ConfigDict) -> optax.GradientTransformation:
  """The optax optimizer the config names, with its learning rate.

  Raises:
    JobError: an unknown optimizer.
  """
  if cfg.name not in OPTIMIZERS:
    raise JobError(f'unknown optimizer config.optimizer.name={cfg.name!r}; choose from {", ".join(OPTIMIZERS)}')
  return _optimizer(cfg.name, float(cfg.learning_rate))


@functools.lru_cache(maxsize=16)
def _optimizer(name: str, learning_rate: float) -> optax.GradientTransformation:
  """One optimizer object per setting, so that train states of equal configs compile once."""
  return OPTIMIZERS[name](learning_rate)


def dummy_features(features: dict) -> dict:
  """One row of the features, to initialize a model."""
  return {k: jnp.asarray(v[:1]) for k, v in features.items()}
