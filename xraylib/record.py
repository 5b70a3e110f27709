"""A profile's stored runs written to one small JSON file, so the book can show runs it cannot redo.

The paper profile takes hours on a CPU, so the quick book never retrains it. `xraylib record`
writes, from the run store, each run's test predictions, training history and wall time (no
images, no weights); chapters 4 and 5 read the file and compute every number from those predictions.
This module reads records and loads without Keras; xraylib.pinning writes them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import cv, metrics
from .config import project_root


@dataclass
class RecordedRun:
    """One run as the record keeps it: test labels and probabilities, history, wall time."""

    name: str
    y_true: np.ndarray
    y_prob: np.ndarray
    history: pd.DataFrame
    train_seconds: float | None


@dataclass
class Record:
    """A read record: the initial run (if recorded), the recorded folds, and what is missing."""

    profile: str
    meta: dict
    initial: RecordedRun | None
    folds: list[RecordedRun]
    missing: list[str]

    def table(self) -> pd.DataFrame:
        """Table 2 of the recorded folds (macro precision, recall, F1, accuracy; mean, SD)."""
        return cv.fold_table([(f.y_true, f.y_prob.argmax(1)) for f in self.folds])

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """Labels and probabilities of every recorded fold's test images together."""
        return (np.concatenate([f.y_true for f in self.folds]),
                np.concatenate([f.y_prob for f in self.folds]))

    def fold_predictions(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
        """Each fold's (labels, predicted classes) and the pooled pair: what a fold-confusion figure draws."""
        y, prob = self.pooled()
        return [(f.y_true, f.y_prob.argmax(1)) for f in self.folds], (y, prob.argmax(1))

    def summary(self) -> dict:
        """metrics.summary of the initial run and of the pooled folds (None where not recorded)."""
        return {"initial": metrics.summary(self.initial.y_true, self.initial.y_prob)
                if self.initial else None,
                "cv": metrics.summary(*self.pooled()) if self.folds else None}


def from_runs(profile: str, initial, folds: list, meta: dict | None = None) -> Record:
    """Live or stored runs (train.Run: initial and folds) as a Record, so a built profile and a
    recorded one go through the same code."""
    rec = lambda run, name: RecordedRun(name, run.y_true, run.y_prob, run.history,  # noqa: E731
                                        (run.meta or {}).get("train_seconds"))
    return Record(profile, meta or {}, rec(initial, "initial") if initial is not None else None,
                  [rec(run, run.name) for run in folds], [])


def read_record(path: str | Path) -> Record:
    """A file written by `xraylib record`; says how to make one if it is not there."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no recorded study at {path}: make one with "
                                f"`xraylib record --profile paper --out {path}` once its runs are stored")
    raw = json.loads(path.read_text())
    runs = {name: RecordedRun(name, np.asarray(r["y_true"]), np.asarray(r["y_prob"]),
                              pd.DataFrame(r["history"]), r["train_seconds"])
            for name, r in raw["runs"].items()}
    folds = sorted((r for n, r in runs.items() if n.startswith("cv-fold-")),
                   key=lambda r: int(r.name.rsplit("-", 1)[1]))
    meta = {k: v for k, v in raw.items() if k not in ("runs", "missing")}
    return Record(raw["profile"], meta, runs.get("initial"), folds, raw["missing"])


def describe(record: Record) -> str:
    """When, at which commit and on what machine the runs were recorded, and what is missing."""
    m = record.meta
    lines = [f"profile '{record.profile}', recorded {m['recorded_utc']} UTC at commit {m['commit']} "
             f"on {m['machine']['processor']} (TensorFlow {m['machine']['tensorflow']})",
             f"initial procedure {'recorded' if record.initial else 'not recorded'}; "
             f"{len(record.folds)} of {m['settings']['folds']} cross-validation folds recorded"]
    if m.get("note"):
        lines.append(f"note: {m['note']}")
    if record.missing:
        lines.append("not recorded yet: " + ", ".join(record.missing))
    return "\n".join(lines)


def run_table(record: Record) -> pd.DataFrame:
    """Per recorded run: training minutes, how the learning rate ended, validation accuracy.

    A rate stored as 0 (older histories kept six decimals) is shown as "<5e-07"; the halvings
    after it are not visible, so "times lr halved" is then a lower bound.
    """
    rows = []
    for run in ([record.initial] if record.initial else []) + record.folds:
        h = run.history
        lrs = h["lr"].to_numpy()
        rows.append({"run": run.name, "epochs": len(h),
                     "train minutes": round(run.train_seconds / 60, 1) if run.train_seconds else None,
                     "times lr halved": int((lrs[1:] < lrs[:-1]).sum()),
                     # histories stored before lr kept significant digits show a rate < 5e-7 as 0
                     "last lr": f"{lrs[-1]:.1e}" if lrs[-1] > 0 else "<5e-07",
                     "best val acc": round(float(h["val_accuracy"].max()), 3),
                     "last val acc": round(float(h["val_accuracy"].iloc[-1]), 3),
                     "test accuracy": round(100 * float((run.y_prob.argmax(1) == run.y_true).mean()), 1)})
    return pd.DataFrame(rows).set_index("run")


def run_values(record: Record) -> dict[str, str]:
    """What the Training chapter quotes of a record's runs: the fewest learning-rate halvings of any
    run, and the highest rate any run ended at."""
    runs = [record.initial, *record.folds] if record.initial else record.folds
    return {"rec_halved_min": str(run_table(record)["times lr halved"].min()),
            "rec_lr_max": f"{max(r.history['lr'].iloc[-1] for r in runs):.1e}"}


HISTORY_COLUMNS = {"accuracy": "training accuracy", "loss": "training loss", "val_accuracy": "validation accuracy",
                   "val_loss": "validation loss", "lr": "learning rate", "kept": "weights kept"}
"""A training history's columns as a reader sees them."""


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """A training history per epoch, rounded for print (rates to six decimals), with readers' names."""
    rounded = history.round({"accuracy": 3, "loss": 3, "val_accuracy": 3, "val_loss": 3, "lr": 6})
    return rounded.rename(columns=HISTORY_COLUMNS).set_index("epoch")


def format_record(record: Record) -> str:
    """What `xraylib record` prints: what was recorded, its headline numbers, what is missing."""
    s = record.summary()
    lines = [f"recorded profile '{record.profile}': "
             f"{'initial run, ' if record.initial else ''}{len(record.folds)} fold(s)"]
    for what, summ in s.items():
        if summ:
            lo, hi = summ["accuracy_95ci"]
            lines.append(f"  {what}: accuracy {100 * summ['accuracy']:.1f}% "
                         f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}), macro F1 "
                         f"{100 * summ['f1_macro']:.1f}% on {summ['n']} test images")
    if record.folds:
        lines.append(record.table().to_string())
    if record.missing:
        lines.append("not stored yet: " + ", ".join(record.missing))
    return "\n".join(lines)


