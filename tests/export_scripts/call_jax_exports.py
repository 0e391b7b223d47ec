"""Calls ``jax.export`` artifacts in a process where flaxheads cannot be imported.

    python tests/export_scripts/call_jax_exports.py REQUEST.json RESPONSE.json

REQUEST: ``[{"artifact": PATH, "inputs": [[arg, ...] per call]}, ...]`` (each
arg a nested list; float32, or int32 for sequence lengths). An exported
booster's artifact (``"booster": true``) takes raw rows ``[[x] per call]``:
the booster beside it, loaded with its own library as ``predict.json`` says,
turns them into raw margins first. RESPONSE: the outputs of each call,
``{key: nested list}`` (and the margins of each booster call), and
``"flaxheads_import"``: the error that importing flaxheads raised.
"""

import importlib
import importlib.abc
import json
import pathlib
import sys


class _NoFlaxheads(importlib.abc.MetaPathFinder):
  def find_spec(self, fullname, path=None, target=None):
    if fullname == 'flaxheads' or fullname.startswith('flaxheads.'):
      raise ModuleNotFoundError(f'No module named {fullname!r} (blocked)')
    return None


def booster_margins(artifact, x):
  """The raw margins of raw rows ``x`` by the booster beside ``artifact``, as its ``predict.json`` says."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  meta = json.loads((artifact.parent / 'predict.json').read_text())
  x = (np.asarray(x, np.float32) - np.float32(meta['mean'])) / np.float32(meta['std'])
  path = str(artifact.parent / meta['booster'])
  if meta['library'] == 'xgboost':
    xgb = importlib.import_module('xgboost')
    margins = xgb.Booster(model_file=path).predict(xgb.DMatrix(x), output_margin=True)
  else:
    margins = importlib.import_module('lightgbm').Booster(model_file=path).predict(x, raw_score=True)
  return margins.reshape(len(x), -1).astype(np.float32)


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
    artifact = pathlib.Path(model['artifact'])
    exported = jax.export.deserialize(artifact.read_bytes())
    calls, margins = [], []
    for args in model['inputs']:
      arrays = [np.asarray(a, np.int32 if i else np.float32) for i, a in enumerate(args)]
      if model.get('booster'):
        arrays = [booster_margins(artifact, *arrays)]
        margins.append(arrays[0].tolist())
      calls.append({k: np.asarray(v).tolist() for k, v in exported.call(*arrays).items()})
    result = {'calls': calls, 'modules': sorted(m for m in sys.modules if m.split('.')[0] == 'flaxheads')}
    if model.get('booster'):
      result['margins'] = margins
    response['models'].append(result)
  pathlib.Path(sys.argv[2]).write_text(json.dumps(response))


if __name__ == '__main__':
  main()
