"""xraylib.baseline: the logistic-regression baseline predicts each fold from models that never saw it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xraylib import baseline
from xraylib.config import CLASSES
from xraylib.splits import Split

N = 36


@pytest.fixture
def comp(tmp_path, cache):
    """36 small PNGs whose class sets their brightness, as a composition table."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N):
        label = CLASSES[i % 3]
        path = tmp_path / f"{label}-{i}.png"
        gray = 40 + 80 * (i % 3) + rng.normal(0, 10, (40, 40))
        Image.fromarray(gray.clip(0, 255).astype(np.uint8)).save(path)
        rows.append({"file": path.name, "label": label, "path": str(path)})
    return pd.DataFrame(rows)


def three_folds() -> list[Split]:
    idx = np.arange(N)
    folds = [idx[idx % 9 // 3 == k] for k in range(3)]  # every class in every fold
    out = []
    for k, test in enumerate(folds):
        rest = np.setdiff1d(idx, test)
        out.append(Split(f"fold-{k + 1}", train=rest[:18], val=rest[18:], test=test))
    return out


def test_out_of_fold_probabilities_have_one_row_per_image_summing_to_1(comp):
    prob = baseline.logistic_cv(comp, three_folds(), size=16)
    assert prob.shape == (N, 3)
    np.testing.assert_allclose(prob.sum(1), 1, atol=1e-6)


def test_baseline_learns_a_task_a_thumbnail_shows(comp):
    prob = baseline.logistic_cv(comp, three_folds(), size=16)
    y = np.array([CLASSES.index(c) for c in comp["label"]])
    assert (prob.argmax(1) == y).mean() > 0.9


def test_a_test_fold_is_predicted_by_a_model_that_never_saw_its_labels(comp):
    splits = three_folds()
    before = baseline.logistic_cv(comp, splits, size=16)
    scrambled = comp.copy()
    test = splits[0].test
    scrambled.loc[test, "label"] = np.roll(scrambled.loc[test, "label"].to_numpy(), 1)
    after = baseline.logistic_cv(scrambled, splits, size=16)
    np.testing.assert_allclose(after[test], before[test])
    assert not np.allclose(after[splits[1].test], before[splits[1].test])



def test_the_fit_reaches_the_optimum_so_the_cpu_cannot_move_it():
    """Stopped early, lbfgs lands where the CPU's float sums lead it; at the optimum it cannot."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    y = np.arange(300) % 3
    x = rng.normal(0, 1, (300, 200)) + 0.3 * y[:, None] * rng.normal(0, 1, 200)
    split = Split("one", train=np.arange(0, 200), val=np.arange(200, 240), test=np.arange(240, 300))
    ours = baseline.linear_cv(x, y, [split], C=0.1)[split.test]
    exact = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, solver="newton-cg", tol=1e-12,
                                                               max_iter=1000))
    exact.fit(x[:240], y[:240])
    np.testing.assert_allclose(ours, exact.predict_proba(x[split.test]), atol=1e-6)


def test_the_baseline_study_predicts_the_initial_test_set_and_every_fold_once(comp):
    folds = three_folds()
    initial = Split("initial", train=np.arange(0, 20), val=np.arange(20, 24), test=np.arange(24, N))
    rec = baseline.thumbnail_record(comp, initial, folds, size=16)
    assert len(rec.initial.y_true) == N - 24 and [len(f.y_true) for f in rec.folds] == [12, 12, 12]
    y, p = rec.pooled()
    assert len(y) == N and not np.isnan(p).any()
    assert rec.summary()["cv"]["accuracy"] > 0.9
