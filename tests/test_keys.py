"""Estimator's key names."""

import flaxheads as fh
from flaxheads._src.keys import summary_key


def test_summary_key_suffixes_a_name():
  assert summary_key('auc', None) == 'auc'
  assert summary_key('accuracy/positive_threshold_%g' % 0.5, 'h') == 'accuracy/positive_threshold_0.5/h'


def test_mode_keys_accept_strings():
  assert fh.ModeKeys('infer') is fh.ModeKeys.PREDICT
  assert fh.ModeKeys.TRAIN == 'train'


def test_loss_reduction_values():
  assert {r.value for r in fh.LossReduction} == {'auto', 'sum', 'sum_over_batch_size'}
