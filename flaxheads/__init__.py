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
from flaxheads._src.binary_class import BinaryClassHead
from flaxheads._src.checks import checked
from flaxheads._src.head import Head
from flaxheads._src.keys import LossReduction, MetricKeys, ModeKeys, PredictionKeys, SignatureKeys
from flaxheads._src.loss_terms import CombinedLossTerms, LossTerms
from flaxheads._src.multi_class import MultiClassHead
from flaxheads._src.multi_head import MultiHead
from flaxheads._src.multi_label import MultiLabelHead
from flaxheads._src.regression import LogisticRegressionHead, PoissonRegressionHead, RegressionHead
from flaxheads._src.sequential_head import SequentialHeadWrapper
from flaxheads._src.single_head import SingleHead
from flaxheads._src.steps import (Gradients, NonFiniteLossError, PredictOutput, StepOutput, apply_gradients,
                                  combine_across_devices, eval_step, keep_if_finite, loss_and_grads, predict_step,
                                  raise_if_nonfinite, record_nonfinite, train_step)
from flaxheads._src.train_state import TrainState

__version__ = '0.1.0'

__all__ = (
    'BinaryClassHead',
    'CombinedLossTerms',
    'Gradients',
    'Head',
    'LogisticRegressionHead',
    'LossReduction',
    'LossTerms',
    'MetricKeys',
    'ModeKeys',
    'MultiClassHead',
    'MultiHead',
    'MultiLabelHead',
    'NonFiniteLossError',
    'PoissonRegressionHead',
    'PredictOutput',
    'PredictionKeys',
    'RegressionHead',
    'SequentialHeadWrapper',
    'SignatureKeys',
    'SingleHead',
    'StepOutput',
    'TrainState',
    'apply_gradients',
    'checked',
    'combine_across_devices',
    'eval_step',
    'keep_if_finite',
    'loss_and_grads',
    'losses',
    'metrics',
    'predict_step',
    'raise_if_nonfinite',
    'record_nonfinite',
    'train_step',
)
