"""xraylib.cv: Table 2 agrees with scikit-learn, out-of-fold pooling, and resuming after a stop.

The resume tests train one tiny synthetic configuration (12 images of 8x8 px, 3 folds, 1 epoch)
three times: killed during fold 3, resumed, and loaded.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from xraylib import config, cv, paper, study, train
from xraylib.config import CLASSES

Y_TRUE = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
FOLD_PREDS = [np.array([0, 0, 1, 1, 1, 0, 2, 2, 2, 1]),
              np.array([0, 1, 2, 1, 1, 1, 2, 0, 2, 2]),
              np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])]


def test_fold_table_rows_are_sklearn_macro_metrics_in_percent():
    table = cv.fold_table([(Y_TRUE, p) for p in FOLD_PREDS])
    for i, pred in enumerate(FOLD_PREDS, start=1):
        p, r, f, _ = precision_recall_fscore_support(Y_TRUE, pred, average="macro", zero_division=0)
        row = table.loc[f"fold-{i}"]
        assert row["precision"] == pytest.approx(100 * p, abs=0.005)
        assert row["recall"] == pytest.approx(100 * r, abs=0.005)
        assert row["f1"] == pytest.approx(100 * f, abs=0.005)
        assert row["accuracy"] == pytest.approx(100 * accuracy_score(Y_TRUE, pred), abs=0.005)


def test_fold_table_ends_with_mean_and_sample_standard_deviation_of_the_folds():
    table = cv.fold_table([(Y_TRUE, p) for p in FOLD_PREDS])
    assert list(table.index) == ["fold-1", "fold-2", "fold-3", "mean", "SD"]
    acc = [100 * accuracy_score(Y_TRUE, p) for p in FOLD_PREDS]  # 70, 70, 100
    assert table.loc["mean", "accuracy"] == pytest.approx(np.mean(acc), abs=0.005)
    assert table.loc["SD", "accuracy"] == pytest.approx(np.std(acc, ddof=1), abs=0.005)


def test_pooled_predictions_put_each_fold_back_at_its_own_test_rows():
    profile = config.get_profile("quick")
    fake = [study.Run(f"cv-fold-{i}", profile, None, None, y_true=np.full(2, i),
                      y_prob=np.full((2, 3), i / 10), test_index=np.array([i, i + 3]))
            for i in range(3)]
    result = study.CrossValidation(profile, comp=np.zeros(6), splits=[], runs=fake)
    np.testing.assert_array_equal(result.y_true, [0, 1, 2, 0, 1, 2])
    np.testing.assert_allclose(result.y_prob[:, 0], [0, 0.1, 0.2, 0, 0.1, 0.2])


# ---------------------------------------------------------------------------------------------
# Resuming a stopped cross-validation

STOP_AFTER = 2  # folds finished before the simulated kill
REAL_FIT = train.fit_model


class Killed(Exception):
    """Stands for a cross-validation killed while training."""


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, class_folder):
    """Run a tiny 3-fold CV that dies while training fold 3, resume it, then run it once more.

    Returns the trainings each of the three calls started, and the results of the last two.
    """
    base = tmp_path_factory.mktemp("cv")
    data = str(class_folder(base / "data", per_class=4))
    profile = dataclasses.replace(config.get_profile("quick"), epochs=1, batch_size=4, folds=3,
                                  composition=tuple((c, 4) for c in CLASSES))
    calls: list[list[str]] = []

    def fit(*args, **kwargs):
        if len(calls) == 1 and len(calls[0]) == STOP_AFTER:
            raise Killed
        calls[-1].append(kwargs["label"])
        return REAL_FIT(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.CACHE_ENV, str(base / "cache"))
        mp.setattr(study, "fit_model", fit)
        calls.append([])
        with pytest.raises(Killed):
            study.Study(profile, data).cross_validate()
        calls.append([])
        second = study.Study(profile, data).cross_validate()
        calls.append([])
        third = study.Study(profile, data).cross_validate()
    return profile, calls, second, third


def test_the_killed_cv_had_finished_exactly_the_first_folds(resumed):
    profile, calls, _, _ = resumed
    assert calls[0] == [f"cv-fold-{i} ({profile.name})" for i in range(1, STOP_AFTER + 1)]


def test_resuming_trains_only_the_unfinished_folds(resumed):
    profile, calls, second, _ = resumed
    assert calls[1] == [f"cv-fold-{i} ({profile.name})"
                        for i in range(STOP_AFTER + 1, profile.folds + 1)]
    assert [r.loaded for r in second.runs] == [True] * STOP_AFTER + [False] * (profile.folds
                                                                               - STOP_AFTER)


def test_a_finished_cv_loads_every_fold_and_gives_the_same_table(resumed):
    _, calls, second, third = resumed
    assert calls[2] == []
    assert all(r.loaded for r in third.runs)
    assert third.table().equals(second.table())
    np.testing.assert_allclose(third.y_prob, second.y_prob)


def test_folds_are_disjoint_and_pooled_predictions_cover_every_image_once(resumed):
    _, _, result, _ = resumed
    for split in result.splits:
        sides = [set(split.train), set(split.val), set(split.test)]
        assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    tested = np.concatenate([s.test for s in result.splits])
    assert sorted(tested) == list(range(len(result.comp)))
    np.testing.assert_array_equal(result.y_true, [CLASSES.index(c) for c in result.comp["label"]])
    np.testing.assert_allclose(result.y_prob.sum(1), 1, atol=1e-5)


def test_beside_paper_puts_the_papers_table_2_and_its_own_means_next_to_ours():
    side = cv.beside_paper(cv.fold_table([(Y_TRUE, p) for p in FOLD_PREDS]), label="ours")
    assert list(side.columns.levels[0]) == ["ours", "paper"]
    assert side.loc["fold-2", ("paper", "accuracy")] == 89.57
    assert side.loc["mean", ("paper", "accuracy")] == paper.CV_MEAN_ACCURACY
    assert side.loc["mean", ("paper", "f1")] == paper.CV_MEAN_F1_TABLE
    assert side.loc["mean", ("paper", "precision")] == 92.0
    assert side.loc["SD", ("paper", "accuracy")] == pytest.approx(
        np.std([91.37, 89.57, 91.73, 90.29, 90.25], ddof=1), abs=0.005)
    assert side.loc["mean", ("ours", "accuracy")] == 80.0  # folds 70, 70, 100


def test_fold_span_is_the_highest_minus_the_lowest_fold():
    table = pd.DataFrame({"accuracy": [90.0, 80.5, 95.0, 88.0, 91.0, 88.9, 5.4]},
                         index=["fold-1", "fold-2", "fold-3", "fold-4", "fold-5", "mean", "SD"])
    assert cv.fold_span(table) == pytest.approx(14.5)
    with pytest.raises(ValueError, match="no fold rows"):
        cv.fold_span(table.loc[["mean", "SD"]])
