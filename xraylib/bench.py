"""`xraylib bench`: training throughput of three paths side by side on the same images.

- naive: what a user would copy from the original notebook: a Keras directory loader that reads and
  decodes the PNG files every epoch, augmentation, then `fit`;
- ours: the project's training path (decoded-image cache, in-memory tensors, augmentation layers);
- limit: `fit` on in-memory tensors with no augmentation and no input pipeline.
Each path trains the paper network for `epochs` epochs on the same images; the last epoch is timed
(the first one pays for tracing). Used by the Performance appendix and CI (`--short`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import data as xdata
from . import paper
from .augment import Augment
from .backend import keras, seed_everything, versions
from .config import CLASSES, Profile
from .model import build_model
from .provenance import cpu_info
from .study import Study
from .train import fit_model

_EPOCHS = 25
PAPER_STUDY_TRAIN_IMAGES = _EPOCHS * (paper.INITIAL_SIZES["train"] + 5 * paper.CV_SIZES["train"])
"""Images the paper's study trains on: the initial procedure and five folds, 25 epochs each."""
PAPER_STUDY_INFER_IMAGES = (_EPOCHS * (paper.INITIAL_SIZES["validation"] + 5 * paper.CV_SIZES["validation"])
                            + sum(paper.COMPOSITION.values()) - paper.INITIAL_SIZES["train"]
                            - paper.INITIAL_SIZES["validation"] + sum(paper.COMPOSITION.values()))
"""Images it predicts: validation after every epoch, the initial test set and every fold's test."""


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.last = time.perf_counter() - self.start


def _compiled(net: keras.Model, profile: Profile) -> keras.Model:
    net.compile(optimizer=keras.optimizers.RMSprop(profile.learning_rate),
                loss="categorical_crossentropy", metrics=["accuracy"])
    return net


def _naive(paths: list[str], labels: list[str], profile: Profile, epochs: int) -> float:
    """Directory loader reading PNGs from disk each epoch, then augmentation and fit: seconds/epoch."""
    with tempfile.TemporaryDirectory() as tmp:
        for label in CLASSES:
            (Path(tmp) / label).mkdir()
        for i, (path, label) in enumerate(zip(paths, labels)):
            os.symlink(path, Path(tmp) / label / f"{i:05d}.png")
        ds = keras.utils.image_dataset_from_directory(
            tmp, labels="inferred", label_mode="categorical", class_names=list(CLASSES),
            color_mode="rgb", image_size=(profile.image_size, profile.image_size),
            batch_size=profile.batch_size, shuffle=True, seed=profile.seed, verbose=False)
        seed_everything(profile.seed)
        trainer = keras.Sequential([keras.layers.Rescaling(1 / 255), Augment(profile.augmentation, seed=profile.seed),
                                    build_model(profile)])
        timer = _EpochTimer()
        _compiled(trainer, profile).fit(ds, epochs=epochs, verbose=0, shuffle=False,
                                        callbacks=[timer])  # the loader shuffles
    return timer.last


def _limit(x: np.ndarray, y: np.ndarray, profile: Profile, epochs: int) -> float:
    """fit on in-memory tensors, no augmentation: the compute limit, seconds/epoch."""
    seed_everything(profile.seed)
    timer = _EpochTimer()
    _compiled(build_model(profile), profile).fit(
        x, keras.utils.to_categorical(y, len(CLASSES)), batch_size=profile.batch_size,
        epochs=epochs, verbose=0, shuffle=True, callbacks=[timer])
    return timer.last


def _ours(x, y, xv, yv, profile: Profile, epochs: int) -> tuple[float, float]:
    """The project's path (train.fit_model): seconds of the last epoch and its validation accuracy."""
    timer = _EpochTimer()
    _, history = fit_model(dataclasses.replace(profile, epochs=epochs), x, y, xv, yv,
                           seed=profile.seed, label="bench", callbacks=[timer])
    return timer.last, float(history["val_accuracy"].iloc[-1])


