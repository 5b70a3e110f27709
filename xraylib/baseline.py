"""Linear classifiers in the CNN's own folds: the thumbnail baseline and the shortcut cues.

The thumbnail baseline shows what the CNN adds over a linear model of a 32x32 picture (chapters 5
and 6); the same classifier on other features (border pixels, JPEG statistics) measures how much a
shortcut cue alone carries (chapter 8).

Fitted in float64 to a tight tolerance, so the solution is the unique L2 optimum up to ~1e-8 and
not wherever lbfgs stopped: float32 sums and a loose tolerance let the result depend on the CPU's
vector instructions, and one image near the boundary flipped between two machines.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from . import data as xdata
from .config import CLASSES
from .record import Record, RecordedRun
from .splits import Split

THUMBNAIL = 32
TOLERANCE = 1e-8


def linear_cv(features: np.ndarray, y: np.ndarray, splits: list[Split], C: float = 0.1,
              seed: int = 0) -> np.ndarray:
    """Out-of-fold (N, 3) probabilities of a standardised L2 logistic regression.

    Each split trains on train + val and predicts its test rows; rows no split tests stay NaN.
    """
    features = np.asarray(features, dtype=np.float64)
    y = np.asarray(y)
    if len(features) != len(y):
        raise ValueError(f"features have {len(features)} rows but y has {len(y)}")
    prob = np.full((len(y), len(CLASSES)), np.nan)
    for split in splits:
        fit_on = np.concatenate([split.train, split.val])
        if np.intersect1d(fit_on, split.test).size:
            raise ValueError(f"split {split.name}: test rows also in train/val")
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=TOLERANCE, max_iter=10000,
                                                                 random_state=seed))
        # A fit this small gains nothing from BLAS threads and, beside a training job, loses ~30x.
        with threadpool_limits(limits=1):
            clf.fit(features[fit_on], y[fit_on])
        out = np.zeros((len(split.test), len(CLASSES)))
        out[:, clf.classes_] = clf.predict_proba(features[split.test])
        prob[split.test] = out
    return prob


def logistic_cv(comp, splits: list[Split], size: int = THUMBNAIL, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities of the thumbnail baseline (C = 0.01 on size x size pixels)."""
    x = xdata.load_gray(list(comp["path"]), size).reshape(len(comp), -1) / 255.0
    return linear_cv(x, xdata.labels_of(comp), splits, C=0.01, seed=seed)


def thumbnail_record(comp, initial: Split, folds: list[Split], size: int = THUMBNAIL) -> Record:
    """The thumbnail baseline through the same procedures as the CNN, as a record.Record."""
    y = xdata.labels_of(comp)
    prob, first = logistic_cv(comp, folds, size), logistic_cv(comp, [initial], size)
    run = lambda name, idx, p: RecordedRun(name, y[idx], p[idx], None, None)  # noqa: E731
    return Record("baseline", {"size": size}, run("initial", initial.test, first),
                  [run(f"cv-{s.name}", s.test, prob) for s in folds], [])
