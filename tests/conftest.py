"""Test-session setup: faster XLA compiles, and one persistent compilation cache per pytest run.

Most of the suite's time is XLA compiling small CPU programs, many of them
more than once.

* Compile options, set in ``XLA_FLAGS`` for this process, its xdist workers
  and every subprocess a test starts: no LLVM optimizations, XLA's loop
  emitters instead of its newer MLIR fusion emitters, and each program's code
  generated in one piece rather than split over threads (the workers already
  keep every core busy). Together they compile these programs about three
  times faster, and the programs run about as fast (they are small); every
  test passes with and without them. A flag already
  in ``XLA_FLAGS`` is left as it is, e.g.
  ``XLA_FLAGS='--xla_backend_optimization_level=2 --xla_cpu_use_fusion_emitters=true'``
  runs the suite with XLA's own defaults.
* A persistent compilation cache: the same program is compiled by equal
  heads built anew in each test, by each xdist worker, and by the ``flaxheads``
  commands and scripts that tests run as subprocesses. The first process to
  compile it writes it to a directory made for the session (removed at its
  end), and the others read it back. ``JAX_COMPILATION_CACHE_DIR`` carries the
  directory to xdist workers and subprocesses; one set before pytest starts is
  used as is, and kept.
"""

import os
import shutil
import sys
import tempfile

import pytest

XLA_TEST_FLAGS = {'--xla_backend_optimization_level': '0', '--xla_cpu_use_fusion_emitters': 'false',
                  '--xla_cpu_parallel_codegen_split_count': '1'}
CACHE_DIR = 'JAX_COMPILATION_CACHE_DIR'
MIN_COMPILE_TIME = 'JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'
_created = pytest.StashKey[str]()  # the cache directory this process made, to remove at the end


def pytest_configure(config):
  flags = os.environ.get('XLA_FLAGS', '')
  extra = [f'{name}={value}' for name, value in XLA_TEST_FLAGS.items() if name not in flags]
  os.environ['XLA_FLAGS'] = ' '.join([flags, *extra]).strip()  # read when the CPU backend starts
  if not os.environ.get(CACHE_DIR):  # the first process of the session: xdist workers inherit it
    os.environ[CACHE_DIR] = tempfile.mkdtemp(prefix='flaxheads-jax-cache-')
    config.stash[_created] = os.environ[CACHE_DIR]
  os.environ.setdefault(MIN_COMPILE_TIME, '0')  # every program, not only those that took a second
  # JAX reads both when it is imported: by the tests, after this (the xdist controller never imports it).
  if 'jax' in sys.modules:  # imported before this hook, e.g. by a plugin
    jax = sys.modules['jax']
    jax.config.update('jax_compilation_cache_dir', os.environ[CACHE_DIR])
    jax.config.update('jax_persistent_cache_min_compile_time_secs', float(os.environ[MIN_COMPILE_TIME]))


def pytest_unconfigure(config):
  created = config.stash.get(_created, None)
  if created:
    shutil.rmtree(created, ignore_errors=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
  """The tests marked slow first: under xdist they start while the short ones can still fill the other worker."""
  items.sort(key=lambda item: item.get_closest_marker('slow') is None)  # stable: otherwise in order
