"""xraylib.train: training learns, is deterministic, augments only in training; the run store.

Every network here is tiny work: 96x96 inputs, a few dozen synthetic images, one or two epochs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from xraylib import config, runs, train
from xraylib.config import CLASSES
from xraylib.splits import Split
from xraylib.backend import keras, to_numpy
from xraylib.model import build_model

SIZE = 96
BRIGHTNESS = (0.15, 0.5, 0.85)  # per class: a task one epoch or two can start to learn


def tiny_profile(**changes) -> config.Profile:
    return dataclasses.replace(config.get_profile("quick"), **{"epochs": 1, "batch_size": 4,
                                                               **changes})


def brightness_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n model-ready images whose class (cycling 0, 1, 2) sets their mean brightness."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(CLASSES)
    gray = np.asarray(BRIGHTNESS)[y][:, None, None] + rng.normal(0, 0.05, (n, SIZE, SIZE))
    x = np.repeat(gray.clip(0, 1)[..., None], 3, axis=-1).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Three epochs without dropout on 24 images (dropout noise would hide the loss going down),
    at a rate low enough (3e-4) that RMSprop's first large steps do not swamp the trend."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.CACHE_ENV, str(tmp_path_factory.mktemp("fit-cache")))
        x, y = brightness_images(24)
        x_val, y_val = brightness_images(6, seed=1)
        profile = tiny_profile(epochs=3, conv_dropout=0.0, dense_dropout=0.0, learning_rate=3e-4)
        net, history = train.fit_model(profile, x, y, x_val, y_val, seed=1)
    return net, history, (x, y, x_val, y_val, profile)


# ---------------------------------------------------------------------------------------------
# fit_model, augmenter, predict


def test_training_lowers_the_loss_well_below_chance(fitted):
    _, history, _ = fitted
    first, last = history["loss"].iloc[0], history["loss"].iloc[-1]
    assert last < 0.85 * first, history.to_string()
    assert last < 0.8 * np.log(3), "a 3-class guess costs ln 3 = 1.10; learning must beat it"


def test_history_has_one_int_epoch_row_with_accuracy_loss_validation_and_lr(fitted):
    _, history, _ = fitted
    assert {"epoch", "accuracy", "loss", "val_accuracy", "val_loss", "lr"} <= set(history.columns)
    assert history.columns[0] == "epoch"
    assert history["epoch"].dtype.kind == "i"
    assert history["epoch"].tolist() == [1, 2, 3]
    assert (history["lr"] == 3e-4).all()


def test_predict_returns_one_probability_row_per_image_summing_to_1(fitted):
    net, _, (x, *_) = fitted
    probs = train.predict(net, x, batch_size=10)  # 24 images: batches of 10, 10 and 4
    assert probs.shape == (len(x), len(CLASSES))
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, net(x, training=False).numpy(), rtol=1e-4, atol=1e-6)


def test_predict_of_no_images_is_an_empty_3_column_array(fitted):
    net, _, (x, *_) = fitted
    assert train.predict(net, x[:0]).shape == (0, 3)


def test_same_seed_gives_identical_weights_and_another_seed_different_ones(fitted, cache):
    net, history, (x, y, x_val, y_val, profile) = fitted
    again, history_again = train.fit_model(profile, x, y, x_val, y_val, seed=1)
    other, _ = train.fit_model(profile, x, y, x_val, y_val, seed=2)
    w, w_again, w_other = net.get_weights(), again.get_weights(), other.get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(w, w_again, strict=True))
    pd.testing.assert_frame_equal(history, history_again)
    assert not any(np.array_equal(u, v) for u, v in zip(w, w_other, strict=True) if u.std() > 0)


def test_trainer_augments_inside_the_model_in_training_only():
    # A bright square off centre: rotation, shear, zoom and shift all move it.
    image = np.zeros((1, SIZE, SIZE, 3), np.float32)
    image[:, 20:50, 30:70] = 1.0
    profile = config.get_profile("quick")
    trainer = train.trainer_for(build_model(profile, size=SIZE), profile, seed=3)
    aug = trainer.layers[0]
    trained = to_numpy(aug(image, training=True))
    assert trained.shape == image.shape
    assert np.abs(trained - image).max() > 0.5
    np.testing.assert_array_equal(to_numpy(aug(image, training=False)), image)


# ---------------------------------------------------------------------------------------------
# train_split and the run store


def make_composition(folder, n: int = 24) -> pd.DataFrame:
    """A composition table as data.read_dataset returns it, over small PNGs written here."""
    from PIL import Image  # noqa: PLC0415

    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        label = CLASSES[i % 3]
        gray = 255 * BRIGHTNESS[i % 3] + rng.normal(0, 12, (48, 48))
        path = folder / "images" / label / f"{label}-{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gray.clip(0, 255).astype(np.uint8)).save(path)
        rows.append({"file": f"images/{label}/{path.name}", "label": label,
                     "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                     "patient_id": "", "group": f"file:images/{label}/{path.name}",
                     "path": str(path)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One train_split run, trained and stored once: (cache folder, args, the fresh Run)."""
    base = tmp_path_factory.mktemp("stored")
    comp = make_composition(base / "data")
    idx = np.arange(len(comp))
    split = Split("tiny", train=idx[:12], val=idx[12:18], test=idx[18:])
    profile = tiny_profile()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.CACHE_ENV, str(base / "cache"))
        run = train.train_split("tiny", profile, comp, split)
    return base / "cache", (profile, comp, split), run


