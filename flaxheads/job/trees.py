"""The job's commands for boosted trees: a head's objective and metrics on XGBoost or LightGBM.

A config with a ``trees`` section (``configs/boosted_trees.py``) trains a
booster on the head's loss instead of a neural model: ``train_steps`` boosting
rounds, the head's metrics on the eval split every ``eval_every`` rounds
(console, ``metrics.jsonl``, TensorBoard), the booster saved every
``checkpoint_every`` rounds in ``checkpoints/<round>/``, plots after the final
evaluation. Running it again on the same workdir resumes from the latest
saved booster; ``evaluate`` and ``predict`` read it as for neural models.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from typing import Any

import numpy as np
import tqdm
from ml_collections import config_dict

import flaxheads as fh
from flaxheads import boosted_trees as bt
from flaxheads.job import boosters, data, heads, plots, reporting, runner
from flaxheads.job import config as config_lib
from flaxheads.job.errors import JobError


def is_trees(config: config_dict.ConfigDict) -> bool:
  """Whether a config describes a boosted-trees job."""
  return 'trees' in config


def defaults() -> config_dict.ConfigDict:
  """Every field a trees job reads; a config file sets the data, the head and ``trees``."""
  return config_dict.ConfigDict({
      'seed': 0,
      'data': config_lib.data_defaults(),
      'head': {'type': 'binary_class'},
      'trees': boosters.trees_defaults(),
      'train_steps': 100,  # boosting rounds
      'eval_every': 25,  # rounds between evaluations; 0: only at the end
      'checkpoint_every': 25,  # rounds between saved boosters (and one at the end)
      'keep_checkpoints': 3,
      'plots': True,
      'progress_bar': True,
  })


@dataclasses.dataclass
class TreesJob:
  """What a trees config describes, built and checked."""

  config: config_dict.ConfigDict
  head: fh.Head
  dataset: data.Dataset
  lib: Any  # the xgboost or lightgbm module
  params: dict[str, Any]


def setup(config: config_dict.ConfigDict) -> TreesJob:
  """Builds and checks the head, data and library; nothing is written."""
  for name in ('train_steps', 'checkpoint_every', 'keep_checkpoints'):
    if config[name] <= 0:
      raise JobError(f'config.{name} must be positive, got {config[name]}')
  if config.eval_every < 0:
    raise JobError(f'config.eval_every must be >= 0, got {config.eval_every}')
  if not 0 < config.data.eval_fraction < 1:
    raise JobError(f'config.data.eval_fraction must be in (0, 1), got {config.data.eval_fraction}')
  weighted = config.data.name == 'csv' and bool(config.data.weight_column)
  head = heads.build(config.head, weighted=weighted)
  if isinstance(head, (fh.MultiHead, fh.SequentialHeadWrapper)):
    raise JobError(f'boosted trees take a single-task head, got config.head.type={config.head.type!r}')
  dataset = data.load(config.data, head)
  if data.MASK in dataset.train.features:
    raise JobError(f'boosted trees take rows of flat features; {dataset.source} is a sequence data set')
  heads.check_labels(head, data.concat([dataset.train, dataset.eval]), f'data {dataset.source}')
  lib = boosters.library(config.trees, head)
  return TreesJob(config, head, dataset, lib, boosters.params(config.trees, head, config.seed))


def margins(job: TreesJob, booster, features) -> np.ndarray:
  return bt.margins(job.head, booster, features['x'])


def evaluate_split(job: TreesJob, booster, split: data.Split) -> dict[str, Any]:
  """The head's metrics of the booster's margins on ``split``."""
  state = job.head.update_metrics(job.head.metrics(), split.features, margins(job, booster, split.features),
                                  split.labels)
  return fh.metrics.results(state)


def _train_loss(job: TreesJob, booster) -> float:
  split = job.dataset.train
  return float(job.head.loss(split.labels, margins(job, booster, split.features), split.features))


def write_plots(job: TreesJob, booster, split_name: str, workdir: pathlib.Path) -> list[pathlib.Path]:
  split = job.dataset.split(split_name)
  predictions = bt.predict(job.head, booster, split.features['x'])
  return plots.write(job.head, predictions, split.labels, split.features, workdir / runner.PLOTS_DIR,
                     prefix=f'{split_name}_')


def train(config: config_dict.ConfigDict, workdir: str | pathlib.Path) -> dict[str, Any]:
  """Trains (or resumes) a booster in ``workdir``; returns the final eval metrics."""
  job, cfg = setup(config), config
  workdir = pathlib.Path(workdir)
  saved = boosters.steps(workdir)
  booster = boosters.load(job.lib, workdir) if saved else None
  start = boosters.rounds(job.lib, booster) if saved else 0
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / 'config.json').write_text(config.to_json_best_effort(indent=2) + '\n')
  split = job.dataset.train
  train_data = boosters.train_data(job.lib, split.features['x'], split.labels, split.features.get(data.WEIGHT))
  tqdm.tqdm.write(f'{type(job.head).__name__} on {job.dataset.source} ({len(split)} train / '
                  f'{len(job.dataset.eval)} eval rows), {cfg.trees.library} boosted trees'
                  f'{f", resuming from round {start}" if start else ""}; workdir {workdir}')
  reporter = reporting.Reporter(workdir, start)
  results = None
  try:
    with tqdm.tqdm(total=cfg.train_steps, initial=min(start, cfg.train_steps), unit='round', desc='train',
                   disable=not cfg.progress_bar, dynamic_ncols=True) as bar:
      done = start
      while done < cfg.train_steps:
        stops = [cfg.train_steps, (done // cfg.checkpoint_every + 1) * cfg.checkpoint_every]
        if cfg.eval_every:
          stops.append((done // cfg.eval_every + 1) * cfg.eval_every)
        target, clock = min(stops), time.perf_counter()
        booster = boosters.train(job.lib, job.head, job.params, train_data, target - done, booster)
        rate = (target - done) / max(time.perf_counter() - clock, 1e-9)
        done = target
        bar.update(target - bar.n)
        last = done == cfg.train_steps
        reporter.train(done, _train_loss(job, booster), rate)
        if last or (cfg.eval_every and done % cfg.eval_every == 0):
          results = reporter.evaluation(done, 'eval', len(job.dataset.eval),
                                        evaluate_split(job, booster, job.dataset.eval), final=last)
        if last or done % cfg.checkpoint_every == 0:
          boosters.save(job.lib, booster, workdir, done, cfg.keep_checkpoints)
    if results is None:  # nothing left to train: report the saved booster's metrics
      results = reporter.evaluation(start, 'eval', len(job.dataset.eval),
                                    evaluate_split(job, booster, job.dataset.eval), record=False, final=True)
  finally:
    reporter.close()
  files = write_plots(job, booster, 'eval', workdir) if cfg.plots else []
  lines = [f'checkpoint: {workdir / boosters.CHECKPOINTS / str(done)}',
           f'metrics: {workdir / reporting.METRICS_FILE}, TensorBoard: {workdir / reporting.TENSORBOARD_DIR}']
  if files:
    lines.append(f'plots: {", ".join(str(f) for f in files)}')
  tqdm.tqdm.write('\n'.join(lines))
  return results


def evaluate(config: config_dict.ConfigDict, workdir: str | pathlib.Path, split: str = 'eval') -> dict[str, Any]:
  """Evaluates the latest booster on a split; writes ``evaluation_<split>.json`` and plots."""
  job, workdir = setup(config), pathlib.Path(workdir)
  rows = job.dataset.split(split)
  booster = boosters.load(job.lib, workdir)
  step = boosters.rounds(job.lib, booster)
  results = reporting.to_python(evaluate_split(job, booster, rows))
  reporting.print_metrics(f'{split} metrics at step {step} ({len(rows)} examples):', results)
  path = workdir / f'evaluation_{split}.json'
  record = {'step': step, 'split': split, 'examples': len(rows), 'metrics': results}
  path.write_text(json.dumps(record, indent=2) + '\n')
  files = write_plots(job, booster, split, workdir) if config.plots else []
  tqdm.tqdm.write(f'wrote {path}' + (f', {", ".join(str(f) for f in files)}' if files else ''))
  return results


def predict(config: config_dict.ConfigDict, workdir: str | pathlib.Path, *, input_path: str | None = None,
            output: str | None = None, split: str = 'eval') -> pathlib.Path:
  """Writes the latest booster's predictions as CSV (see :func:`flaxheads.job.runner.predict`)."""
  job, workdir = setup(config), pathlib.Path(workdir)
  if input_path is None:
    features = job.dataset.split(split).features
  else:
    features = job.dataset.prepare(data.read_features(input_path, job.dataset.feature_names))
  booster = boosters.load(job.lib, workdir)
  decoded = job.head.decode_predictions(bt.predict(job.head, booster, features['x']))
  path = pathlib.Path(output) if output else workdir / runner.PREDICTIONS_FILE
  rows = runner.write_predictions(decoded, path)
  tqdm.tqdm.write(f'wrote {rows} predictions of round {boosters.rounds(job.lib, booster)} to {path}')
  return path
