"""The ablation ladder from the paper's text to the authors' code, one setting per rung.

Why: the paper's protocol as written reached 51% where the paper reports 93%, and the authors' code
uses settings the text omits. Each rung changes one setting, so the rung where accuracy moves names
the setting that matters; every rung is trained with several seeds, because one seed is an anecdote.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import PROFILES, Profile

# This module is the plan (rungs, seeds, trainings); xraylib.ladder_record writes and reads the
# record, xraylib.ladder_tables tabulates it, xraylib.ladder_train trains the plan on a CPU and
# xraylib.gpu_grid on a GPU (xraylib.grid); xraylib.wording phrases counts and spreads for prose.


@dataclass
class Member:
    """One training: a label (rung or profile), its profile, seed and split indices."""

    label: str
    procedure: str  # 'initial' or 'fold-k'
    profile: Profile
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def group_key(p: Profile) -> tuple:
    """Settings that fix the compiled function's shapes or layers: one compile per distinct key."""
    return (p.image_size, p.batch_size, p.conv_dropout, p.dense_dropout, p.bn_momentum)


@dataclass(frozen=True)
class Rung:
    """One protocol of the ladder: a short name, what it changes, and the profile it trains."""

    name: str
    change: str
    profile: Profile


def _step(base: Profile, name: str, **changes) -> Profile:
    return dataclasses.replace(base, name=name, **changes)


def rungs() -> list[Rung]:
    """The ladder: paper -> authors one change at a time, then single changes that test hypotheses."""
    paper, authors = PROFILES["paper"], PROFILES["authors"]
    a = authors.augmentation
    r1 = _step(paper, "paper+floor", min_lr=authors.min_lr)
    r2 = _step(r1, "+dropout", conv_dropout=authors.conv_dropout)
    r3 = _step(r2, "+ranges", augmentation=dataclasses.replace(a, horizontal_flip=False))
    r4 = _step(r3, "+flip", augmentation=a)
    r5 = _step(r4, "+rate", learning_rate=authors.learning_rate)
    r6 = _step(r5, "authors", early_stopping=authors.early_stopping)
    assert dataclasses.replace(r6, name="authors") == authors, "the ladder must end at `authors`"
    no_aug = dataclasses.replace(a, rotation_deg=0.0, shear_deg=0.0, zoom=0.0, width_shift=0.0,
                                 height_shift=0.0, horizontal_flip=False)
    return [
        Rung("paper", "the paper's text", paper),
        Rung("paper+floor", "+ min_lr 1e-5 floor", r1),
        Rung("+dropout", "+ dropout 0.25 after each conv block", r2),
        Rung("+ranges", "+ the code's augmentation ranges", r3),
        Rung("+flip", "+ horizontal flips", r4),
        Rung("+rate", "+ learning rate 1e-3", r5),
        Rung("authors", "+ early stopping = the authors' code settings", r6),
        Rung("paper+rate", "paper, learning rate 1e-3 only", _step(paper, "paper+rate",
                                                                   learning_rate=1e-3)),
        Rung("paper-schedule", "paper without ReduceLROnPlateau",
             _step(paper, "paper-schedule", reduce_lr=False)),
        Rung("authors-schedule", "authors without ReduceLROnPlateau",
             _step(authors, "authors-schedule", reduce_lr=False)),
        Rung("authors-aug", "authors without augmentation",
             _step(authors, "authors-aug", augmentation=no_aug)),
        Rung("authors-b32", "authors with batch 32 (batch-norm statistics over 32)",
             _step(authors, "authors-b32", batch_size=32)),
    ]


SEEDS = (2020, 2021, 2022, 2023, 2024)
"""Seeds for every rung of the initial procedure (the first is the profiles' own seed)."""

CV_SEEDS = (2020, 2021, 2022)
"""Seeds for the two ends (paper, authors) through the five-fold cross-validation."""


PLANS = ("ladder", "quick-seeds", "paper-cv")
"""The plans the CPU path (xraylib.ladder_train) can train: the ladder, the quick profile (the
book's CI profile) over SEEDS, or the ladder's cross-validation of the paper's text (paper_cv_plan)."""


