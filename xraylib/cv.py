"""Five-fold cross-validation (the paper's Table 2 and Figure 6), resumable fold by fold.

Each fold is one stored run (xraylib.runs), written as soon as the fold finishes: an interrupted
cross-validation resumes at the first unfinished fold (study.Study.cross_validate, which returns a
study.CrossValidation). This module keeps the fold tables, which load without Keras.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from . import paper


def fold_table(folds: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Per-fold macro metrics in percent, with mean and standard deviation rows."""
    rows = []
    for y_true, y_pred in folds:
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2],
                                                     average="macro", zero_division=0)
        rows.append({"precision": 100 * p, "recall": 100 * r, "f1": 100 * f,
                     "accuracy": 100 * accuracy_score(y_true, y_pred)})
    table = pd.DataFrame(rows, index=[f"fold-{i}" for i in range(1, len(rows) + 1)])
    stats = pd.DataFrame([table.mean(), table.std(ddof=1)], index=["mean", "SD"])
    return pd.concat([table, stats]).round(2)


def beside_paper(ours: pd.DataFrame, label: str = "ours") -> pd.DataFrame:
    """A Table 2 from fold_table next to the paper's, fold by fold, with the paper's mean row."""
    table2 = paper.TABLE2
    side = pd.concat({label: ours, "paper": table2.reindex(ours.index)}, axis=1)
    cols = [("paper", c) for c in table2.columns]
    if "mean" in side.index:  # Table 2's own 'Average' row: F1 89.8 (the text says 89.88)
        side.loc["mean", cols] = [table2["precision"].mean(), table2["recall"].mean(),
                                  paper.CV_MEAN_F1_TABLE, paper.CV_MEAN_ACCURACY]
    if "SD" in side.index:
        side.loc["SD", cols] = table2.std(ddof=1).round(2).to_numpy()
    return side


def fold_span(table: pd.DataFrame, column: str = "accuracy") -> float:
    """Highest minus lowest fold (points) of a fold_table: what 'the folds differ by' means."""
    folds = table.loc[table.index.astype(str).str.startswith("fold"), column]
    if folds.empty:
        raise ValueError("the table has no fold rows ('fold-1', ...): pass a fold_table")
    return float(folds.max() - folds.min())