def _only_run_dir(cache) -> object:
    (path,) = [p for p in (cache / "runs").iterdir() if p.is_dir()]
    return path


def test_train_split_trains_then_stores_a_complete_run(stored):
    cache, (_, _, split), run = stored
    assert not run.loaded
    assert runs.check_run(_only_run_dir(cache)) is None
    np.testing.assert_array_equal(run.test_index, split.test)
    assert run.y_prob.shape == (len(split.test), 3)
    assert run.meta["n_train"] == 12 and run.meta["n_test"] == 6


def test_train_split_second_call_loads_the_stored_run_unchanged(stored, monkeypatch):
    cache, (profile, comp, split), first = stored
    monkeypatch.setenv(config.CACHE_ENV, str(cache))
    monkeypatch.setattr(train, "fit_model", lambda *a, **k: pytest.fail("must not train again"))
    again = train.train_split("tiny", profile, comp, split)
    assert again.loaded
    np.testing.assert_array_equal(again.y_prob, first.y_prob)
    np.testing.assert_array_equal(again.y_true, first.y_true)
    assert again.history.to_string() == first.history.to_string()
    # JSON gives lists where the fresh meta has tuples: compare the stored content.
    assert json.dumps(again.meta, sort_keys=True) == json.dumps(first.meta, sort_keys=True)
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 3), dtype=np.float32)
    np.testing.assert_allclose(train.predict(again.model, x), train.predict(first.model, x),
                               rtol=1e-5, atol=1e-7)


def test_train_split_with_other_settings_does_not_reuse_the_stored_run(stored, tmp_path,
                                                                        monkeypatch):
    cache, (profile, comp, split), _ = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))

    class Trained(Exception):
        pass

    def fit_model(*args, **kwargs):
        raise Trained

    monkeypatch.setattr(train, "fit_model", fit_model)
    with pytest.raises(Trained):
        train.train_split("tiny", dataclasses.replace(profile, seed=profile.seed + 1), comp,
                          split)


def test_train_split_retrains_a_truncated_stored_run_instead_of_using_it(stored, tmp_path,
                                                                         monkeypatch):
    damaged = "model.keras"  # test_runs checks every file; retraining once is enough here
    cache, (profile, comp, split), first = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    path = _only_run_dir(tmp_path / "cache")
    file = path / damaged
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    assert runs.check_run(path) == f"{damaged} is truncated or altered"

    again = train.train_split("tiny", profile, comp, split)
    assert not again.loaded
    assert runs.check_run(path) is None
    np.testing.assert_array_equal(again.y_prob, first.y_prob)  # same seed, same run
    assert train.train_split("tiny", profile, comp, split).loaded  # the new copy is used


def test_tidy_history_keeps_six_significant_digits_of_a_learning_rate_below_1e_6():
    raw = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.1234567, 0.5], "lr": [1e-4, 1e-4 / 2 ** 9]})
    tidy = train.tidy_history(raw)
    assert tidy["lr"].tolist() == [1e-4, 1.95313e-07]  # 1.953125e-07
    assert tidy["accuracy"].tolist() == [0.123457, 0.5]
    assert list(tidy.columns) == ["epoch", "accuracy", "lr"]


# ---------------------------------------------------------------------------------------------
# Damaged runs are reported in one line and trained again; loads need no writable cache (issue 16)


class Trained(Exception):
    """Raised by a stand-in fit_model: the run went to training."""


