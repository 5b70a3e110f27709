"""The study: one profile on one data folder, with its composition, its splits and its runs.

Why one object: the manifest is read and validated once, `--data` reaches every command and
experiment, and every run of a study (the initial procedure, the folds, the shortcut experiments)
is looked up in the run store, or trained and stored, in one place (`Study.run`).
"""
from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import cv, runs
from . import data as xdata
from .backend import keras, versions
from .config import Profile, cache_dir, data_dir, get_profile
from .splits import Split, cv_splits, initial_split
from .train import fit_model, log_progress, predict_proba, tidy_history

EPOCH_BATCHES = "n // batch of a fresh permutation per epoch, the remainder dropped (train.epoch_order)"
"""How a run's epochs were batched, in the meta of every run trained since the CPU loop draws the
grid's batches; runs without it were batched by Keras' fit on arrays (a partial last batch)."""


@dataclass
class Run:
    """A trained model with what it was trained on and how it did on its test side."""

    name: str
    profile: Profile
    model: keras.Model
    history: pd.DataFrame
    y_true: np.ndarray
    y_prob: np.ndarray
    test_index: np.ndarray
    meta: dict = field(default_factory=dict)
    loaded: bool = False
    path: Path | None = None  # the stored copy it was loaded from or saved to

    @property
    def y_pred(self) -> np.ndarray:
        return self.y_prob.argmax(1)


@dataclass
class CrossValidation:
    """The fold runs, the splits they used, and the composition they index."""

    profile: Profile
    comp: pd.DataFrame
    splits: list[Split]
    runs: list[Run]

    @property
    def y_true(self) -> np.ndarray:
        """Out-of-fold labels, in composition order."""
        return self._pooled("y_true")

    @property
    def y_prob(self) -> np.ndarray:
        """Out-of-fold probabilities: each image predicted by the model that never saw it."""
        return self._pooled("y_prob")

    def _pooled(self, attr: str) -> np.ndarray:
        out = np.empty((len(self.comp),) + getattr(self.runs[0], attr).shape[1:],
                       getattr(self.runs[0], attr).dtype)
        for run in self.runs:
            out[run.test_index] = getattr(run, attr)
        return out

    def table(self) -> pd.DataFrame:
        """Table 2: macro precision, recall, F1 and accuracy (percent) per fold, mean and SD."""
        return cv.fold_table([(r.y_true, r.y_prob.argmax(1)) for r in self.runs])


def data_fingerprint(df: pd.DataFrame) -> str:
    """Hash of which files (by content hash where the manifest has one) and labels a run used."""
    ids = df["sha256"].where(df["sha256"] != "", df["file"])
    return runs.run_key(list(ids), list(df["label"]))


def run_path(name: str, profile: Profile, comp: pd.DataFrame, split: Split) -> Path:
    """Where the run of this name, profile, data and split is stored: any change is a new run."""
    key = runs.run_key(profile.as_dict(), data_fingerprint(comp),
                       [split.train.tolist(), split.val.tolist(), split.test.tolist()])
    return runs.run_dir(f"{name}-{profile.name}", key)


def stored_run(name: str, profile: Profile, comp: pd.DataFrame, split: Split,
               with_model: bool = True) -> Run | None:
    """The complete stored run for this profile, data and split, or None: never trains. With
    with_model=False the network is not loaded (run.model is None): predictions and history only.

    Each damaged copy (any file, its checksum list included, or one that does not load) is
    reported in one line and the next copy tried (the cache's, then the pinned one); with none
    left the caller trains it again. Loading writes nothing: `mark_latest` is for the caller
    that wants the run found by `latest_model` (training does it; so does `xraylib train`).
    """
    copies = runs.stored_copies(run_path(name, profile, comp, split))
    for i, (path, problem) in enumerate(copies):
        if problem is None:
            try:
                model, history, arrays, meta = runs.load_run(path, model=with_model)
                run = Run(name, profile, model, tidy_history(history), arrays["y_true"],
                          arrays["y_prob"], arrays["test_index"], meta, loaded=True, path=path)
            except runs.RunDamaged as exc:
                problem = exc.problem
            except (KeyError, ValueError, TypeError) as exc:  # not the arrays or history of a run
                problem = f"does not hold a run ({type(exc).__name__}: {exc})"
            else:
                return run
        after = "using the pinned copy" if i + 1 < len(copies) else "it is trained again"
        log_progress(f"[{name}] stored run {path}: {problem}; not used, {after}", sys.stderr)
    return None


def train_split(name: str, profile: Profile, comp: pd.DataFrame, split: Split,
                images: Callable[[], np.ndarray] | None = None, force: bool = False) -> Run:
    """Load the stored run for this profile, data and split, or train it and store it.

    `images` returns the decoded composition; it is called only if training is needed. A damaged
    stored run is reported in one line (stored_run) and trained again.
    """
    if not force:
        run = stored_run(name, profile, comp, split)
        if run is not None:
            return run
    path = run_path(name, profile, comp, split)
    x = images() if images else xdata.load_images(comp, profile.image_size)
    y = xdata.labels_of(comp)
    start = time.time()
    model, history = fit_model(profile, x[split.train], y[split.train], x[split.val], y[split.val],
                               seed=profile.seed if profile.train_seed is None else profile.train_seed,
                               label=f"{name} ({profile.name})")
    y_prob = predict_proba(model, x[split.test])
    meta = {"name": name, "profile": profile.as_dict(), "train_seconds": round(time.time() - start, 1),
            "n_train": len(split.train), "n_val": len(split.val), "n_test": len(split.test),
            "epoch_batches": EPOCH_BATCHES, **versions(), "cpu_count": os.cpu_count()}
    runs.save_run(path, model, history, {"y_true": y[split.test], "y_prob": y_prob,
                                         "test_index": split.test}, meta)
    runs.mark_latest(path)
    return Run(name, profile, model, history, y[split.test], y_prob, split.test, meta, path=path)


