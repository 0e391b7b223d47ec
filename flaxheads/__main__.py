"""``python -m flaxheads``: the ``flaxheads`` command (see :mod:`flaxheads.job.cli`)."""

import sys

from flaxheads.job import entry

if __name__ == '__main__':
  sys.exit(entry.main())
