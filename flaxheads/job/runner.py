"""The job's commands: train with periodic evaluation, evaluate a checkpoint, predict new rows.

Everything the config names is built and checked (data, labels, head, model,
optimizer) before the workdir is touched, so a command that fails on its
inputs leaves an existing workdir as it was. Training is deterministic: the
batch and the dropout key of each step are functions of the step number, so a
run resumed from a checkpoint ends with the same parameters and metrics as an
uninterrupted one.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import pathlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax
import numpy as np
import optax
import tqdm
from ml_collections import config_dict

import flaxheads as fh
from flaxheads import global_objectives as go
from flaxheads.job import checkpoints, data, distributed, heads, models, plots, reporting, statistics
from flaxheads.job import streaming
from flaxheads.job import config as config_lib
from flaxheads.job.errors import JobError

PLOTS_DIR = 'plots'
PREDICTIONS_FILE = 'predictions.csv'


class Preempted(Exception):
  """Training stopped on SIGTERM after saving a checkpoint of the current step."""


@dataclasses.dataclass
class Job:
  """What a config describes, built and checked, with the compiled steps."""

  config: config_dict.ConfigDict
  head: fh.Head
  dataset: data.Dataset | streaming.StreamDataset
  model: nn.Module
  tx: optax.GradientTransformation
  train_fn: Callable[..., Any]
  eval_fn: Callable[..., Any]
  predict_fn: Callable[..., Any]
  results_fn: Callable[..., Any]


def setup(config: config_dict.ConfigDict, workdir: str | pathlib.Path | None = None, *,
          trains: bool = True) -> Job:
  """Builds and checks the head, data, model and optimizer a config names.

  Args:
    config: the job config.
    workdir: the workdir; sharded data reads its statistics there.
    trains: the job trains (sharded data: without statistics in the workdir,
      a pass over the data computes them); otherwise they must be there.

  Raises:
    JobError: any of them is invalid; nothing has been written.
  """
  config_lib.validate(config)
  weighted = config.data.name in ('csv', 'shards') and bool(config.data.weight_column)
  head = heads.build(config.head, weighted=weighted)
  if config.data.name == 'shards':
    dataset = streaming.load(config.data, head, workdir and pathlib.Path(workdir), need_statistics=not trains)
  else:
    dataset = data.load(config.data, head)
    heads.check_rows(head, data.concat([dataset.train, dataset.eval]), f'data {dataset.source}',
                     dataset.locate)
  sequence = data.MASK in dataset.train.features
  model = go.with_global_objective(models.build(config.model, head.logits_dimension, sequence=sequence), head)
  return Job(config, head, dataset, model, models.optimizer(config.optimizer), *_compiled_steps(head))


@functools.lru_cache(maxsize=16)
def _compiled_steps(head: fh.Head) -> tuple[Callable[..., Any], ...]:
  """The head's jitted steps; shared by the jobs of one process, so each compiles once per shape."""
  predictions = lambda state, features: head.predict_step(state, features).predictions
  return (jax.jit(head.train_step), jax.jit(head.eval_step), jax.jit(predictions),
          jax.jit(fh.metrics.results))


def _keys(seed: int) -> tuple[jax.Array, jax.Array]:
  """The model initialization key and the base key of the per-step dropout keys."""
  init_key, dropout_key = jax.random.split(jax.random.key(seed))
  return init_key, dropout_key


def init_state(job: Job) -> fh.TrainState:
  """The step-0 train state (initialized as one compiled program)."""
  create = _compiled_init(job.model, job.tx)
  return create(_keys(job.config.seed)[0], models.dummy_features(job.dataset.train.features))


@functools.lru_cache(maxsize=16)
def _compiled_init(model: nn.Module, tx: optax.GradientTransformation) -> Callable[..., fh.TrainState]:
  def create(key, features):
    variables = model.init(key, features, train=False)
    return fh.TrainState.create(apply_fn=model.apply, variables=variables, tx=tx)
  return jax.jit(create)


