"""The ``flaxheads`` command-line job: train, evaluate and predict from an ml_collections config.

Modules: :mod:`~flaxheads.job.config` (config files and overrides),
:mod:`~flaxheads.job.data` (bundled data sets and CSV files),
:mod:`~flaxheads.job.heads` and :mod:`~flaxheads.job.models` (what a config
builds), :mod:`~flaxheads.job.checkpoints` (orbax),
:mod:`~flaxheads.job.reporting` and :mod:`~flaxheads.job.plots` (outputs),
:mod:`~flaxheads.job.runner` (the commands) and :mod:`~flaxheads.job.cli`.
"""
