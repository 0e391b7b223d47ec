"""Two tasks on one network with MultiHead: a click (binary) and a dwell time (regression)."""
import flax.linen as nn
import jax
import numpy as np
import optax

import flaxheads as fh

head = fh.MultiHead([fh.BinaryClassHead(name='click'), fh.RegressionHead(name='dwell')],
                    head_weights=[1., 0.5])
model = nn.Sequential([nn.Dense(64), nn.relu, nn.Dense(64), nn.relu, nn.Dense(head.logits_dimension)])

rng = np.random.default_rng(0)
x = rng.normal(size=(2048, 8)).astype(np.float32)
labels = {
    'click': (x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=2048) > 0).astype(np.int32),
    'dwell': (np.abs(x[:, 2]) + x[:, 3] ** 2).astype(np.float32),
}
train, test = slice(0, 1536), slice(1536, None)
params = model.init(jax.random.key(0), x[:1])
tx = optax.adam(3e-3)
opt_state = tx.init(params)


@jax.jit
def train_step(params, opt_state, x, labels):
  loss, grads = jax.value_and_grad(lambda p: head.loss(labels, model.apply(p, x)))(params)
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


for step in range(300):
  rows = rng.choice(1536, 128, replace=False)
  params, opt_state, loss = train_step(params, opt_state, x[rows], {k: v[rows] for k, v in labels.items()})

state = jax.jit(head.update_metrics)(head.metrics(), None, model.apply(params, x[test]),
                                     {k: v[test] for k, v in labels.items()})
print({k: round(float(v), 4) for k, v in fh.metrics.results(state).items()})
