"""Hand-derived expectations of tf.estimator's own head unit tests, for flaxheads.

The inputs and expected numbers follow tensorflow_estimator's
``head/{binary_class,multi_class,multi_label,regression}_head_test.py``; only
the eager checks of numbers (losses, predictions, metric results) are kept.
Where an Estimator test compared a rounded or approximated number (for
example ``cross_entropy([10, 0, 0], 1) ~ 10``) under a loose tolerance, the
expectation here is the exact closed form, checked tightly. AUC values that
Estimator's tests only give to three or four digits keep Estimator's own
tolerance; they are listed per test in ``loose``.
"""

import math

import numpy as np
import pytest

import flaxheads as fh

K = fh.MetricKeys
P = fh.PredictionKeys
ModeKeys = fh.ModeKeys

LOSS_RTOL = 1e-5
METRIC_RTOL = 1e-4
ATOL = 1e-6  # for expectations that are exactly 0

# Estimator's tests pass an unrelated feature along; heads must ignore it.
X = {'x': np.array([[42]], np.int32)}


# ---------------------------------------------------------------- helpers


def sigmoid(x):
  return 1. / (1. + np.exp(-np.asarray(x, np.float64)))


def sce(labels, logits):
  """Element-wise sigmoid cross-entropy, in float64."""
  x, z = np.asarray(logits, np.float64), np.asarray(labels, np.float64)
  return np.maximum(x, 0.) - x * z + np.log1p(np.exp(-np.abs(x)))


def softmax_ce(class_ids, logits):
  """Softmax cross-entropy of integer class ids ``[..., 1]``: ``[..., 1]``."""
  x = np.asarray(logits, np.float64)
  m = x.max(axis=-1, keepdims=True)
  log_z = m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
  return log_z - np.take_along_axis(x, np.asarray(class_ids), axis=-1)


def evaluate(head, logits, labels, features=None, regularization_losses=None):
  """Streams one batch through the head's metrics; returns ``{key: float}``."""
  state = head.metrics(regularization_losses=regularization_losses)
  state = head.update_metrics(state, features, logits, labels,
                              regularization_losses=regularization_losses)
  return {k: float(v) for k, v in fh.metrics.results(state).items()}


def assert_metrics(actual, expected, loose=None):
  """Same keys; values within METRIC_RTOL, or within ``loose[key]`` (rtol = atol)."""
  loose = loose or {}
  assert sorted(actual) == sorted(expected)
  for key, value in expected.items():
    tol = loose.get(key)
    if tol is None:
      np.testing.assert_allclose(actual[key], value, rtol=METRIC_RTOL, atol=ATOL, err_msg=key)
    else:
      np.testing.assert_allclose(actual[key], value, rtol=tol, atol=tol, err_msg=key)


def assert_loss(actual, expected):
  np.testing.assert_allclose(np.asarray(actual), expected, rtol=LOSS_RTOL, atol=ATOL)


def stirling(z):
  """Stirling's ln(z!) as log_poisson_loss uses it: 0 for z <= 1."""
  z = np.asarray(z, np.float64)
  safe = np.maximum(z, 1.)
  return np.where(z > 1., safe * np.log(safe) - safe + 0.5 * np.log(2. * np.pi * safe), 0.)


# ---------------------------------------------------------------- BinaryClassHead

# Shared by several Estimator binary tests: two positives, logits 45 and -41.
BIN_LOGITS = np.array([[45.], [-41.]], np.float32)
BIN_LABELS = np.array([[1], [1]], np.int32)
# sce = [log1p(e^-45), 41 + log1p(e^-41)] = [0, 41]; loss = 41/2
BIN_LOSS = 20.5
BIN_METRICS = {
    K.LOSS_MEAN: BIN_LOSS,
    K.ACCURACY: 1. / 2,  # class_ids [1, 0]
    K.PRECISION: 1.,
    K.RECALL: 1. / 2,
    K.PREDICTION_MEAN: 1. / 2,  # (sigmoid(45) + sigmoid(-41))/2
    K.LABEL_MEAN: 1.,
    K.ACCURACY_BASELINE: 1.,
    K.AUC: 0.,  # no negatives: FPR is 0 everywhere
    K.AUC_PR: 1.,
}


def test_binary_predict():
  head = fh.BinaryClassHead()
  assert head.logits_dimension == 1
  logits = np.array([[0.3], [-0.4]], np.float32)
  keys = [P.LOGITS, P.LOGISTIC, P.PROBABILITIES, P.CLASS_IDS, P.CLASSES, P.ALL_CLASS_IDS,
          P.ALL_CLASSES]
  preds = head.decode_predictions(head.predictions(logits, keys))
  # logistic = sigmoid([0.3, -0.4]) = [0.574443, 0.401312]
  logistic = sigmoid(logits)
  np.testing.assert_allclose(preds[P.LOGITS], logits, rtol=LOSS_RTOL)
  np.testing.assert_allclose(preds[P.LOGISTIC], logistic, rtol=LOSS_RTOL)
  np.testing.assert_allclose(preds[P.PROBABILITIES], np.concatenate([1 - logistic, logistic], -1),
                             rtol=LOSS_RTOL)
  np.testing.assert_array_equal(preds[P.CLASS_IDS], [[1], [0]])
  np.testing.assert_array_equal(preds[P.CLASSES], [['1'], ['0']])
  np.testing.assert_array_equal(preds[P.ALL_CLASS_IDS], [[0, 1], [0, 1]])
  np.testing.assert_array_equal(preds[P.ALL_CLASSES], [['0', '1'], ['0', '1']])


def test_binary_predict_with_vocabulary_list():
  head = fh.BinaryClassHead(label_vocabulary=['aang', 'iroh'])
  preds = head.decode_predictions(head.predictions(np.array([[1.], [0.]]), [P.CLASSES]))
  # class 1 iff logit > 0
  np.testing.assert_array_equal(preds[P.CLASSES], [['iroh'], ['aang']])


def test_binary_weighted_multi_example_predict():
  head = fh.BinaryClassHead(weight_column='label_weights')
  logits = np.array([[45], [-41], [44]], np.int32)
  preds = head.decode_predictions(head.predictions(logits, [
      P.LOGITS, P.LOGISTIC, P.PROBABILITIES, P.CLASS_IDS, P.CLASSES]))
  np.testing.assert_allclose(preds[P.LOGITS], logits.astype(np.float32))
  np.testing.assert_allclose(preds[P.LOGISTIC], sigmoid(logits), rtol=LOSS_RTOL, atol=ATOL)
  np.testing.assert_allclose(preds[P.PROBABILITIES], [[0., 1.], [1., 0.], [0., 1.]], atol=ATOL)
  np.testing.assert_array_equal(preds[P.CLASS_IDS], [[1], [0], [1]])
  np.testing.assert_array_equal(preds[P.CLASSES], [['1'], ['0'], ['1']])


