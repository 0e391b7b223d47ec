"""`flaxheads export` for the boosted-tree configs: the booster file and the jax.export artifact of the head.

Each tree config is trained for a few rounds with XGBoost and with LightGBM
(and once on standardized features), exported while `import tensorflow`
fails, and its booster predicts a few raw rows (spread over the data set) with
`flaxheads predict`. One fresh process, where flaxheads cannot be imported,
loads every exported booster with its own library, computes the raw margins
of the same rows and calls the jax.export artifact on them at two batch sizes.
"""

import json
import pathlib
import re
import sys

import jax
import numpy as np
import pytest

import flaxheads as fh
from flaxheads import boosted_trees as bt
from flaxheads import export
from flaxheads._src.export import jax_artifact
from flaxheads.job import cli
from flaxheads.job import config as config_lib
from flaxheads.job import data, trees

from test_job_export import assert_matches_columns, assert_one_line_error, read_csv, run_cli, run_script, write_csv
from test_job_trees import BINARY, MULTI_CLASS, SMALL

xgb = pytest.importorskip('xgboost')
pytest.importorskip('lightgbm')

pytestmark = [pytest.mark.xdist_group('job_export_trees'), pytest.mark.slow]  # one worker builds the exports once

ROUNDS, ROWS = 2, 5
CASES = {  # name: (config file, library, more overrides)
    'binary-xgboost': (BINARY, 'xgboost', []),
    'binary-lightgbm': (BINARY, 'lightgbm', []),
    'multi_class-xgboost': (MULTI_CLASS, 'xgboost', []),
    'multi_class-lightgbm': (MULTI_CLASS, 'lightgbm', []),
    'binary-xgboost-standardized': (BINARY, 'xgboost', ['--config.data.standardize=true']),
}
BOOSTER_FILES = {'xgboost': 'booster.json', 'lightgbm': 'booster.txt'}  # as the README documents them
STRINGS = {'classes', 'all_classes'}  # decoded by `flaxheads predict`; JAX has no strings


def case_args(name, *extra):
  config, library, more = CASES[name]
  return ['--config', config, *SMALL, f'--config.trees.library={library}', f'--config.train_steps={ROUNDS}',
          *more, *extra]


