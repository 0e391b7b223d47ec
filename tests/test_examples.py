"""The examples run and learn their tasks."""

import ast
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / 'examples'


def run_example(name):
  out = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                       check=True, timeout=300).stdout
  return ast.literal_eval(out.strip().splitlines()[-1])  # the scripts print a dict of floats


@pytest.mark.slow
@pytest.mark.parametrize('name, key, minimum', [
    ('quickstart.py', 'accuracy', 0.95),
    ('sequence_tagging.py', 'accuracy/sign', 0.9),
    ('multi_task.py', 'auc/click', 0.9),
    ('train_linen.py', 'accuracy', 0.9),
    ('train_nnx.py', 'accuracy', 0.9),
    ('boosted_trees.py', 'lightgbm_accuracy', 0.85),
])
def test_example_learns(name, key, minimum):
  assert run_example(name)[key] > minimum
