"""xraylib.train: training learns, is deterministic, augments only in training; the run store.

Every network here is tiny work: 96x96 inputs, a few dozen synthetic images, one or two epochs.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from xraylib import config, train
from xraylib.backend import to_numpy
from xraylib.config import CLASSES
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
    """Four epochs without dropout on 24 images (dropout noise would hide the loss going down; with
    three the last loss sat within 1% of the bound below, so float round-off decided the test),
    at a rate low enough (3e-4) that RMSprop's first large steps do not swamp the trend."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.CACHE_ENV, str(tmp_path_factory.mktemp("fit-cache")))
        x, y = brightness_images(24)
        x_val, y_val = brightness_images(6, seed=1)
        profile = tiny_profile(epochs=4, conv_dropout=0.0, dense_dropout=0.0, learning_rate=3e-4)
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
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["lr"].iloc[0] == 3e-4 and history["lr"].is_monotonic_decreasing  # the plateau schedule may halve it


def test_predict_returns_one_probability_row_per_image_summing_to_1(fitted):
    net, _, (x, *_) = fitted
    probs = train.predict_proba(net, x, batch_size=10)  # 24 images: batches of 10, 10 and 4
    assert probs.shape == (len(x), len(CLASSES))
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, net(x, training=False).numpy(), rtol=1e-4, atol=1e-6)


def test_predict_of_no_images_is_an_empty_3_column_array(fitted):
    net, _, (x, *_) = fitted
    assert train.predict_proba(net, x[:0]).shape == (0, 3)


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


def test_tidy_history_keeps_six_significant_digits_of_a_learning_rate_below_1e_6():
    raw = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.1234567, 0.5], "lr": [1e-4, 1e-4 / 2 ** 9]})
    tidy = train.tidy_history(raw)
    assert tidy["lr"].tolist() == [1e-4, 1.95313e-07]  # 1.953125e-07
    assert tidy["accuracy"].tolist() == [0.123457, 0.5]
    assert list(tidy.columns) == ["epoch", "accuracy", "lr"]


# ---------------------------------------------------------------------------------------------
# One protocol, one meaning: the CPU loop draws the grid's batches


def test_each_epoch_trains_whole_batches_of_a_fresh_permutation(monkeypatch, tmp_path):
    """13 images at batch 4: three steps an epoch (the authors' steps_per_epoch = n // batch), no
    partial batch of one, and each epoch's batches from the next permutation of RandomState(seed)."""
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path))
    made, drawn, steps = [], [], []

    class Recorded(train.EpochBatches):  # keeps every epoch's order
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)
            drawn.append(self.order)

        def on_epoch_end(self):
            super().on_epoch_end()
            drawn.append(self.order)

    class Steps(train.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            steps.append(0)

        def on_train_batch_end(self, batch, logs=None):
            steps[-1] += 1

    monkeypatch.setattr(train, "EpochBatches", Recorded)
    x, y = brightness_images(13)
    profile = tiny_profile(epochs=3, reduce_lr=False)
    train.fit_model(profile, x, y, x[:3], y[:3], seed=7, callbacks=[Steps()])
    assert steps == [3, 3, 3]
    rng = np.random.RandomState(7)
    expected = [train.epoch_order(rng, 13, 4) for _ in range(3)]
    drawn = drawn[:3]
    for got, want in zip(drawn, expected):
        np.testing.assert_array_equal(got, want)
        assert got.shape == (3, 4) and len(set(got.ravel())) == 12
    assert len({tuple(o.ravel()) for o in drawn}) == 3, "every epoch draws a fresh permutation"
    batch_x, batch_y = made[0][1]
    np.testing.assert_array_equal(batch_x, x[made[0].order[1]])


def test_the_grid_draws_the_cpu_loops_batches_for_the_same_seed():
    """A grid member trained with seed s sees, epoch after epoch, the rows the CPU loop would
    feed for seed s (cut to the group's steps when its training set is longer)."""
    from xraylib import grid
    from xraylib.ladder import Member

    p = tiny_profile()
    train_rows = [np.arange(100, 121), np.arange(200, 224)]  # 21 and 24 rows: 5 and 6 steps of 4
    members = [Member("r", "initial", p, s, rows, rows[:2], rows[:2])
               for s, rows in zip((3, 4), train_rows)]
    rngs = [np.random.RandomState(m.seed) for m in members]
    cpu = [train.EpochBatches(np.zeros((len(r), 1)), np.zeros(len(r)), 4, seed=s)
           for s, r in zip((3, 4), train_rows)]
    for _ in range(3):
        order = grid.group_order(members, rngs, steps=5, batch=4)
        assert order.shape == (5, 2, 4)
        for k, (m, c) in enumerate(zip(members, cpu)):
            np.testing.assert_array_equal(order[:, k], m.train[c.order[:5]])
            c.on_epoch_end()


def test_too_few_images_for_one_batch_is_an_error_naming_both():
    with pytest.raises(ValueError, match="3 training images cannot fill one batch of 5"):
        train.EpochBatches(np.zeros((3, 2)), np.zeros(3), 5, seed=0)
