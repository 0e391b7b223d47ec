"""`flaxheads export` for every config: the SavedModel served in a fresh TF process and the jax.export artifact.

The default config trains one step of a small model with `flaxheads train`;
the others save their initial state as a checkpoint with the job's own
functions (compiling train and eval steps for each would take most of this
file's time). Each is exported, and its latest checkpoint predicts a few raw
rows with `flaxheads predict`. One fresh process
loads every SavedModel and runs every signature on serialized tf.Examples of
the same rows; another, where flaxheads cannot be imported, calls every
jax.export artifact at two batch sizes.
"""

import contextlib
import csv
import io
import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from flaxheads._src.export import jax_artifact
from flaxheads.job import cli
from flaxheads.job import config as config_lib
from flaxheads.job import checkpoints, data, runner

# One worker builds the exports once, and imports TensorFlow once for this module and test_export.py.
pytestmark = [pytest.mark.xdist_group('tensorflow'), pytest.mark.slow]

HERE = pathlib.Path(__file__).parent
# Boosted-tree configs export their booster and no SavedModel: test_job_export_trees.py.
CONFIGS = sorted(p.stem for p in config_lib.CONFIG_DIR.glob('*.py') if not p.stem.startswith('boosted_trees'))
SMALL = ['--config.train_steps=1', '--config.batch_size=8', '--config.eval_every=0',
         '--config.checkpoint_every=100', '--config.progress_bar=false', '--config.plots=false',
         '--config.model.hidden_units=(8,)']
GOLDEN = {'default': 'RegressionHead', 'poisson_regression': 'PoissonRegressionHead',
          'logistic_regression': 'LogisticRegressionHead', 'binary_class': 'BinaryClassHead',
          'multi_class': 'MultiClassHead', 'multi_label': 'MultiLabelHead', 'multi_head': 'MultiHead'}
ROWS = 5
CSV_CLASSES = ('cat', 'dog', 'eel')


def golden_signatures():
  cases = json.loads((HERE / 'golden' / 'signatures.json').read_text())['cases']
  return {c['id']: c['signatures'] for c in cases}


def write_csv(path, header, rows):
  with path.open('w', newline='') as f:
    csv.writer(f).writerows([header, *rows])
  return path


def read_csv(path):
  with path.open(newline='') as f:
    rows = list(csv.reader(f))
  return {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}


def run_cli(*args):
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    status = cli.main(list(args))
  return status, out.getvalue(), err.getvalue()


def config_args(name, csv_path):
  args = ['--config', str(config_lib.CONFIG_DIR / f'{name}.py'), *SMALL]
  if name == 'csv_file':
    args += [f'--config.data.path={csv_path}', '--config.data.label_column=animal',
             f'--config.head.label_vocabulary={CSV_CLASSES}']
  return args


def raw_rows(name, config, csv_path):
  """The first rows of the data set's raw feature values (and the mask for sequences)."""
  if name == 'csv_file':
    table = read_csv(csv_path)
    return np.stack([np.asarray(table[c][:ROWS], np.float32) for c in ('a', 'b', 'c')], axis=1), None
  table = data.BUNDLED[config.data.name]()
  return table.x[:ROWS], None if table.mask is None else table.mask[:ROWS]


