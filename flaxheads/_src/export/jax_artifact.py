"""The ``jax.export`` artifact: the prediction function of raw features, with a symbolic batch size.

The artifact is self-contained (the variables are constants in it): in any
process with a compatible ``jax``, ``jax.export.deserialize(data).call(x)``
returns the head's numeric predictions, with no flaxheads installed. A JSON
file beside it records the feature order, the standardisation and the outputs.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from flaxheads._src.export import inputs as inputs_lib

ARTIFACT, METADATA = 'predict.jax_export', 'predict.json'


def input_specs(inputs: inputs_lib.InputSpec, batch: Any) -> tuple[jax.ShapeDtypeStruct, ...]:
  """``x`` (and ``lengths`` for sequences) with batch size ``batch`` (an int or a symbolic dimension)."""
  if inputs.sequence_length is None:
    return (jax.ShapeDtypeStruct((batch, inputs.num_features), jnp.float32),)
  return (jax.ShapeDtypeStruct((batch, inputs.sequence_length, inputs.num_features), jnp.float32),
          jax.ShapeDtypeStruct((batch,), jnp.int32))


def jax_export(head, apply_fn: inputs_lib.ApplyFn, variables: Any, inputs: inputs_lib.InputSpec, *,
               platforms: Sequence[str] = ('cpu',)) -> jax.export.Exported:
  """The head's predictions of raw features, exported with ``jax.export`` for any batch size.

  Args:
    head: a flaxheads head.
    apply_fn: ``apply_fn(variables, features) -> logits`` in inference mode; the
      features dict holds the standardized inputs under ``inputs.key`` (and the
      mask for sequence heads).
    variables: the model's variables, every collection (params, batch statistics).
    inputs: the input description.
    platforms: the platforms to lower for (``'cpu'``, ``'cuda'``, ``'rocm'``, ``'tpu'``).

  Returns:
    The ``jax.export.Exported``; ``.serialize()`` gives the bytes to store, and
    ``.call(x)`` (``x`` float32 ``[batch, num_features]``; plus ``lengths``
    int32 ``[batch]`` for sequences) the predictions keyed as the ``predict``
    signature.

  Example:
    >>> import flaxheads as fh, numpy as np
    >>> apply_fn = lambda v, features: features['x'] @ v['w']
    >>> exported = jax_export(fh.BinaryClassHead(), apply_fn, {'w': np.ones((2, 1), np.float32)},
    ...                       inputs_lib.InputSpec(('a', 'b')))
    >>> restored = jax.export.deserialize(exported.serialize())
    >>> restored.call(np.zeros((3, 2), np.float32))['probabilities'].shape
    (3, 2)
  """
  fn = inputs_lib.prediction_fn(head, apply_fn, inputs)
  (batch,) = jax.export.symbolic_shape('batch')
  call = jax.jit(lambda *args: fn(variables, *args))
  return jax.export.export(call, platforms=tuple(platforms))(*input_specs(inputs, batch))


def metadata(exported: jax.export.Exported, inputs: inputs_lib.InputSpec) -> dict[str, Any]:
  """The JSON beside the artifact: how to call it and what it returns."""
  outputs = jax.tree_util.tree_unflatten(exported.out_tree, exported.out_avals)
  args = ['x: float32 [batch, num_features], raw features in feature_names order']
  if inputs.sequence_length is not None:
    args = [f'x: float32 [batch, {inputs.sequence_length}, num_features], raw features per step',
            'lengths: int32 [batch], the valid steps of each sequence']
  return {
      'call': 'jax.export.deserialize(data).call(*inputs)',
      'inputs': args,
      **inputs.metadata(),
      'outputs': {k: {'dtype': str(v.dtype), 'shape': [str(d) for d in v.shape]} for k, v in outputs.items()},
      'platforms': list(exported.platforms),
      'calling_convention_version': exported.calling_convention_version,
      'jax_version': jax.__version__,
  }


def write(exported: jax.export.Exported, inputs: inputs_lib.InputSpec, directory: pathlib.Path) -> pathlib.Path:
  """Writes the serialized artifact and its JSON into ``directory``; returns the artifact's path."""
  directory.mkdir(parents=True, exist_ok=True)
  path = directory / ARTIFACT
  path.write_bytes(exported.serialize())
  (directory / METADATA).write_text(json.dumps(metadata(exported, inputs), indent=1) + '\n')
  return path