def load_config(name):
  args = case_args(name)
  return config_lib.load(args[1], [a[len('--config.'):] for a in args if a.startswith('--config.')])


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  root = tmp_path_factory.mktemp('export_trees')
  cases = {}
  for name in CASES:
    workdir, args = root / name, case_args(name)
    assert run_cli('train', *args, '--workdir', str(workdir))[0] == 0
    with pytest.MonkeyPatch.context() as patch:
      patch.setitem(sys.modules, 'tensorflow', None)  # `import tensorflow` raises ImportError
      status, out, err = run_cli('export', *args, '--workdir', str(workdir))
    assert status == 0, err
    booster, artifact = out.splitlines()[-2:]
    config = load_config(name)
    table = data.BUNDLED[config.data.name]().x
    x = table[::len(table) // ROWS][:ROWS]  # rows spread over the data set
    case = {'workdir': workdir, 'config': config, 'x': x, 'out': out,
            'booster': pathlib.Path(booster.removeprefix('booster: ')),
            'jax_export': pathlib.Path(artifact.removeprefix('jax_export: '))}
    case['metadata'] = json.loads((case['jax_export'].parent / jax_artifact.METADATA).read_text())
    rows = write_csv(workdir / 'rows.csv', case['metadata']['feature_names'], x.tolist())
    predictions = workdir / 'rows_predictions.csv'
    assert run_cli('predict', *args, '--workdir', str(workdir), '--input', str(rows),
                   '--output', str(predictions))[0] == 0
    case['predict_csv'] = read_csv(predictions)
    cases[name] = case
  calls = [{'artifact': str(c['jax_export']), 'booster': True, 'inputs': [[c['x'][:1].tolist()], [c['x'].tolist()]]}
           for c in cases.values()]
  scripts = root / 'scripts'
  scripts.mkdir()
  called = run_script('call_jax_exports', calls, scripts)
  for case, result in zip(cases.values(), called['models']):
    case['called'] = result
  return {'cases': cases, 'flaxheads_import': called['flaxheads_import']}


@pytest.mark.parametrize('name', CASES)
def test_export_writes_the_booster_and_the_artifact(exported, name):
  case = exported['cases'][name]
  directory = case['jax_export'].parent
  export_dir = case['workdir'] / 'export'
  assert directory.parent == export_dir and re.fullmatch(r'\d{10}', directory.name)
  assert [p.name for p in export_dir.iterdir()] == [directory.name]  # no temporary left
  library = CASES[name][1]
  assert case['booster'] == directory / BOOSTER_FILES[library]
  assert sorted(p.name for p in directory.iterdir()) == sorted(
      [BOOSTER_FILES[library], jax_artifact.ARTIFACT, jax_artifact.METADATA])
  assert not list(directory.glob('saved_model.pb'))


@pytest.mark.parametrize('name', CASES)
def test_metadata_describes_the_booster_and_the_head(exported, name):
  case = exported['cases'][name]
  meta, config = case['metadata'], case['config']
  job = trees.setup(config)
  assert meta['library'] == config.trees.library and meta['booster'] == case['booster'].name
  assert meta['head'] == type(job.head).__name__
  assert meta['logits_dimension'] == job.head.logits_dimension
  assert meta['round'] == ROUNDS
  assert meta['feature_names'] == list(job.dataset.feature_names)
  np.testing.assert_array_equal(np.float32(meta['mean']), job.dataset.mean)
  np.testing.assert_array_equal(np.float32(meta['std']), job.dataset.std)
  assert meta['platforms'] == ['cpu']
  assert meta['inputs'][0].startswith(f'margins: float32 [batch, {job.head.logits_dimension}]')
  assert all(o['shape'][0] == 'batch' for o in meta['outputs'].values())


def test_standardized_features_are_recorded(exported):
  meta = exported['cases']['binary-xgboost-standardized']['metadata']
  assert np.asarray(meta['std']).shape == (len(meta['feature_names']),)
  assert '(raw - mean) / std' in meta['booster_input']
  assert 'the raw values' in exported['cases']['binary-xgboost']['metadata']['booster_input']


def test_artifact_runs_without_flaxheads(exported):
  assert exported['flaxheads_import'] == "ModuleNotFoundError: No module named 'flaxheads' (blocked)"
  assert all(c['called']['modules'] == [] for c in exported['cases'].values())


@pytest.mark.parametrize('name', CASES)
def test_artifact_of_the_margins_matches_flaxheads_predict_at_two_batch_sizes(exported, name):
  case = exported['cases'][name]
  columns = case['predict_csv']
  one, many = case['called']['calls']
  assert np.asarray(case['called']['margins'][1]).shape == (ROWS, case['metadata']['logits_dimension'])
  keys = {re.sub(r'_\d+$', '', c) for c in columns} - {'row'}
  assert set(many) == keys - STRINGS and set(many) == set(case['metadata']['outputs'])
  first = {c: v[:1] for c, v in columns.items()}
  for key in many:
    assert_matches_columns(many[key], columns, key)
    assert_matches_columns(one[key], first, key)


# Bad input: one line, exit status 1, nothing written.


def test_no_booster(tmp_path, capsys):
  status = cli.main(['export', *case_args('binary-xgboost'), '--workdir', str(tmp_path / 'empty')])
  assert_one_line_error(capsys, status, 'no checkpoints in')
  assert not (tmp_path / 'empty').exists()


def test_booster_of_another_library(exported, tmp_path, capsys):
  workdir = exported['cases']['binary-xgboost']['workdir']
  status = cli.main(['export', *case_args('binary-xgboost', '--config.trees.library=lightgbm'),
                     '--workdir', str(workdir), '--export_dir', str(tmp_path / 'out')])
  assert_one_line_error(capsys, status, 'holds no lightgbm booster (booster.txt)')
  assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('name,override,message', [
    ('binary-xgboost', '--config.data.name=digits_zero',
     'the booster takes 30 features per row, but inputs.feature_names has 64'),
    ('multi_class-lightgbm', '--config.head.n_classes=11',
     'the booster gives 10 margins per row, but MultiClassHead has logits_dimension=11'),
])
def test_booster_that_does_not_fit_the_config(exported, tmp_path, capsys, name, override, message):
  workdir = exported['cases'][name]['workdir']
  status = cli.main(['export', *case_args(name, override), '--workdir', str(workdir),
                     '--export_dir', str(tmp_path / 'out')])
  assert_one_line_error(capsys, status, f'does not fit the config: {message}')
  assert not (tmp_path / 'out').exists()


def test_unwritable_export_dir(exported, tmp_path, capsys):
  (tmp_path / 'file').write_text('')
  status = cli.main(['export', *case_args('binary-lightgbm'), '--workdir',
                     str(exported['cases']['binary-lightgbm']['workdir']),
                     '--export_dir', str(tmp_path / 'file' / 'out')])
  assert_one_line_error(capsys, status, f'cannot create export dir {tmp_path / "file" / "out"}')


def test_failed_export_leaves_nothing(exported, tmp_path, capsys, monkeypatch):
  def fail(*args, **kwargs):
    raise OSError('No space left on device')
  monkeypatch.setattr(jax_artifact, 'write', fail)
  status = cli.main(['export', *case_args('multi_class-xgboost'), '--workdir',
                     str(exported['cases']['multi_class-xgboost']['workdir']), '--export_dir', str(tmp_path / 'out')])
  assert_one_line_error(capsys, status, 'failed: No space left on device')
  assert list((tmp_path / 'out').iterdir()) == []


# The Python API.


def small_booster(base_score):
  x, y = np.arange(20., dtype=np.float32)[:, None], (np.arange(20) > 9).astype(np.float32)
  return xgb.train({'base_score': base_score, 'disable_default_eval_metric': 1}, xgb.DMatrix(x, label=y), 2,
                   obj=bt.xgboost_objective(fh.BinaryClassHead())), x


def test_export_booster_from_python(tmp_path):
  head = fh.BinaryClassHead()
  booster, x = small_booster(0.)
  paths = export.export_booster(head, booster, export.InputSpec(('a',)), tmp_path)
  assert paths.directory.parent == tmp_path and paths.booster == paths.directory / 'booster.json'
  exported = jax.export.deserialize(paths.jax_export.read_bytes())
  margins = booster.predict(xgb.DMatrix(x), output_margin=True).reshape(len(x), -1)
  expected = bt.predict(head, booster, x)
  for key, value in exported.call(margins).items():
    np.testing.assert_allclose(value, expected[key], rtol=1e-6, err_msg=key)


def test_export_booster_refuses_a_nonzero_starting_margin(tmp_path):
  booster, _ = small_booster(0.5)
  with pytest.raises(ValueError, match="base_score must be 0 as a margin"):
    export.export_booster(fh.BinaryClassHead(), booster, export.InputSpec(('a',)), tmp_path / 'out')
  assert not (tmp_path / 'out').exists()


def test_export_booster_takes_a_scikit_learn_model(tmp_path):
  head = fh.RegressionHead()
  x, y = np.arange(20., dtype=np.float32)[:, None], np.arange(20., dtype=np.float32)
  model = xgb.XGBRegressor(objective=bt.xgboost_objective(head), base_score=0., n_estimators=2).fit(x, y)
  paths = export.export_booster(head, model, export.InputSpec(('a',)), tmp_path)
  exported = jax.export.deserialize(paths.jax_export.read_bytes())
  margins = xgb.Booster(model_file=str(paths.booster)).predict(xgb.DMatrix(x), output_margin=True)
  np.testing.assert_allclose(exported.call(margins[:, None])['predictions'], bt.predict(head, model, x)['predictions'],
                             rtol=1e-6)
