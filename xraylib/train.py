"""The fit loop of the paper's protocol: one network trained on arrays, and its predictions.

RMSprop, categorical cross-entropy, ReduceLROnPlateau on validation accuracy (and, where a profile
asks, a floor and early stopping), ImageDataGenerator's augmentation inside the compiled step.
Each epoch is n // batch batches of a fresh permutation, the remainder dropped, as in the authors'
notebooks (steps_per_epoch = n // 5) and drawn exactly as the GPU grid draws them (epoch_order).
Plain NumPy arrays in, any Keras backend. Which runs a study trains, and where they are stored,
is xraylib.study.
"""
from __future__ import annotations

import functools
import sys
import time

import numpy as np
import pandas as pd

from .augment import Augment
from .backend import keras, seed_everything, to_numpy
from .config import CLASSES, Profile, cache_dir
from .model import build_model


def epoch_order(rng: np.random.RandomState, n: int, batch: int) -> np.ndarray:
    """One epoch's batches as row indices [n // batch, batch]: a fresh permutation whose remainder
    is dropped (the authors' steps_per_epoch = n // batch). Why one function: the CPU loop
    (EpochBatches) and the GPU grid draw from it, so one seed gives both the same batches."""
    steps = n // batch
    return rng.permutation(n)[:steps * batch].reshape(steps, batch)


class EpochBatches(keras.utils.PyDataset):
    """Training batches for Keras' fit, epoch after epoch from `epoch_order` with
    RandomState(seed): the grid's batches, with no partial last batch (Keras' own shuffling of
    arrays keeps one, so a fold of 889 images trained a batch of 4 each epoch)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch: int, seed: int):
        super().__init__()
        if len(x) < batch:
            raise ValueError(f"{len(x)} training images cannot fill one batch of {batch}")
        self.x, self.y, self.batch = x, y, batch
        self.rng = np.random.RandomState(seed)
        self.order = epoch_order(self.rng, len(x), batch)

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int):
        idx = self.order[i]
        return self.x[idx], self.y[idx]

    def on_epoch_end(self) -> None:
        self.order = epoch_order(self.rng, len(self.x), self.batch)


def trainer_for(net: keras.Model, profile: Profile, seed: int) -> keras.Sequential:
    """The network behind the augmentation layer, which runs inside the compiled training step."""
    return keras.Sequential([keras.Input(net.input_shape[1:]), Augment(profile.augmentation, seed=seed),
                             net], name="trainer")


class Progress(keras.callbacks.Callback):
    """Epoch progress with time left, on the terminal only: never in stored notebook outputs."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs, self.start = label, epochs, time.time()
        self.stream = terminal()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        done = epoch + 1
        left = (time.time() - self.start) / done * (self.epochs - done)
        line = (f"[{self.label}] epoch {done}/{self.epochs} acc {logs.get('accuracy', 0):.3f} "
                f"val_acc {logs.get('val_accuracy', 0):.3f} - {left:.0f}s left")
        log_progress(line, self.stream)



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


@functools.cache
def terminal():
    """A stream to the user's terminal: stderr when it is one (CLI), else /dev/tty (a notebook run
    by `make book`, whose stderr is captured), else None. Opened once per process and kept."""
    if sys.stderr is not None and sys.stderr.isatty() and sys.stderr is sys.__stderr__:
        return sys.stderr
    try:
        return open("/dev/tty", "w")  # one handle for the whole process, on purpose
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
              y_val: np.ndarray, seed: int, label: str = "train", callbacks: list | None = None,
              deterministic: bool = True) -> tuple[keras.Model, pd.DataFrame]:
    """Train a fresh paper network; returns it (final-epoch weights) and the per-epoch history.

    `deterministic` asks TensorFlow for deterministic kernels, a setting of the whole process
    (TensorFlow has no narrower one): the same seed on the same machine then trains the same weights.
    """
    seed_everything(seed, deterministic=deterministic)
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
    batches = EpochBatches(x_train, onehot(y_train), profile.batch_size, seed)
    hist = trainer.fit(batches, validation_data=(x_val, onehot(y_val)), epochs=profile.epochs,
                       verbose=0, callbacks=callbacks)
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


def predict_proba(model: keras.Model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities, computed in batches without Keras' progress output."""
    return np.concatenate([to_numpy(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)]) if len(x) else np.zeros((0, 3))
