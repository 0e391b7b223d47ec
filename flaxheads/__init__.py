"""flaxheads: Estimator heads for JAX.

A head knows, given a model's logits, the loss, the predictions and the
evaluation metrics, exactly as ``tf.estimator`` heads compute them, as pure
jittable functions with immutable configuration and additive metric state.

Example:
  >>> import jax.numpy as jnp
  >>> import flaxheads as fh
  >>> head = fh.BinaryClassHead(thresholds=[0.3])
  >>> logits, labels = jnp.array([[1.], [-2.]]), jnp.array([1, 0])
  >>> state = head.update_metrics(head.metrics(), None, logits, labels)
  >>> sorted(fh.metrics.results(state))[:3]
  ['accuracy', 'accuracy/positive_threshold_0.3', 'accuracy_baseline']
"""

from flaxheads import losses
from flaxheads import metrics
from flaxheads._src.base import Head
from flaxheads._src.binary_class import BinaryClassHead
from flaxheads._src.checks import checked
from flaxheads._src.keys import LossReduction, MetricKeys, ModeKeys, PredictionKeys, SignatureKeys
from flaxheads._src.multi_class import MultiClassHead
from flaxheads._src.multi_head import MultiHead
from flaxheads._src.multi_label import MultiLabelHead
from flaxheads._src.regression import LogisticRegressionHead, PoissonRegressionHead, RegressionHead
from flaxheads._src.sequential_head import SequentialHeadWrapper
from flaxheads._src.training import PredictOutput, StepOutput, TrainState, eval_step, predict_step, train_step

__version__ = '0.1.0'

__all__ = (
    'BinaryClassHead',
    'Head',
    'LogisticRegressionHead',
    'LossReduction',
    'MetricKeys',
    'ModeKeys',
    'MultiClassHead',
    'MultiHead',
    'MultiLabelHead',
    'PoissonRegressionHead',
    'PredictOutput',
    'PredictionKeys',
    'RegressionHead',
    'SequentialHeadWrapper',
    'SignatureKeys',
    'StepOutput',
    'TrainState',
    'checked',
    'eval_step',
    'losses',
    'metrics',
    'predict_step',
    'train_step',
)