EXAMINED = "authors"
"""The profile whose 200 px initial network the saliency chapter, the opening page and the
Conclusions examine: the protocol that reproduces the paper."""


def training_times(root: str | Path | None = None) -> pd.DataFrame:
    """Every measured paper-scale (200 px, 25 epochs) training on a CPU, in one table: the paper
    profile's record (records/paper-profile.json) and the examined network's two trainings
    (benchmarks/cross-machine.json). The one home of 'how long one training takes' that every page
    quotes, so the Performance page, the appendix, the Training chapter and the opening page agree."""
    root = Path(root) if root is not None else project_root()
    rows = []
    rec = json.loads((root / "records" / "paper-profile.json").read_text())
    where = rec.get("machine", {}).get("processor", "CPU")
    for name, run in rec["runs"].items():
        if run.get("train_seconds"):
            rows.append({"training": f"paper profile, {name}", "machine": where,
                         "file": "records/paper-profile.json", "minutes": run["train_seconds"] / 60})
    xm_path = root / "benchmarks" / "cross-machine.json"
    if xm_path.is_file():
        net = json.loads(xm_path.read_text())["examined_network"]
        for key, label in (("record", "authors profile, initial (the record)"),
                           ("pinned", "authors profile, initial (pinned again)")):
            if net.get(key, {}).get("train_seconds"):
                machine = net[key].get("machine", {})
                rows.append({"training": label, "file": "benchmarks/cross-machine.json",
                             "machine": " ".join(filter(None, [machine.get("processor"), machine.get("family_model")])),
                             "minutes": net[key]["train_seconds"] / 60})
    if not rows:
        raise FileNotFoundError(f"no measured training time under {root}/records or {root}/benchmarks: "
                                "run `xraylib record --profile paper` first")
    return pd.DataFrame(rows).set_index("training")


def training_time_phrase(times: pd.DataFrame) -> str:
    """'10 to 117 minutes (median 33) over 8 measured trainings': the spread, not one lucky run."""
    m = times["minutes"]
    return (f"{m.min():.0f} to {m.max():.0f} minutes (median {m.median():.0f}) over {len(m)} measured "
            "paper-scale trainings on 2-core CPUs")
