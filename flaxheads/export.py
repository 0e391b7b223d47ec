"""Served models: a TF SavedModel with Estimator's signatures, and a ``jax.export`` artifact.

:func:`export` writes ``<export_dir>/<unix timestamp>/``: a SavedModel whose
signatures are those Estimator's
``export_saved_model(build_parsing_serving_input_receiver_fn(...))`` writes
for the head (``serving_default``, ``classification``, ``regression``,
``predict``; per head for a ``MultiHead``), taking serialized ``tf.Example`` s
of raw feature values, and in ``assets.extra/`` the prediction function
serialized with ``jax.export`` (symbolic batch size) and a JSON describing it.
The model's standardisation is part of both. TensorFlow (the ``export``
extra, ``pip install 'flaxheads[export]'``) is needed for the SavedModel only
and imported when one is written; :func:`jax_export` needs JAX alone.

Boosted trees have no SavedModel: :func:`export_booster` writes the booster in
its library's own format (XGBoost JSON, LightGBM text) and the head's
predictions of the booster's raw margins as a ``jax.export`` artifact
(:func:`margins_jax_export`), with a JSON describing both; no TensorFlow.

Example:
  >>> import numpy as np, flaxheads as fh
  >>> from flaxheads import export
  >>> head = fh.RegressionHead()
  >>> apply_fn = lambda variables, features: features['x'] @ variables['w']
  >>> inputs = export.InputSpec(('age', 'bmi'), mean=[50., 25.], std=[10., 5.])
  >>> exported = export.jax_export(head, apply_fn, {'w': np.ones((2, 1), np.float32)}, inputs)
  >>> exported.call(np.array([[60., 30.]], np.float32))
  {'predictions': Array([[2.]], dtype=float32)}
"""

from flaxheads._src.export.booster import BoosterExportPaths
from flaxheads._src.export.booster import export_booster
from flaxheads._src.export.inputs import InputSpec
from flaxheads._src.export.inputs import prediction_fn
from flaxheads._src.export.jax_artifact import jax_export
from flaxheads._src.export.jax_artifact import margins_jax_export
from flaxheads._src.export.signatures import Signature
from flaxheads._src.export.signatures import plan as signatures
from flaxheads._src.export.writer import ExportPaths
from flaxheads._src.export.writer import export

__all__ = ('BoosterExportPaths', 'ExportPaths', 'InputSpec', 'Signature', 'export', 'export_booster', 'jax_export',
           'margins_jax_export', 'prediction_fn', 'signatures')