def test_binary_eval_create_loss():
  head = fh.BinaryClassHead()
  loss = head.loss(BIN_LABELS, BIN_LOGITS, features=X, mode=ModeKeys.EVAL)
  assert_loss(loss, BIN_LOSS)


def test_binary_eval_create_loss_loss_fn():
  per_example = np.array([[1.], [2.]], np.float32)
  logits = np.array([[-10.], [10.]], np.float32)
  labels = np.array([[1], [0]], np.int32)

  def loss_fn(labels, logits):
    np.testing.assert_array_equal(labels, [[1.], [0.]])
    np.testing.assert_array_equal(logits, [[-10.], [10.]])
    return per_example

  head = fh.BinaryClassHead(loss_fn=loss_fn)
  # loss = (1 + 2)/2
  assert_loss(head.loss(labels, logits, features=X, mode=ModeKeys.EVAL), 1.5)


def test_binary_eval():
  head = fh.BinaryClassHead()
  assert_metrics(evaluate(head, BIN_LOGITS, BIN_LABELS, X), BIN_METRICS)
  assert_loss(head.loss(BIN_LABELS, BIN_LOGITS, features=X, mode=ModeKeys.EVAL), BIN_LOSS)


def test_binary_eval_metric_keys_with_head_name():
  head = fh.BinaryClassHead(name='some_binary_head')
  metrics = evaluate(head, BIN_LOGITS, BIN_LABELS, X)
  assert sorted(metrics) == sorted(f'{k}/some_binary_head' for k in BIN_METRICS)


def test_binary_eval_with_regularization_losses():
  head = fh.BinaryClassHead()
  regularization_losses = [1.5, 0.5]
  metrics = evaluate(head, BIN_LOGITS, BIN_LABELS, X, regularization_losses)
  assert_metrics(metrics, {**BIN_METRICS, K.LOSS_REGULARIZATION: 2.})
  # loss = 20.5 + (1.5 + 0.5)
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    loss = head.loss(BIN_LABELS, BIN_LOGITS, features=X, mode=mode,
                     regularization_losses=regularization_losses)
    assert_loss(loss, 22.5)


def test_binary_eval_with_vocabulary_list():
  head = fh.BinaryClassHead(label_vocabulary=['aang', 'iroh'])
  labels = [[b'iroh'], [b'iroh']]
  assert_loss(head.loss(labels, BIN_LOGITS, features=X, mode=ModeKeys.EVAL), BIN_LOSS)
  assert_metrics(evaluate(head, BIN_LOGITS, labels, X), BIN_METRICS)


def test_binary_eval_with_thresholds():
  thresholds = [0.25, 0.5, 0.75]
  head = fh.BinaryClassHead(thresholds=thresholds)
  logits = np.array([[-1.], [1.]], np.float32)
  labels = np.array([[1], [1]], np.int32)
  # probabilities = sigmoid([-1, 1]) = [0.269, 0.731]
  # loss = (-ln(0.269) - ln(0.731))/2 = 1.62652338/2
  loss = float(np.mean(sce(labels, logits)))
  np.testing.assert_allclose(loss, 1.62652338 / 2, rtol=1e-7)
  assert_loss(head.loss(labels, logits, features=X, mode=ModeKeys.EVAL), loss)
  expected = {
      K.LOSS_MEAN: loss,
      K.ACCURACY: 1. / 2,
      K.PRECISION: 1.,
      K.RECALL: 1. / 2,
      K.PREDICTION_MEAN: 1. / 2,  # sigmoid(-1) + sigmoid(1) = 1
      K.LABEL_MEAN: 1.,
      K.ACCURACY_BASELINE: 1.,
      K.AUC: 0.,
      K.AUC_PR: 1.,
      # both predictions > 0.25: all right
      K.ACCURACY_AT_THRESHOLD % 0.25: 1.,
      K.PRECISION_AT_THRESHOLD % 0.25: 1.,
      K.RECALL_AT_THRESHOLD % 0.25: 1.,
      # only 0.731 > 0.5
      K.ACCURACY_AT_THRESHOLD % 0.5: 1. / 2,
      K.PRECISION_AT_THRESHOLD % 0.5: 1.,
      K.RECALL_AT_THRESHOLD % 0.5: 1. / 2,
      # nothing > 0.75: precision 0/0 -> 0
      K.ACCURACY_AT_THRESHOLD % 0.75: 0.,
      K.PRECISION_AT_THRESHOLD % 0.75: 0.,
      K.RECALL_AT_THRESHOLD % 0.75: 0.,
  }
  assert_metrics(evaluate(head, logits, labels, X), expected)


@pytest.mark.parametrize('reduction, expected', [
    (fh.LossReduction.SUM, 41.),  # 0 + 41
    (fh.LossReduction.SUM_OVER_BATCH_SIZE, 20.5),  # (0 + 41)/2
])
def test_binary_train_create_loss_loss_reduction(reduction, expected):
  head = fh.BinaryClassHead(loss_reduction=reduction)
  labels = BIN_LABELS.astype(np.float64)
  assert_loss(head.loss(labels, BIN_LOGITS, X), expected)


def test_binary_train_one_dim_create_loss():
  head = fh.BinaryClassHead(weight_column='label_weights')
  logits = np.array([[45.], [-41.], [44.]], np.float32)
  labels = np.array([1., 1., 0.])
  features = {'x': np.array([[42.], [43.], [44.]], np.float32),
              'label_weights': np.array([1., .1, 1.5])}
  # sce = [0, 41, 44]; loss = (1*0 + .1*41 + 1.5*44)/3 = 70.1/3
  assert_loss(head.loss(labels, logits, features), 70.1 / 3)


def test_binary_float_labels_eval():
  head = fh.BinaryClassHead()
  logits = np.array([[0.5], [-0.3]], np.float32)
  labels = np.array([[0.8], [0.4]], np.float32)
  # sce = [-.8 ln s(.5) - .2 ln s(-.5), -.4 ln s(-.3) - .6 ln s(.3)]
  #     = [0.57407698, 0.67435524]; loss = 1.24843223/2
  expected = 0.62421611432
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    assert_loss(head.loss(labels, logits, features=X, mode=mode), expected)
  metrics = evaluate(head, logits, labels, X)
  np.testing.assert_allclose(metrics[K.LOSS_MEAN], expected, rtol=METRIC_RTOL)


