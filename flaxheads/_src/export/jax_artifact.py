"""The ``jax.export`` artifact: a prediction function with a symbolic batch size, and the JSON beside it.

The artifact is self-contained (the variables are constants in it): in any
process with a compatible ``jax``, ``jax.export.deserialize(data).call(...)``
returns the head's numeric predictions, with no flaxheads installed. Two
functions are exported this way: the predictions of **raw features** through a
model (:func:`jax_export`), and the predictions of **raw margins**, the logits
a boosted-trees library computes (:func:`margins_jax_export`). A JSON file
beside the artifact records how to call it and what it returns.
"""

from __future__ import annotations

import functools
import json
import pathlib
from collections.abc import Callable, Sequence
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


def margins_specs(head, batch: Any) -> tuple[jax.ShapeDtypeStruct]:
  """The raw margins, float32 ``[batch, head.logits_dimension]``."""
  return (jax.ShapeDtypeStruct((batch, head.logits_dimension), jnp.float32),)


def export_batched(fn: Callable[..., Any], specs: Callable[[Any], Sequence[jax.ShapeDtypeStruct]], *,
                   platforms: Sequence[str] = ('cpu',)) -> jax.export.Exported:
  """``fn`` exported with ``jax.export`` for any batch size.

  Args:
    fn: the function to export; whatever it closes over becomes constants.
    specs: ``specs(batch)`` gives the shapes and dtypes of ``fn`` 's arguments
      for a batch size ``batch`` (here the symbolic dimension ``'batch'``).
    platforms: the platforms to lower for (``'cpu'``, ``'cuda'``, ``'rocm'``, ``'tpu'``).

  Example:
    >>> exported = export_batched(lambda x: {'twice': 2 * x},
    ...                           lambda b: (jax.ShapeDtypeStruct((b, 3), jnp.float32),))
    >>> exported.call(jnp.ones((5, 3)))['twice'].shape
    (5, 3)
  """
  (batch,) = jax.export.symbolic_shape('batch')
  return jax.export.export(jax.jit(fn), platforms=tuple(platforms))(*specs(batch))


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
  return export_batched(lambda *args: fn(variables, *args), functools.partial(input_specs, inputs),
                        platforms=platforms)


def margins_jax_export(head, *, platforms: Sequence[str] = ('cpu',)) -> jax.export.Exported:
  """The head's predictions of raw margins (logits), exported with ``jax.export`` for any batch size.

  Args:
    head: a single-task flaxheads head.
    platforms: the platforms to lower for.

  Returns:
    The ``jax.export.Exported``; ``.call(margins)`` (float32 ``[batch,
    logits_dimension]``) gives the head's numeric predictions, keyed as its
    ``predict`` signature.

  Example:
    >>> import flaxheads as fh, numpy as np
    >>> exported = margins_jax_export(fh.MultiClassHead(3))
    >>> exported.call(np.zeros((2, 3), np.float32))['class_ids'].shape
    (2, 1)
  """
  return export_batched(inputs_lib.margins_prediction_fn(head), functools.partial(margins_specs, head),
                        platforms=platforms)


def describe(exported: jax.export.Exported, arguments: Sequence[str], **fields: Any) -> dict[str, Any]:
  """The JSON beside an artifact: how to call it (``arguments``), ``fields``, what it returns, where it runs."""
  outputs = jax.tree_util.tree_unflatten(exported.out_tree, exported.out_avals)
  return {
      'call': f'jax.export.deserialize(data).call({", ".join(a.partition(":")[0] for a in arguments)})',
      'inputs': list(arguments),
      **fields,
      'outputs': {k: {'dtype': str(v.dtype), 'shape': [str(d) for d in v.shape]} for k, v in outputs.items()},
      'platforms': list(exported.platforms),
      'calling_convention_version': exported.calling_convention_version,
      'jax_version': jax.__version__,
  }


def metadata(exported: jax.export.Exported, inputs: inputs_lib.InputSpec) -> dict[str, Any]:
  """The JSON beside the artifact of :func:`jax_export`: the raw inputs, their standardisation, the outputs."""
  args = ['x: float32 [batch, num_features], raw features in feature_names order']
  if inputs.sequence_length is not None:
    args = [f'x: float32 [batch, {inputs.sequence_length}, num_features], raw features per step',
            'lengths: int32 [batch], the valid steps of each sequence']
  return describe(exported, args, **inputs.metadata())


def write(exported: jax.export.Exported, description: dict[str, Any], directory: pathlib.Path) -> pathlib.Path:
  """Writes the serialized artifact and its JSON ``description`` into ``directory``; returns the artifact's path."""
  directory.mkdir(parents=True, exist_ok=True)
  path = directory / ARTIFACT
  path.write_bytes(exported.serialize())
  (directory / METADATA).write_text(json.dumps(description, indent=1) + '\n')
  return path
