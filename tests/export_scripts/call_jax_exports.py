"""Calls ``jax.export`` artifacts in a process where flaxheads cannot be imported.

    python tests/export_scripts/call_jax_exports.py REQUEST.json RESPONSE.json

REQUEST: ``[{"artifact": PATH, "inputs": [[arg, ...] per call]}, ...]`` (each
arg a nested list; float32, or int32 for sequence lengths). RESPONSE: the
outputs of each call, ``{key: nested list}``, and ``"flaxheads_import"``: the
error that importing flaxheads raised.
"""

import importlib.abc
import json
import pathlib
import sys


class _NoFlaxheads(importlib.abc.MetaPathFinder):
  def find_spec(self, fullname, path=None, target=None):
    if fullname == 'flaxheads' or fullname.startswith('flaxheads.'):
      raise ModuleNotFoundError(f'No module named {fullname!r} (blocked)')
    return None


def main():
  sys.meta_path.insert(0, _NoFlaxheads())
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  try:
    import flaxheads  # pylint: disable=g-import-not-at-top,unused-import
    blocked = None
  except ImportError as e:
    blocked = f'{type(e).__name__}: {e}'
  request = json.loads(pathlib.Path(sys.argv[1]).read_text())
  response = {'flaxheads_import': blocked, 'models': []}
  for model in request:
    exported = jax.export.deserialize(pathlib.Path(model['artifact']).read_bytes())
    calls = []
    for args in model['inputs']:
      arrays = [np.asarray(a, np.int32 if i else np.float32) for i, a in enumerate(args)]
      calls.append({k: np.asarray(v).tolist() for k, v in exported.call(*arrays).items()})
    response['models'].append({'calls': calls, 'modules': sorted(m for m in sys.modules if m.split('.')[0] == 'flaxheads')})
  pathlib.Path(sys.argv[2]).write_text(json.dumps(response))


if __name__ == '__main__':
  main()