def run_bench(profile: Profile, short: bool = False, data: str | None = None) -> dict:
    """Measure the three paths and inference; project the full paper study's wall time."""
    study = Study(profile, data)
    comp, split = study.comp, study.initial_split
    labels = xdata.labels_of(comp)
    if short:  # a few images of every class, so every class folder exists for the naive loader
        take = lambda idx, n: np.concatenate([idx[labels[idx] == k][:n] for k in range(len(CLASSES))])  # noqa: E731
        train_idx, val_idx = take(split.train, 14), take(split.val, 7)
    else:
        train_idx, val_idx = split.train, split.val
    n_train, epochs = len(train_idx), 2
    train_rows, val_rows = comp.iloc[train_idx], comp.iloc[val_idx]
    start = time.perf_counter()
    x = xdata.load_images(train_rows, profile.image_size)
    decode_s = time.perf_counter() - start
    y = xdata.labels_of(train_rows)
    xv, yv = xdata.load_images(val_rows, profile.image_size), xdata.labels_of(val_rows)

    naive_s = _naive(list(train_rows["path"]), list(train_rows["label"]), profile, epochs)
    ours_s, val_acc = _ours(x, y, xv, yv, profile, epochs)
    limit_s = _limit(x, y, profile, epochs)

    net = build_model(profile)
    batch = x[: min(len(x), 64)]
    net(batch[:8], training=False)
    start = time.perf_counter()
    net(batch, training=False)
    infer_rate = len(batch) / (time.perf_counter() - start)

    rates = {"naive": n_train / naive_s, "ours": n_train / ours_s, "limit": n_train / limit_s}
    projected = PAPER_STUDY_TRAIN_IMAGES / rates["ours"] + PAPER_STUDY_INFER_IMAGES / infer_rate
    return {
        "profile": profile.name, "mode": "short" if short else "full", "images": n_train,
        "epochs_timed": 1, "image_size": profile.image_size, "batch_size": profile.batch_size,
        "train_images_per_s": {k: round(v, 1) for k, v in rates.items()},
        "ratio_ours_over_naive": round(rates["ours"] / rates["naive"], 2),
        "ratio_ours_over_limit": round(rates["ours"] / rates["limit"], 2),
        "inference_images_per_s": round(infer_rate, 1),
        "decode_seconds_for_train_images": round(decode_s, 2),
        "val_accuracy_after_bench_epochs": round(val_acc, 3),
        "projected_paper_study_minutes_at_ours": round(projected / 60, 1),
        "machine": {"cpus": os.cpu_count(), **cpu_info(),
                    **versions()},
    }


def format_bench(r: dict) -> str:
    rates = r["train_images_per_s"]
    return "\n".join([
        f"bench ({r['mode']}, profile {r['profile']}, {r['image_size']} px, batch {r['batch_size']}, "
        f"{r['images']} training images, last of 2 epochs timed)",
        f"  naive (directory loader, PNG decode every epoch): {rates['naive']:8.1f} images/s",
        f"  ours (decoded cache, in-memory, augmentation):   {rates['ours']:8.1f} images/s",
        f"  limit (in-memory fit, no augmentation):          {rates['limit']:8.1f} images/s",
        f"  ours/naive {r['ratio_ours_over_naive']:.2f}x   ours/limit {r['ratio_ours_over_limit']:.2f}x",
        f"  inference: {r['inference_images_per_s']:.1f} images/s",
        f"  validation accuracy after the bench epochs: {r['val_accuracy_after_bench_epochs']:.3f}",
        f"  projected full paper study (initial + 5 folds x 25 epochs at 'ours'): "
        f"{r['projected_paper_study_minutes_at_ours']:.0f} min"])


def read_bench(path: str | Path) -> dict:
    """A stored `xraylib bench --out` result (Performance appendix); says how to make one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no benchmark result at {path}: make one with `make bench` "
                                f"(or `xraylib bench --out {path}`)")
    return json.loads(path.read_text())


def bench_table(r: dict) -> pd.DataFrame:
    """Training paths and inference as one table: images/s and speed relative to the naive path."""
    rates = r["train_images_per_s"]
    rows = [("naive", "directory loader, PNG decode every epoch", rates["naive"]),
            ("ours", "decoded cache, in-memory, augmentation layers", rates["ours"]),
            ("limit", "in-memory fit, no augmentation", rates["limit"]),
            ("inference", "forward pass, batch of 64", r["inference_images_per_s"])]
    table = pd.DataFrame(rows, columns=["path", "what", "images/s"]).set_index("path")
    table["x naive"] = (table["images/s"] / rates["naive"]).where(table.index != "inference")
    return table.round(2)