def evaluate_split(job: Job, state: fh.TrainState, split: data.Split) -> dict[str, Any]:
  """The head's metrics of ``split``, streamed over batches."""
  metric_state = job.head.metrics()
  for batch in data.batches(split, job.config.eval_batch_size):
    metric_state = job.eval_fn(state, metric_state, batch.features, batch.labels)
  return job.results_fn(metric_state)


def predict_features(job: Job, state: fh.TrainState, features: Mapping[str, np.ndarray]) -> dict:
  """The head's numeric predictions of ``features`` as numpy arrays."""
  rows = data.Split(dict(features), None)
  parts = [jax.device_get(job.predict_fn(state, b.features))
           for b in data.batches(rows, job.config.eval_batch_size)]
  return jax.tree.map(lambda *xs: np.concatenate(xs, axis=0), *parts)


def write_plots(job: Job, state: fh.TrainState, split_name: str, workdir: pathlib.Path) -> list[pathlib.Path]:
  split = job.dataset.split(split_name)
  predictions = predict_features(job, state, split.features)
  return plots.write(job.head, predictions, split.labels, split.features, workdir / PLOTS_DIR,
                     prefix=f'{split_name}_')


# train


def train(config: config_dict.ConfigDict, workdir: str | pathlib.Path) -> dict[str, Any]:
  """Trains (or resumes training) in ``workdir``; returns the final eval metrics.

  Checkpoints go to ``<workdir>/checkpoints`` every ``checkpoint_every`` steps
  and at the end, evaluations to the console, ``metrics.jsonl`` and
  ``tensorboard/``, and the final evaluation's plots to ``plots/``.
  """
  workdir = pathlib.Path(workdir)
  job = setup(config, workdir)
  state = distributed.replicate(init_state(job))
  main = distributed.is_main()
  start = checkpoints.latest_step(workdir)
  distributed.barrier('flaxheads_latest_step')  # every process has read it before any writes
  if start > config.train_steps:
    raise JobError(f'training in {workdir} is already past config.train_steps={config.train_steps}: its '
                   f'latest checkpoint is at step {start}; evaluate it with `flaxheads evaluate`, or set '
                   'a larger config.train_steps to train on')
  workdir.mkdir(parents=True, exist_ok=True)
  ckpt = checkpoints.Checkpoints(workdir, keep=config.keep_checkpoints)
  batches = distributed.global_batches(job.dataset.train_batches(config.batch_size, config.seed),
                                       config.batch_size)
  if start:
    state = ckpt.restore(state, start, data=batches)
  if main:
    (workdir / 'config.json').write_text(config.to_json_best_effort(indent=2) + '\n')
    if isinstance(job.dataset, streaming.StreamDataset):
      statistics.write(job.dataset, workdir)
    _announce(job, workdir, start, state)
  reporter = reporting.Reporter(workdir, start, write=main)
  try:
    state, results = _train_loop(job, state, start, ckpt, reporter, batches)
    if results is None:  # nothing left to train: report the checkpoint's metrics
      results = reporter.evaluation(int(state.step), 'eval', len(job.dataset.eval),
                                    evaluate_split(job, distributed.local(state), job.dataset.eval),
                                    record=False, final=True)
  finally:
    reporter.close()
    ckpt.close()
    getattr(batches, 'close', lambda: None)()
  if main:
    files = write_plots(job, distributed.local(state), 'eval', workdir) if config.plots else []
    _summary(workdir, int(state.step), files)
  distributed.barrier('flaxheads_train_done')
  return results


def _announce(job: Job, workdir: pathlib.Path, start: int, state: fh.TrainState) -> None:
  n_params = sum(x.size for x in jax.tree.leaves(state.params))
  what = f'{type(job.model).__name__} model, {n_params:,} parameters'
  if start:
    what += f', resuming from step {start}'
  tqdm.tqdm.write(f'{type(job.head).__name__} on {job.dataset.source} ({len(job.dataset.train)} train / '
                  f'{len(job.dataset.eval)} eval rows), {what}; workdir {workdir}')


