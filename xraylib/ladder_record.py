"""The ladder record (records/ladder.json, records/quick-seeds.json): its one writer and its reader.

Why one module: the GPU grid (xraylib.gpu_grid) and the CPU run store (xraylib.ladder_train) write
the same format through `new_record`, `add_member` and `as_json`, so both round the same way;
`read_ladder` turns a record into tables of scores. Loads without Keras.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import ladder, metrics
from .config import CLASSES
from .provenance import commit
from .record import Record, RecordedRun

HISTORY = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")
"""The per-epoch columns a member keeps."""

PROB_DECIMALS = 3
"""Test probabilities keep three decimals: the argmax and every score the chapters print survive."""


def _significant(key: str, value: float) -> float:
    """Four significant digits, six for the learning rate (its halvings must stay visible)."""
    return float(f"{value:.{6 if key == 'lr' else 4}g}")


def new_record(plan: str, machine: dict, y: np.ndarray, tests: dict[str, np.ndarray]) -> dict:
    """An empty record of a plan ('ladder' or 'quick-seeds'): the machine, and per split its test
    images and their labels (`y`: the labels of the whole composition)."""
    return {"kind": "ladder", "plan": plan, "machine": machine, "groups": {}, "members": [], "rungs": {},
            "splits": {name: {"test_index": np.asarray(test).tolist(), "y_true": y[test].tolist()}
                       for name, test in tests.items()}}


def add_member(raw: dict, member: ladder.Member, group: str, history: dict, y_prob: np.ndarray,
               stopped_epoch: int | None) -> None:
    """One training's history and test probabilities into the record, rounded the one way."""
    raw["rungs"][member.label] = member.profile.as_dict()
    raw["members"].append({
        "label": member.label, "procedure": member.procedure, "seed": member.seed, "group": group,
        "stopped_epoch": stopped_epoch,
        "history": {k: [_significant(k, float(v)) for v in history[k]] for k in HISTORY},
        "y_prob": np.round(np.asarray(y_prob, dtype=np.float64), PROB_DECIMALS).tolist()})


def as_json(raw: dict, note: str = "") -> str:
    """The record with its provenance (note, commit, time of writing), as compact JSON text: what
    `xraylib ladder --out` writes, from the GPU grid (read_grid) or the run store alike."""
    raw = {**raw, "note": note, "commit": commit(),
           "imported_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    return json.dumps(raw, separators=(",", ":"))


def read_grid(grid_json: str | Path) -> dict:
    """A grid.json from `python -m xraylib.gpu_grid run` (its members written by add_member)."""
    raw = json.loads(Path(grid_json).read_text())
    if raw.get("kind") != "ladder" or not raw.get("members"):
        raise ValueError(f"{grid_json} is not a grid.json written by `python -m xraylib.gpu_grid run`")
    return raw


COLLAPSE_RECALL = 0.10
"""A training 'collapsed' when some class is predicted for fewer than this share of its images."""


@dataclass
class LadderRecord:
    """The recorded ladder: one row per training, the groups' timings and the machine."""

    members: pd.DataFrame
    groups: pd.DataFrame
    machine: dict
    meta: dict
    predictions: dict  # (label, procedure, seed) -> (y_true, y_prob)
    histories: dict = field(default_factory=dict)  # (label, procedure, seed) -> per-epoch DataFrame


def scores(y_true: np.ndarray, y_prob: np.ndarray) -> dict:
    """Accuracy and macro F1 (%), recall per class (%), and whether some class collapsed."""
    y_pred = y_prob.argmax(1)
    recall = [float((y_pred[y_true == c] == c).mean()) for c in range(len(CLASSES))]
    return {"accuracy": 100 * float((y_pred == y_true).mean()),
            "macro_f1": 100 * metrics.macro_f1(y_true, y_prob),
            **{f"recall_{c}": 100 * r for c, r in zip(CLASSES, recall)},
            "collapsed": min(recall) < COLLAPSE_RECALL}


def read_ladder(path: str | Path) -> LadderRecord:
    """records/ladder.json as tables; says how to make it when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ladder record at {path}: train the grid with "
                                f"`python -m xraylib.gpu_grid run` (GPU) and import it with "
                                f"`xraylib ladder --import grid.json --out {path}`")
    raw = json.loads(path.read_text())
    rows, preds, histories = [], {}, {}
    for m in raw["members"]:
        split = raw["splits"][m["procedure"]]
        y_true, y_prob = np.asarray(split["y_true"]), np.asarray(m["y_prob"])
        h = m["history"]
        preds[(m["label"], m["procedure"], m["seed"])] = (y_true, y_prob)
        histories[(m["label"], m["procedure"], m["seed"])] = pd.DataFrame(h)
        rows.append({"rung": m["label"], "procedure": m["procedure"], "seed": m["seed"],
                     "group": m.get("group"), **scores(y_true, y_prob),
                     "classes_predicted": len(np.unique(y_prob.argmax(1))), "epochs": len(h["epoch"]),
                     "stopped_epoch": m["stopped_epoch"], "last_lr": h["lr"][-1],
                     "train_accuracy": 100 * h["accuracy"][-1],
                     "best_val_accuracy": 100 * max(h["val_accuracy"])})
    members = pd.DataFrame(rows)
    groups = pd.DataFrame(raw["groups"]).T[["members", "steps_per_epoch", "first_epoch_s",
                                             "train_s", "total_s", "train_images", "images_per_s"]]
    meta = {k: raw.get(k) for k in ("note", "commit", "imported_utc", "seconds")}
    return LadderRecord(members, groups, raw["machine"], meta, preds, histories)


def seed_record(record: LadderRecord, rung: str, seed: int) -> Record:
    """One seed of a rung as a record.Record (its initial run and the folds it trained), so the
    chapters compute a GPU seed's numbers exactly as they compute a CPU record's."""
    runs = {}
    for (label, procedure, s), (y_true, y_prob) in record.predictions.items():
        if label == rung and s == seed:
            name = procedure if procedure == "initial" else f"cv-{procedure}"
            runs[name] = RecordedRun(name, y_true, y_prob, record.histories[(label, procedure, s)], None)
    if not runs:
        raise KeyError(f"the ladder record holds no run of rung {rung!r} with seed {seed}")
    folds = sorted((r for n, r in runs.items() if n.startswith("cv-fold-")),
                   key=lambda r: int(r.name.rsplit("-", 1)[1]))
    profile = next((r.profile for r in ladder.rungs() if r.name == rung), None)
    meta = {"settings": profile.as_dict() if profile else {}, "seed": seed, "machine": record.machine,
            **record.meta}
    return Record(rung, meta, runs.get("initial"), folds, [])


