"""Where a job reports: a metrics table on the console, ``metrics.jsonl`` and TensorBoard events."""

from __future__ import annotations

import json
import math
import pathlib
import shutil
from collections.abc import Mapping
from typing import Any

import numpy as np
import tqdm

METRICS_FILE = 'metrics.jsonl'
TENSORBOARD_DIR = 'tensorboard'


def to_python(results: Mapping[str, Any]) -> dict[str, Any]:
  """Metric results as JSON-ready floats (lists for array-valued metrics, None for NaN)."""
  def convert(value):
    value = np.asarray(value, np.float64)
    if value.ndim:
      return [convert(v) for v in value]
    return None if math.isnan(value) else float(value)
  return {k: convert(v) for k, v in results.items()}


def format_table(title: str, results: Mapping[str, Any]) -> str:
  """A compact table of metrics, several ``key value`` cells per line."""
  values = {k: _format(v) for k, v in results.items()}
  key_width = max(map(len, values), default=0)
  value_width = max(map(len, values.values()), default=0)
  cells = [f'{k:<{key_width}} {v:>{value_width}}' for k, v in values.items()]
  width = key_width + value_width + 1
  columns = max(1, (shutil.get_terminal_size((100, 24)).columns - 2) // (width + 3))
  lines = [title]
  for start in range(0, len(cells), columns):
    row = cells[start:start + columns]
    lines.append('  ' + ' | '.join(row))
  return '\n'.join(lines)


def print_metrics(title: str, values: Mapping[str, Any]) -> None:
  """Prints a metrics table on stdout without breaking a progress bar."""
  tqdm.tqdm.write(format_table(title, values))


def _format(value) -> str:
  if value is None:
    return 'nan'
  if isinstance(value, list):
    return '[' + ', '.join(_format(v) for v in value) + ']'
  return f'{value:.4g}'


class Reporter:
  """Writes evaluations to the console, ``metrics.jsonl`` and TensorBoard; training loss to TensorBoard.

  On a resumed run (``start_step`` > 0), records of later steps, written by a
  run that stopped before checkpointing them, are dropped first, so the files
  of a resumed run equal those of an uninterrupted one. With ``write=False``
  (the processes of a multi-process run but the first) it reports nothing.
  """

  def __init__(self, workdir: str | pathlib.Path, start_step: int, *, tensorboard: bool = True,
               write: bool = True):
    self.workdir = pathlib.Path(workdir)
    self.metrics_path = self.workdir / METRICS_FILE
    self._write = write
    self._writer = None
    if not write:
      return
    self._drop_records_after(start_step)
    if tensorboard:
      from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
      self._writer = SummaryWriter(str(self.workdir / TENSORBOARD_DIR), purge_step=start_step or None)

  def _drop_records_after(self, step: int) -> None:
    if not self.metrics_path.exists():
      return
    lines = self.metrics_path.read_text().splitlines()
    kept = [line for line in lines if line.strip() and json.loads(line)['step'] <= step]
    if len(kept) != len(lines):
      self.metrics_path.write_text(''.join(line + '\n' for line in kept))

  def train(self, step: int, loss: float, steps_per_second: float | None) -> None:
    if self._writer is not None:
      self._writer.add_scalar('train/loss', loss, step)
      if steps_per_second is not None:
        self._writer.add_scalar('train/steps_per_second', steps_per_second, step)

  def evaluation(self, step: int, split: str, examples: int, results: Mapping[str, Any], *,
                 record: bool = True, final: bool = False) -> dict[str, Any]:
    """Prints the metrics table; with ``record``, also appends them to the metrics file and TensorBoard."""
    values = to_python(results)
    if not self._write:
      return values
    print_metrics(f'{"final " if final else ""}{split} metrics at step {step} ({examples} examples):', values)
    if record:
      with self.metrics_path.open('a') as f:
        f.write(json.dumps({'step': step, 'split': split, 'examples': examples, 'metrics': values}) + '\n')
      if self._writer is not None:
        for key, value in values.items():
          if isinstance(value, float):
            self._writer.add_scalar(f'{split}/{key}', value, step)
    return values

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()


def read_metrics(workdir: str | pathlib.Path) -> list[dict[str, Any]]:
  """The records of ``metrics.jsonl`` in ``workdir``."""
  path = pathlib.Path(workdir) / METRICS_FILE
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
