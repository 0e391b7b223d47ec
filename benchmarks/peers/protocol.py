"""What ``benchmarks/run.py`` and its peer scripts share: timing, the JSON lines, the command line.

Standard library only, so that it runs in every peer environment.
"""

import argparse
import json
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
  """Seconds per call of ``fn`` (which blocks until done), ``repeats`` times."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


def emit(peer: str, case: str, name: str, unit: str, times: list[float]) -> None:
  """One measurement as a JSON line; ``case`` names the hand-written baseline it is compared with."""
  print(json.dumps(dict(peer=peer, case=case, name=f'{peer}: {name}', unit=unit, times=times)),
        flush=True)


def main(description: str, workloads: dict[str, Callable[[int, int], None]]) -> None:
  """Runs the ``workloads`` (name -> ``fn(repeats, size)``) named in ``--sizes``."""
  parser = argparse.ArgumentParser(description=description)
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--sizes', type=json.loads, required=True, help='JSON: workload -> size')
  args = parser.parse_args()
  for name, fn in workloads.items():
    if name in args.sizes:
      fn(args.repeats, args.sizes[name])
