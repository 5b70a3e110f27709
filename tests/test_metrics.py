"""xraylib.metrics: summaries agree with scikit-learn, fixed 3x3 matrices, Wilson intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from xraylib import metrics
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
    s = metrics.summary(Y_TRUE, _onehot_probs(Y_PRED))
    assert s["n"] == 10
    assert s["accuracy"] == pytest.approx(accuracy_score(Y_TRUE, Y_PRED), abs=1e-4) == 0.6
    for key, fn in (("precision_macro", precision_score), ("recall_macro", recall_score),
                    ("f1_macro", f1_score)):
        assert s[key] == pytest.approx(fn(Y_TRUE, Y_PRED, average="macro"), abs=1e-4), key


def test_summary_by_hand_on_a_small_case():
    # covid: P 2/3 R 2/4; viral: P 2/4 R 2/3; normal: P 2/3 R 2/3.
    s = metrics.summary(Y_TRUE, _onehot_probs(Y_PRED))
    assert s["precision_macro"] == pytest.approx((2 / 3 + 2 / 4 + 2 / 3) / 3, abs=1e-4)
    assert s["recall_macro"] == pytest.approx((2 / 4 + 2 / 3 + 2 / 3) / 3, abs=1e-4)
    assert s["confusion_matrix"] == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]


def test_summary_accuracy_interval_is_the_wilson_interval():
    s = metrics.summary(Y_TRUE, _onehot_probs(Y_PRED))
    lo, hi = metrics.wilson_interval(6, 10)
    assert s["accuracy_95ci"] == [round(lo, 4), round(hi, 4)]


def test_confusion_matrix_is_3x3_even_when_a_class_is_never_predicted():
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 0, 2, 2])  # viral_pneumonia never predicted
    s = metrics.summary(y_true, _onehot_probs(y_pred))
    assert s["classes"] == list(CLASSES)
    assert s["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 0, 2]]


def test_confusion_matrix_is_3x3_when_a_class_is_absent_from_truth_and_predictions():
    y = np.array([0, 0, 2])
    s = metrics.summary(y, _onehot_probs(y))
    assert np.asarray(s["confusion_matrix"]).shape == (3, 3)
    assert s["confusion_matrix"][1] == [0, 0, 0]


def test_format_summary_labels_the_matrix_with_every_class():
    text = metrics.format_summary(metrics.summary(Y_TRUE, _onehot_probs(Y_PRED)))
    assert text.startswith("accuracy 60.0%")
    for c in CLASSES:
        assert f"true {c}" in text and f"pred {c}" in text


def test_wilson_interval_of_45_of_50_is_the_published_value():
    lo, hi = metrics.wilson_interval(45, 50)
    assert lo == pytest.approx(0.7864, abs=1e-4)
    assert hi == pytest.approx(0.9565, abs=1e-4)


@pytest.mark.parametrize("n", [1, 5, 10, 16, 27, 40, 100, 689, 1389])
def test_wilson_interval_at_zero_and_all_successes_stays_inside_0_1(n):
    lo0, hi0 = metrics.wilson_interval(0, n)
    lo1, hi1 = metrics.wilson_interval(n, n)
    assert 0.0 <= lo0 < 1e-12 and 0.0 < hi0 < 1.0
    assert 1.0 - 1e-12 < hi1 <= 1.0 and 0.0 < lo1 < 1.0
    assert hi0 == pytest.approx(1 - lo1)  # symmetric


def test_per_class_rates_never_print_negative_zero():
    # Each class perfectly found (0 false positives): interval bounds at exactly 0 and 1.
    y = np.repeat([0, 1, 2], 27)
    table = metrics.per_class_rates(y, y)
    assert not table.apply(lambda col: col.str.contains("-0.0")).any().any(), table.to_string()


def test_per_class_report_has_a_row_for_each_of_the_3_classes_in_percent():
    y_true = np.array([0, 0, 1, 2])
    y_pred = np.array([0, 0, 0, 2])
    table = metrics.per_class_report(y_true, y_pred)
    assert set(CLASSES) <= set(table.index)
    assert table.loc["covid", "precision"] == pytest.approx(66.7)
    assert table.loc["covid", "recall"] == 100.0
    assert table.loc["viral_pneumonia", "f1-score"] == 0.0
    assert table["support"].loc[list(CLASSES)].tolist() == [2, 1, 1]


def test_per_class_report_keeps_a_class_missing_from_the_data():
    table = metrics.per_class_report(np.array([0, 2]), np.array([0, 2]))
    assert list(table.index[:3]) == list(CLASSES)
    assert table.loc["viral_pneumonia", "support"] == 0


# ---------------------------------------------------------------------------------------------
# Intervals, AUC, per-class rates and calibration (chapter 5)


def _noisy_probs(n: int, right: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n labels cycling over the classes and probabilities whose argmax is right about `right`."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    pred = np.where(rng.random(n) < right, y, (y + rng.integers(1, 3, n)) % 3)
    probs = rng.dirichlet(np.ones(3), n) * 0.4
    probs[np.arange(n), pred] += 0.6
    return y, probs


def test_bootstrap_interval_contains_its_point_estimate():
    y, p = _noisy_probs(300, 0.8)
    lo, hi = metrics.bootstrap_interval(metrics.macro_f1, y, p, n_boot=300)
    assert lo < metrics.macro_f1(y, p) < hi


def test_bootstrap_interval_narrows_with_more_samples():
    small = metrics.bootstrap_interval(metrics.macro_f1, *_noisy_probs(100, 0.8), n_boot=300)
    large = metrics.bootstrap_interval(metrics.macro_f1, *_noisy_probs(2500, 0.8), n_boot=300)
    assert (large[1] - large[0]) < 0.5 * (small[1] - small[0])


def test_bootstrap_interval_is_repeatable_for_a_seed():
    y, p = _noisy_probs(200, 0.7)
    assert (metrics.bootstrap_interval(metrics.macro_auc, y, p, n_boot=100, seed=3)
            == metrics.bootstrap_interval(metrics.macro_auc, y, p, n_boot=100, seed=3))


def test_macro_f1_of_probabilities_is_sklearns_macro_f1_of_their_argmax():
    assert metrics.macro_f1(Y_TRUE, _onehot_probs(Y_PRED)) == pytest.approx(
        f1_score(Y_TRUE, Y_PRED, average="macro"))


def test_macro_auc_is_the_mean_of_the_one_vs_rest_aucs():
    y, p = _noisy_probs(120, 0.6, seed=2)
    per_class = [roc_auc_score(y == k, p[:, k]) for k in range(3)]
    assert metrics.macro_auc(y, p) == pytest.approx(np.mean(per_class))


def test_macro_auc_is_1_for_perfect_ranking_and_about_half_for_noise():
    y = np.arange(300) % 3
    assert metrics.macro_auc(y, np.eye(3)[y] * 0.7 + 0.1) == 1.0
    noise = np.random.default_rng(0).dirichlet(np.ones(3), 300)
    assert metrics.macro_auc(y, noise) == pytest.approx(0.5, abs=0.06)


def test_per_class_rates_by_hand_on_the_small_case():
    # covid: TP 2, FN 2, FP 1, TN 5 -> sensitivity 50.0, specificity 83.3, PPV 66.7, NPV 71.4.
    rates = metrics.per_class_rates(Y_TRUE, Y_PRED)
    assert list(rates.index) == list(CLASSES)
    covid = rates.loc["covid"]
    assert covid["sensitivity"].startswith("50.0 (")
    assert covid["specificity"].startswith("83.3 (")
    assert covid["PPV"].startswith("66.7 (")
    assert covid["NPV"].startswith("71.4 (")
    lo, hi = metrics.wilson_interval(2, 4)
    assert covid["sensitivity"] == f"50.0 ({100 * lo:.1f}-{100 * hi:.1f})"


def test_per_class_rates_say_n_a_for_a_class_never_predicted():
    rates = metrics.per_class_rates(np.array([0, 1, 2]), np.array([0, 1, 1]))
    assert rates.loc["normal", "PPV"] == "n/a"
    assert rates.loc["normal", "sensitivity"].startswith("0.0 (")


def test_ece_is_zero_when_confidence_matches_accuracy_in_every_bin():
    # 10 predictions at confidence 0.8, 8 right: one bin, |0.8 - 0.8| = 0.
    y = np.zeros(10, int)
    p = np.tile([0.8, 0.1, 0.1], (10, 1))
    p[:2] = [0.1, 0.8, 0.1]
    assert metrics.expected_calibration_error(y, p) == pytest.approx(0.0)


def test_ece_of_an_overconfident_model_is_its_confidence_minus_accuracy():
    # 4 predictions at 0.99 of which 2 right, 4 at 0.5 (3 classes) all right:
    # (4 * |0.5 - 0.99| + 4 * |1 - 0.5|) / 8.
    y = np.zeros(8, int)
    p = np.array([[0.99, 0.005, 0.005]] * 2 + [[0.005, 0.99, 0.005]] * 2 + [[0.5, 0.25, 0.25]] * 4)
    assert metrics.expected_calibration_error(y, p) == pytest.approx(
        (4 * 0.49 + 4 * 0.5) / 8)


def test_reliability_table_counts_every_prediction_once_in_the_bin_of_its_confidence():
    y, p = _noisy_probs(500, 0.7, seed=4)
    table = metrics.reliability_table(y, p, bins=15)
    assert table["count"].sum() == 500
    for _, row in table.iterrows():
        lo, hi = map(float, row["bin"].split("-"))
        assert lo - 1e-9 <= row["confidence"] <= hi + 1e-9
        assert 0 <= row["accuracy"] <= 1


def test_an_estimate_prints_value_and_interval_in_percent_and_never_minus_zero():
    assert metrics.Estimate(0.696, 0.64, 0.746).text() == "69.6 (64.0-74.6)"
    assert metrics.Estimate(0.0, -1e-17, 0.1).text() == "0.0 (0.0-10.0)"
    assert metrics.Estimate(np.nan, np.nan, np.nan).text() == "n/a"


def test_an_estimate_as_json_is_three_numbers():
    import json

    assert json.loads(json.dumps(metrics.Estimate(0.5, 0.4, 0.6).as_dict())) == {
        "value": 0.5, "low": 0.4, "high": 0.6}


def test_per_class_estimates_are_numbers_the_text_table_is_made_from():
    est = metrics.per_class_estimates(Y_TRUE, Y_PRED)
    text = metrics.per_class_rates(Y_TRUE, Y_PRED)
    for cls in est.index:
        for col in est.columns:
            assert isinstance(est.loc[cls, col].value, float)
            assert text.loc[cls, col] == est.loc[cls, col].text()


def test_mcnemar_counts_only_the_images_where_the_two_disagree():
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    a = np.array([0, 0, 1, 1, 2, 2, 1, 2])  # right on 6
    b = np.array([0, 1, 1, 0, 2, 0, 1, 2])  # right on 3, wrong where a is wrong too on the last two
    test = metrics.mcnemar(y, a, b)
    assert (test["a_only_right"], test["b_only_right"]) == (3, 0)
    assert test["p_value"] == pytest.approx(0.25)  # two-sided binomial, 3 of 3 at one half


def test_mcnemar_of_a_classifier_with_itself_finds_no_difference():
    y = np.array([0, 1, 2, 1])
    assert metrics.mcnemar(y, y, y)["p_value"] == 1.0


def test_the_paired_difference_is_zero_for_the_same_model_and_signed_for_a_better_one():
    y = np.repeat([0, 1, 2], 30)
    good = np.eye(3)[y]
    bad = np.eye(3)[(y + (np.arange(90) % 3 == 0)) % 3]  # a third wrong
    same = metrics.paired_difference(y, good, good)
    assert same.value == same.low == same.high == 0
    diff = metrics.paired_difference(y, good, bad)
    assert diff.value == pytest.approx(1 / 3) and 0 < diff.low < diff.value < diff.high


def test_an_interval_below_zero_reads_with_to_not_a_double_dash():
    assert metrics.Estimate(-0.23, -0.256, -0.203).text() == "-23.0 (-25.6 to -20.3)"


def test_as_text_shows_fractions_in_percent_and_leaves_nan_blank():
    table = pd.DataFrame({"a": [metrics.Estimate(0.5, 0.4, 0.6), 0.9064, np.nan]})
    assert metrics.as_text(table, fractions=True)["a"].tolist() == ["50.0 (40.0-60.0)", "90.64", ""]


def test_p_values_read_as_two_digits_or_below_a_thousandth():
    assert metrics.p_text(0.05486) == "0.055" and metrics.p_text(1e-60) == "< 0.001"