def test_binary_weighted_multi_example_eval():
  head = fh.BinaryClassHead(weight_column='label_weights')
  logits = np.array([[45], [-41], [44]], np.int32)
  labels = np.array([[1], [1], [0]], np.int32)
  features = {'x': np.array([[42], [43], [44]], np.int32),
              'label_weights': np.array([[1.], [.1], [1.5]], np.float32)}
  # weighted sce = (1*0, .1*41, 1.5*44) = (0, 4.1, 66); loss = 70.1/3
  assert_loss(head.loss(labels, logits, features=features, mode=ModeKeys.EVAL), 70.1 / 3)
  label_mean = 1.1 / 2.6  # (1*1 + .1*1 + 1.5*0)/(1 + .1 + 1.5)
  expected = {
      K.LOSS_MEAN: 70.1 / 2.6,
      K.ACCURACY: 1. / 2.6,  # only the first example is right
      K.PRECISION: 1. / 2.5,  # predicted positive: weights 1 (tp) + 1.5 (fp)
      K.RECALL: 1. / 1.1,  # actual positive: weights 1 (tp) + .1 (fn)
      K.PREDICTION_MEAN: 2.5 / 2.6,  # sigmoid = [1, 0, 1]
      K.LABEL_MEAN: label_mean,
      K.ACCURACY_BASELINE: 1. - label_mean,
      K.AUC: .45454565,
      K.AUC_PR: .4010627,
  }
  assert_metrics(evaluate(head, logits, labels, features), expected)


# Logits and labels [2, 2, 1], weights [2, 2].
BIN_MD_LOGITS = np.array([[[10.], [-10.]], [[12.], [-12.]]], np.float32)
BIN_MD_LABELS = np.array([[[0.], [0.]], [[1.], [1.]]])
BIN_MD_WEIGHTS = np.array([[1., 1.5], [2., 2.5]], np.float32)
# sce ~ [[10, 0], [0, 12]]; weighted sum ~ 1*10 + 2.5*12 = 40
BIN_MD_WEIGHTED_SUM = float(np.sum(BIN_MD_WEIGHTS[..., None] * sce(BIN_MD_LABELS, BIN_MD_LOGITS)))


def test_binary_multi_dim_weighted_train_create_loss():
  head = fh.BinaryClassHead(weight_column='weights')
  np.testing.assert_allclose(BIN_MD_WEIGHTED_SUM, 40., rtol=1e-3)
  loss = head.loss(BIN_MD_LABELS, BIN_MD_LOGITS, {'weights': BIN_MD_WEIGHTS}, mode=ModeKeys.TRAIN)
  # loss ~ 40 / (2*2)
  assert_loss(loss, BIN_MD_WEIGHTED_SUM / 4)


def test_binary_multi_dim_weighted_eval():
  head = fh.BinaryClassHead(weight_column='weights')
  features = {'weights': BIN_MD_WEIGHTS}
  loss = head.loss(BIN_MD_LABELS, BIN_MD_LOGITS, features, mode=ModeKeys.EVAL)
  assert_loss(loss, BIN_MD_WEIGHTED_SUM / 4)
  total = 7.  # sum(weights)
  expected = {
      K.LOSS_MEAN: BIN_MD_WEIGHTED_SUM / total,
      K.ACCURACY: (1.5 + 2.) / total,  # class_ids [[1, 0], [1, 0]]
      K.PRECISION: 2. / 3.,  # predicted positive: weights 1 (fp) + 2 (tp)
      K.RECALL: 2. / 4.5,  # actual positive: weights 2 (tp) + 2.5 (fn)
      K.PREDICTION_MEAN: (1. + 2.) / total,
      K.LABEL_MEAN: (2. + 2.5) / total,
      K.ACCURACY_BASELINE: (2. + 2.5) / total,
      K.AUC: 0.5222,
      K.AUC_PR: 0.6582,
  }
  # Estimator gives both AUCs to 4 digits and checks them within 1e-2.
  assert_metrics(evaluate(head, BIN_MD_LOGITS, BIN_MD_LABELS, features), expected,
                 loose={K.AUC: 1e-2, K.AUC_PR: 1e-2})


# ---------------------------------------------------------------- MultiClassHead

MC_LOGITS = np.array([[10., 0., 0.], [0., 10., 0.]], np.float32)
MC_LABELS = np.array([[1], [1]], np.int32)
# ce(logits, label) = logsumexp(logits) - logits[label]
# ce = [10 + log(1 + 2e^-10), log(1 + 2e^-10)] ~ [10, 0]
MC_CE_SMALL = math.log1p(2 * math.exp(-10.))
MC_LOSS = (10. + 2 * MC_CE_SMALL) / 2  # ~ 5
MC_METRICS = {K.LOSS_MEAN: MC_LOSS, K.ACCURACY: 1. / 2}  # class_ids [0, 1]


def test_multi_class_predict():
  head = fh.MultiClassHead(3)
  assert head.logits_dimension == 3
  logits = np.array([[1., 0., 0.], [0., 0., 1.]], np.float32)
  preds = head.decode_predictions(head.predictions(logits))
  # softmax([1, 0, 0]) = [e, 1, 1]/(e + 2) = [0.576117, 0.2119416, 0.2119416]
  e = math.e
  probabilities = [[e / (e + 2), 1 / (e + 2), 1 / (e + 2)], [1 / (e + 2), 1 / (e + 2), e / (e + 2)]]
  np.testing.assert_allclose(preds[P.LOGITS], logits)
  np.testing.assert_allclose(preds[P.PROBABILITIES], probabilities, rtol=LOSS_RTOL)
  np.testing.assert_array_equal(preds[P.CLASS_IDS], [[0], [2]])
  np.testing.assert_array_equal(preds[P.CLASSES], [['0'], ['2']])
  np.testing.assert_array_equal(preds[P.ALL_CLASS_IDS], [[0, 1, 2]] * 2)
  np.testing.assert_array_equal(preds[P.ALL_CLASSES], [['0', '1', '2']] * 2)


def test_multi_class_predict_with_vocabulary_list():
  head = fh.MultiClassHead(3, label_vocabulary=['aang', 'iroh', 'zuko'])
  logits = np.array([[1., 0., 0.], [0., 0., 1.]], np.float32)
  preds = head.decode_predictions(head.predictions(logits, [P.CLASSES, P.ALL_CLASSES]))
  np.testing.assert_array_equal(preds[P.CLASSES], [['aang'], ['zuko']])
  np.testing.assert_array_equal(preds[P.ALL_CLASSES], [['aang', 'iroh', 'zuko']] * 2)


def test_multi_class_eval_create_loss():
  head = fh.MultiClassHead(3)
  assert_loss(head.loss(MC_LABELS, MC_LOGITS, features=X, mode=ModeKeys.EVAL), MC_LOSS)


def test_multi_class_eval_create_loss_loss_fn():
  per_example = np.array([[1.], [2.]], np.float32)
  logits = np.array([[-10., 10., 0.], [-15., 10., 0.]], np.float32)
  labels = np.array([[1], [2]], np.int32)

  def loss_fn(labels, logits):
    np.testing.assert_array_equal(labels, [[1], [2]])
    np.testing.assert_array_equal(logits, [[-10., 10., 0.], [-15., 10., 0.]])
    return per_example

  head = fh.MultiClassHead(3, loss_fn=loss_fn)
  # loss = (1 + 2)/2
  assert_loss(head.loss(labels, logits, features=X, mode=ModeKeys.EVAL), 1.5)


