"""Validation: constructor arguments, shapes at trace time, label values.

Shape and type errors are raised while tracing, under ``jax.jit`` too. Value
errors (labels out of range) need values, and go through one mechanism,
:func:`check_values`: on concrete values it raises ``ValueError`` at once;
traced, it is a ``checkify`` check when the function runs under
:func:`checked` (eager head calls run that way, see ``eager.py``) and is
skipped otherwise. Skipped checks never give a plausible wrong number: the
heads turn the weights of invalid examples into NaN, so the loss and every
metric come out NaN.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from flaxheads._src.keys import STRING_KEY_SOURCES, LossReduction, ModeKeys, PredictionKeys

_STATE = threading.local()


def is_traced(x: Any) -> bool:
  """Whether ``x`` is an abstract value being traced (under ``jit``, ``grad``, ...)."""
  return isinstance(x, jax.core.Tracer)


@contextlib.contextmanager
def _value_checks_staged():
  previous = getattr(_STATE, 'staged', False)
  _STATE.staged = True
  try:
    yield
  finally:
    _STATE.staged = previous


def checked(fn: Callable[..., Any], *, errors: frozenset = checkify.user_checks) -> Callable[..., Any]:
  """Wraps ``fn`` so that the heads' value checks run inside ``jit`` too.

  The wrapped function is ``jax.experimental.checkify.checkify(fn)`` with the
  heads' label checks staged as checkify checks: it returns ``(error, out)``,
  and ``error.throw()`` raises the first failed check with Estimator's message.
  Wrap the function before you jit it, so it is traced with the checks in.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> import flaxheads as fh
    >>> head = fh.MultiClassHead(3)
    >>> loss = jax.jit(fh.checked(head.loss))
    >>> err, value = loss(jnp.array([[5]]), jnp.zeros((1, 3)))
    >>> err.get()
    'Labels must be <= n_classes - 1 = 2 (`check` failed)'
    >>> bool(jnp.isnan(value))  # the unchecked value is NaN, never plausible
    True
  """

  def staged(*args, **kwargs):
    with _value_checks_staged():
      return fn(*args, **kwargs)

  return functools.wraps(fn)(checkify.checkify(staged, errors=errors))


_CHECK_FAILED_SUFFIX = ' (`check` failed)'


def raise_if_failed(error: checkify.Error) -> None:
  """Raises the first failed check of a :func:`checked` call as ``ValueError``, Estimator's message."""
  message = error.get()
  if message:
    raise ValueError(message.removesuffix(_CHECK_FAILED_SUFFIX))


def check_values(ok: jax.Array, message: str) -> None:
  """Raises ``ValueError(message)`` if ``ok`` is false; staged under :func:`checked`."""
  if not is_traced(ok):
    if not bool(ok):
      raise ValueError(message)
  elif getattr(_STATE, 'staged', False):
    checkify.check(ok, message)


def mode(value: str | ModeKeys) -> ModeKeys:
  try:
    return ModeKeys(value)
  except ValueError:
    raise ValueError(f'mode must be one of {[m.value for m in ModeKeys]}, got {value!r}.') from None


def loss_reduction(value: str | LossReduction) -> LossReduction:
  """Estimator's ``validate_loss_reduction``: ``'none'`` and TF1 names are rejected."""
  try:
    return LossReduction(value)
  except ValueError:
    raise ValueError(f'Invalid loss_reduction: {value!r}. Expected one of '
                     f'{[r.value for r in LossReduction]}.') from None


_LOSS_FN_OPTIONAL_ARGS = ('features', 'loss_reduction')


def hashable(value: Any, name: str) -> None:
  """Heads are static ``jit`` arguments, so everything they hold must be hashable."""
  try:
    hash(value)
  except TypeError:
    raise TypeError(f'{name} must be hashable (a head is a static jit argument); got an unhashable '
                    f'{type(value).__name__}. Use a function, or define __hash__ and __eq__.') from None


def weight_column(value: Any) -> Any:
  """Validates a ``weight_column`` argument: a feature name or a callable of features."""
  if value is None or isinstance(value, str) or callable(value):
    hashable(value, 'weight_column')
    return value
  raise TypeError('Weight column must be either a string or a callable features -> weights. '
                  f'Given type: {type(value)}.')


