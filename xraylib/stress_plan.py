"""The stress test's plan: one protocol's seeded networks and the arms that change one thing.

Why apart from the training (xraylib.stress): what is planned (arms, seeds, their order, what each
does to an image) is read by the record's reader (xraylib.spread), which must load without Keras.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import data as xdata
from . import shortcuts
from .config import Profile
from .splits import Split

NATIVE = 256  # the stored images' size: pixel-level transforms run here, before resizing
JPEG_QUALITY = 75  # the cue's own quality (shortcuts.JPEG_GRID is its grid)

SEEDS = (2020, 2021, 2022, 2023, 2024)
"""Seeds of the protocol's own networks (the first is the profile's own seed, the pinned run)."""

ARM_SEEDS = (2020, 2021, 2022)
"""Seeds of each shortcut-removal arm (at least three, the issue's floor)."""


@dataclass(frozen=True)
class Arm:
    """One way of training the protocol: a run name, what is done to every image first, the
    settings it changes (a changed setting renames the profile, so its runs are stored apart), and
    how it changes the composition (rows swapped for other films, splits kept; other films change
    the run's data fingerprint, so those runs are stored apart too)."""

    name: str
    run_name: str
    what: str
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    seeds: tuple[int, ...] = ARM_SEEDS
    changes: tuple[tuple[str, object], ...] = ()
    composition: Callable[[pd.DataFrame, Split], pd.DataFrame] | None = None

    def profile(self, base: Profile, seed: int) -> Profile:
        """The base profile with this arm's settings, trained with `seed`."""
        if self.changes:
            base = dataclasses.replace(base, name=f"{base.name}-{self.name}", **dict(self.changes))
        return seeded(base, seed)


def jpeg_roundtrip(gray: np.ndarray) -> np.ndarray:
    """Every image through the same JPEG round trip on the data's 224 px grid."""
    return shortcuts.jpeg_recompress(gray, quality=JPEG_QUALITY, grid=shortcuts.JPEG_GRID)


REPLACE_SEED = 1
"""Draws which training children the adult films replace: fixed, apart from the training seeds, so
every seed of the age arm trains on the same films."""

ADULTS_IMPORT = ("`xraylib data import <the muhammedtalo/COVID-19 archive or folder> "
                 "--only adult-normals`")


def with_adult_normals(comp: pd.DataFrame, split: Split, folder=None) -> pd.DataFrame:
    """The composition with N of the initial split's training-part normal films (Kermany's
    children) replaced by the N adult normal films of data/adult-normals (xraylib.adults): same
    row count, labels and split indices, so the class sizes stay the paper's and the validation
    and test parts are untouched. A missing folder is a FileNotFoundError naming the import."""
    from .config import adults_dir

    try:
        root = adults_dir(folder)
    except FileNotFoundError as exc:
        looked = str(exc).split("(looked in: ", 1)[-1].split(")", 1)[0]
        raise FileNotFoundError(f"no adult-normals data folder (looked in: {looked}); make it "
                                f"with {ADULTS_IMPORT}") from None
    films = xdata.read_dataset(root)
    films = films[films["label"] == "normal"].reset_index(drop=True)
    labels = comp["label"].to_numpy()
    children = np.sort(split.train[labels[split.train] == "normal"])
    if len(films) > len(children):
        raise ValueError(f"{root}: {len(films)} adult normal films, more than the {len(children)} "
                         f"normal films of the training part they would replace")
    replaced = np.sort(np.random.default_rng(REPLACE_SEED).choice(children, len(films), replace=False))
    out = comp.copy()
    columns = [c for c in out.columns if c in films.columns]
    out.iloc[replaced, [out.columns.get_loc(c) for c in columns]] = films[columns].to_numpy()
    return out


def paper_text_changes() -> tuple[tuple[str, object], ...]:
    """The paper's text where it differs from the authors' code (learning rate 1e-4, its dropout,
    augmentation, no floor, no early stopping): the settings of the ladder's first rung."""
    from .config import PROFILES

    text, code = PROFILES["paper"], PROFILES["authors"]
    return tuple((f.name, getattr(text, f.name)) for f in dataclasses.fields(text)
                 if f.name != "name" and getattr(text, f.name) != getattr(code, f.name))


BATCH_32 = "b32"
PAPER_TEXT = "paper-text"
"""The ladder's batch-32 rung (every seed collapsed to one class): its profile is `authors-b32`."""

ARMS: tuple[Arm, ...] = (
    Arm("protocol", "initial", "the protocol as it is", None, SEEDS),
    Arm(BATCH_32, "initial", "batch 32: the ladder's collapsing rung", seeds=(2020, 2021),
        changes=(("batch_size", 32),)),
    Arm(f"{BATCH_32}-bn0.9", "initial", "batch 32, batch-norm momentum 0.9", seeds=(2020, 2021),
        changes=(("batch_size", 32), ("bn_momentum", 0.9))),
    Arm(f"{BATCH_32}-no-stop", "initial", "batch 32 without early stopping", seeds=(2020, 2021),
        changes=(("batch_size", 32), ("early_stopping", 0))),
    Arm(PAPER_TEXT, "initial", "the paper's text (learning rate 1e-4): does it fail like batch 32?",
        seeds=(2020,), changes=paper_text_changes()),
    Arm("jpeg", f"jpeg-q{JPEG_QUALITY}-grid{shortcuts.JPEG_GRID}",
        "file history removed: every image through one JPEG round trip", jpeg_roundtrip),
    Arm("lungs-blanked", "lungs-blanked", "position: the lung box blanked in every image",
        shortcuts.blank_lungs),
    Arm("adult-normals", "adult-normals", "age: adult normal films from NIH in place of some "
        "training children", composition=with_adult_normals),
)


def seeded(profile: Profile, seed: int) -> Profile:
    """The profile trained with another seed on the same data and splits (its own seed: itself)."""
    return profile if seed == profile.seed else dataclasses.replace(profile, train_seed=seed)


def transformed_images(paths: list[str], size: int, transform=None) -> np.ndarray:
    """Model input at `size`; a transform runs on the native 256 px gray images first."""
    if transform is None:
        gray = xdata.load_gray(paths, size)
    else:
        gray = xdata.resize_gray(transform(xdata.load_gray(paths, NATIVE)), size)
    return xdata.to_model_input(gray)


def arms_with_seeds(n: int | None) -> tuple[Arm, ...]:
    """The arms with at most n seeds each (None: as planned), the protocol's own seed first."""
    if n is None:
        return ARMS
    if n < 1:
        raise ValueError(f"--seeds {n}: at least one seed per arm")
    return tuple(dataclasses.replace(a, seeds=a.seeds[:n]) for a in ARMS)


BATCH_32_ARMS = tuple(a.name for a in ARMS if a.name.startswith(BATCH_32))
SHORTCUT_ARMS = ("jpeg", "lungs-blanked", "adult-normals")


def plan(arms: tuple[Arm, ...] = ARMS) -> Iterator[tuple[Arm, int]]:
    """The trainings in the order they are worth most: every protocol seed, then the causal tests
    (SHORTCUT_ARMS) seed by seed, so an interrupted session leaves whole seeds, not half an arm,
    then the diagnoses (batch 32, the paper's text) seed by seed."""
    first, *rest = arms
    for seed in first.seeds:
        yield first, seed
    causal = [a for a in rest if a.name in SHORTCUT_ARMS]
    for group in (causal, [a for a in rest if a.name not in SHORTCUT_ARMS]):
        for i in range(max((len(a.seeds) for a in group), default=0)):
            for arm in group:
                if i < len(arm.seeds):
                    yield arm, arm.seeds[i]