def test_multi_class_eval():
  head = fh.MultiClassHead(3)
  assert_metrics(evaluate(head, MC_LOGITS, MC_LABELS, X), MC_METRICS)
  assert_loss(head.loss(MC_LABELS, MC_LOGITS, features=X, mode=ModeKeys.EVAL), MC_LOSS)


def test_multi_class_eval_metric_keys_with_head_name():
  head = fh.MultiClassHead(3, name='some_multiclass_head')
  metrics = evaluate(head, MC_LOGITS, MC_LABELS, X)
  assert sorted(metrics) == sorted(f'{k}/some_multiclass_head' for k in MC_METRICS)


def test_multi_class_eval_with_regularization_losses():
  head = fh.MultiClassHead(3)
  regularization_losses = [1.5, 0.5]
  metrics = evaluate(head, MC_LOGITS, MC_LABELS, X, regularization_losses)
  assert_metrics(metrics, {**MC_METRICS, K.LOSS_REGULARIZATION: 2.})
  # loss ~ 5 + (1.5 + 0.5)
  loss = head.loss(MC_LABELS, MC_LOGITS, features=X, mode=ModeKeys.EVAL,
                   regularization_losses=regularization_losses)
  assert_loss(loss, MC_LOSS + 2.)


def test_multi_class_eval_with_label_vocabulary():
  head = fh.MultiClassHead(3, label_vocabulary=['aang', 'iroh', 'zuko'])
  logits = [[10., 0, 0], [0, 10, 0]]
  labels = [[b'iroh'], [b'iroh']]
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    assert_loss(head.loss(labels, logits, features=X, mode=mode), MC_LOSS)
  assert_metrics(evaluate(head, logits, labels, X), MC_METRICS)
  # The same with the labels encoded on the host first.
  np.testing.assert_array_equal(head.encode_labels(labels), [[1], [1]])
  assert_metrics(evaluate(head, logits, head.encode_labels(labels), X), MC_METRICS)


# Three examples: logits one-hot 10 at classes 0, 1, 2; labels 1, 2, 2; weights 1, 2, 3.
MC3_LOGITS = np.array([[10., 0., 0.], [0., 10., 0.], [0., 0., 10.]], np.float32)
MC3_LABELS = np.array([[1], [2], [2]], np.int32)
# ce ~ [10, 10, 0]; weighted sum ~ 1*10 + 2*10 + 3*0 = 30
MC3_WEIGHTED_SUM = 30. + 6 * MC_CE_SMALL


def test_multi_class_weighted_multi_example_eval():
  head = fh.MultiClassHead(3, weight_column='label_weights')
  features = {'x': X['x'], 'label_weights': np.array([[1.], [2.], [3.]])}
  # loss ~ 30/3
  loss = head.loss(MC3_LABELS, MC3_LOGITS, features=features, mode=ModeKeys.EVAL)
  assert_loss(loss, MC3_WEIGHTED_SUM / 3)
  expected = {
      K.LOSS_MEAN: MC3_WEIGHTED_SUM / 6.,  # ~ 30/(1 + 2 + 3)
      K.ACCURACY: 3. / 6.,  # only the third example is right
  }
  assert_metrics(evaluate(head, MC3_LOGITS, MC3_LABELS, features), expected)


@pytest.mark.parametrize('reduction, expected', [
    (fh.LossReduction.SUM, 10. + 2 * MC_CE_SMALL),  # ~ 10 + 0
    (fh.LossReduction.SUM_OVER_BATCH_SIZE, MC_LOSS),  # ~ (10 + 0)/2
])
def test_multi_class_train_create_loss_loss_reduction(reduction, expected):
  head = fh.MultiClassHead(3, loss_reduction=reduction)
  assert_loss(head.loss(MC_LABELS, MC_LOGITS, X), expected)


def test_multi_class_train_one_dim_create_loss():
  head = fh.MultiClassHead(3, weight_column='label_weights')
  labels = np.array([1, 2, 2], np.int32)
  features = {'x': X['x'], 'label_weights': np.array([1., 2., 3.])}
  # loss ~ (1*10 + 2*10 + 3*0)/3
  assert_loss(head.loss(labels, MC3_LOGITS, features), MC3_WEIGHTED_SUM / 3)


# Logits [2, 2, 3], labels [2, 2, 1], weights [2, 2].
MC_MD_LOGITS = np.array([[[10., 0., 0.], [12., 0., 0.]], [[0., 10., 0.], [0., 15., 0.]]],
                        np.float32)
MC_MD_LABELS = np.array([[[0], [1]], [[1], [2]]], np.int32)
MC_MD_WEIGHTS = np.array([[1., 1.5], [2., 2.5]], np.float32)
# ce ~ [[0, 12], [0, 15]]; weighted sum ~ 1.5*12 + 2.5*15 = 55.5
MC_MD_WEIGHTED_SUM = float(np.sum(MC_MD_WEIGHTS[..., None] *
                                  softmax_ce(MC_MD_LABELS, MC_MD_LOGITS)))


def test_multi_class_multi_dim_weighted_train_create_loss():
  head = fh.MultiClassHead(3, weight_column='weights')
  np.testing.assert_allclose(MC_MD_WEIGHTED_SUM, 55.5, rtol=1e-3)
  # loss ~ 55.5/(2*2) = 13.875
  loss = head.loss(MC_MD_LABELS, MC_MD_LOGITS, features={'weights': MC_MD_WEIGHTS})
  assert_loss(loss, MC_MD_WEIGHTED_SUM / 4)


def test_multi_class_multi_dim_weighted_eval():
  head = fh.MultiClassHead(3, weight_column='weights')
  features = {'weights': MC_MD_WEIGHTS}
  loss = head.loss(MC_MD_LABELS, MC_MD_LOGITS, features, mode=ModeKeys.EVAL)
  assert_loss(loss, MC_MD_WEIGHTED_SUM / 4)
  expected = {
      K.LOSS_MEAN: MC_MD_WEIGHTED_SUM / 7.,  # / sum(weights)
      K.ACCURACY: (1. + 2.) / 7.,  # class_ids [[0, 0], [1, 1]]
  }
  assert_metrics(evaluate(head, MC_MD_LOGITS, MC_MD_LABELS, features), expected)


# ---------------------------------------------------------------- MultiLabelHead

ML_LOGITS = np.array([[-1., 1.], [-1.5, 1.5]], np.float32)
ML_LABELS = np.array([[1, 0], [1, 1]], np.int32)
# loss = sum_examples(mean_classes(sce)) / batch_size
ML_LOSS = float(np.sum(np.mean(sce(ML_LABELS, ML_LOGITS), axis=-1)) / 2)
ML_METRICS = {
    K.LOSS_MEAN: ML_LOSS,
    K.AUC: 0.3333,
    K.AUC_PR: 0.7689,
}
# Estimator gives these AUCs to 4 digits and checks them within 1e-3.
ML_LOOSE = {K.AUC: 1e-3, K.AUC_PR: 1e-3}