def plan(splits: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, list]]:
    """The ladder's trainings as named groups of grid members, most important first.

    splits: {'initial': {'train': ..., 'val': ..., 'test': ...}, 'fold-1': {...}, ...}.
    Members of one group share architecture, batch size and steps per epoch (see xraylib.grid).
    """
    def members(rung_list, procedures, seeds):
        return [Member(r.name, proc, r.profile, seed, **splits[proc])
                for r in rung_list for proc in procedures for seed in seeds]

    ladder = rungs()
    initial = [r for r in ladder if r.profile.batch_size == 5]
    by_key: dict[tuple, list[Rung]] = {}
    for r in initial:
        by_key.setdefault(group_key(r.profile), []).append(r)
    folds = sorted(k for k in splits if k.startswith("fold-"))
    ends = {r.name: r for r in ladder if r.name in ("paper", "authors")}
    groups = [(f"initial-dropout-{key[2]:g}", members(rs, ["initial"], SEEDS))
              for key, rs in by_key.items()]
    groups += [(f"cv-{name}", members([ends[name]], folds, CV_SEEDS)) for name in ("authors", "paper")]
    groups += [("initial-batch-32", members([r for r in ladder if r.profile.batch_size != 5],
                                            ["initial"], SEEDS))]
    return groups


def paper_cv_plan(splits: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, list]]:
    """The ladder's cross-validation of the paper's text (its `cv-paper` group, CV_SEEDS x five
    folds): what the CPU path trains again to set its implementation beside the GPU grid's, run
    for run (same seed, fold and batches)."""
    return [(name, members) for name, members in plan(splits) if name == "cv-paper"]


def seed_plan(profile: Profile, splits: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, list]]:
    """One profile's initial procedure and five folds over SEEDS: the spread beside its numbers.

    The folds are ordered seed by seed, so a stopped training leaves whole cross-validations behind.
    """
    folds = sorted(k for k in splits if k.startswith("fold-"))
    return [(f"{profile.name}-{proc}", [Member(profile.name, p, profile, seed, **splits[p])
                                        for seed in SEEDS
                                        for p in ([proc] if proc == "initial" else folds)])
            for proc in ("initial", "cv")]


_SETTINGS = [  # (setting, value of a profile, where the paper's text stands, where the code has it)
    ("learning rate at the start", lambda p: f"{p.learning_rate:g}",
     "stated (Section 3)",
     "notebooks: optimizer given as the string 'rmsprop', i.e. Keras' default rate; the logs' first "
     "halving confirms it"),
    ("floor of ReduceLROnPlateau (min_lr)", lambda p: f"{p.min_lr:g}" if p.min_lr else "none",
     "not stated (none assumed)",
     "notebooks (min_lr); the saved model's final learning rate equals it"),
    ("dropout after each conv block", lambda p: f"{p.conv_dropout:g}",
     "not stated (Table 1 lists the layers, not the rates): this book's assumption",
     "saved model (webapp/CrossValidatedModel.h5)"),
    ("early stopping", lambda p: (f"patience {p.early_stopping} on validation loss"
                                  if p.early_stopping else "none"),
     "not stated (none assumed)", "notebooks (EarlyStopping, default monitor)"),
    ("rotation range (degrees)", lambda p: f"{p.augmentation.rotation_deg:g}",
     "kinds stated, ranges not (Section 3): this book's assumption",
     "notebooks (ImageDataGenerator arguments)"),
    ("shear range (degrees)", lambda p: f"{p.augmentation.shear_deg:g}",
     "kinds stated, ranges not: this book's assumption", "notebooks (ImageDataGenerator arguments)"),
    ("zoom range", lambda p: f"{p.augmentation.zoom:g}",
     "kinds stated, ranges not: this book's assumption", "notebooks (ImageDataGenerator arguments)"),
    ("width / height shift", lambda p: f"{p.augmentation.width_shift:g} / {p.augmentation.height_shift:g}",
     "kinds stated, ranges not: this book's assumption", "notebooks (ImageDataGenerator arguments)"),
    ("horizontal flips", lambda p: "yes" if p.augmentation.horizontal_flip else "no",
     "not stated (none assumed)", "notebooks (ImageDataGenerator horizontal_flip)"),
]


def protocol_table(paper: Profile | None = None, authors: Profile | None = None) -> pd.DataFrame:
    """Every setting in which the paper's text and the authors' code differ, with where each side's
    value comes from (values read from the two profiles, so the table cannot drift from them)."""
    paper, authors = paper or PROFILES["paper"], authors or PROFILES["authors"]
    rows = [(name, value(paper), src_paper, value(authors), src_code)
            for name, value, src_paper, src_code in _SETTINGS if value(paper) != value(authors)]
    return pd.DataFrame(rows, columns=["setting", "paper's text", "source (paper)", "authors' code",
                                       "source (authors' repository)"]).set_index("setting")
