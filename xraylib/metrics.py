"""Metrics, with scikit-learn doing the counting: summaries, per-class rates, intervals, tests.

Results are numbers (an Estimate is a value and its interval, as fractions); `Estimate.text` and
`as_text` are the one place that turns them into the text of tables, prose and the CLI.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest, norm
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from .config import CLASSES


@dataclass(frozen=True)
class Estimate:
    """A value with its 95% interval, as numbers (fractions for proportions); NaN where undefined."""

    value: float
    low: float
    high: float

    def text(self, scale: float = 100, digits: int = 1, unit: str = "") -> str:
        """'69.6 (64.0-74.6)': the one format of an estimate in tables, prose and the CLI."""
        if np.isnan(self.value):
            return "n/a"
        f = lambda v: f"{round(scale * v, digits) + 0.0:.{digits}f}"  # noqa: E731 - never "-0.0"
        sep = " to " if round(scale * self.low, digits) < 0 else "-"  # "-25.6 to -20.3", not "-25.6--20.3"
        return f"{f(self.value)}{unit} ({f(self.low)}{sep}{f(self.high)}{unit})"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def proportion(successes: int, n: int) -> Estimate:
    """successes / n with its Wilson 95% interval (NaN for n = 0)."""
    if n == 0:
        return Estimate(np.nan, np.nan, np.nan)
    return Estimate(successes / n, *wilson_interval(int(successes), int(n)))


def accuracy(y_true: np.ndarray, y_prob: np.ndarray) -> Estimate:
    """Top-class accuracy with its Wilson 95% interval over the test images."""
    y_true = np.asarray(y_true)
    return proportion(int((np.asarray(y_prob).argmax(1) == y_true).sum()), len(y_true))


def macro_f1_estimate(y_true: np.ndarray, y_prob: np.ndarray, seed: int = 0) -> Estimate:
    """Macro F1 with a percentile-bootstrap 95% interval over the test images."""
    return Estimate(macro_f1(y_true, y_prob), *bootstrap_interval(macro_f1, y_true, y_prob, seed=seed))


def as_text(table: pd.DataFrame, fractions: bool = False, **fmt) -> pd.DataFrame:
    """A table whose cells are Estimates (or numbers) as text, for display: missing values blank
    (never "NaN"); with `fractions`, plain numbers are fractions shown in percent (at most four
    significant digits)."""
    def cell(e):
        if isinstance(e, Estimate):
            return e.text(**fmt)
        if isinstance(e, (float, np.floating)) and np.isnan(e):
            return ""
        if fractions and isinstance(e, (float, np.floating)):
            return f"{100 * e:.4g}"
        return e
    return table.map(cell)


def p_text(p: float) -> str:
    """A p-value for a reader: two significant digits, or '< 0.001'."""
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> dict:
    """Exact McNemar test of two classifiers on the same images: do they err on different ones?

    Only discordant images count: b = A right and B wrong, c = A wrong and B right; the p-value is
    the two-sided binomial test of b against b + c at one half.
    """
    right_a, right_b = np.asarray(pred_a) == y_true, np.asarray(pred_b) == y_true
    b, c = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p = binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    return {"a_only_right": b, "b_only_right": c, "p_value": float(p)}


def paired_difference(y_true: np.ndarray, prob_a: np.ndarray, prob_b: np.ndarray,
                      metric=None, n_boot: int = 1000, seed: int = 0) -> Estimate:
    """metric(A) - metric(B) on the same images, with a paired percentile-bootstrap 95% interval."""
    metric = metric or (lambda y, p: float((p.argmax(1) == y).mean()))
    y_true, prob_a, prob_b = map(np.asarray, (y_true, prob_a, prob_b))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y_true), len(y_true))
        diffs.append(metric(y_true[idx], prob_a[idx]) - metric(y_true[idx], prob_b[idx]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return Estimate(metric(y_true, prob_a) - metric(y_true, prob_b), float(lo), float(hi))


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
    return float(roc_auc_score(y_true, y_prob, multi_class="ovr", average="macro",
                               labels=range(len(CLASSES))))


def per_class_estimates(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and NPV of each class against the rest, as Estimates (Wilson)."""
    cm = confusion_matrix(y_true, y_pred, labels=range(len(CLASSES)))
    rows = []
    for k, cls in enumerate(CLASSES):
        tp = cm[k, k]
        fn = cm[k].sum() - tp
        fp = cm[:, k].sum() - tp
        tn = cm.sum() - tp - fn - fp
        rows.append({"class": cls, "sensitivity": proportion(tp, tp + fn),
                     "specificity": proportion(tn, tn + fp), "PPV": proportion(tp, tp + fp),
                     "NPV": proportion(tn, tn + fn)})
    return pd.DataFrame(rows).set_index("class")


def per_class_rates(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """per_class_estimates as text, '69.6 (64.0-74.6)' in percent ('n/a' where undefined)."""
    return as_text(per_class_estimates(y_true, y_pred))


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