# Large logits: sce ~ [[10, 10], [15, 0]], per example ~ [10, 7.5].
ML_BIG_LOGITS = np.array([[-10., 10.], [-15., 10.]], np.float32)
ML_BIG_PER_EXAMPLE = np.mean(sce(ML_LABELS, ML_BIG_LOGITS), axis=-1)


def test_multi_label_predict():
  head = fh.MultiLabelHead(4)
  assert head.logits_dimension == 4
  logits = np.array([[0., 1., 2., -1.], [-1., -2., -3., 1.]], np.float32)
  preds = head.decode_predictions(head.predictions(logits, [P.LOGITS, P.PROBABILITIES, P.CLASSES]))
  np.testing.assert_allclose(preds[P.LOGITS], logits)
  np.testing.assert_allclose(preds[P.PROBABILITIES], sigmoid(logits), rtol=LOSS_RTOL)
  np.testing.assert_array_equal(preds[P.CLASSES], [['0', '1', '2', '3']] * 2)


def test_multi_label_predict_with_label_vocabulary():
  vocabulary = ['foo', 'bar', 'foobar', 'barfoo']
  head = fh.MultiLabelHead(4, label_vocabulary=vocabulary)
  logits = np.array([[0., 1., 2., -1.], [-1., -2., -3., 1.]], np.float32)
  preds = head.decode_predictions(head.predictions(logits))
  np.testing.assert_allclose(preds[P.LOGITS], logits)
  np.testing.assert_array_equal(preds[P.CLASSES], [vocabulary] * 2)


def test_multi_label_eval_create_loss():
  head = fh.MultiLabelHead(2)
  logits = np.array([[-1., 1.], [-1.5, 1.]], np.float32)
  # loss = sum_examples(mean_classes(sce)) / 2
  expected = np.sum(np.mean(sce(ML_LABELS, logits), axis=-1)) / 2
  assert_loss(head.loss(ML_LABELS, logits, features=X, mode=ModeKeys.EVAL), expected)


def test_multi_label_eval_create_loss_large_logits():
  head = fh.MultiLabelHead(2)
  # loss ~ ((10 + 10)/2 + (15 + 0)/2)/2 = 8.75
  expected = np.sum(ML_BIG_PER_EXAMPLE) / 2
  np.testing.assert_allclose(expected, 8.75, atol=1e-4)
  loss = head.loss(ML_LABELS, ML_BIG_LOGITS, features=X, mode=ModeKeys.EVAL)
  assert_loss(loss, expected)


def test_multi_label_eval_create_loss_loss_fn():
  per_example = np.array([[1.], [2.]], np.float32)

  def loss_fn(labels, logits):
    np.testing.assert_array_equal(labels, ML_LABELS)
    np.testing.assert_array_equal(logits, ML_BIG_LOGITS)
    return per_example

  head = fh.MultiLabelHead(2, loss_fn=loss_fn)
  # loss = (1 + 2)/2
  assert_loss(head.loss(ML_LABELS, ML_BIG_LOGITS, features=X, mode=ModeKeys.EVAL), 1.5)


def _check_multi_label_eval(head, labels, expected_loss, expected_metrics, features=None,
                            regularization_losses=None, logits=ML_LOGITS, loose=ML_LOOSE):
  loss = head.loss(labels, logits, features=features, mode=ModeKeys.EVAL,
                   regularization_losses=regularization_losses)
  assert_loss(loss, expected_loss)
  metrics = evaluate(head, logits, labels, features, regularization_losses)
  assert_metrics(metrics, expected_metrics, loose)


def test_multi_label_eval():
  _check_multi_label_eval(fh.MultiLabelHead(2), ML_LABELS, ML_LOSS, ML_METRICS)


def test_multi_label_eval_sparse_labels():
  head = fh.MultiLabelHead(2)
  labels = head.encode_labels([[0], [0, 1]])  # multi-hot [[1, 0], [1, 1]]
  np.testing.assert_array_equal(labels, ML_LABELS)
  _check_multi_label_eval(head, labels, ML_LOSS, ML_METRICS)


def test_multi_label_eval_with_regularization_losses():
  # loss = unregularized + (1.5 + 0.5)
  _check_multi_label_eval(fh.MultiLabelHead(2), ML_LABELS, ML_LOSS + 2.,
                          {**ML_METRICS, K.LOSS_REGULARIZATION: 2.},
                          regularization_losses=[1.5, 0.5])


def test_multi_label_eval_with_label_vocabulary():
  head = fh.MultiLabelHead(2, label_vocabulary=['class0', 'class1'])
  sparse = [['class0'], ['class0', 'class1']]  # multi-hot [[1, 0], [1, 1]]
  np.testing.assert_array_equal(head.encode_labels(sparse), ML_LABELS)
  _check_multi_label_eval(head, head.encode_labels(sparse), ML_LOSS, ML_METRICS)
  # String lists are also accepted as labels directly outside jit.
  _check_multi_label_eval(head, sparse, ML_LOSS, ML_METRICS)


def test_multi_label_eval_with_label_vocabulary_with_multi_hot_input():
  head = fh.MultiLabelHead(2, label_vocabulary=['class0', 'class1'])
  _check_multi_label_eval(head, ML_LABELS, ML_LOSS, ML_METRICS)


def test_multi_label_eval_with_thresholds():
  head = fh.MultiLabelHead(2, thresholds=[0.25, 0.5, 0.75])
  # probabilities = sigmoid([[-1, 1], [-1.5, 1.5]]) = [[.27, .73], [.18, .82]]
  # labels        =         [[ 1, 0], [   1,   1]]
  expected = {
      **ML_METRICS,
      # > .25 predicts [[1, 1], [0, 1]]: tp 2, fp 1, fn 1, tn 0
      K.ACCURACY_AT_THRESHOLD % 0.25: 2. / 4,
      K.PRECISION_AT_THRESHOLD % 0.25: 2. / 3,
      K.RECALL_AT_THRESHOLD % 0.25: 2. / 3,
      # > .5 predicts [[0, 1], [0, 1]]: tp 1, fp 1, fn 2, tn 0
      K.ACCURACY_AT_THRESHOLD % 0.5: 1. / 4,
      K.PRECISION_AT_THRESHOLD % 0.5: 1. / 2,
      K.RECALL_AT_THRESHOLD % 0.5: 1. / 3,
      # > .75 predicts [[0, 0], [0, 1]]: tp 1, fp 0, fn 2, tn 1
      K.ACCURACY_AT_THRESHOLD % 0.75: 2. / 4,
      K.PRECISION_AT_THRESHOLD % 0.75: 1.,
      K.RECALL_AT_THRESHOLD % 0.75: 1. / 3,
  }
  _check_multi_label_eval(head, ML_LABELS, ML_LOSS, expected)


