"""Training a Flax NNX model (BatchNorm, dropout) with a head's train, eval and predict steps."""
import jax
import numpy as np
import optax
from flax import nnx

import flaxheads as fh


class Model(nnx.Module):
  """An MLP with BatchNorm and dropout; the head turns its logits into losses and metrics."""

  def __init__(self, num_inputs, num_classes, rngs: nnx.Rngs):
    self.hidden = nnx.Linear(num_inputs, 64, use_bias=False, rngs=rngs)  # BatchNorm adds the offset
    self.norm = nnx.BatchNorm(64, momentum=0.9, rngs=rngs)
    self.dropout = nnx.Dropout(0.1, rngs=rngs)  # its RNG stream is part of the model's state
    self.out = nnx.Linear(64, num_classes, rngs=rngs)

  def __call__(self, features):
    return self.out(self.dropout(nnx.relu(self.norm(self.hidden(features['x'])))))


def make_data(n, seed):
  """Three classes in rings around the origin, weighted examples."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 6)).astype(np.float32)
  radius = np.linalg.norm(x[:, :2], axis=1)
  labels = np.digitize(radius, [0.8, 1.5]).astype(np.int32)
  return {'x': x, 'weight': rng.uniform(0.5, 2., n).astype(np.float32)}, labels


def batches(features, labels, batch_size, rng=None):
  order = np.arange(len(labels)) if rng is None else rng.permutation(len(labels))
  for start in range(0, len(labels), batch_size):
    rows = order[start:start + batch_size]
    yield {k: v[rows] for k, v in features.items()}, labels[rows]


head = fh.MultiClassHead(3, weight_column='weight')
train_features, train_labels = make_data(4096, seed=0)
eval_features, eval_labels = make_data(1024, seed=1)
model = Model(6, head.logits_dimension, nnx.Rngs(0, dropout=1))
# nnx.Param leaves are the params; batch statistics and RNG counts are model state.
state = fh.TrainState.from_nnx(model, optax.adam(1e-2))

train_step = jax.jit(head.train_step)
eval_step = jax.jit(head.eval_step)
shuffle = np.random.default_rng(0)
for epoch in range(8):
  for features, labels in batches(train_features, train_labels, 128, shuffle):
    state, out = train_step(state, features, labels)
  print(f'epoch {epoch}: loss {float(out.loss):.4f}')

predictions = jax.jit(head.predict_step)(state, eval_features).predictions  # running statistics
print('predicted classes of the first examples:', predictions['class_ids'][:8, 0])
metric_state = head.metrics()  # streams over the evaluation batches
for features, labels in batches(eval_features, eval_labels, 256):
  metric_state = eval_step(state, metric_state, features, labels)
print({k: round(float(v), 4) for k, v in fh.metrics.results(metric_state).items()})
