"""Seeded, stratified, patient-grouped splits with the paper's exact sizes.

scikit-learn's StratifiedGroupKFold balances folds only approximately; the paper gives exact sizes
(560 / 140 / 689 and 277-278 per fold), so the two small greedy fillers below keep them exact while
never putting one patient on two sides.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import paper
from .config import CLASS_NAMES, CLASSES, Profile


@dataclass(frozen=True)
class Split:
    """Row indices into the composition table for one train / validation / test procedure."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _groups_in_class(labels: np.ndarray, groups: np.ndarray, label: str, rng) -> list[np.ndarray]:
    members = np.flatnonzero(labels == label)
    names = pd.unique(groups[members])
    rng.shuffle(names)
    return [members[groups[members] == g] for g in names]


def take_grouped(labels, groups, counts: dict[str, int], seed: int,
                 pool: np.ndarray | None = None) -> np.ndarray:
    """Exactly counts[label] indices per class from pool, whole patient groups only."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in CLASSES:
        need = counts.get(label, 0)
        for members in _groups_in_class(labels[pool], groups[pool], label, rng):
            if need == 0:
                break
            if len(members) <= need:
                chosen.extend(pool[members])
                need -= len(members)
        if need:
            raise ValueError(f"cannot take {counts[label]} {label!r} images in whole patient groups "
                             f"from {int((labels[pool] == label).sum())} available")
    return np.sort(np.asarray(chosen, dtype=int))


def grouped_folds(labels, groups, k: int, seed: int, pool: np.ndarray | None = None) -> list[np.ndarray]:
    """k disjoint folds, each class spread as evenly as whole patient groups allow."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool)
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for label in CLASSES:
        members_list = _groups_in_class(labels[pool], groups[pool], label, rng)
        n = sum(len(m) for m in members_list)
        target = [n // k + (1 if i < n % k else 0) for i in range(k)]
        filled = [0] * k
        # Largest groups first, each to the fold furthest below its target.
        for members in sorted(members_list, key=len, reverse=True):
            i = max(range(k), key=lambda j: (target[j] - filled[j], -j))
            folds[i].extend(pool[members])
            filled[i] += len(members)
    return [np.sort(np.asarray(f, dtype=int)) for f in folds]


def _train_val(labels, groups, pool: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = {c: int(round(fraction * int((labels[pool] == c).sum()))) for c in CLASSES}
    val = take_grouped(labels, groups, counts, seed, pool=pool)
    return np.setdiff1d(pool, val), val


def initial_split(comp: pd.DataFrame, profile: Profile) -> Split:
    """The paper's initial procedure: 700 for training (80/20 train/val), the other 689 for test."""
    labels, groups = comp["label"].to_numpy(), comp["group"].to_numpy()
    train_pool = take_grouped(labels, groups, dict(profile.initial_train), profile.seed)
    test = np.setdiff1d(np.arange(len(comp)), train_pool)
    train, val = _train_val(labels, groups, train_pool, profile.validation_fraction, profile.seed + 1)
    return Split("initial", train, val, test)


def cv_splits(comp: pd.DataFrame, profile: Profile) -> list[Split]:
    """The paper's k-fold cross-validation: each fold tests once, the rest split 80/20."""
    labels, groups = comp["label"].to_numpy(), comp["group"].to_numpy()
    folds = grouped_folds(labels, groups, profile.folds, profile.seed)
    out = []
    for i, test in enumerate(folds):
        rest = np.setdiff1d(np.arange(len(comp)), test)
        train, val = _train_val(labels, groups, rest, profile.validation_fraction,
                                profile.seed + 100 + i)
        out.append(Split(f"fold-{i + 1}", train, val, test))
    return out


def split_sizes(comp: pd.DataFrame, splits: list[Split]) -> pd.DataFrame:
    """Images per class on each side of each split: the table `xraylib splits` prints."""
    rows = []
    for split in splits:
        for side in ("train", "val", "test"):
            idx = getattr(split, side)
            counts = comp["label"].iloc[idx].value_counts()
            rows.append({"split": split.name, "side": side,
                         **{c: int(counts.get(c, 0)) for c in CLASSES}, "total": len(idx)})
    return pd.DataFrame(rows)


def fold_size_ranges(sizes: pd.DataFrame) -> dict[str, str]:
    """Images per side over the cross-validation folds of a `split_sizes` table, as '889-890' or
    '222' (one number when every fold has it): what prose quotes, so it cannot go stale."""
    folds = sizes[sizes["split"].str.startswith("fold-")]
    if folds.empty:
        raise ValueError("the split_sizes table has no fold-N rows: pass the cross-validation splits")
    out = {}
    for side in ("train", "val", "test"):
        totals = folds.loc[folds["side"] == side, "total"]
        lo, hi = int(totals.min()), int(totals.max())
        out[side] = f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"
    return out


def _paper_total(split: str, side: str) -> int | str:
    """The paper's count for one side of one split; its stated initial test set as it adds up."""
    if split == "initial":
        stated = paper.INITIAL_TEST_STATED
        return {"train": paper.INITIAL_SIZES["train"], "val": paper.INITIAL_SIZES["validation"],
                "test": f"{sum(stated.values())} ({'/'.join(map(str, stated.values()))})"}[side]
    return {"train": paper.CV_SIZES["train"], "val": paper.CV_SIZES["validation"], "test": paper.CV_SIZES["test"]}[side]


def sizes_beside_paper(comp: pd.DataFrame, profile: Profile) -> tuple[dict[str, str], pd.DataFrame]:
    """Every split's sizes beside the paper's, and what the Data chapter quotes of them (ids ->
    text): the folds' ranges, the initial pool and test set, how many images carry a patient id."""
    sizes = split_sizes(comp, [initial_split(comp, profile)] + cv_splits(comp, profile))
    sizes["paper total"] = [_paper_total(s, side) for s, side in zip(sizes["split"], sizes["side"])]
    initial = sizes[sizes["split"] == "initial"].set_index("side")["total"]
    values = {"n_with_patient": f"{(comp['patient_id'] != '').sum():,}",
              **{f"fold_{side}": text for side, text in fold_size_ranges(sizes).items()},
              "init_pool": f"{initial['train'] + initial['val']:,}", "init_test": f"{initial['test']:,}"}
    return values, sizes.rename(columns=CLASS_NAMES)


def fold_test_sizes(sizes: pd.DataFrame) -> pd.DataFrame:
    """The test side of each split in a `split_sizes` table, one row per split, class names applied."""
    test = sizes[sizes["side"] == "test"].set_index("split").drop(columns="side")
    return test.rename(columns=CLASS_NAMES)