def loss_fn_args(loss_fn: Callable[..., Any]) -> tuple[str, ...]:
  """Estimator's ``validate_loss_fn_args``: returns the names ``loss_fn`` declares."""
  if not callable(loss_fn):
    raise TypeError(f'loss_fn must be callable, got {type(loss_fn).__name__}.')
  hashable(loss_fn, 'loss_fn')
  args = tuple(inspect.signature(loss_fn).parameters)
  for required in ('labels', 'logits'):
    if required not in args:
      raise ValueError(f'loss_fn must contain argument: {required}. Given arguments: {args}')
  unexpected = [a for a in args if a not in ('labels', 'logits') + _LOSS_FN_OPTIONAL_ARGS]
  if unexpected:
    raise ValueError(f'loss_fn has unexpected args: {unexpected}. Allowed: labels, logits, '
                     f'features, loss_reduction.')
  return args


def thresholds(values: Sequence[float] | None, *, message: str) -> tuple[float, ...]:
  """Thresholds in (0, 1), distinct after ``%g`` formatting (their metric keys)."""
  values = tuple(float(t) for t in values) if values else ()
  for t in values:
    if not 0. < t < 1.:
      raise ValueError(message.format(thresholds=values))
  keys = ['%g' % t for t in values]
  duplicates = sorted({k for k in keys if keys.count(k) > 1})
  if duplicates:
    raise ValueError(f'thresholds {values} give duplicate metric keys: several thresholds format '
                     f'as {duplicates} with %g (6 significant digits).')
  return values


def vocabulary(values: Sequence[str] | None, *, n_classes: int | None,
               type_message: str, length_message: str) -> tuple[str, ...] | None:
  """A vocabulary of distinct strings, ``n_classes`` long when that is given."""
  if values is None:
    return None
  if not isinstance(values, (list, tuple)):
    raise ValueError(type_message.format(type=type(values)))
  values = tuple(values)
  if not all(isinstance(v, str) for v in values):
    raise TypeError(f'label_vocabulary must hold strings, got {values!r}.')
  if n_classes is not None and len(values) != n_classes:
    raise ValueError(length_message.format(length=len(values), n_classes=n_classes, vocabulary=values))
  duplicates = sorted({v for v in values if values.count(v) > 1})
  if duplicates:
    raise ValueError(f'label_vocabulary has duplicate entries {duplicates}: {values!r}.')
  return values


def logits(logits: Any, logits_dimension: int) -> jax.Array:
  """Casts logits to float32 and checks their shape ``[D0, ..., DN, logits_dimension]``."""
  if logits is None:
    raise ValueError('logits must be given, got None.')
  logits = jnp.asarray(logits).astype(jnp.float32)
  if logits.ndim < 2:
    raise ValueError(f'logits must have rank at least 2.  Received rank {logits.ndim}, '
                     f'shape {logits.shape}')
  if logits.shape[-1] != logits_dimension:
    raise ValueError(f'logits shape must be [D0, D1, ... DN, logits_dimension], got '
                     f'{logits.shape}; logits_dimension is {logits_dimension}.')
  return logits


def dense_labels(labels: Any, logits_shape: tuple[int, ...], k: int) -> jax.Array:
  """Estimator's ``check_dense_labels_match_logits_and_reshape``.

  Labels of rank ``rank(logits) - 1`` gain a trailing axis; the result has shape
  ``logits_shape[:-1] + (k,)``.
  """
  if labels is None:
    raise ValueError('You must provide a labels Tensor. Given: None. Suggested Fix: check that '
                     'labels are given in TRAIN and EVAL modes.')
  labels = jnp.asarray(labels)
  if labels.ndim == len(logits_shape) - 1:
    labels = labels[..., None]
  if labels.ndim < 2:
    raise ValueError(f'labels must have rank at least 2.  Received rank {labels.ndim}, '
                     f'shape {labels.shape}')
  if labels.shape[-1] != k:
    raise ValueError(f'Mismatched label shape. Expected labels dimension={k}.  Received '
                     f'{labels.shape[-1]}. Suggested Fix: If your classifier expects one-hot '
                     f'encoding label, check your n_classes argument to the estimator and/or the '
                     f'shape of your label. Otherwise, check the shape of your label.')
  expected = tuple(logits_shape[:-1]) + (k,)
  if labels.shape != expected:
    raise ValueError(f'labels shape must be [D0, D1, ... DN, {k}]. Suggested Fix: check your '
                     f'n_classes argument to the head and/or the shape of your label. '
                     f'expected_labels_shape: {expected}. labels_shape: {labels.shape}.')
  return labels


