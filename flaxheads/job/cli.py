"""The ``flaxheads`` command: ``train``, ``evaluate``, ``predict`` and ``export`` with an ml_collections config.

Usage::

  flaxheads train                                   # configs/default.py in ./workdir/default
  flaxheads train --config configs/binary_class.py --config.train_steps=500
  flaxheads evaluate --config configs/binary_class.py --split train
  flaxheads predict --config configs/binary_class.py --input rows.csv --output predictions.csv
  flaxheads export --config configs/binary_class.py   # a SavedModel and a jax.export artifact
  flaxheads export --config configs/boosted_trees.py   # the booster file and a jax.export artifact

``--config.FIELD=VALUE`` (or ``--config.FIELD VALUE``) overrides a field of the
locked config; its value is parsed as the field's type. Errors in the config,
the data or the workdir are reported as one line on stderr with exit status 1;
usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

import flaxheads as fh
from flaxheads.job import config as config_lib
from flaxheads.job import distributed, runner, trees
from flaxheads.job import export as export_job
from flaxheads.job.errors import JobError

_OVERRIDE = '--config.'


def split_overrides(argv: Sequence[str]) -> tuple[list[str], list[str]]:
  """Separates ``--config.FIELD=VALUE`` overrides (as ``FIELD=VALUE``) from the other arguments."""
  overrides, rest = [], []
  args = iter(argv)
  for arg in args:
    if not arg.startswith(_OVERRIDE):
      rest.append(arg)
    elif '=' in arg:
      overrides.append(arg[len(_OVERRIDE):])
    else:
      value = next(args, None)
      overrides.append(arg[len(_OVERRIDE):] + ('' if value is None else f'={value}'))
  return overrides, rest


def _parser() -> argparse.ArgumentParser:
  common = argparse.ArgumentParser(add_help=False)
  common.add_argument('--config', default=str(config_lib.DEFAULT_CONFIG),
                      help='a config file defining get_config(), or the name of one in configs/ '
                           '(default: configs/default.py); override fields with --config.FIELD=VALUE')
  common.add_argument('--workdir', help='checkpoints, metrics, TensorBoard events and plots '
                                        '(default: ./workdir/<config name>)')
  parser = argparse.ArgumentParser(
      prog='flaxheads', description='Train, evaluate, predict and export with flaxheads heads.',
      epilog='Config fields are overridden with --config.FIELD=VALUE, e.g. --config.train_steps=500.')
  parser.add_argument('--version', action='version', version=f'flaxheads {fh.__version__}')
  commands = parser.add_subparsers(dest='command', required=True, metavar='{train,evaluate,predict,export}')
  train = commands.add_parser('train', parents=[common], help='train with periodic evaluation; resumes '
                                                              'from the latest checkpoint in the workdir')
  train.add_argument('--coordinator_address', help='multi-process run: host:port of process 0 '
                                                   '(default: $JAX_COORDINATOR_ADDRESS)')
  train.add_argument('--num_processes', type=int, help='multi-process run: the number of processes '
                                                       '(default: $JAX_NUM_PROCESSES)')
  train.add_argument('--process_id', type=int, help='multi-process run: this process, 0 .. num_processes - 1 '
                                                    '(default: $JAX_PROCESS_ID)')
  train.add_argument('--heartbeat_timeout', type=int, default=distributed.HEARTBEAT_TIMEOUT_S,
                     help='multi-process run: seconds after which a process that stopped answering makes '
                          f'the others fail (default: {distributed.HEARTBEAT_TIMEOUT_S})')
  evaluate = commands.add_parser('evaluate', parents=[common], help='evaluate the latest checkpoint')
  evaluate.add_argument('--split', default='eval', choices=('train', 'eval'),
                        help='the rows to evaluate: eval (held out, the default) or train')
  predict = commands.add_parser('predict', parents=[common],
                                help='write the latest checkpoint\'s predictions as CSV')
  predict.add_argument('--input', help='a CSV file with the feature columns (default: the rows of --split)')
  predict.add_argument('--output', help='the CSV file to write (default: <workdir>/predictions.csv)')
  predict.add_argument('--split', default='eval', choices=('train', 'eval'),
                       help='without --input, the rows to predict: eval (the default) or train')
  export_help = ('write the latest checkpoint as a TF SavedModel and a jax.export artifact; boosted-tree '
                 'configs: the booster in its library\'s format and a jax.export artifact of the head\'s '
                 'predictions of its raw margins (no SavedModel, no TensorFlow)')
  export = commands.add_parser('export', parents=[common], help=export_help, description=export_help)
  export.add_argument('--export_dir', help='the folder of timestamped exports (default: <workdir>/export)')
  export.add_argument('--platforms', default='cpu',
                      help='comma-separated platforms the jax.export artifact is lowered for (default: cpu; '
                           'e.g. cpu,cuda)')
  return parser


def default_workdir(config_path: str) -> pathlib.Path:
  """``./workdir/<config file name without .py>``."""
  return pathlib.Path('workdir') / pathlib.Path(config_path).stem


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
  overrides, rest = split_overrides(sys.argv[1:] if argv is None else argv)
  args = _parser().parse_args(rest)
  try:
    config = config_lib.load(args.config, overrides)
    workdir = pathlib.Path(args.workdir) if args.workdir else default_workdir(args.config)
    job = trees if trees.is_trees(config) else runner
    if args.command == 'train':
      distributed.initialize(args.coordinator_address, args.num_processes, args.process_id,
                             heartbeat_timeout=args.heartbeat_timeout)
      job.train(config, workdir)
    elif args.command == 'evaluate':
      job.evaluate(config, workdir, args.split)
    elif args.command == 'export':
      export_job.export(config, workdir, args.export_dir, platforms=tuple(args.platforms.split(',')))
    else:
      job.predict(config, workdir, input_path=args.input, output=args.output, split=args.split)
  except runner.Preempted as e:
    print(f'flaxheads: {e}', file=sys.stderr)
    return 143  # 128 + SIGTERM, as if it had not been caught
  except JobError as e:
    print(f'flaxheads: error: {e}', file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print('flaxheads: interrupted; run the same command again to resume from the latest checkpoint',
          file=sys.stderr)
    return 130
  return 0
