"""The ``flaxheads`` command-line job: train, evaluate and predict from an ml_collections config.

Modules: :mod:`~flaxheads.job.config` (config files and overrides),
:mod:`~flaxheads.job.data` (bundled data sets and CSV files in memory),
:mod:`~flaxheads.job.shards` and :mod:`~flaxheads.job.streaming` (sharded
Parquet and CSV files streamed through grain),
:mod:`~flaxheads.job.heads` and :mod:`~flaxheads.job.models` (what a config
builds), :mod:`~flaxheads.job.checkpoints` (orbax),
:mod:`~flaxheads.job.distributed` (several processes, SIGTERM),
:mod:`~flaxheads.job.reporting` and :mod:`~flaxheads.job.plots` (outputs),
:mod:`~flaxheads.job.runner` (the commands), :mod:`~flaxheads.job.cli` and
:mod:`~flaxheads.job.entry` (the console script).

The job needs the ``job`` extra: ``pip install 'flaxheads[job]'``.
"""
