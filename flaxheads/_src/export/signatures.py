"""Estimator's serving signatures of a head, as a plan the SavedModel writer follows.

``head.export_outputs`` gives the numeric content of every signature; Estimator
also renames and retypes it for serving: ``classification`` signatures hold the
class **strings** (``classes``) and ``scores``, ``regression`` signatures
``outputs``, ``predict`` signatures every prediction plus ``classes`` /
``all_classes`` strings, with ``class_ids`` as int64. This module works that
out from the public head API (no TensorFlow), so the plan can be checked on
its own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from flaxheads._src.keys import PredictionKeys, SignatureKeys
from flaxheads._src.multi_head import MultiHead
from flaxheads._src.sequential_head import SequentialHeadWrapper

CLASSIFY, REGRESS, PREDICT = 'classify', 'regress', 'predict'
METHOD_NAMES = {CLASSIFY: 'tensorflow/serving/classify', REGRESS: 'tensorflow/serving/regress',
                PREDICT: 'tensorflow/serving/predict'}
EXAMPLES_INPUT = {CLASSIFY: 'inputs', REGRESS: 'inputs', PREDICT: 'examples'}  # serialized tf.Example
SEQUENCES, LENGTHS = 'sequences', 'lengths'  # the dense inputs of sequence models
_K = PredictionKeys
_INT64 = {_K.CLASS_IDS}  # Estimator's argmax ids are int64; all_class_ids stay int32


@dataclasses.dataclass(frozen=True)
class Output:
  """One output tensor of a signature.

  ``source`` is ``(signature, key)`` in ``head.export_outputs``; ``kind`` is
  ``'numeric'`` (cast to ``dtype``), ``'strings'`` (``vocabulary`` gathered at
  the ids of ``source``) or ``'vocabulary'`` (the whole vocabulary for every
  example; ``source`` gives the batch size).
  """

  key: str
  source: tuple[str, str]
  kind: str
  dtype: str
  vocabulary: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Signature:
  name: str
  method: str  # CLASSIFY, REGRESS or PREDICT
  outputs: tuple[Output, ...]

  @property
  def method_name(self) -> str:
    return METHOD_NAMES[self.method]


def vocabulary(head) -> tuple[str, ...] | None:
  """The class strings a single head decodes ids to (``None`` for regression heads)."""
  probe = head.predictions(np.zeros((1, head.logits_dimension), np.float32))
  decoded = head.decode_predictions(probe)
  names = decoded.get(_K.ALL_CLASSES, decoded.get(_K.CLASSES))
  return None if names is None else tuple(str(n) for n in np.asarray(names)[0])


def _single_heads(head) -> dict[str | None, Any]:
  """``{head name or None: single head}``: the sub-heads of a MultiHead, the static head of a wrapper."""
  if isinstance(head, MultiHead):
    return {h.name: _single(h) for h in head.heads}
  return {None: _single(head)}


def _single(head):
  if isinstance(head, MultiHead):
    raise ValueError('export supports MultiHead sub-heads that are single or sequential heads, '
                     f'got a nested {type(head).__name__}')
  return head.static_head if isinstance(head, SequentialHeadWrapper) else head


def _split(key: str, names) -> tuple[str | None, str]:
  """``'digit/class_ids'`` -> ``('digit', 'class_ids')`` for MultiHead keys; ``(None, key)`` otherwise."""
  if None in names:
    return None, key
  name, _, rest = key.partition('/')
  return name, rest


def plan(head, outputs: dict[str, dict[str, Any]]) -> tuple[Signature, ...]:
  """The signatures Estimator exports for ``head``, given its ``export_outputs`` (arrays or shapes).

  Example:
    >>> import flaxheads as fh
    >>> head = fh.MultiClassHead(3, label_vocabulary=('a', 'b', 'c'))
    >>> [(s.name, s.method) for s in plan(head, head.export_outputs(np.zeros((1, 3), np.float32)))]
    [('classification', 'classify'), ('predict', 'predict'), ('serving_default', 'classify')]
  """
  heads = _single_heads(head)
  vocabularies = {name: vocabulary(h) for name, h in heads.items()}
  signatures = []
  for name in sorted(outputs):
    content = outputs[name]
    if name == SignatureKeys.PREDICT or name.endswith('/' + SignatureKeys.PREDICT):
      owner = None if name == SignatureKeys.PREDICT else name.rpartition('/')[0]  # a sub-head's own
      signatures.append(Signature(name, PREDICT, _predict_outputs(name, content, vocabularies, owner)))
      continue
    owner = next(iter(heads)) if name == SignatureKeys.SERVING_DEFAULT else _split(name, heads)[0]
    if set(content) == {'classes', 'scores'}:
      out = (Output('classes', (name, 'classes'), 'strings', 'string', vocabularies[owner]),
             Output('scores', (name, 'scores'), 'numeric', 'float32'))
      signatures.append(Signature(name, CLASSIFY, out))
    elif set(content) == {'value'}:
      signatures.append(Signature(name, REGRESS, (Output('outputs', (name, 'value'), 'numeric', 'float32'),)))
    else:
      raise ValueError(f'export: signature {name!r} has outputs {sorted(content)}; expected classes and '
                       'scores, or value')
  return tuple(signatures)


def _predict_outputs(name: str, content: dict[str, Any], vocabularies, owner: str | None) -> tuple[Output, ...]:
  """The ``predict`` outputs; ``owner`` names the sub-head of a per-head signature (unprefixed keys)."""
  out = []
  for key, value in content.items():
    head_name, own = (owner, key) if owner is not None else _split(key, vocabularies)
    dtype = 'int64' if own in _INT64 else np.dtype(value.dtype).name
    out.append(Output(key, (name, key), 'numeric', dtype))
    names = vocabularies.get(head_name)
    prefix = '' if head_name is None or owner is not None else f'{head_name}/'
    if names is None:
      continue
    if own == _K.CLASS_IDS:
      out.append(Output(prefix + _K.CLASSES, (name, key), 'strings', 'string', names))
    elif own == _K.ALL_CLASS_IDS:
      out.append(Output(prefix + _K.ALL_CLASSES, (name, key), 'strings', 'string', names))
    elif own == _K.PROBABILITIES and prefix + _K.CLASS_IDS not in content:  # multi-label: every class
      out.append(Output(prefix + _K.CLASSES, (name, key), 'vocabulary', 'string', names))
  return tuple(sorted(out, key=lambda o: o.key))


def sequence_plan(head, outputs: dict[str, dict[str, Any]]) -> tuple[Signature, ...]:
  """Sequence heads: ``predict`` (and ``serving_default``, the same) over dense sequence inputs."""
  predict = plan(head, {SignatureKeys.PREDICT: outputs[SignatureKeys.PREDICT]})[0]
  return (predict, dataclasses.replace(predict, name=SignatureKeys.SERVING_DEFAULT))
