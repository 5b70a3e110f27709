"""A non-deep baseline: logistic regression on downsampled pixels, in the CNN's own folds.

It shows what the CNN adds over a linear model of a thumbnail (chapter 5).
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import data as xdata
from .splits import Split

THUMBNAIL = 32


def logistic_cv(comp, splits: list[Split], size: int = THUMBNAIL, seed: int = 0) -> np.ndarray:
    """Out-of-fold class probabilities of a logistic regression trained on train+validation."""
    x = xdata.load_gray(list(comp["path"]), size).reshape(len(comp), -1).astype(np.float32) / 255
    y = xdata.labels_of(comp)
    prob = np.zeros((len(comp), 3))
    for split in splits:
        fit_on = np.concatenate([split.train, split.val])
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000,
                                                                 random_state=seed))
        clf.fit(x[fit_on], y[fit_on])
        prob[split.test] = clf.predict_proba(x[split.test])
    return prob
