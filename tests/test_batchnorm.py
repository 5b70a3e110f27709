"""xraylib.batchnorm: the moving statistics become the training images' own, nothing else moves."""
from __future__ import annotations

import numpy as np
import pytest

from xraylib import batchnorm
from xraylib.backend import keras, to_numpy


def _tiny(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(4, name="dense")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(x))


def test_first_layer_statistics_are_the_population_mean_and_variance_of_its_input():
    model = _tiny()
    x = np.random.default_rng(1).normal(3.0, 2.0, (40, 6, 6, 1)).astype(np.float32)
    fixed = batchnorm.recalibrated(model, x, batch_size=7)
    conv_out = to_numpy(keras.Model(model.inputs, model.get_layer("conv").output)(x)).reshape(-1, 3)
    bn1 = fixed.get_layer("bn1")
    assert np.allclose(to_numpy(bn1.moving_mean), conv_out.mean(0), rtol=1e-4, atol=1e-4)
    assert np.allclose(to_numpy(bn1.moving_variance), conv_out.var(0), rtol=1e-3, atol=1e-4)
    # the second layer normalises what the recalibrated first one gives it
    bn2_in = to_numpy(keras.Model(fixed.inputs, fixed.get_layer("bn2").input)(x))
    assert np.allclose(to_numpy(fixed.get_layer("bn2").moving_mean), bn2_in.mean(0), atol=1e-4)


def test_weights_other_than_the_moving_statistics_and_the_original_model_are_unchanged():
    model = _tiny()
    before = [w.copy() for w in model.get_weights()]
    fixed = batchnorm.recalibrated(model, np.ones((8, 6, 6, 1), np.float32))
    for layer in ("conv", "dense"):
        for a, b in zip(model.get_layer(layer).get_weights(), fixed.get_layer(layer).get_weights()):
            assert np.array_equal(a, b)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert not np.allclose(to_numpy(fixed.get_layer("bn1").moving_mean), 0)


def test_initial_share_of_a_moving_average():
    assert batchnorm.initial_share(0.99, 0) == 1.0
    assert batchnorm.initial_share(0.99, 112) == pytest.approx(0.3244, abs=1e-4)