def _class_metrics(keys, name0, name1):
  """Per-class metrics of ML_LOGITS/ML_LABELS; ``keys`` are the three key templates."""
  probability_mean, auc, auc_pr = keys
  return {
      # class 0: labels [1, 1], no negatives -> AUC 0, PR AUC 1
      probability_mean % name0: float(np.mean(sigmoid(ML_LOGITS[:, 0]))),
      auc % name0: 0.,
      auc_pr % name0: 1.,
      # class 1: labels [0, 1], probabilities [.73, .82] -> perfectly ranked
      probability_mean % name1: float(np.mean(sigmoid(ML_LOGITS[:, 1]))),
      auc % name1: 1.,
      auc_pr % name1: 1.,
  }


def test_multi_label_eval_with_classes_for_class_based_metrics():
  head = fh.MultiLabelHead(2, classes_for_class_based_metrics=[0, 1])
  keys = (K.PROBABILITY_MEAN_AT_CLASS, K.AUC_AT_CLASS, K.AUC_PR_AT_CLASS)
  expected = {**ML_METRICS, **_class_metrics(keys, 0, 1)}
  _check_multi_label_eval(head, ML_LABELS, ML_LOSS, expected)


def test_multi_label_eval_with_classes_for_class_based_metrics_string():
  head = fh.MultiLabelHead(2, label_vocabulary=['a', 'b'],
                          classes_for_class_based_metrics=['a', 'b'])
  keys = (K.PROBABILITY_MEAN_AT_NAME, K.AUC_AT_NAME, K.AUC_PR_AT_NAME)
  expected = {**ML_METRICS, **_class_metrics(keys, 'a', 'b')}
  labels = head.encode_labels([['a'], ['a', 'b']])
  _check_multi_label_eval(head, labels, ML_LOSS, expected)


def test_multi_label_eval_with_weights():
  head = fh.MultiLabelHead(2, weight_column='example_weights')
  features = {'x': np.array([[41], [42]], np.int32),
              'example_weights': np.array([[1.], [2.]], np.float32)}
  weighted_sum = float(np.sum(np.array([1., 2.]) * ML_BIG_PER_EXAMPLE))
  # loss ~ (1*(10 + 10)/2 + 2*(15 + 0)/2)/2 = 12.5
  np.testing.assert_allclose(weighted_sum / 2, 12.5, atol=1e-3)
  expected = {
      K.LOSS_MEAN: weighted_sum / 3.,  # / sum(weights)
      K.AUC: 0.2000,
      K.AUC_PR: 0.7280,
  }
  _check_multi_label_eval(head, ML_LABELS, weighted_sum / 2, expected, features=features,
                          logits=ML_BIG_LOGITS)


@pytest.mark.parametrize('reduction, denominator', [
    (fh.LossReduction.SUM, 1.),  # 1*(10 + 10)/2 + 2*(15 + 0)/2 ~ 25
    (fh.LossReduction.SUM_OVER_BATCH_SIZE, 2.),  # ~ 25/2
])
def test_multi_label_train_create_loss_loss_reduction(reduction, denominator):
  head = fh.MultiLabelHead(2, weight_column='example_weights', loss_reduction=reduction)
  features = {'x': X['x'], 'example_weights': np.array([[1.], [2.]], np.float32)}
  weighted_sum = float(np.sum(np.array([1., 2.]) * ML_BIG_PER_EXAMPLE))
  np.testing.assert_allclose(weighted_sum, 25., atol=1e-3)
  loss = head.loss(ML_LABELS, ML_BIG_LOGITS, features=features, mode=ModeKeys.TRAIN)
  assert_loss(loss, weighted_sum / denominator)


def test_multi_label_train_sparse_labels_and_vocabulary():
  # loss ~ ((10 + 10)/2 + (15 + 0)/2)/2 = 8.75, from multi-hot, id lists or string lists
  expected = np.sum(ML_BIG_PER_EXAMPLE) / 2
  head = fh.MultiLabelHead(2)
  assert_loss(head.loss(ML_LABELS, ML_BIG_LOGITS), expected)
  assert_loss(head.loss(head.encode_labels([[0], [0, 1]]), ML_BIG_LOGITS), expected)
  vocab_head = fh.MultiLabelHead(2, label_vocabulary=['class0', 'class1'])
  sparse = [['class0'], ['class0', 'class1']]
  assert_loss(vocab_head.loss(vocab_head.encode_labels(sparse), ML_BIG_LOGITS), expected)
  assert_loss(vocab_head.loss(sparse, ML_BIG_LOGITS), expected)


def test_multi_label_train_with_regularization_losses():
  head = fh.MultiLabelHead(2)
  # loss ~ 35/4 + (1.5 + 0.5)
  loss = head.loss(ML_LABELS, ML_BIG_LOGITS, features=X, mode=ModeKeys.TRAIN,
                   regularization_losses=[1.5, 0.5])
  assert_loss(loss, np.sum(ML_BIG_PER_EXAMPLE) / 2 + 2.)


# Logits and labels [2, 2, 3], weights [2, 2].
ML_MD_LOGITS = np.array([[[-10., 10., -10.], [10., -10., 10.]],
                         [[-12., 12., -12.], [12., -12., 12.]]], np.float32)
ML_MD_LABELS = np.array([[[1, 0, 0], [1, 0, 0]], [[0, 1, 1], [0, 1, 1]]], np.int32)
ML_MD_WEIGHTS = np.array([[1., 1.5], [2., 2.5]], np.float32)
# per example ~ [[10 + 10 + 0, 0 + 0 + 10], [0 + 0 + 12, 12 + 12 + 0]]/3 = [[20/3, 10/3], [4, 8]]
# weighted sum ~ 1*20/3 + 1.5*10/3 + 2*4 + 2.5*8 = 39.667
ML_MD_WEIGHTED_SUM = float(np.sum(ML_MD_WEIGHTS * np.mean(sce(ML_MD_LABELS, ML_MD_LOGITS), -1)))


def test_multi_label_multi_dim_weighted_train_create_loss():
  head = fh.MultiLabelHead(3, weight_column='weights')
  # loss ~ 39.667/4 = 9.9167
  np.testing.assert_allclose(ML_MD_WEIGHTED_SUM / 4, 9.9167, atol=1e-3)
  loss = head.loss(ML_MD_LABELS, ML_MD_LOGITS, features={'weights': ML_MD_WEIGHTS},
                   mode=ModeKeys.TRAIN)
  assert_loss(loss, ML_MD_WEIGHTED_SUM / 4)


def test_multi_label_multi_dim_weighted_eval():
  head = fh.MultiLabelHead(3, weight_column='weights')
  expected = {
      K.LOSS_MEAN: ML_MD_WEIGHTED_SUM / 7.,  # / sum(weights)
      K.AUC: 0.4977,
      K.AUC_PR: 0.5461,
  }
  _check_multi_label_eval(head, ML_MD_LABELS, ML_MD_WEIGHTED_SUM / 4, expected,
                          features={'weights': ML_MD_WEIGHTS}, logits=ML_MD_LOGITS)


