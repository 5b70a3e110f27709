"""The paper profile's full study (initial procedure + 5-fold CV) on a borrowed GPU, once.

Why: on the project's 2-core CPUs the paper protocol (200x200, batch 5, 25 epochs, six trainings)
takes hours, so the book builds with the `quick` profile and the paper's own protocol is measured
here instead. The same network, augmentation, optimiser, schedule, composition and splits come from
`xraylib`; only the Keras backend differs (JAX on the GPU, because the GPU machine has no
TensorFlow), so the numbers are close to, not bit-identical with, a CPU `paper` run.

Measured 2026-11-26 on one H200 (Keras 3.15.1, JAX backend): the network alone trains at about
2 ms per batch of 5, but with the Keras preprocessing augmentation layers in the model a batch took
about 0.28 s (they ran outside the compiled step), so the six trainings did not finish in a
10-minute call. Before using this again, move the augmentation into a jitted function of its own.

    python benchmarks/paper_study_gpu.py prep DIR   # here: decoded images + splits -> DIR/study.npz
    python benchmarks/paper_study_gpu.py run DIR OUT [NAME ...]   # there: trains, writes OUT/*.json
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prep(folder: str) -> None:
    """Decode the paper composition at 200 px (8-bit gray) and store every split's indices."""
    from xraylib import data as xdata
    from xraylib.config import get_profile
    from xraylib.splits import cv_splits, initial_split
    from xraylib.train import composition

    profile = get_profile("paper")
    comp = composition(profile)
    gray = xdata.load_images(comp, profile.image_size)[..., 0]
    arrays = {"x": np.round(gray * 255).astype(np.uint8), "y": xdata.labels_of(comp)}
    for split in [initial_split(comp, profile), *cv_splits(comp, profile)]:
        for side in ("train", "val", "test"):
            arrays[f"{split.name}.{side}"] = getattr(split, side)
    Path(folder).mkdir(parents=True, exist_ok=True)
    np.savez_compressed(Path(folder) / "study.npz", **arrays)


def run(folder: str, out: str, names: list[str]) -> None:
    """Train each named split with the paper protocol; one JSON per split, written as it ends."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    smoke = os.environ.get("STUDY_SMOKE") == "1"  # 1 epoch on 40 images: checks the script runs
    import keras
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    # xraylib.tf imports TensorFlow, absent on the GPU machine: give its modules Keras alone.
    stub = types.ModuleType("xraylib.tf")
    stub.keras, stub.tf = keras, None
    stub.seed_everything = keras.utils.set_random_seed
    sys.modules["xraylib.tf"] = stub
    from xraylib.config import get_profile
    from xraylib.model import build_model
    from xraylib.train import augmenter

    profile = get_profile("paper")
    if smoke:
        profile = dataclasses.replace(profile, epochs=1)
    arrays = np.load(Path(folder) / "study.npz")
    x = np.repeat((arrays["x"].astype(np.float32) / 255.0)[..., None], 3, axis=-1)
    y = arrays["y"]
    onehot = lambda v: keras.utils.to_categorical(v, 3)  # noqa: E731
    names = names or ["initial"] + [f"fold-{i}" for i in range(1, profile.folds + 1)]
    for name in names:
        train, val, test = (arrays[f"{name}.{s}"][:40 if smoke else None] for s in ("train", "val", "test"))
        keras.utils.set_random_seed(profile.seed)
        net = build_model(profile)
        trainer = keras.Sequential([augmenter(profile, profile.seed), net])
        trainer.compile(optimizer=keras.optimizers.RMSprop(profile.learning_rate),
                        loss="categorical_crossentropy", metrics=["accuracy"])
        start = time.time()
        hist = trainer.fit(x[train], onehot(y[train]), validation_data=(x[val], onehot(y[val])),
                           epochs=profile.epochs, batch_size=profile.batch_size, shuffle=True,
                           verbose=0, callbacks=[keras.callbacks.ReduceLROnPlateau(
                               monitor="val_accuracy", mode="max", factor=profile.lr_factor,
                               patience=profile.lr_patience, verbose=0)])
        seconds = time.time() - start
        y_pred = net.predict(x[test], batch_size=64, verbose=0).argmax(1)
        p, r, f, _ = precision_recall_fscore_support(y[test], y_pred, labels=[0, 1, 2],
                                                     average="macro", zero_division=0)
        result = {"name": name, "profile": profile.as_dict(), "backend": keras.backend.backend(),
                  "keras": keras.__version__, "train_seconds": round(seconds, 1),
                  "n_train": len(train), "n_val": len(val), "n_test": len(test),
                  "accuracy": 100 * accuracy_score(y[test], y_pred), "precision": 100 * p,
                  "recall": 100 * r, "f1": 100 * f,
                  "confusion": confusion_matrix(y[test], y_pred, labels=[0, 1, 2]).tolist(),
                  "history": {k: [round(float(v), 5) for v in vals] for k, vals in hist.history.items()}}
        Path(out, f"paper-gpu-{name}.json").write_text(json.dumps(result, indent=1))
        print(f"{name}: acc {result['accuracy']:.2f} F1 {result['f1']:.2f} "
              f"in {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "prep":
        prep(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3], sys.argv[4:])
