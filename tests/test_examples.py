"""The examples run and print sensible results."""

import ast
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parent.parent / 'examples'


def test_quickstart_learns_the_task():
  out = subprocess.run([sys.executable, str(EXAMPLES / 'quickstart.py')], capture_output=True,
                       text=True, check=True, timeout=300).stdout
  metrics = ast.literal_eval(out)  # the script prints a dict of Python floats
  assert metrics['accuracy'] > 0.95
  assert metrics['auc'] > 0.95
