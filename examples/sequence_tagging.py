"""Per-step classification with a GRU and SequentialHeadWrapper.

Task: for sequences of random numbers of varying length, predict at every step
whether the running sum so far is positive. Padded steps are masked out of the
loss and the metrics.
"""
import flax.linen as nn
import jax
import numpy as np
import optax

import flaxheads as fh

head = fh.SequentialHeadWrapper(fh.BinaryClassHead(name='sign'), 'mask')


class Tagger(nn.Module):

  @nn.compact
  def __call__(self, x):
    h = nn.RNN(nn.GRUCell(features=32))(x)
    return nn.Dense(head.logits_dimension)(h)


def make_data(rng, n, steps=12):
  x = rng.normal(size=(n, steps, 1)).astype(np.float32)
  lengths = rng.integers(3, steps + 1, n)
  mask = np.arange(steps)[None, :] < lengths[:, None]
  labels = (np.cumsum(x[..., 0], axis=1) > 0).astype(np.int32)
  labels[~mask] = -1  # padding; ignored because the mask excludes it
  return x, labels, mask


rng = np.random.default_rng(0)
x, labels, mask = make_data(rng, 512)
model = Tagger()
params = model.init(jax.random.key(0), x[:1])
tx = optax.adam(1e-2)
opt_state = tx.init(params)


@jax.jit
def train_step(params, opt_state, x, labels, mask):
  loss_fn = lambda p: head.loss(labels, model.apply(p, x), {'mask': mask})
  loss, grads = jax.value_and_grad(loss_fn)(params)
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


for step in range(150):
  rows = rng.choice(len(x), 64, replace=False)
  params, opt_state, loss = train_step(params, opt_state, x[rows], labels[rows], mask[rows])

x_test, labels_test, mask_test = make_data(rng, 256)
state = jax.jit(head.update_metrics)(head.metrics(), {'mask': mask_test},
                                     model.apply(params, x_test), labels_test)
print({k: round(float(v), 4) for k, v in fh.metrics.results(state).items()})
