"""Training with the paper's protocol, and the initial train/test procedure.

RMSprop, categorical cross-entropy, ReduceLROnPlateau on validation accuracy (and, where a profile
asks, a floor and early stopping), ImageDataGenerator's augmentation inside the compiled step.
Plain NumPy arrays in, any Keras backend.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import data as xdata
from . import runs
from .config import CLASSES, Profile, cache_dir, get_profile
from .model import build_model
from .splits import Split, initial_split
from .augment import Augment
from .backend import keras, seed_everything, to_numpy, versions


def trainer_for(net: keras.Model, profile: Profile, seed: int) -> keras.Sequential:
    """The network behind the augmentation layer, which runs inside the compiled training step."""
    return keras.Sequential([keras.Input(net.input_shape[1:]), Augment(profile.augmentation, seed=seed),
                             net], name="trainer")


class Progress(keras.callbacks.Callback):
    """Epoch progress with time left, on the terminal only: never in stored notebook outputs."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs, self.start = label, epochs, time.time()
        self.stream = _terminal()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        done = epoch + 1
        left = (time.time() - self.start) / done * (self.epochs - done)
        line = (f"[{self.label}] epoch {done}/{self.epochs} acc {logs.get('accuracy', 0):.3f} "
                f"val_acc {logs.get('val_accuracy', 0):.3f} - {left:.0f}s left")
        log_progress(line, self.stream)

    def on_train_end(self, logs=None):
        if self.stream is not None and self.stream is not sys.stderr:
            self.stream.close()


class KeepBest(keras.callbacks.Callback):
    """Restore, after training, the weights of the epoch with the highest validation accuracy."""

    def __init__(self):
        super().__init__()
        self.best, self.weights, self.epoch = -1.0, None, 0

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("val_accuracy", -1.0) > self.best:
            self.best, self.weights, self.epoch = logs["val_accuracy"], self.model.get_weights(), epoch + 1

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


def _terminal():
    """A stream to the user's terminal: stderr when it is one (CLI), else /dev/tty, else None."""
    if sys.stderr is not None and sys.stderr.isatty() and sys.stderr is sys.__stderr__:
        return sys.stderr
    try:
        return open("/dev/tty", "w")  # noqa: SIM115 - kept open for the run
    except OSError:
        return None


def log_progress(line: str, stream=None) -> None:
    """Show a progress line on the terminal and append it to .cache/progress.log (for `tail -f`)."""
    if stream is not None:
        print(line, file=stream, flush=True)
    try:
        with open(cache_dir() / "progress.log", "a") as f:
            f.write(time.strftime("%H:%M:%S ") + line + "\n")
    except OSError:
        pass  # a read-only cache: the terminal line is all there is


def fit_model(profile: Profile, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
              y_val: np.ndarray, seed: int, label: str = "train",
              callbacks: list | None = None) -> tuple[keras.Model, pd.DataFrame]:
    """Train a fresh paper network; returns it (final-epoch weights) and the per-epoch history."""
    seed_everything(seed)
    net = build_model(profile, size=x_train.shape[1])
    trainer = trainer_for(net, profile, seed)
    trainer.compile(optimizer=keras.optimizers.RMSprop(profile.learning_rate),
                    loss="categorical_crossentropy", metrics=["accuracy"])
    onehot = lambda y: keras.utils.to_categorical(y, len(CLASSES))  # noqa: E731
    callbacks = list(callbacks or []) + [Progress(label, profile.epochs)]
    if profile.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy", mode="max", factor=profile.lr_factor,
            patience=profile.lr_patience, min_lr=profile.min_lr, verbose=0))
    if profile.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss",
                                                       patience=profile.early_stopping))
    keep = KeepBest() if profile.restore_best else None
    if keep:
        callbacks.append(keep)
    hist = trainer.fit(x_train, onehot(y_train), batch_size=profile.batch_size,
                       validation_data=(x_val, onehot(y_val)), epochs=profile.epochs,
                       shuffle=True, verbose=0, callbacks=callbacks)
    history = pd.DataFrame(hist.history).rename(columns={"learning_rate": "lr"})
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["kept"] = history["epoch"] == (keep.epoch if keep else len(history))
    return net, tidy_history(history)


