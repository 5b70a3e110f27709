"""Metrics, with scikit-learn doing the counting: summaries, per-class reports, intervals.

Used by chapters 3-5 and by `xraylib train`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.metrics import (accuracy_score, classification_report, confusion_matrix,
                             precision_recall_fscore_support)

from .config import CLASSES


def summary(y_true: np.ndarray, y_prob: np.ndarray) -> dict:
    """Accuracy, macro precision / recall / F1 and the confusion matrix, as plain numbers."""
    y_pred = np.asarray(y_prob).argmax(1)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=range(len(CLASSES)),
                                                 average="macro", zero_division=0)
    acc = accuracy_score(y_true, y_pred)
    lo, hi = wilson_interval(int((y_pred == y_true).sum()), len(y_true))
    return {"n": int(len(y_true)), "accuracy": round(float(acc), 4),
            "accuracy_95ci": [round(lo, 4), round(hi, 4)],
            "precision_macro": round(float(p), 4), "recall_macro": round(float(r), 4),
            "f1_macro": round(float(f), 4), "classes": list(CLASSES),
            "confusion_matrix": confusion_matrix(y_true, y_pred,
                                                 labels=range(len(CLASSES))).tolist()}


def format_summary(s: dict) -> str:
    """The summary as the few lines a terminal user wants."""
    cm = pd.DataFrame(s["confusion_matrix"], index=[f"true {c}" for c in CLASSES],
                      columns=[f"pred {c}" for c in CLASSES])
    lo, hi = s["accuracy_95ci"]
    return (f"accuracy {100 * s['accuracy']:.1f}% (95% CI {100 * lo:.1f}-{100 * hi:.1f}%)\n"
            f"macro precision {100 * s['precision_macro']:.1f}%  recall "
            f"{100 * s['recall_macro']:.1f}%  F1 {100 * s['f1_macro']:.1f}%\n{cm.to_string()}")


def per_class_report(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """scikit-learn's classification report as a rounded table (percent)."""
    rep = classification_report(y_true, y_pred, labels=range(len(CLASSES)), target_names=CLASSES,
                                output_dict=True, zero_division=0)
    table = pd.DataFrame(rep).T.drop(index="accuracy", errors="ignore")
    table[["precision", "recall", "f1-score"]] *= 100
    return table.round({"precision": 1, "recall": 1, "f1-score": 1, "support": 0}).astype(
        {"support": int})


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (better than the normal one near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    z = norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (float(centre - half), float(centre + half))