def _damage(path, how: str) -> None:
    sums = path / runs.CHECKSUMS
    if how == "checksum byte flipped":
        blob = bytearray(sums.read_bytes())
        blob[1] ^= 0xFF
        sums.write_bytes(bytes(blob))
    elif how == "checksum list null":
        sums.write_text("null")
    elif how == "model altered, checksums recomputed":
        model = path / "model.keras"
        blob = bytearray(model.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        model.write_bytes(bytes(blob))
        sums.write_text(json.dumps({p.name: runs._sha(p) for p in path.iterdir()
                                    if p.name != runs.CHECKSUMS}))


@pytest.mark.parametrize("how", ["checksum byte flipped", "checksum list null",
                                 "model altered, checksums recomputed"])
def test_train_split_reports_a_damaged_run_in_one_line_and_trains_it_again(stored, tmp_path,
                                                                          monkeypatch, how):
    cache, (profile, comp, split), _ = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    _damage(_only_run_dir(tmp_path / "cache"), how)
    (tmp_path / "cache" / "progress.log").unlink(missing_ok=True)

    def fit_model(*args, **kwargs):
        raise Trained

    monkeypatch.setattr(train, "fit_model", fit_model)
    assert train.stored_run("tiny", profile, comp, split) is None
    with pytest.raises(Trained):
        train.train_split("tiny", profile, comp, split)
    lines = (tmp_path / "cache" / "progress.log").read_text().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]  # once per look at the store
    assert "[tiny] stored run " in lines[0]
    assert lines[0].endswith("; not used, it is trained again")


def test_stored_run_of_a_marked_run_writes_nothing(stored, monkeypatch, read_only):
    cache, (profile, comp, split), first = stored
    monkeypatch.setenv(config.CACHE_ENV, str(cache))
    assert train.stored_run("tiny", profile, comp, split) is not None  # marks it latest
    attempts = read_only(cache)
    again = train.stored_run("tiny", profile, comp, split)
    assert again.loaded and attempts == []
    np.testing.assert_array_equal(again.y_prob, first.y_prob)


def test_stored_run_on_a_read_only_cache_still_loads_when_the_pointer_cannot_be_written(
        stored, tmp_path, monkeypatch, read_only, capsys):
    cache, (profile, comp, split), first = stored
    shutil.copytree(cache, tmp_path / "cache")
    for pointer in (tmp_path / "cache" / "runs").glob("*.latest"):
        pointer.unlink()
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    attempts = read_only(tmp_path / "cache")
    again = train.stored_run("tiny", profile, comp, split)
    assert again.loaded and [a[0] for a in attempts] == ["open"]  # the pointer, refused
    np.testing.assert_array_equal(again.y_prob, first.y_prob)
    assert capsys.readouterr().err.startswith("warning: cannot mark ")


def test_latest_model_of_a_damaged_run_names_it_and_the_train_command(stored, tmp_path,
                                                                      monkeypatch):
    cache, (profile, comp, split), _ = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    train.stored_run("tiny", profile, comp, split)  # marks it latest
    _damage(_only_run_dir(tmp_path / "cache"), "checksum list null")
    with pytest.raises(FileNotFoundError, match="checksum list is corrupt; retrain it with "
                                                "`xraylib train --profile quick`"):
        train.latest_model("tiny", profile)


def test_stored_run_falls_back_to_the_pinned_copy_when_the_caches_does_not_load(
        stored, tmp_path, monkeypatch, capsys):
    cache, (profile, comp, split), first = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(runs.PINNED_ENV, raising=False)
    damaged = _only_run_dir(tmp_path / "cache")
    pinned = tmp_path / "pinned" / damaged.name
    shutil.copytree(damaged, pinned)
    monkeypatch.setattr(runs, "pinned_dir", lambda: pinned.parent)
    _damage(damaged, "model altered, checksums recomputed")
    monkeypatch.setattr(train, "fit_model", lambda *a, **k: pytest.fail("an intact copy exists"))
    again = train.stored_run("tiny", profile, comp, split)
    assert again.loaded
    np.testing.assert_array_equal(again.y_prob, first.y_prob)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"[tiny] stored run {damaged}: does not load (BadZipFile: Bad CRC-32 for file "
                   f"'model.weights.h5'); not used, using the pinned copy"]
    model, _ = train.latest_model("tiny", profile)  # predict and evaluate skip the damaged copy
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 3), dtype=np.float32)
    np.testing.assert_allclose(train.predict(model, x), train.predict(first.model, x), rtol=1e-5,
                               atol=1e-7)