def _train_loop(job: Job, state, start: int, ckpt: checkpoints.Checkpoints,
                reporter: reporting.Reporter, batches):
  """Runs steps ``start`` .. ``train_steps``; returns the state and the last evaluation (or None).

  Raises:
    Preempted: SIGTERM was received; a checkpoint of the current step was saved.
  """
  cfg = job.config
  dropout_key = distributed.replicate(_keys(cfg.seed)[1])
  results = None
  bar = tqdm.tqdm(total=cfg.train_steps, initial=min(start, cfg.train_steps), unit='step', desc='train',
                  disable=not (cfg.progress_bar and distributed.is_main()), dynamic_ncols=True,
                  mininterval=0.5)
  clock, clock_step = time.perf_counter(), start
  with bar, distributed.Preemption() as preemption:
    for step in range(start, cfg.train_steps):
      batch = next(batches)
      state, out = job.train_fn(state, batch.features, batch.labels, rng=jax.random.fold_in(dropout_key, step))
      done = step + 1
      bar.update(1)
      logs, evaluates = done % cfg.log_every == 0, cfg.eval_every and done % cfg.eval_every == 0
      saves, last = done % cfg.checkpoint_every == 0, done == cfg.train_steps
      if logs or evaluates or saves or last:
        _stop_if_nonfinite(state)
      if logs or last:
        loss, now = float(out.loss), time.perf_counter()
        reporter.train(done, loss, (done - clock_step) / max(now - clock, 1e-9))
        clock, clock_step = now, done
        bar.set_postfix(loss=f'{loss:.4g}', refresh=False)
      if evaluates or last:
        results = reporter.evaluation(done, 'eval', len(job.dataset.eval),
                                      evaluate_split(job, distributed.local(state), job.dataset.eval),
                                      final=last)
      if saves or last:
        ckpt.save(done, state, batches)
      if preemption.reached(done):
        if not (saves or last):
          ckpt.save(done, state, batches)
        ckpt.wait()
        raise Preempted(f'stopped by SIGTERM after step {done}, saved in {ckpt.directory / str(done)}; '
                        'run the same command again to resume from it')
  return state, results


def _stop_if_nonfinite(state: fh.TrainState) -> None:
  """The one-line error for a run whose train step stopped at a non-finite loss (see ``fh.train_step``)."""
  try:
    fh.raise_if_nonfinite(state)
  except fh.NonFiniteLossError as e:
    raise JobError(f'training stopped: non-finite loss or gradients at step {e.step}; no checkpoint was saved '
                   'after it. A lower config.optimizer.learning_rate may help') from e


def _summary(workdir: pathlib.Path, step: int, files: list[pathlib.Path]) -> None:
  lines = [f'checkpoint: {workdir / "checkpoints" / str(step)}',
           f'metrics: {workdir / reporting.METRICS_FILE}, TensorBoard: {workdir / reporting.TENSORBOARD_DIR}']
  if files:
    lines.append(f'plots: {", ".join(str(f) for f in files)}')
  tqdm.tqdm.write('\n'.join(lines))


# evaluate


def evaluate(config: config_dict.ConfigDict, workdir: str | pathlib.Path, split: str = 'eval') -> dict[str, Any]:
  """Evaluates the latest checkpoint on a split; writes ``evaluation_<split>.json`` and plots."""
  workdir = pathlib.Path(workdir)
  job = setup(config, workdir, trains=False)
  rows = job.dataset.split(split)
  state = restore(job, workdir)
  step = int(state.step)
  results = reporting.to_python(evaluate_split(job, state, rows))
  reporting.print_metrics(f'{split} metrics at step {step} ({len(rows)} examples):', results)
  record = {'step': step, 'split': split, 'examples': len(rows), 'metrics': results}
  path = workdir / f'evaluation_{split}.json'
  path.write_text(json.dumps(record, indent=2) + '\n')
  files = write_plots(job, state, split, workdir) if config.plots else []
  tqdm.tqdm.write(f'wrote {path}' + (f', {", ".join(str(f) for f in files)}' if files else ''))
  return results


