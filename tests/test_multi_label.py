"""MultiLabelHead: configuration, class-id lists, class-based metrics."""

import numpy as np
import pytest

import flaxheads as fh


@pytest.mark.parametrize('kwargs, message', [
    (dict(n_classes=None), 'n_classes must be > 1 for multi-label classification'),
    (dict(n_classes=1), 'n_classes must be > 1 for multi-label classification'),
    (dict(n_classes=3, thresholds=[1.]), r'thresholds must be in \(0, 1\) range'),
    (dict(n_classes=3, label_vocabulary={'a': 0}), 'label_vocabulary must be a list or tuple'),
    (dict(n_classes=3, label_vocabulary=['a', 'b']), r'Length of label_vocabulary must be n_classes \(3\)'),
    (dict(n_classes=3, classes_for_class_based_metrics=[3]), r'must be in range \[0, 2\]. Given: 3'),
    (dict(n_classes=3, classes_for_class_based_metrics=['a']), 'label_vocabulary must be provided'),
    (dict(n_classes=3, label_vocabulary=['a', 'b', 'c'], classes_for_class_based_metrics=['z']),
     r"\['z'\] are not in label_vocabulary"),
])
def test_constructor_errors(kwargs, message):
  with pytest.raises(ValueError, match=message):
    fh.MultiLabelHead(**kwargs)


def test_encode_labels_from_id_and_string_lists():
  head = fh.MultiLabelHead(3, label_vocabulary=['a', 'b', 'c'])
  np.testing.assert_array_equal(head.encode_labels([[0, 2], [], [1, 1]]), [[1, 0, 1], [0, 0, 0], [0, 1, 0]])
  np.testing.assert_array_equal(head.encode_labels([['c'], [], ['a', 'b']]), [[0, 0, 1], [0, 0, 0], [1, 1, 0]])
  with pytest.raises(ValueError, match=r'values in \[0, 3\); example 0 has class ids \[3\]'):
    head.encode_labels([[3]])
  with pytest.raises(ValueError, match=r"Labels \['z'\] are not in label_vocabulary"):
    head.encode_labels([['a'], ['z']])


def test_class_based_metric_keys_use_names_with_a_vocabulary():
  head = fh.MultiLabelHead(3, label_vocabulary=['a', 'b', 'c'], classes_for_class_based_metrics=[2],
                           name='m')
  assert list(head.metrics())[-3:] == ['probability_mean/c/m', 'auc/c/m', 'auc_precision_recall/c/m']
  ids = fh.MultiLabelHead(3, classes_for_class_based_metrics=[2])
  assert list(ids.metrics())[-3:] == ['probability_mean/class2', 'auc/class2', 'auc_precision_recall/class2']


def test_classes_prediction_has_batch_axis_only():
  head = fh.MultiLabelHead(2, label_vocabulary=['x', 'y'])
  decoded = head.decode_predictions(head.predictions(np.zeros((3, 4, 2), np.float32)))
  assert list(decoded) == ['logits', 'probabilities', 'classes']
  np.testing.assert_array_equal(decoded['classes'], [['x', 'y']] * 3)
