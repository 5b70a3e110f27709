"""xraylib.evaluate: summaries agree with scikit-learn, fixed 3x3 matrices, Wilson intervals."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from xraylib import evaluate
from xraylib.config import CLASSES


def _onehot_probs(pred: np.ndarray) -> np.ndarray:
    """Probabilities whose argmax is `pred` (not one-hot, so argmax is really exercised)."""
    probs = np.full((len(pred), 3), 0.2)
    probs[np.arange(len(pred)), pred] = 0.6
    return probs


# 10 images: covid 4, viral 3, normal 3; 6 right.
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 1])


def test_summary_accuracy_precision_recall_f1_agree_with_sklearn():
    s = evaluate.summary(Y_TRUE, _onehot_probs(Y_PRED))
    assert s["n"] == 10
    assert s["accuracy"] == pytest.approx(accuracy_score(Y_TRUE, Y_PRED), abs=1e-4) == 0.6
    for key, fn in (("precision_macro", precision_score), ("recall_macro", recall_score),
                    ("f1_macro", f1_score)):
        assert s[key] == pytest.approx(fn(Y_TRUE, Y_PRED, average="macro"), abs=1e-4), key


def test_summary_by_hand_on_a_small_case():
    # covid: P 2/3 R 2/4; viral: P 2/4 R 2/3; normal: P 2/3 R 2/3.
    s = evaluate.summary(Y_TRUE, _onehot_probs(Y_PRED))
    assert s["precision_macro"] == pytest.approx((2 / 3 + 2 / 4 + 2 / 3) / 3, abs=1e-4)
    assert s["recall_macro"] == pytest.approx((2 / 4 + 2 / 3 + 2 / 3) / 3, abs=1e-4)
    assert s["confusion_matrix"] == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]


def test_summary_accuracy_interval_is_the_wilson_interval():
    s = evaluate.summary(Y_TRUE, _onehot_probs(Y_PRED))
    lo, hi = evaluate.wilson_interval(6, 10)
    assert s["accuracy_95ci"] == [round(lo, 4), round(hi, 4)]


def test_confusion_matrix_is_3x3_even_when_a_class_is_never_predicted():
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 0, 2, 2])  # viral_pneumonia never predicted
    s = evaluate.summary(y_true, _onehot_probs(y_pred))
    assert s["classes"] == list(CLASSES)
    assert s["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 0, 2]]


def test_confusion_matrix_is_3x3_when_a_class_is_absent_from_truth_and_predictions():
    y = np.array([0, 0, 2])
    s = evaluate.summary(y, _onehot_probs(y))
    assert np.asarray(s["confusion_matrix"]).shape == (3, 3)
    assert s["confusion_matrix"][1] == [0, 0, 0]


def test_format_summary_labels_the_matrix_with_every_class():
    text = evaluate.format_summary(evaluate.summary(Y_TRUE, _onehot_probs(Y_PRED)))
    assert text.startswith("accuracy 60.0%")
    for c in CLASSES:
        assert f"true {c}" in text and f"pred {c}" in text


def test_wilson_interval_of_45_of_50_is_the_published_value():
    lo, hi = evaluate.wilson_interval(45, 50)
    assert lo == pytest.approx(0.7864, abs=1e-4)
    assert hi == pytest.approx(0.9565, abs=1e-4)


@pytest.mark.parametrize("n", [1, 5, 10, 16, 27, 40, 100, 689, 1389])
def test_wilson_interval_at_zero_and_all_successes_stays_inside_0_1(n):
    lo0, hi0 = evaluate.wilson_interval(0, n)
    lo1, hi1 = evaluate.wilson_interval(n, n)
    assert 0.0 <= lo0 < 1e-12 and 0.0 < hi0 < 1.0
    assert 1.0 - 1e-12 < hi1 <= 1.0 and 0.0 < lo1 < 1.0
    assert hi0 == pytest.approx(1 - lo1)  # symmetric


def test_per_class_rates_never_print_negative_zero():
    # Each class perfectly found (0 false positives): interval bounds at exactly 0 and 1.
    y = np.repeat([0, 1, 2], 27)
    table = evaluate.per_class_rates(y, y)
    assert not table.apply(lambda col: col.str.contains("-0.0")).any().any(), table.to_string()


def test_per_class_report_has_a_row_for_each_of_the_3_classes_in_percent():
    y_true = np.array([0, 0, 1, 2])
    y_pred = np.array([0, 0, 0, 2])
    table = evaluate.per_class_report(y_true, y_pred)
    assert set(CLASSES) <= set(table.index)
    assert table.loc["covid", "precision"] == pytest.approx(66.7)
    assert table.loc["covid", "recall"] == 100.0
    assert table.loc["viral_pneumonia", "f1-score"] == 0.0
    assert table["support"].loc[list(CLASSES)].tolist() == [2, 1, 1]


def test_per_class_report_keeps_a_class_missing_from_the_data():
    table = evaluate.per_class_report(np.array([0, 2]), np.array([0, 2]))
    assert list(table.index[:3]) == list(CLASSES)
    assert table.loc["viral_pneumonia", "support"] == 0