def restore(job: Job, workdir: str | pathlib.Path) -> fh.TrainState:
  """The latest checkpoint in ``workdir`` (a :class:`JobError` if there is none or it does not fit)."""
  ckpt = checkpoints.Checkpoints(workdir, keep=job.config.keep_checkpoints, create=False)
  try:
    return ckpt.restore(init_state(job))
  finally:
    ckpt.close()


# predict


def predict(config: config_dict.ConfigDict, workdir: str | pathlib.Path, *, input_path: str | None = None,
            output: str | None = None, split: str = 'eval') -> pathlib.Path:
  """Writes the latest checkpoint's predictions as CSV: of a CSV file's rows, or of a split.

  Args:
    config: the job config.
    workdir: the workdir holding the checkpoints.
    input_path: a CSV file with the feature columns (others are ignored);
      default: the rows of ``split``.
    output: the CSV file to write; default ``<workdir>/predictions.csv``.
    split: the split predicted without ``input_path``.

  Returns:
    The path written. Columns: ``row`` (and ``step`` for sequences), then each
    prediction key (``head/key`` for a MultiHead; ``key_i`` per element of a
    vector), with classes decoded to their strings.
  """
  job = setup(config, workdir, trains=False)
  if input_path is None:
    features = job.dataset.split(split).features
  elif data.MASK in job.dataset.train.features:
    raise JobError(f'--input takes rows of flat features; {job.dataset.source} is a sequence data set')
  else:
    features = job.dataset.prepare(data.read_features(input_path, job.dataset.feature_names))
  workdir = pathlib.Path(workdir)
  state = restore(job, workdir)
  decoded = with_predicted_classes(job.head, job.head.decode_predictions(predict_features(job, state, features)),
                                   job.config.data.label_separator)
  path = pathlib.Path(output) if output else workdir / PREDICTIONS_FILE
  rows = write_predictions(decoded, path, features.get(data.MASK))
  tqdm.tqdm.write(f'wrote {rows} predictions of step {int(state.step)} to {path}')
  return path


def with_predicted_classes(head: fh.Head, decoded: dict, separator: str) -> dict:
  """A multi-label head's predictions plus ``predicted_classes``: the classes with probability > 0.5, joined."""
  if not isinstance(head, fh.MultiLabelHead):
    return decoded
  names = np.asarray(head.label_vocabulary or [str(i) for i in range(head.n_classes)], object)
  chosen = np.asarray(decoded[fh.PredictionKeys.PROBABILITIES]) > 0.5
  return {**decoded, 'predicted_classes': np.asarray([separator.join(names[row]) for row in chosen], object)}


def write_predictions(decoded: Mapping, path: pathlib.Path, mask: np.ndarray | None = None) -> int:
  """Writes decoded predictions as CSV, one row per example (per valid step for sequences)."""
  first = np.asarray(next(iter(decoded.values())))
  if mask is None:
    index = {'row': np.arange(len(first))}
    select = lambda v: v
  else:
    valid = np.asarray(mask) != 0
    rows, steps = np.nonzero(valid)
    index = {'row': rows, 'step': steps}
    select = lambda v: v[valid] if v.shape[:2] == valid.shape else None
  columns = dict(index)
  for key, value in decoded.items():
    value = select(np.asarray(value))
    if value is None:
      continue  # not per step (e.g. the list of all classes)
    name = '/'.join(key) if isinstance(key, tuple) else key
    value = value.reshape(len(value), -1)
    if value.shape[1] == 1:
      columns[name] = value[:, 0]
    else:
      columns.update({f'{name}_{i}': value[:, i] for i in range(value.shape[1])})
  path.parent.mkdir(parents=True, exist_ok=True)
  with path.open('w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(list(columns))
    for cells in zip(*columns.values()):
      writer.writerow([_cell(c) for c in cells])
  return len(index['row'])


def _cell(value) -> str:
  if isinstance(value, (float, np.floating)):
    return f'{float(value):.7g}'
  return str(value)