def run_script(script, request, tmp):
  path, out = tmp / f'{script}.request.json', tmp / f'{script}.response.json'
  path.write_text(json.dumps(request))
  done = subprocess.run([sys.executable, str(HERE / 'export_scripts' / f'{script}.py'), str(path), str(out)],
                        capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  return json.loads(out.read_text())


def checkpoint(name, args, workdir):
  """The config and its job, with a checkpoint in ``workdir`` (trained one step for ``default``)."""
  config = config_lib.load(config_lib.CONFIG_DIR / f'{name}.py',
                           [a[len('--config.'):] for a in args if a.startswith('--config.')])
  job = runner.setup(config)
  if name == 'default':
    assert run_cli('train', *args, '--workdir', str(workdir))[0] == 0
  else:
    ckpt = checkpoints.Checkpoints(workdir)
    ckpt.save(1, runner.init_state(job), job.dataset.train_batches(config.batch_size, config.seed))
    ckpt.close()
  return config, job


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  root = tmp_path_factory.mktemp('export')
  rng = np.random.default_rng(0)
  csv_path = write_csv(root / 'animals.csv', ['a', 'b', 'c', 'animal'],
                       [[*rng.normal(size=3).round(3), CSV_CLASSES[i % 3]] for i in range(40)])
  cases = {}
  for name in CONFIGS:
    args, workdir = config_args(name, csv_path), root / name
    config, job = checkpoint(name, args, workdir)
    status, out, err = run_cli('export', *args, '--workdir', str(workdir))
    assert status == 0, err
    x, mask = raw_rows(name, config, csv_path)
    case = {'out': out, 'workdir': workdir, 'x': x, 'mask': mask}
    lines = out.splitlines()[-2:]
    case['saved_model'] = pathlib.Path(lines[0].removeprefix('saved_model: '))
    case['jax_export'] = pathlib.Path(lines[1].removeprefix('jax_export: '))
    case['metadata'] = json.loads((case['jax_export'].parent / jax_artifact.METADATA).read_text())
    if mask is None:
      rows = write_csv(workdir / 'rows.csv', case['metadata']['feature_names'], x.tolist())
      predictions = workdir / 'rows_predictions.csv'
      assert run_cli('predict', *args, '--workdir', str(workdir), '--input', str(rows),
                     '--output', str(predictions))[0] == 0
      case['predict_csv'] = read_csv(predictions)
    else:  # `flaxheads predict --input` takes flat rows: call what it calls on the same rows
      state = runner.restore(job, workdir)
      features = {'x': job.dataset.prepare(x)['x'], data.MASK: mask}
      case['decoded'] = job.head.decode_predictions(runner.predict_features(job, state, features))
    cases[name] = case
  tmp = root / 'scripts'
  tmp.mkdir()
  serve = [{'dir': str(c['saved_model']), 'feature_names': c['metadata']['feature_names'], 'rows': c['x'].tolist()}
           if c['mask'] is None else
           {'dir': str(c['saved_model']), 'sequences': c['x'].tolist(), 'lengths': c['mask'].sum(1).tolist()}
           for c in cases.values()]
  calls = [{'artifact': str(c['jax_export']),
            'inputs': [[c['x'][:1].tolist()] + ([] if c['mask'] is None else [c['mask'][:1].sum(1).tolist()]),
                       [c['x'].tolist()] + ([] if c['mask'] is None else [c['mask'].sum(1).tolist()])]}
           for c in cases.values()]
  served = run_script('serve_saved_models', serve, tmp)
  called = run_script('call_jax_exports', calls, tmp)
  for case, s, j in zip(cases.values(), served, called['models']):
    case['served'], case['called'] = s, j
  return {'cases': cases, 'flaxheads_import': called['flaxheads_import']}


def test_every_config_exports():
  assert set(GOLDEN) | {'csv_file', 'sequential', 'global_objectives'} == set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_export_prints_the_two_paths(exported, name):
  case = exported['cases'][name]
  export_dir = case['workdir'] / 'export'
  assert case['saved_model'].parent == export_dir and re.fullmatch(r'\d{10}', case['saved_model'].name)
  assert case['jax_export'].is_relative_to(export_dir) and case['jax_export'].is_file()
  assert (case['saved_model'] / 'saved_model.pb').is_file()
  assert [p.name for p in export_dir.iterdir()] == [case['saved_model'].name]  # no temporary left


@pytest.mark.parametrize('name', sorted(GOLDEN))
def test_signatures_are_estimators(exported, name):
  assert exported['cases'][name]['served']['signature_defs'] == golden_signatures()[GOLDEN[name]]


def test_csv_signatures_are_estimators_with_three_classes(exported):
  golden = json.dumps(golden_signatures()['MultiClassHead']).replace('10]', '3]')
  assert exported['cases']['csv_file']['served']['signature_defs'] == json.loads(golden)


def predict_key(signature, key, outputs):
  """The `flaxheads predict` column (before `_i`) that a signature output equals."""
  predict = outputs['predict']
  multi = all('/' in k for k in predict)
  if signature == 'predict':
    return key
  if not multi:
    prefix = ''
  elif signature == 'serving_default':
    prefix = 'digit/'  # the first head of configs/multi_head.py
  else:
    prefix = signature.split('/')[0] + '/'
  if signature.endswith('predict'):
    return prefix + key
  names = {'scores': 'probabilities', 'outputs': 'logistic' if prefix + 'logistic' in predict else 'predictions',
           'classes': 'all_classes' if prefix + 'all_classes' in predict else 'classes'}
  return prefix + names[key]


def assert_matches_columns(value, columns, name):
  value = np.asarray(value)
  value = value.reshape(len(value), -1)
  names = [name] if value.shape[1] == 1 else [f'{name}_{i}' for i in range(value.shape[1])]
  expected = np.stack([columns[n] for n in names], axis=1)
  if value.dtype.kind in 'USO':
    np.testing.assert_array_equal(value, expected, err_msg=name)
  else:
    np.testing.assert_allclose(value, expected.astype(np.float64), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize('name', [c for c in CONFIGS if c != 'sequential'])
def test_every_signature_matches_flaxheads_predict(exported, name):
  case = exported['cases'][name]
  outputs = case['served']['outputs']
  for signature, values in outputs.items():
    for key, value in values.items():
      assert_matches_columns(value, case['predict_csv'], predict_key(signature, key, outputs))


def test_sequence_predict_signature_matches_the_job_predictions(exported):
  case = exported['cases']['sequential']
  outputs = case['served']['outputs']
  assert sorted(outputs) == ['predict', 'serving_default']
  assert outputs['predict'] == outputs['serving_default']
  predict = outputs['predict']
  assert sorted(predict) == sorted([*case['decoded'], 'mask'])
  np.testing.assert_array_equal(predict['mask'], case['mask'])
  for key, expected in case['decoded'].items():
    if np.asarray(expected).dtype.kind in 'USO':
      np.testing.assert_array_equal(predict[key], expected)
    else:
      np.testing.assert_allclose(predict[key], expected, rtol=1e-5, atol=1e-6, err_msg=key)
  defs = case['served']['signature_defs']['predict']
  assert defs['inputs'] == {'lengths': {'dtype': 'int64', 'shape': [-1]},
                            'sequences': {'dtype': 'float32', 'shape': [-1, 8, 8]}}


def test_jax_export_runs_without_flaxheads(exported):
  assert exported['flaxheads_import'] == "ModuleNotFoundError: No module named 'flaxheads' (blocked)"


@pytest.mark.parametrize('name', CONFIGS)
def test_jax_export_matches_the_predict_signature_at_two_batch_sizes(exported, name):
  case = exported['cases'][name]
  predict = case['served']['outputs']['predict']
  one, many = case['called']['calls']
  assert case['called']['modules'] == []
  assert set(many) == {k for k, v in predict.items() if np.asarray(v).dtype.kind not in 'USO'}
  for key, value in many.items():
    np.testing.assert_allclose(value, predict[key], rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(one[key], np.asarray(predict[key])[:1], rtol=1e-5, atol=1e-6, err_msg=key)
  assert case['metadata']['platforms'] == ['cpu']
  assert case['metadata']['outputs'][next(iter(many))]['shape'][0] == 'batch'


# Bad input: one line, exit status 1, nothing written.


def assert_one_line_error(capsys, status, message):
  err = capsys.readouterr().err
  assert status == 1
  assert err.count('\n') == 1 and err.startswith('flaxheads: error: ') and message in err, err


def default_args(exported):
  return [*config_args('default', None), '--workdir', str(exported['cases']['default']['workdir'])]


def test_unknown_platform(tmp_path, capsys):
  status = cli.main(['export', *config_args('default', None), '--workdir', str(tmp_path), '--platforms=cpu,gpu'])
  assert_one_line_error(capsys, status, 'unknown platform(s) gpu for --platforms; choose from cpu, cuda, rocm, tpu')


def test_no_checkpoint(tmp_path, capsys):
  status = cli.main(['export', *config_args('default', None), '--workdir', str(tmp_path / 'empty')])
  assert_one_line_error(capsys, status, 'no checkpoints in')
  assert not (tmp_path / 'empty').exists()


def test_config_that_does_not_fit_the_checkpoint(exported, tmp_path, capsys):
  status = cli.main(['export', *default_args(exported), '--config.model.hidden_units=(16,)',
                     '--export_dir', str(tmp_path / 'out')])
  assert_one_line_error(capsys, status, 'does not fit the configured model')
  assert not (tmp_path / 'out').exists()


def test_tensorflow_not_installed(exported, tmp_path, capsys, monkeypatch):
  monkeypatch.setitem(sys.modules, 'tensorflow', None)  # `import tensorflow` raises ImportError
  status = cli.main(['export', *default_args(exported), '--export_dir', str(tmp_path / 'out')])
  assert_one_line_error(capsys, status,
                        "TensorFlow is not installed; install the export extra: pip install 'flaxheads[export]'")
  assert not (tmp_path / 'out').exists()


def test_unwritable_export_dir(exported, tmp_path, capsys):
  (tmp_path / 'file').write_text('')
  status = cli.main(['export', *default_args(exported), '--export_dir', str(tmp_path / 'file' / 'out')])
  assert_one_line_error(capsys, status, f'cannot create export dir {tmp_path / "file" / "out"}')


def test_failed_export_leaves_nothing(exported, tmp_path, capsys, monkeypatch):
  def fail(*args, **kwargs):
    raise OSError('No space left on device')
  monkeypatch.setattr(jax_artifact, 'write', fail)
  status = cli.main(['export', *default_args(exported), '--export_dir', str(tmp_path / 'out')])
  assert_one_line_error(capsys, status, 'failed: No space left on device')
  assert list((tmp_path / 'out').iterdir()) == []