def tidy_history(history: pd.DataFrame) -> pd.DataFrame:
    """One form for a fresh and a stored history, so both print the same."""
    kept = history.pop("kept").astype(bool) if "kept" in history else None
    history = history.astype(float)
    rounded = history.round(6)
    if "lr" in history:  # significant digits: the paper's schedule takes the rate below 1e-6
        rounded["lr"] = [float(f"{v:.6g}") for v in history["lr"]]
    history = rounded
    history["epoch"] = history["epoch"].astype(int)
    if kept is not None:
        history["kept"] = kept.to_numpy()
    return history


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities, computed in batches without Keras' progress output."""
    return np.concatenate([to_numpy(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)]) if len(x) else np.zeros((0, 3))


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

    @property
    def y_pred(self) -> np.ndarray:
        return self.y_prob.argmax(1)


def data_fingerprint(df: pd.DataFrame) -> str:
    """Hash of which files (by content hash where the manifest has one) and labels a run used."""
    ids = df["sha256"].where(df["sha256"] != "", df["file"])
    return runs.run_key(list(ids), list(df["label"]))


def run_path(name: str, profile: Profile, comp: pd.DataFrame, split: Split) -> Path:
    """Where the run of this name, profile, data and split is stored: any change is a new run."""
    key = runs.run_key(profile.as_dict(), data_fingerprint(comp),
                       [split.train.tolist(), split.val.tolist(), split.test.tolist()])
    return runs.run_dir(f"{name}-{profile.name}", key)


def stored_run(name: str, profile: Profile, comp: pd.DataFrame, split: Split) -> Run | None:
    """The complete stored run for this profile, data and split, or None: never trains.

    Each damaged copy (any file, its checksum list included, or one that does not load) is
    reported in one line and the next copy tried (the cache's, then the pinned one); with none
    left the caller trains it again. Loading writes nothing but the `.latest` pointer, and only
    when it changes (runs.mark_latest).
    """
    copies = runs.stored_copies(run_path(name, profile, comp, split))
    for i, (path, problem) in enumerate(copies):
        if problem is None:
            try:
                model, history, arrays, meta = runs.load_run(path)
                run = Run(name, profile, model, tidy_history(history), arrays["y_true"],
                          arrays["y_prob"], arrays["test_index"], meta, loaded=True)
            except runs.RunDamaged as exc:
                problem = exc.problem
            except (KeyError, ValueError, TypeError) as exc:  # not the arrays or history of a run
                problem = f"does not hold a run ({type(exc).__name__}: {exc})"
            else:
                runs.mark_latest(path)
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
    y_prob = predict(model, x[split.test])
    meta = {"name": name, "profile": profile.as_dict(), "train_seconds": round(time.time() - start, 1),
            "n_train": len(split.train), "n_val": len(split.val), "n_test": len(split.test),
            **versions(), "cpu_count": os.cpu_count()}
    runs.save_run(path, model, history, {"y_true": y[split.test], "y_prob": y_prob,
                                         "test_index": split.test}, meta)
    runs.mark_latest(path)
    return Run(name, profile, model, history, y[split.test], y_prob, split.test, meta)


def latest_model(name: str, profile: Profile) -> tuple[keras.Model, dict]:
    """The most recently trained or loaded run of this name and profile, without the main data
    (for `xraylib predict` / `evaluate`): the first of its stored copies that loads. Says which
    command makes one if there is none, and which retrains it if every copy is damaged."""
    path = runs.latest(f"{name}-{profile.name}")
    copies = runs.stored_copies(cache_dir() / "runs" / path.name) if path is not None else []
    if not copies:
        raise FileNotFoundError(
            f"no stored '{name}' run for profile '{profile.name}' under {cache_dir() / 'runs'}: "
            f"make one with `xraylib train --profile {profile.name}`")
    problems = []
    for copy, problem in copies:
        if problem is None:
            try:
                model, _, _, meta = runs.load_run(copy)
                return model, meta
            except runs.RunDamaged as exc:
                problem = exc.problem
        problems.append(f"stored run {copy}: {problem}")
    raise FileNotFoundError(f"{'; '.join(problems)}; retrain it with "
                            f"`xraylib train --profile {profile.name}`")


def initial_run(profile: Profile | str | None = None, data: str | None = None,
                force: bool = False) -> Run:
    """The paper's initial procedure: 560 train / 140 validation / 689 test."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    comp = xdata.composition(profile, data)
    return train_split("initial", profile, comp, initial_split(comp, profile), force=force)
