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
    # Clipped: at 0/n and n/n rounding leaves ~1e-17 outside [0, 1] ("-0.0%" in tables).
    return (max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def bootstrap_interval(metric, y_true: np.ndarray, y_score: np.ndarray, n_boot: int = 1000,
                       seed: int = 0, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap over images for any metric(y_true, y_score) (F1, AUC, ...)."""
    rng = np.random.default_rng(seed)
    n = len(y_true)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        if len(np.unique(y_true[idx])) < len(CLASSES):
            continue  # a resample without some class has no macro metric
        values.append(metric(y_true[idx], y_score[idx]))
    lo, hi = np.percentile(values, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(lo), float(hi)


def macro_f1(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Macro F1 from probabilities (argmax), for bootstrap_interval."""
    return float(precision_recall_fscore_support(y_true, np.asarray(y_prob).argmax(1),
                                                 labels=range(len(CLASSES)), average="macro",
                                                 zero_division=0)[2])


def macro_auc(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """One-vs-rest macro ROC AUC."""
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    return float(roc_auc_score(y_true, y_prob, multi_class="ovr", average="macro",
                               labels=range(len(CLASSES))))


def per_class_rates(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and NPV of each class against the rest, with Wilson 95% CIs."""
    cm = confusion_matrix(y_true, y_pred, labels=range(len(CLASSES)))
    rows = []
    for k, cls in enumerate(CLASSES):
        tp = cm[k, k]
        fn = cm[k].sum() - tp
        fp = cm[:, k].sum() - tp
        tn = cm.sum() - tp - fn - fp
        row = {"class": cls}
        for name, num, den in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp),
                               ("PPV", tp, tp + fp), ("NPV", tn, tn + fn)):
            lo, hi = wilson_interval(int(num), int(den))
            row[name] = (f"{100 * num / den:.1f} ({100 * lo:.1f}-{100 * hi:.1f})" if den
                         else "n/a")
        rows.append(row)
    return pd.DataFrame(rows).set_index("class")


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-class confidence: bin-size-weighted |accuracy - confidence| over equal bins."""
    table = reliability_table(y_true, y_prob, bins)
    return float((table["count"] * (table["accuracy"] - table["confidence"]).abs()).sum()
                 / max(table["count"].sum(), 1))


def reliability_table(y_true: np.ndarray, y_prob: np.ndarray, bins: int = 15) -> pd.DataFrame:
    """Per confidence bin: how many predictions, their mean confidence and their accuracy."""
    conf = np.asarray(y_prob).max(1)
    correct = np.asarray(y_prob).argmax(1) == np.asarray(y_true)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    rows = [{"bin": f"{edges[b]:.2f}-{edges[b + 1]:.2f}", "count": int((which == b).sum()),
             "confidence": float(conf[which == b].mean()) if (which == b).any() else np.nan,
             "accuracy": float(correct[which == b].mean()) if (which == b).any() else np.nan}
            for b in range(bins)]
    return pd.DataFrame(rows).dropna()


def pick_examples(y_true: np.ndarray, y_pred: np.ndarray, correct: int = 2, wrong: int = 1
                  ) -> list[int]:
    """Per class, the first `correct` right and `wrong` wrong predictions (for saliency figures)."""
    picked = []
    for k in range(len(CLASSES)):
        right = np.flatnonzero((y_true == k) & (y_pred == k))[:correct]
        missed = np.flatnonzero((y_true == k) & (y_pred != k))[:wrong]
        picked.extend(right.tolist() + missed.tolist())
    return picked
