"""MetricState: one buffer of the leaves in key order, however it is assembled."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxheads import metrics
from flaxheads._src import metric_state


def mixed_metrics(n_scalar_metrics):
  """Scalar metrics (runs of small leaves) around AUCs (large leaves), with distinct values."""
  state, value = {}, iter(range(1, 10_000))
  for i in range(n_scalar_metrics):
    state[f'mean_{i}'] = metrics.Mean(jnp.float32(next(value)), jnp.float32(next(value)))
    if i % 7 == 3:
      state[f'auc_{i}'] = metrics.AUC(jnp.arange(5, dtype=jnp.float32) + next(value),
                                      -jnp.arange(5, dtype=jnp.float32))
  return state


@pytest.mark.parametrize('n', [1, 3, 20, 2 * metric_state._MAX_RUN + 5])
def test_the_buffer_is_the_leaves_in_key_order(n):
  state = mixed_metrics(n)
  want = np.concatenate([np.ravel(leaf) for m in state.values() for leaf in jax.tree.leaves(m)])
  for built in (metrics.MetricState(state), jax.jit(lambda: metrics.MetricState(state))()):  # jit: as a head builds it
    np.testing.assert_array_equal(jax.tree.leaves(built)[0], want)
    assert list(built) == list(state)
    for key, metric in state.items():
      for got, expected in zip(jax.tree.leaves(built[key]), jax.tree.leaves(metric)):
        np.testing.assert_array_equal(got, expected, err_msg=key)


def test_nan_and_inf_leaves_stay_in_their_place():
  state = {'a': metrics.Mean(jnp.float32(np.nan), jnp.float32(2.)),
           'b': metrics.Mean(jnp.float32(np.inf), jnp.float32(-np.inf))}
  np.testing.assert_array_equal(jax.tree.leaves(jax.jit(lambda: metrics.MetricState(state))())[0],
                                [np.nan, 2., np.inf, -np.inf])


def test_an_empty_state_has_an_empty_buffer():
  assert jax.tree.leaves(metrics.MetricState({}))[0].shape == (0,)
