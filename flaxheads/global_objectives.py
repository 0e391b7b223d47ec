"""Global objectives: losses that optimise a whole-dataset metric through Lagrange multipliers.

Recall at a fixed precision, precision at a fixed recall, PR-AUC, ROC-AUC, and
TPR/FPR at a fixed FPR/TPR (Eban et al., "Scalable Learning of
Non-Decomposable Objectives", AISTATS 2017), as pure jittable functions with
the math of TensorFlow's ``research/global_objectives``.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from flaxheads import global_objectives as go
  >>> labels, logits = jnp.array([1., 0., 0., 1.]), jnp.array([0.5, -1., 0.3, 2.])
  >>> state = go.init_label_priors(1)
  >>> state, priors = go.update_label_priors(state, labels)
  >>> def objective(logits, lambdas):
  ...   loss, _ = go.recall_at_precision_loss(labels, logits, 0.9, lambdas=lambdas,
  ...                                         label_priors=priors)
  ...   return loss.mean()
  >>> grads = jax.grad(objective, argnums=(0, 1))(logits, jnp.ones(1))
  >>> bool(grads[1][0] < 0)   # a minimising step raises the multiplier: precision is short of 0.9
  True
"""

from flaxheads._src.global_objectives.head_training import WithGlobalObjective, with_global_objective
from flaxheads._src.global_objectives.losses import (
    false_positive_rate_at_true_positive_rate_loss,
    precision_at_recall_loss,
    precision_recall_auc_loss,
    recall_at_precision_loss,
    roc_auc_loss,
    true_positive_rate_at_false_positive_rate_loss,
)
from flaxheads._src.global_objectives.modules import (
    GlobalObjectiveLoss,
    LabelPriorCounts,
    NNXGlobalObjectiveLoss,
)
from flaxheads._src.global_objectives.objectives import (
    ROCAUC,
    FalsePositiveRateAtTruePositiveRate,
    Objective,
    PrecisionAtRecall,
    PrecisionRecallAUC,
    RecallAtPrecision,
    TruePositiveRateAtFalsePositiveRate,
    parse,
)
from flaxheads._src.global_objectives.priors import (
    LabelPriorsState,
    init_label_priors,
    label_priors,
    update_label_priors,
)
from flaxheads._src.global_objectives.surrogates import (
    dual_value,
    false_positives_upper_bound,
    true_positives_lower_bound,
    weighted_hinge,
    weighted_sigmoid_cross_entropy,
    weighted_surrogate,
)

__all__ = (
    'FalsePositiveRateAtTruePositiveRate',
    'GlobalObjectiveLoss',
    'LabelPriorCounts',
    'LabelPriorsState',
    'NNXGlobalObjectiveLoss',
    'Objective',
    'PrecisionAtRecall',
    'PrecisionRecallAUC',
    'ROCAUC',
    'RecallAtPrecision',
    'TruePositiveRateAtFalsePositiveRate',
    'WithGlobalObjective',
    'dual_value',
    'false_positive_rate_at_true_positive_rate_loss',
    'false_positives_upper_bound',
    'init_label_priors',
    'parse',
    'label_priors',
    'precision_at_recall_loss',
    'precision_recall_auc_loss',
    'recall_at_precision_loss',
    'roc_auc_loss',
    'true_positive_rate_at_false_positive_rate_loss',
    'true_positives_lower_bound',
    'update_label_priors',
    'weighted_hinge',
    'weighted_sigmoid_cross_entropy',
    'weighted_surrogate',
    'with_global_objective',
)
