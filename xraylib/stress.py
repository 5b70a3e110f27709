"""The stress test's trainings: one protocol's seeded networks and its shortcut-removal arms.

Why: a claim about what a network learned needs more than one network. Every arm (the protocol
as it is, every training image through one JPEG round trip, the lungs blanked) is trained with
several seeds through the study's run store, so a call resumes where the last one stopped and
each network's weights are kept for the analyses that need the model (external origins,
controls, saliency).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import data as xdata
from . import shortcuts
from .config import PROFILES, Profile

NATIVE = 256  # the stored images' size: pixel-level transforms run here, before resizing
JPEG_QUALITY = 75  # the cue's own quality (shortcuts.JPEG_GRID is its grid)

SEEDS = (2020, 2021, 2022, 2023, 2024)
"""Seeds of the protocol's own networks (the first is the profile's own seed, the pinned run)."""

ARM_SEEDS = (2020, 2021, 2022)
"""Seeds of each shortcut-removal arm (at least three, the issue's floor)."""


@dataclass(frozen=True)
class Arm:
    """One way of training the protocol: a run name and what is done to every image first."""

    name: str
    run_name: str
    what: str
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    seeds: tuple[int, ...] = ARM_SEEDS


def jpeg_roundtrip(gray: np.ndarray) -> np.ndarray:
    """Every image through the same JPEG round trip on the data's 224 px grid."""
    return shortcuts.jpeg_recompress(gray, quality=JPEG_QUALITY, grid=shortcuts.JPEG_GRID)


ARMS: tuple[Arm, ...] = (
    Arm("protocol", "initial", "the protocol as it is", None, SEEDS),
    Arm("jpeg", f"jpeg-q{JPEG_QUALITY}-grid{shortcuts.JPEG_GRID}",
        "file history removed: every image through one JPEG round trip", jpeg_roundtrip),
    Arm("lungs-blanked", "lungs-blanked", "position: the lung box blanked in every image",
        shortcuts.blank_lungs),
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


def plan(arms: tuple[Arm, ...] = ARMS) -> Iterator[tuple[Arm, int]]:
    """The trainings in the order they are worth most: every protocol seed, then arm by arm,
    seed by seed (so an interrupted session leaves whole seeds, not half an arm)."""
    first, *rest = arms
    for seed in first.seeds:
        yield first, seed
    for i in range(max(len(a.seeds) for a in rest)):
        for arm in rest:
            if i < len(arm.seeds):
                yield arm, arm.seeds[i]


def train(profile_name: str = "authors", data=None, limit: int | None = None, log=print) -> dict:
    """Train the missing runs of the plan (at most `limit`), resuming from the run store."""
    from .study import Study, stored_run, train_split

    base = PROFILES[profile_name]
    study = Study(base, data)
    comp, split = study.comp, study.initial_split
    images = {}
    counts = {"stored": 0, "trained": 0, "left": 0}
    for arm, seed in plan():
        profile = seeded(base, seed)
        if stored_run(arm.run_name, profile, comp, split, with_model=False) is not None:
            counts["stored"] += 1
            continue
        if limit is not None and counts["trained"] >= limit:
            counts["left"] += 1
            continue
        if arm.name not in images:
            images.clear()  # one arm's images in memory at a time (about 0.5 GB at 200 px)
            images[arm.name] = functools.cache(
                lambda a=arm: transformed_images(list(comp["path"]), base.image_size, a.transform))
        log(f"training {arm.name} / seed {seed} ({profile_name}, {base.image_size} px)")
        train_split(arm.run_name, profile, comp, split, images=images[arm.name])
        counts["trained"] += 1
        counts["stored"] += 1
    return counts


if __name__ == "__main__":
    import sys

    print(train(sys.argv[1] if len(sys.argv) > 1 else "authors"), flush=True)
