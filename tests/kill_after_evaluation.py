"""Runs the ``flaxheads`` command line, then SIGKILLs itself once it has reported a step's evaluation.

  python kill_after_evaluation.py STEP CHECKPOINT_DIR ARGS...

The kill waits until ``CHECKPOINT_DIR`` (an earlier checkpoint) is complete, so
the process dies between two checkpoints, as a crashed run would.
"""

import os
import pathlib
import signal
import sys
import time

from flaxheads.job import cli, reporting


def main():
  kill_step, checkpoint, argv = int(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
  evaluation = reporting.Reporter.evaluation

  def evaluation_then_kill(self, step, *args, **kwargs):
    results = evaluation(self, step, *args, **kwargs)
    if step == kill_step:
      deadline = time.monotonic() + 60
      while not checkpoint.is_dir() and time.monotonic() < deadline:
        time.sleep(0.01)
      os.kill(os.getpid(), signal.SIGKILL)
    return results

  reporting.Reporter.evaluation = evaluation_then_kill
  sys.exit(cli.main(argv))


if __name__ == '__main__':
  main()
