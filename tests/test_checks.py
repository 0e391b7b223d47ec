"""Bad input: constructor errors, trace-time shape errors, value errors eagerly and under jit."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flaxheads as fh

# (head, valid logits, an invalid label batch, the message Estimator gives)
INVALID_LABELS = {
    'binary_above': (fh.BinaryClassHead(), np.zeros((2, 1), np.float32), np.array([[1.], [2.]]),
                     'Labels must be <= n_classes - 1'),
    'binary_below': (fh.BinaryClassHead(), np.zeros((2, 1), np.float32), np.array([[-1.], [0.]]),
                     'Labels must be >= 0'),
    'logistic': (fh.LogisticRegressionHead(), np.zeros((2, 1), np.float32), np.array([[1.5], [0.]]),
                 'Labels must be in range [0, 1]'),
    'multi_class_above': (fh.MultiClassHead(3), np.zeros((2, 3), np.float32), np.array([[3], [0]]),
                          'Labels must be <= n_classes - 1'),
    'multi_class_wraps': (fh.MultiClassHead(3), np.zeros((2, 3), np.float32), np.array([[-1], [0]]),
                          'Labels must be >= 0'),
    'multi_label': (fh.MultiLabelHead(3), np.zeros((2, 3), np.float32), np.array([[0, 2, 1], [0, 0, 0]]),
                    'labels must be an integer indicator Tensor with values in [0, 1]'),
    'poisson': (fh.PoissonRegressionHead(compute_full_loss=False), np.zeros((2, 1), np.float32),
                np.array([[-1.], [2.]]), 'must be >= 0'),
}


@pytest.mark.parametrize('name', sorted(INVALID_LABELS))
def test_invalid_label_values_raise_eagerly(name):
  head, logits, labels, message = INVALID_LABELS[name]
  with pytest.raises(ValueError, match=re.escape(message)):
    head.loss(labels, logits)
  with pytest.raises(ValueError, match=re.escape(message)):
    head.update_metrics(head.metrics(), None, logits, labels)


@pytest.mark.parametrize('name', sorted(INVALID_LABELS))
def test_invalid_label_values_give_nan_under_jit(name):
  """Unchecked jit never returns a plausible number for invalid labels."""
  head, logits, labels, _ = INVALID_LABELS[name]
  assert np.isnan(jax.jit(head.loss)(labels, logits))
  state = jax.jit(head.update_metrics)(head.metrics(), None, logits, labels)
  for key, value in fh.metrics.results(state).items():
    assert np.isnan(value), key


@pytest.mark.parametrize('name', sorted(INVALID_LABELS))
def test_checked_raises_under_jit(name):
  head, logits, labels, message = INVALID_LABELS[name]
  error, _ = jax.jit(fh.checked(head.loss))(labels, logits)
  with pytest.raises(ValueError, match=re.escape(message)):
    error.throw()
  error, _ = jax.jit(fh.checked(head.update_metrics))(head.metrics(), None, logits, labels)
  assert message in error.get()


def test_checked_passes_valid_labels():
  head = fh.MultiClassHead(3)
  error, loss = jax.jit(fh.checked(head.loss))(jnp.array([0, 2]), jnp.zeros((2, 3)))
  error.throw()
  np.testing.assert_allclose(loss, np.log(3.), rtol=1e-6)


def test_nan_logits_poison_every_metric():
  head = fh.BinaryClassHead(thresholds=[0.5])
  logits = jnp.array([[1.], [jnp.nan], [-1.]])
  state = jax.jit(head.update_metrics)(head.metrics(), None, logits, jnp.array([1, 0, 0]))
  for key, value in fh.metrics.results(state).items():
    assert np.isnan(value), key


@pytest.mark.parametrize('column', [0, 1, 2])
def test_a_nan_anywhere_in_a_logits_row_poisons_multi_class_metrics(column):
  head = fh.MultiClassHead(3)
  logits = jnp.array([[3., 0., 0.], [0., 3., 0.]]).at[1, column].set(jnp.nan)
  state = jax.jit(head.update_metrics)(head.metrics(), None, logits, jnp.array([0, 1]))
  for key, value in fh.metrics.results(state).items():
    assert np.isnan(value), key  # argmax alone would count the row as correct or not


LOGITS_2 = np.zeros((2, 1), np.float32)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
@pytest.mark.parametrize('labels, logits, message', [
    (np.zeros((2,)), np.zeros((2,)), 'logits must have rank at least 2'),
    (np.zeros((2,)), np.zeros((2, 2)), 'logits shape must be [D0, D1, ... DN, logits_dimension]'),
    (np.zeros((2, 2)), LOGITS_2, 'Mismatched label shape. Expected labels dimension=1'),
    (np.zeros((3, 1)), LOGITS_2, 'labels shape must be [D0, D1, ... DN, 1]'),
])
def test_shape_errors_are_trace_time(jit, labels, logits, message):
  head = fh.BinaryClassHead()
  loss = jax.jit(head.loss) if jit else head.loss
  with pytest.raises(ValueError, match=re.escape(message)):
    loss(labels, logits)


def test_labels_none():
  with pytest.raises(ValueError, match='You must provide a labels Tensor'):
    fh.BinaryClassHead().loss(None, LOGITS_2)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
@pytest.mark.parametrize('head, weights, logits', [
    (fh.BinaryClassHead(weight_column='w'), np.ones((2, 2)), LOGITS_2),
    (fh.BinaryClassHead(weight_column='w'), np.ones((3,)), LOGITS_2),
    (fh.BinaryClassHead(weight_column='w'), np.ones((2, 2, 1)), np.zeros((2, 1, 1))),
    (fh.MultiLabelHead(3, weight_column='w'), np.ones((2, 3)), np.zeros((2, 3))),  # per class
    (fh.RegressionHead(3, weight_column='w'), np.ones((2, 2)), np.zeros((2, 3))),
])
def test_weights_of_wrong_shape_raise_at_trace_time(jit, head, weights, logits):
  labels = np.zeros(logits.shape[:-1] + (1,)) if head.logits_dimension == 1 or isinstance(
      head, fh.MultiClassHead) else np.zeros(logits.shape)
  loss = jax.jit(head.loss) if jit else head.loss
  with pytest.raises(ValueError, match=r'weights shape must be \[D0, D1, ... DN\]') as info:
    loss(labels, logits, {'w': weights})
  assert f'weights_shape: {weights.shape}' in str(info.value)
  assert f'logits_shape: {logits.shape}' in str(info.value)


def test_missing_weight_feature():
  head = fh.BinaryClassHead(weight_column='w')
  for features in (None, {}, {'x': np.ones(2)}):
    with pytest.raises(ValueError, match='Feature w is not in features dictionary'):
      head.loss(np.zeros(2), LOGITS_2, features)


def test_string_weights_are_a_type_error():
  with pytest.raises(TypeError, match='weight column'):
    fh.BinaryClassHead(weight_column='w').loss(np.zeros(2), LOGITS_2, {'w': np.array(['a', 'b'])})


def test_string_features_are_ignored_unless_used():
  head = fh.BinaryClassHead(weight_column='w')
  loss = head.loss(np.zeros(2), LOGITS_2, {'w': np.ones(2), 'city': np.array(['Oslo', 'Rome'])})
  np.testing.assert_allclose(loss, np.log(2.), rtol=1e-6)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
def test_loss_fn_wrong_shape_raises_at_trace_time(jit):
  head = fh.BinaryClassHead(loss_fn=lambda labels, logits: jnp.zeros(labels.shape[:1]))
  loss = jax.jit(head.loss) if jit else head.loss
  with pytest.raises(ValueError, match=re.escape('loss_fn must return Tensor of shape [D0, D1, ... DN, 1]')):
    loss(np.zeros(2), LOGITS_2)


def test_loss_fn_receives_loss_reduction_and_features():
  seen = {}

  def loss_fn(labels, logits, features, loss_reduction):
    seen.update(reduction=loss_reduction, features=features)
    return jnp.ones_like(logits)

  head = fh.RegressionHead(loss_fn=loss_fn, loss_reduction='sum')
  assert float(head.loss(np.zeros(3), np.zeros((3, 1)), {'x': np.ones(3)})) == 3.
  assert seen['reduction'] == fh.LossReduction.SUM
  assert set(seen['features']) == {'x'}


def test_hooks_that_need_concrete_values_still_work_eagerly():
  def loss_fn(labels, logits):
    return np.abs(np.asarray(logits) - np.asarray(labels))  # numpy: not traceable

  head = fh.RegressionHead(loss_fn=loss_fn)
  np.testing.assert_allclose(head.loss(np.array([1., 3.]), np.array([[2.], [2.]])), 1.)


@pytest.mark.parametrize('args, message', [
    (dict(loss_fn=lambda logits: logits), 'loss_fn must contain argument: labels'),
    (dict(loss_fn=lambda labels: labels), 'loss_fn must contain argument: logits'),
    (dict(loss_fn=lambda labels, logits, name: logits), 'loss_fn has unexpected args'),
    (dict(loss_reduction='none'), 'Invalid loss_reduction'),
    (dict(loss_reduction='weighted_mean'), 'Invalid loss_reduction'),
])
@pytest.mark.parametrize('make', [fh.RegressionHead, fh.BinaryClassHead, lambda **kw: fh.MultiClassHead(3, **kw),
                                  lambda **kw: fh.MultiLabelHead(3, **kw)],
                         ids=['regression', 'binary', 'multi_class', 'multi_label'])
def test_constructor_errors_shared_by_heads(make, args, message):
  with pytest.raises(ValueError, match=message):
    make(**args)


@pytest.mark.parametrize('reduction', ['sum', 'sum_over_batch_size', 'auto', fh.LossReduction.SUM])
def test_loss_reduction_strings_and_members(reduction):
  head = fh.BinaryClassHead(loss_reduction=reduction)
  assert head.loss_reduction == fh.LossReduction(reduction)
  assert head == fh.BinaryClassHead(loss_reduction=fh.LossReduction(reduction))


def test_mode_strings_accepted_and_unknown_rejected():
  head = fh.RegressionHead()
  for mode in ('train', 'eval', 'infer', fh.ModeKeys.EVAL):
    head.loss(np.zeros(1), np.zeros((1, 1)), mode=mode)
  with pytest.raises(ValueError, match="mode must be one of"):
    head.loss(np.zeros(1), np.zeros((1, 1)), mode='bogus')


def test_weight_column_type():
  with pytest.raises(TypeError, match='Weight column must be either a string or a callable'):
    fh.BinaryClassHead(weight_column=3)


def test_regularization_losses_must_be_scalars():
  with pytest.raises(ValueError, match='regularization_losses must be scalars'):
    fh.RegressionHead().loss(np.zeros(1), np.zeros((1, 1)), regularization_losses=[np.ones(2)])


def test_update_metrics_needs_the_regularization_key_when_given_losses():
  head = fh.RegressionHead()
  with pytest.raises(ValueError, match='metrics\\(\\), with regularization_losses'):
    head.update_metrics(head.metrics(), None, np.zeros((1, 1)), np.zeros(1), regularization_losses=[1.])


def test_invalid_prediction_key():
  with pytest.raises(ValueError, match='Prediction key must be in PredictionKeys, given: bogus'):
    fh.MultiClassHead(3).predictions(np.zeros((1, 3)), keys=['bogus'])


ALL_HEADS = {
    'regression': fh.RegressionHead(2),
    'poisson': fh.PoissonRegressionHead(),
    'logistic': fh.LogisticRegressionHead(),
    'binary': fh.BinaryClassHead(),
    'multi_class': fh.MultiClassHead(3),
    'multi_label': fh.MultiLabelHead(3),
}


@pytest.mark.parametrize('name', sorted(ALL_HEADS))
def test_every_head_rejects_bad_shapes_under_jit(name):
  head = ALL_HEADS[name]
  n = head.logits_dimension
  label_width = 1 if name in ('binary', 'multi_class') else n
  labels = np.zeros((4, label_width), np.int32)
  update = jax.jit(head.update_metrics)
  with pytest.raises(ValueError, match='logits must have rank at least 2'):
    update(head.metrics(), None, np.zeros((4,)), labels)
  with pytest.raises(ValueError, match=re.escape('logits shape must be [D0, D1, ... DN, logits_dimension]')):
    update(head.metrics(), None, np.zeros((4, n + 1)), labels)
  with pytest.raises(ValueError, match='Mismatched label shape'):
    update(head.metrics(), None, np.zeros((4, n)), np.zeros((4, label_width + 1), np.int32))
  with pytest.raises(ValueError, match=re.escape(f'labels shape must be [D0, D1, ... DN, {label_width}]')):
    update(head.metrics(), None, np.zeros((4, n)), np.zeros((5, label_width), np.int32))


@pytest.mark.parametrize('name', sorted(ALL_HEADS))
def test_metric_state_is_a_checkpointable_pytree(name):
  """One float32 buffer leaf, under a named key path (what orbax stores), that restores into the same state."""
  head = ALL_HEADS[name]
  state = head.update_metrics(head.metrics([0.]), None, np.zeros((2, head.logits_dimension)),
                              np.zeros((2, 1 if name in ('binary', 'multi_class') else head.logits_dimension),
                                       np.int32), [0.5])
  paths, treedef = jax.tree_util.tree_flatten_with_path(state)
  assert [jax.tree_util.keystr(path) for path, _ in paths] == ['.buffer']
  assert paths[0][1].dtype == np.float32 and paths[0][1].ndim == 1
  saved = [np.asarray(leaf) for _, leaf in paths]  # e.g. written to disk
  restored = jax.tree.unflatten(treedef, saved)
  for key in state:
    np.testing.assert_array_equal(restored[key].compute(), state[key].compute())