def label_range(labels: jax.Array, high: int, *, message: str | None = None) -> jax.Array:
  """Estimator's ``check_label_range``: labels in ``[0, high]``, floats allowed.

  Returns the validity of each label, for the unchecked ``jit`` path.
  """
  check_values(jnp.all(labels <= high), message or f'Labels must be <= n_classes - 1 = {high}')
  check_values(jnp.all(labels >= 0), message or 'Labels must be >= 0')
  return (labels >= 0) & (labels <= high)


def per_row(ok: jax.Array) -> jax.Array:
  """Validity of the elements of rows, ``[R]`` or ``[R, width]``, as validity of the rows ``[R]``."""
  return ok if ok.ndim == 1 else jnp.all(ok, axis=-1)


def integer_labels(labels: jax.Array) -> jax.Array:
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise ValueError(f'Labels dtype should be integer. Instead got {labels.dtype}.')
  return labels


def prediction_keys(keys: Sequence[str] | None, valid: Sequence[str],
                    numeric: Mapping[str, Any]) -> tuple[str, ...]:
  """The numeric prediction keys to return for a request of ``keys``.

  ``None`` or an empty list mean all keys. ``valid`` lists every key of the
  head, string keys included; a requested string key (``'classes'``) brings the
  numeric key it is decoded from (``class_ids``; ``probabilities`` for heads
  without class ids). ``numeric`` holds the head's numeric predictions.
  """
  if isinstance(keys, str):
    keys = [keys]
  for key in keys or ():
    if key not in valid:
      raise ValueError(f'Prediction key must be in PredictionKeys, given: {key}. Valid '
                       f'prediction keys include {list(valid)}.')
  wanted = set()
  for key in keys or valid:
    source = STRING_KEY_SOURCES.get(key, key)
    wanted.add(source if source in numeric else PredictionKeys.PROBABILITIES)
  return tuple(k for k in valid if k in wanted)


def row_mask(mask: Any, logits_shape: tuple[int, ...]) -> jax.Array | None:
  """A head's ``mask`` argument as bool ``[D0, ..., DK, 1, ...]``, broadcastable to ``[D0, ..., DN, 1]``.

  ``mask`` has the shape of a prefix ``[D0, ..., DK]`` of the batch shape
  ``[D0, ..., DN]`` and is broadcast over the remaining axes.
  """
  if mask is None:
    return None
  mask = jnp.asarray(mask)
  batch_shape = tuple(logits_shape[:-1])
  if mask.ndim == 0 or mask.shape != batch_shape[:mask.ndim]:
    raise ValueError(f'mask must have the shape of the batch [D0, ..., DN] = {batch_shape} or of '
                     f'a prefix of it; got shape {mask.shape}.')
  return (mask != 0).reshape(mask.shape + (1,) * (len(logits_shape) - mask.ndim))


def without_string_features(features: Any) -> Any:
  """String-valued features become None (strings cannot enter ``jit``; heads never read them)."""
  if not isinstance(features, Mapping):
    return features
  return {k: None if is_string_array(v) else v for k, v in features.items()}


def is_string_array(values: Any) -> bool:
  """Whether ``values`` holds strings (a host value: str/bytes, or arrays and lists of them)."""
  if isinstance(values, (str, bytes)):
    return True
  if isinstance(values, (jax.Array, jax.core.Tracer)) or values is None:
    return False
  if isinstance(values, np.ndarray):
    return values.dtype.kind in 'USO' and (values.size == 0 or values.dtype.kind != 'O' or
                                            isinstance(values.flat[0], (str, bytes)))
  if isinstance(values, (list, tuple)):
    first = next((v for v in values if not isinstance(v, (list, tuple)) or v), None)
    return first is not None and is_string_array(first)
  return False
