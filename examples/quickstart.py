"""Quick start: a Flax MLP trained with BinaryClassHead and optax, jitted."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

import flaxheads as fh

head = fh.BinaryClassHead(thresholds=[0.7])
model = nn.Sequential([nn.Dense(32), nn.relu, nn.Dense(head.logits_dimension)])
x = jax.random.normal(jax.random.key(0), (256, 8))
y = (x[:, 0] + x[:, 1] > 0).astype(jnp.int32)
params = model.init(jax.random.key(1), x)
tx = optax.adam(1e-2)
opt_state = tx.init(params)


@jax.jit
def train_step(params, opt_state, x, y):
  loss, grads = jax.value_and_grad(lambda p: head.loss(y, model.apply(p, x)))(params)
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


for step in range(200):
  params, opt_state, loss = train_step(params, opt_state, x, y)
state = jax.jit(head.update_metrics)(head.metrics(), None, model.apply(params, x), y)
print({k: round(float(v), 4) for k, v in fh.metrics.results(state).items()})
