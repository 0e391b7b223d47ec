"""The ``flaxheads`` console script: the command line job, or one line naming the extra it needs.

The library itself needs only jax, flax, optax and numpy; the command also
needs the packages of the ``job`` extra (``pip install 'flaxheads[job]'``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

# The top-level modules of the ``job`` extra.
JOB_MODULES = ('ml_collections', 'orbax', 'grain', 'pyarrow', 'sklearn', 'matplotlib', 'tqdm', 'tensorboardX')


def missing_extra_message(module: str) -> str:
  """The one-line error for a missing ``job`` dependency."""
  return (f"flaxheads: error: the flaxheads command needs the 'job' extra ({module} is not installed): "
          "python -m pip install 'flaxheads[job]'")


def main(argv: Sequence[str] | None = None) -> int:
  """Runs :func:`flaxheads.job.cli.main`; exit status 1 with one line if the ``job`` extra is missing."""
  try:
    from flaxheads.job import cli  # pylint: disable=g-import-not-at-top
  except ModuleNotFoundError as e:
    root = (e.name or '').split('.')[0]
    if root not in JOB_MODULES:
      raise
    print(missing_extra_message(root), file=sys.stderr)
    return 1
  return cli.main(argv)