def latest_model(name: str, profile: Profile) -> tuple[keras.Model, dict]:
    """The most recently trained or loaded run of this name and profile, without the main data
    (for `xraylib predict` / `evaluate`): the first of its stored copies that loads (a damaged
    one is reported in one line), its arrays not read; its meta says where it was stored
    (`stored_at`). Says which command makes one if there is none, and which retrains it if
    every copy is damaged."""
    path = runs.latest(f"{name}-{profile.name}")
    copies = runs.stored_copies(cache_dir() / "runs" / path.name) if path is not None else []
    if not copies:
        raise FileNotFoundError(
            f"no stored '{name}' run for profile '{profile.name}' under {cache_dir() / 'runs'}: "
            f"make one with `xraylib train --profile {profile.name}`")
    problems = []
    for i, (copy, problem) in enumerate(copies):
        if problem is None:
            try:
                model, _, _, meta = runs.load_run(copy, arrays=False)  # the network only
                return model, {**meta, "stored_at": str(copy)}
            except runs.RunDamaged as exc:
                problem = exc.problem
        problems.append(f"stored run {copy}: {problem}")
        if i + 1 < len(copies):
            log_progress(f"[{name}] stored run {copy}: {problem}; not used, using the pinned copy",
                         sys.stderr)
    raise FileNotFoundError(f"{'; '.join(problems)}; retrain it with "
                            f"`xraylib train --profile {profile.name}`")


class Study:
    """A profile on a data folder: the paper's composition, its splits, and the runs trained on them."""

    def __init__(self, profile: Profile | str | None = None, data: str | Path | None = None):
        self.profile = profile if isinstance(profile, Profile) else get_profile(profile)
        self.data = data_dir(data)
        self._images: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Study({self.profile.name!r}, {str(self.data)!r})"

    @functools.cached_property
    def comp(self) -> pd.DataFrame:
        """The paper's 289 / 550 / 550 composition of the data folder (read and validated once)."""
        return xdata.composition(self.profile, self.data)

    @functools.cached_property
    def initial_split(self) -> Split:
        """The initial procedure: 560 train / 140 validation / 689 test."""
        return initial_split(self.comp, self.profile)

    @functools.cached_property
    def folds(self) -> list[Split]:
        """The five cross-validation folds, grouped by patient."""
        return cv_splits(self.comp, self.profile)

    def images(self) -> np.ndarray:
        """The composition as model input at the profile's size, decoded once per study (kept on
        the instance, so the images go when the study goes)."""
        if self._images is None:
            self._images = xdata.load_images(self.comp, self.profile.image_size)
        return self._images

    def run(self, name: str, split: Split, images: Callable[[], np.ndarray] | None = None,
            force: bool = False, comp: pd.DataFrame | None = None) -> Run:
        """A run of this study: loaded from the store, or trained on `images` (default: the
        composition) and stored. `comp` replaces the composition for experiments that change it."""
        return train_split(name, self.profile, self.comp if comp is None else comp, split,
                           images=images or self.images, force=force)

    def initial_run(self, force: bool = False) -> Run:
        """The paper's initial procedure."""
        return self.run("initial", self.initial_split, force=force)

    def fold_run(self, k: int, force: bool = False) -> Run:
        """Fold k (1-based) of the cross-validation, loaded or trained and stored."""
        if not 1 <= k <= len(self.folds):
            raise ValueError(f"fold {k} does not exist: the profile has folds 1 to {len(self.folds)}")
        split = self.folds[k - 1]
        return self.run(f"cv-{split.name}", split, force=force)

    def missing_folds(self) -> list[int]:
        """The folds (1-based) with no stored run yet."""
        return [k for k, split in enumerate(self.folds, 1)
                if stored_run(f"cv-{split.name}", self.profile, self.comp, split, with_model=False) is None]

    def cross_validate(self, force: bool = False) -> CrossValidation:
        """Every fold, resumed where a run is missing (each fold is stored as soon as it finishes)."""
        fold_runs = [self.fold_run(k, force=force) for k in range(1, len(self.folds) + 1)]
        return CrossValidation(self.profile, self.comp, self.folds, fold_runs)


def side_by_side(jobs: dict[str, list[str]], workers: int, log=print, poll_s: float = 5.0) -> list[str]:
    """Run the commands of `jobs` (label -> argv) as `workers` processes of one CPU thread each,
    the next started as soon as one ends; returns the labels of those that failed.

    Why: one training at batch 5 keeps two cores busy only part of the time (from epoch to epoch
    it switches between one core and almost two); two one-thread trainings keep 1.4 to 1.9 cores
    busy, so their slowest epochs are faster (benchmarks/levers.json, `side_by_side`)."""
    import subprocess

    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    queue, running, failed, took, began = list(jobs), {}, [], [], {}
    while queue or running:
        while queue and len(running) < workers:
            label = queue.pop(0)
            left = len(queue) + len(running) + 1  # this one, those running, those waiting
            eta = (f"; about {np.mean(took) * left / workers / 60:.0f} min left"
                   if took else "")  # a job's time, shared among the workers
            log(f"starting {len(jobs) - len(queue)} of {len(jobs)} ({workers} side by side): {label}{eta}")
            running[label], began[label] = subprocess.Popen(jobs[label], env=env), time.time()
        time.sleep(poll_s)
        for label, proc in list(running.items()):
            if proc.poll() is not None:
                del running[label]
                took.append(time.time() - began[label])
                if proc.returncode:
                    failed.append(label)
                    log(f"{label}: the training process failed (exit {proc.returncode})")
    return failed