# ---------------------------------------------------------------- RegressionHead

REG_LOGITS = np.array([[45.], [41.]], np.float32)
REG_LABELS = np.array([[43], [44]], np.int32)
# loss = ((43 - 45)^2 + (44 - 41)^2)/2 = 13/2
REG_METRICS = {
    K.LOSS_MEAN: 6.5,
    K.PREDICTION_MEAN: (45. + 41.) / 2,
    K.LABEL_MEAN: (43. + 44.) / 2,
}


def test_regression_predict():
  head = fh.RegressionHead()
  assert head.logits_dimension == 1
  logits = np.array([[45], [41]], np.int32)
  preds = head.predictions(logits)
  assert list(preds) == [P.PREDICTIONS]
  assert preds[P.PREDICTIONS].dtype == np.float32
  np.testing.assert_allclose(preds[P.PREDICTIONS], logits)


def test_regression_predict_with_inverse_link_fn():
  head = fh.RegressionHead(inverse_link_fn=lambda logits: logits - 10.)
  logits = np.array([[45], [41]], np.int32)
  preds = head.predictions(logits)
  assert sorted(preds) == sorted([P.PREDICTIONS, P.LOGITS])
  assert preds[P.PREDICTIONS].dtype == np.float32 and preds[P.LOGITS].dtype == np.float32
  np.testing.assert_allclose(preds[P.PREDICTIONS], [[35.], [31.]])
  np.testing.assert_allclose(preds[P.LOGITS], logits)


def test_regression_eval_create_loss():
  head = fh.RegressionHead()
  assert_loss(head.loss(REG_LABELS, REG_LOGITS, features=X), 6.5)


def test_regression_eval_create_loss_loss_fn():
  per_value = np.array([[0., 1.], [2., 3.]], np.float32)
  logits = np.array([[-1., 1.], [-2., 2.]], np.float32)
  labels = np.array([[1., 0.], [2., -1.]], np.float32)

  def loss_fn(labels, logits):
    np.testing.assert_array_equal(labels, [[1., 0.], [2., -1.]])
    np.testing.assert_array_equal(logits, [[-1., 1.], [-2., 2.]])
    return per_value

  head = fh.RegressionHead(label_dimension=2, loss_fn=loss_fn)
  # loss = (0 + 1 + 2 + 3)/(2*2)
  assert_loss(head.loss(labels, logits, features=X), 1.5)


def test_regression_eval():
  head = fh.RegressionHead()
  preds = head.predictions(REG_LOGITS)
  np.testing.assert_allclose(preds[P.PREDICTIONS], REG_LOGITS)
  assert_metrics(evaluate(head, REG_LOGITS, REG_LABELS, X), REG_METRICS)
  assert_loss(head.loss(REG_LABELS, REG_LOGITS, features=X, mode=ModeKeys.EVAL), 6.5)


def test_regression_eval_metric_keys_with_head_name():
  head = fh.RegressionHead(name='some_regression_head')
  metrics = evaluate(head, np.array([[1.], [9.]]), np.array([[1], [1]], np.int32), X)
  assert sorted(metrics) == sorted(f'{k}/some_regression_head' for k in REG_METRICS)


def test_regression_eval_with_regularization_losses():
  head = fh.RegressionHead()
  regularization_losses = [1.5, 0.5]
  metrics = evaluate(head, REG_LOGITS, REG_LABELS, X, regularization_losses)
  assert_metrics(metrics, {**REG_METRICS, K.LOSS_REGULARIZATION: 2.})
  # loss = 6.5 + (1.5 + 0.5)
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    loss = head.loss(REG_LABELS, REG_LOGITS, features=X, mode=mode,
                     regularization_losses=regularization_losses)
    assert_loss(loss, 8.5)


@pytest.mark.parametrize('reduction, expected', [
    (fh.LossReduction.SUM, 13.),  # 4 + 9
    (fh.LossReduction.SUM_OVER_BATCH_SIZE, 6.5),  # (4 + 9)/2
])
def test_regression_train_create_loss_loss_reduction(reduction, expected):
  head = fh.RegressionHead(loss_reduction=reduction)
  assert_loss(head.loss(REG_LABELS, REG_LOGITS, features=X, mode=ModeKeys.TRAIN), expected)


# One-dimensional labels, three examples, weights 1, .1, 1.5.
REG3_LOGITS = np.array([[45], [41], [44]], np.int32)
REG3_LABELS = np.array([[35], [42], [45]], np.int32)
REG3_WEIGHTS = np.array([[1.], [.1], [1.5]], np.float32)
# weighted sq. error = 1*(35-45)^2 + .1*(42-41)^2 + 1.5*(45-44)^2 = 100 + .1 + 1.5 = 101.6
REG3_METRICS = {
    K.LOSS_MEAN: 101.6 / 2.6,  # / sum(weights)
    K.PREDICTION_MEAN: (45. + .1 * 41 + 1.5 * 44) / 2.6,
    K.LABEL_MEAN: (35. + .1 * 42 + 1.5 * 45) / 2.6,
}


def test_regression_weighted_multi_example_eval():
  head = fh.RegressionHead(weight_column='label_weights')
  features = {'x': np.array([[42], [43], [44]], np.int32), 'label_weights': REG3_WEIGHTS}
  np.testing.assert_allclose(head.predictions(REG3_LOGITS)[P.PREDICTIONS], REG3_LOGITS)
  # loss = 101.6/3
  assert_loss(head.loss(REG3_LABELS, REG3_LOGITS, features=features, mode=ModeKeys.EVAL),
              101.6 / 3)
  assert_metrics(evaluate(head, REG3_LOGITS, REG3_LABELS, features), REG3_METRICS)


def test_regression_weight_with_callable_column():
  # Estimator's numeric_column('label_weights', normalizer_fn=x + 1).
  head = fh.RegressionHead(weight_column=lambda features: features['label_weights'] + 1.)
  features = {'label_weights': np.array([[0.], [-0.9], [0.5]], np.float32)}
  # weights = [1, .1, 1.5]; loss = 101.6/3
  assert_loss(head.loss(REG3_LABELS, REG3_LOGITS, features=features), 101.6 / 3)


def test_regression_train_one_dim_create_loss():
  head = fh.RegressionHead(weight_column='label_weights')
  features = {'x': np.array([42., 43., 44.], np.float32),
              'label_weights': np.array([1., .1, 1.5])}
  # loss = (1*100 + .1*1 + 1.5*1)/3
  loss = head.loss(np.array([35., 42., 45.]), REG3_LOGITS.astype(np.float32), features=features,
                   mode=ModeKeys.TRAIN)
  assert_loss(loss, 101.6 / 3)


