"""Training a Flax Linen model (BatchNorm, dropout) with a head's train and eval steps."""
import flax.linen as nn
import jax
import numpy as np
import optax

import flaxheads as fh


class Model(nn.Module):
  """An MLP with BatchNorm and dropout; the head turns its logits into losses and metrics."""
  logits_dimension: int

  @nn.compact
  def __call__(self, features, train: bool):
    x = features['x']
    for width in (64, 32):
      x = nn.Dense(width, use_bias=False)(x)  # BatchNorm's offset takes the bias's place
      x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
      x = nn.Dropout(0.1, deterministic=not train)(x)
    return nn.Dense(self.logits_dimension)(x)


def make_data(n, seed):
  """Weighted examples: the label is 1 where x0 * x1 + x2 > 0."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 8)).astype(np.float32)
  labels = (x[:, 0] * x[:, 1] + x[:, 2] > 0).astype(np.int32)
  return {'x': x, 'weight': rng.uniform(0.5, 2., n).astype(np.float32)}, labels


def batches(features, labels, batch_size, rng=None):
  order = np.arange(len(labels)) if rng is None else rng.permutation(len(labels))
  for start in range(0, len(labels), batch_size):
    rows = order[start:start + batch_size]
    yield {k: v[rows] for k, v in features.items()}, labels[rows]


head = fh.BinaryClassHead(weight_column='weight')
train_features, train_labels = make_data(4096, seed=0)
eval_features, eval_labels = make_data(1024, seed=1)
model = Model(head.logits_dimension)
variables = model.init(jax.random.key(0), train_features, train=False)  # params and batch_stats
state = fh.TrainState.create(apply_fn=model.apply, variables=variables, tx=optax.adam(3e-3))

train_step = jax.jit(head.train_step)
eval_step = jax.jit(head.eval_step)
shuffle, key = np.random.default_rng(0), jax.random.key(1)
for epoch in range(8):
  for features, labels in batches(train_features, train_labels, 128, shuffle):
    key, dropout_key = jax.random.split(key)
    state, out = train_step(state, features, labels, rng=dropout_key)
  print(f'epoch {epoch}: loss {float(out.loss):.4f}')

metric_state = head.metrics()  # streams over the evaluation batches
for features, labels in batches(eval_features, eval_labels, 256):
  metric_state = eval_step(state, metric_state, features, labels)
print({k: round(float(v), 4) for k, v in fh.metrics.results(metric_state).items()})
