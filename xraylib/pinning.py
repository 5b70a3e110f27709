"""Writers of what the book reads without retraining: a profile's record file, and the pinned runs.

Why apart from xraylib.record: writing needs the run store and the training stack (Keras); reading
a record must not (the light readers load in a second).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from . import audit, runs
from .backend import versions
from .config import Profile
from .provenance import commit, cpu_info
from .record import EXAMINED
from .study import Study, stored_run


def build_record(profile: Profile, data: str | None = None, note: str = "") -> dict:
    """Every stored run of the initial procedure and the folds, and the names of those missing."""
    study = Study(profile, data)
    comp = study.comp
    planned = [("initial", study.initial_split)] + [(f"cv-{split.name}", split) for split in study.folds]
    recorded, missing = {}, []
    for name, split in planned:
        run = stored_run(name, profile, comp, split, with_model=False)
        if run is None:
            missing.append(name)
            continue
        recorded[name] = {
            "train_seconds": run.meta.get("train_seconds"),
            "n_train": len(split.train), "n_val": len(split.val), "n_test": len(split.test),
            "test_index": run.test_index.tolist(), "y_true": run.y_true.tolist(),
            "y_prob": np.round(run.y_prob, 6).tolist(),
            "history": run.history.to_dict(orient="list")}  # already tidy
    if not recorded:
        raise FileNotFoundError(
            f"no stored run of profile '{profile.name}' for this data: train them first with "
            f"`xraylib train --profile {profile.name}` and `xraylib cv --profile {profile.name}`")
    return {"profile": profile.name, "settings": profile.as_dict(), "note": note,
            "recorded_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "commit": commit(), "images": len(comp),
            "machine": {**cpu_info(), **versions()},
            "runs": recorded, "missing": missing}


def pin_book_runs(profile: Profile, data: str | None = None) -> list[Path]:
    """Train (or load) every run the chapters read, and keep them in records/runs.

    Why: trained weights differ from CPU to CPU, so the book's text outputs (what nbval compares)
    come from these pinned runs on every machine (runs.find_run): every run of the built profile,
    the initial run of EXAMINED and every seeded network of EXAMINED's stress plan that is stored
    (xraylib.stress: their weights are what saliency and predict need). Stale pinned runs of those
    profiles are removed, so the folder holds exactly the book's runs.
    """
    study = Study(profile, data)
    book_runs = [study.initial_run(), *study.cross_validate().runs, audit.lungs_removed(study)["blanked_run"],
                 audit.image_level_run(study)[0], audit.jpeg_mitigation(study)[0],
                 Study(EXAMINED, study.data).initial_run(), *seeded_networks(EXAMINED, data)]
    return pin(book_runs, {profile.name, EXAMINED})


def seeded_networks(profile_name: str, data: str | None = None) -> list:
    """The stored networks of a profile's stress plan, every arm and seed (never trains): pinned,
    so the record can be rebuilt and the plan resumed on a machine whose cache is empty."""
    from .stress import arm_compositions
    from .stress_plan import ARMS, plan

    examined = Study(profile_name, data)
    split = examined.initial_split
    comps = arm_compositions(ARMS, examined.comp, split, log=lambda _: None)
    found = [stored_run(arm.run_name, arm.profile(examined.profile, seed), comps[arm.name], split,
                        with_model=False) for arm, seed in plan(ARMS) if arm.name in comps]
    return [run for run in found if run is not None]


def pin(book_runs: list, names: set[str]) -> list[Path]:
    """Copy each intact stored run into records/runs and remove the pinned runs of the profiles
    `names` that are not among them: the folder then holds exactly these runs of those profiles."""
    target = runs.pinned_dir()
    target.mkdir(parents=True, exist_ok=True)
    kept = []
    for run in book_runs:
        if run.path is None or runs.check_run(run.path) is not None:
            continue
        if run.path.parent.resolve() != target.resolve():
            shutil.rmtree(target / run.path.name, ignore_errors=True)
            shutil.copytree(run.path, target / run.path.name)
        kept.append(target / run.path.name)
    for name in names:
        for stale in target.glob(f"*-{name}-*"):
            if stale.is_dir() and stale not in kept:
                shutil.rmtree(stale)
    return kept