# Three-dimensional labels, one example, weights per value.
REG_MV_LOGITS = np.array([[45., 41., 44.]])
REG_MV_LABELS = np.array([[35., 42., 45.]])
REG_MV_FEATURES = {'x': np.array([[42., 43., 44.]]), 'label_weights': np.array([[1., .1, 1.5]])}


def test_regression_weighted_multi_value_eval_create_loss():
  head = fh.RegressionHead(weight_column='label_weights', label_dimension=3)
  # loss = (1*100 + .1*1 + 1.5*1)/3 values
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    loss = head.loss(REG_MV_LABELS, REG_MV_LOGITS, features=REG_MV_FEATURES, mode=mode)
    assert_loss(loss, 101.6 / 3)


def test_regression_weighted_multi_value_eval():
  head = fh.RegressionHead(weight_column='label_weights', label_dimension=3)
  assert head.logits_dimension == 3
  preds = head.predictions(REG_MV_LOGITS)
  assert list(preds) == [P.PREDICTIONS]
  assert preds[P.PREDICTIONS].dtype == np.float32
  np.testing.assert_allclose(preds[P.PREDICTIONS], REG_MV_LOGITS)
  loss = head.loss(REG_MV_LABELS, REG_MV_LOGITS, features=REG_MV_FEATURES, mode=ModeKeys.EVAL)
  assert_loss(loss, 101.6 / 3)
  # same weighted values as REG3, laid out along the label axis
  assert_metrics(evaluate(head, REG_MV_LOGITS, REG_MV_LABELS, REG_MV_FEATURES), REG3_METRICS)


def test_regression_weighted_multi_batch_eval_eager():
  head = fh.RegressionHead(weight_column='label_weights')
  logits = np.array([[45.], [41.], [44.]])
  labels = np.array([[35.], [42.], [45.]])
  weights = np.array([[1.], [.1], [1.5]])
  state = head.metrics()
  for i in range(3):  # three batches of one example
    features = {'x': np.array([[42. + i]]), 'label_weights': weights[i:i + 1]}
    state = head.update_metrics(state, features, logits[i:i + 1], labels[i:i + 1])
  metrics = {k: float(v) for k, v in fh.metrics.results(state).items()}
  # losses = [100, .1, 1.5]; loss_mean = 101.6/2.6 = 39.076923
  np.testing.assert_allclose(REG3_METRICS[K.LOSS_MEAN], 39.076923, rtol=1e-7)
  assert_metrics(metrics, REG3_METRICS)


def test_regression_weighted_multi_batch_train_eager():
  head = fh.RegressionHead(weight_column='label_weights')
  logits = np.array([[45.], [41.], [44.]])
  labels = np.array([[35.], [42.], [45.]])
  weights = np.array([[1.], [.1], [1.5]])
  # per batch of one: weight * sq. error = [1*100, .1*1, 1.5*1]
  for i, expected in enumerate([100., .1, 1.5]):
    features = {'label_weights': weights[i:i + 1]}
    assert_loss(head.loss(labels[i:i + 1], logits[i:i + 1], features=features), expected)


def test_regression_multi_dim_weighted_train_create_loss():
  head = fh.RegressionHead(weight_column='label_weights', label_dimension=3)
  logits = np.array([[[0., 1., 2.], [10., 11., 12.]], [[20., 21., 22.], [30., 31., 32.]]])
  labels = np.array([[[1., 2., 3.], [12., 13., 14.]], [[23., 24., 25.], [34., 35., 36.]]])
  features = {'label_weights': np.array([[1., 1.5], [2., 2.5]])}
  # errors 1, 2, 3, 4 on every value: (1*3*1 + 1.5*3*4 + 2*3*9 + 2.5*3*16)/(2*2*3) = 195/12
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    assert_loss(head.loss(labels, logits, features=features, mode=mode), 16.25)


# ---------------------------------------------------------------- Poisson / Logistic

GLM_LOGITS = np.array([[0.], [-1.], [1.]], np.float32)


def test_poisson_train():
  head = fh.PoissonRegressionHead()
  labels = np.array([[1], [2], [3]], np.int32)
  # loss = exp(x) - z*x + ln(z!), ln(z!) by Stirling (z ln z - z + .5 ln(2 pi z)) for z > 1
  #      = [1 - 0 + 0, e^-1 + 2 + 0.6121, e - 3 + 1.7836] = [1.0, 3.020, 1.482]
  z, x = labels.astype(np.float64), GLM_LOGITS.astype(np.float64)
  per_example = np.exp(x) - z * x + stirling(z)
  np.testing.assert_allclose(per_example.ravel(), [1.0, 3.020, 1.482], atol=1e-3)
  expected = float(np.mean(per_example))
  np.testing.assert_allclose(expected, 1.834, atol=1e-3)
  loss = head.loss(labels, GLM_LOGITS, features={'x': np.array([[42.]])}, mode=ModeKeys.TRAIN)
  assert_loss(loss, expected)


def test_poisson_predict():
  head = fh.PoissonRegressionHead()
  preds = head.predictions(GLM_LOGITS)
  assert sorted(preds) == sorted([P.PREDICTIONS, P.LOGITS])
  assert preds[P.PREDICTIONS].dtype == np.float32 and preds[P.LOGITS].dtype == np.float32
  np.testing.assert_allclose(preds[P.PREDICTIONS], np.exp(GLM_LOGITS), rtol=LOSS_RTOL)
  np.testing.assert_allclose(preds[P.LOGITS], GLM_LOGITS)


def test_logistic_train():
  head = fh.LogisticRegressionHead()
  labels = np.array([[.4], [.6], [.8]], np.float32)
  # loss = max(x, 0) - x*z + ln(1 + e^-|x|)
  #      = [ln 2, .6 + ln(1 + e^-1), 1 - .8 + ln(1 + e^-1)] = [0.6931, 0.9133, 0.5133]
  per_example = sce(labels, GLM_LOGITS)
  np.testing.assert_allclose(per_example.ravel(), [0.6931, 0.9133, 0.5133], atol=1e-4)
  expected = float(np.mean(per_example))
  np.testing.assert_allclose(expected, 0.7066, atol=1e-3)
  loss = head.loss(labels, GLM_LOGITS, features={'x': np.array([[42.]])}, mode=ModeKeys.TRAIN)
  assert_loss(loss, expected)


def test_logistic_predict():
  head = fh.LogisticRegressionHead()
  preds = head.predictions(GLM_LOGITS)
  assert sorted(preds) == sorted([P.PREDICTIONS, P.LOGITS])
  assert preds[P.PREDICTIONS].dtype == np.float32 and preds[P.LOGITS].dtype == np.float32
  np.testing.assert_allclose(preds[P.PREDICTIONS], 1. / (1. + np.exp(-GLM_LOGITS)),
                             rtol=LOSS_RTOL)
  np.testing.assert_allclose(preds[P.LOGITS], GLM_LOGITS)
