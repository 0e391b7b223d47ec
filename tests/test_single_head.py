"""``SingleHead.batch``: the rows form every single head computes on."""

import jax
import jax.numpy as jnp
import numpy as np

import flaxheads as fh
from flaxheads._src import single_head


def test_rows_flattens_the_batch_axes_and_drops_a_last_axis_of_one():
  assert single_head.rows(np.zeros((4, 3, 1))).shape == (12,)
  assert single_head.rows(np.zeros((4, 3, 5))).shape == (12, 5)


def test_batch_is_in_rows_form_for_every_head_shape():
  x = np.random.default_rng(0).normal(size=(2, 3, 1)).astype(np.float32)
  batch = fh.BinaryClassHead(weight_column='w').batch(np.ones((2, 3)), x, {'w': np.full((2, 3), 2.)})
  assert batch.logits.shape == batch.labels.shape == batch.weights.shape == batch.unweighted_loss.shape == (6,)
  np.testing.assert_array_equal(batch.logits, x.ravel())
  multi = fh.MultiLabelHead(4).batch(np.zeros((5, 4), np.int32), np.zeros((5, 4)), mask=np.arange(5) < 3)
  assert multi.logits.shape == multi.labels.shape == (5, 4)
  assert multi.unweighted_loss.shape == multi.weights.shape == multi.mask.shape == (5,)
  np.testing.assert_array_equal(multi.weights, [1., 1., 1., 0., 0.])
  regression = fh.RegressionHead(label_dimension=2, weight_column='w').batch(
      np.zeros((3, 2)), np.ones((3, 2)), {'w': np.ones(3)})
  assert regression.unweighted_loss.shape == regression.weights.shape == (3, 2)


def test_without_weights_or_mask_one_weight_is_nan_if_any_row_is_invalid():
  head = fh.BinaryClassHead()
  logits = np.zeros((4, 1), np.float32)
  assert jax.jit(head.batch)(np.array([0, 1, 1, 0]), logits).weights == 1.
  assert np.isnan(jax.jit(head.batch)(np.array([0, 1, 2, 0]), logits).weights)  # a label of 2
  nan_logit = np.where(np.arange(4)[:, None] == 2, np.nan, logits)
  assert np.isnan(jax.jit(head.batch)(np.array([0, 1, 1, 0]), nan_logit).weights)


def test_a_loss_fn_sees_the_callers_shapes_and_its_loss_is_in_rows_form():
  seen = []

  def loss_fn(labels, logits):
    seen.append((labels.shape, logits.shape))
    return jnp.abs(logits - labels)

  head = fh.RegressionHead(loss_fn=loss_fn)
  batch = jax.jit(head.batch)(np.zeros((2, 3, 1)), np.ones((2, 3, 1)))
  assert seen == [((2, 3, 1), (2, 3, 1))]
  np.testing.assert_array_equal(batch.unweighted_loss, np.ones(6))


def test_valid_marks_each_label_and_weights_mark_whole_rows():
  labels = np.array([[0, 1, 1], [2, 0, 1], [0, 0, 0]], np.float32)  # a label of 2
  logits = np.zeros((3, 3), np.float32)
  logits[2, 0] = np.nan
  batch = jax.jit(fh.MultiLabelHead(3, weight_column='w').batch)(labels, logits, {'w': np.ones(3)})
  np.testing.assert_array_equal(batch.valid, [[1, 1, 1], [0, 1, 1], [0, 1, 1]])
  np.testing.assert_array_equal(np.isnan(batch.weights), [False, True, True])
  multi_class = jax.jit(fh.MultiClassHead(3).batch)(np.array([0, 3, 1]), np.where(labels == 2, np.nan, logits))
  np.testing.assert_array_equal(multi_class.valid, [True, False, False])  # a label of 3 and NaNs in row 1, a NaN in 2
