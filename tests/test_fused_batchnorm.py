"""backend.BatchNormalization: the fused training kernel computes what Keras' own layer computes.

The speed-up is only allowed because the arithmetic is the same up to float round-off: outputs,
every gradient and the moving statistics are compared with keras.layers.BatchNormalization on the
same inputs and weights, for convolution maps (rank 4) and the dense layer (rank 2).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xraylib import backend
from xraylib.backend import BatchNormalization, keras

tf = pytest.importorskip("tensorflow")


def _pair(shape, momentum=0.99):
    rng = np.random.default_rng(7)
    layers = keras.layers.BatchNormalization(momentum=momentum), BatchNormalization(momentum=momentum)
    gamma, beta = rng.normal(1, 0.3, shape[-1]), rng.normal(0, 0.5, shape[-1])
    for layer in layers:
        layer.build(shape)
        layer.gamma.assign(gamma.astype("float32"))
        layer.beta.assign(beta.astype("float32"))
    return layers


def _train_step(layer, x, w):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * w)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return {"y": y, "dx": dx, "dgamma": dgamma, "dbeta": dbeta,
            "moving_mean": layer.moving_mean.value, "moving_variance": layer.moving_variance.value}


@pytest.mark.parametrize("shape", [(5, 12, 12, 8), (5, 16)])
def test_fused_training_step_matches_keras_layer_to_round_off(shape):
    rng = np.random.default_rng(shape[-1])
    x = tf.constant(rng.normal(0.5, 2.0, shape).astype("float32"))
    w = tf.constant(rng.normal(0, 1, shape).astype("float32"))
    keras_layer, fused = _pair(shape)
    for _ in range(3):  # the moving statistics accumulate over steps
        ours, theirs = _train_step(fused, x, w), _train_step(keras_layer, x, w)
    for key, want in theirs.items():
        got = np.asarray(ours[key])
        scale = np.abs(np.asarray(want)).max()
        assert np.abs(got - np.asarray(want)).max() <= 2e-6 * scale + 1e-7, key


def test_fused_layer_really_runs_the_fused_kernel():
    """The speed claim: the traced training graph holds FusedBatchNormV3, not Keras' moments."""
    layer = BatchNormalization()
    layer.build((5, 6, 6, 4))
    graph = tf.function(lambda v: layer(v, training=True)).get_concrete_function(
        tf.TensorSpec((5, 6, 6, 4), tf.float32)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert "FusedBatchNormV3" in kinds and "SquaredDifference" not in kinds


def test_inference_uses_the_moving_statistics_like_keras():
    keras_layer, fused = _pair((4, 3, 3, 2))
    for layer in (keras_layer, fused):
        layer.moving_mean.assign([0.5, -1.0])
        layer.moving_variance.assign([2.0, 0.25])
    x = np.random.default_rng(1).normal(size=(4, 3, 3, 2)).astype("float32")
    np.testing.assert_array_equal(fused(x, training=False), keras_layer(x, training=False))


def test_a_network_with_the_fused_layer_saves_and_loads_as_itself(tmp_path):
    inputs = keras.Input((6, 6, 2))
    net = keras.Model(inputs, BatchNormalization(name="bn")(inputs))
    net.save(tmp_path / "net.keras")
    loaded = keras.saving.load_model(tmp_path / "net.keras", safe_mode=True, compile=False)
    assert type(loaded.get_layer("bn")) is backend.BatchNormalization


def test_a_whole_networks_gradients_err_from_exact_as_much_as_keras_own_layer_does():
    """On the paper network some channels are nearly constant after ReLU, so float32 gradients carry
    relative errors of 1e-4 to 1e-1 (measured) whichever layer computes them. Against a float64
    network with the same weights, the fused layer must err by the same order as Keras' own float32
    layer (within ten times it, over three weight draws) and never by O(1), which a wrong gradient
    would."""
    from unittest import mock

    from xraylib import config, model

    profile = dataclasses.replace(config.get_profile("quick"), conv_dropout=0.0, dense_dropout=0.0)
    y = keras.utils.to_categorical([0, 1, 2, 0], 3)
    for draw in range(3):
        keras.utils.set_random_seed(draw)
        x = np.random.default_rng(draw).random((4, 96, 96, 3)).astype("float32")
        nets = {}
        for name, layer, dtype in (("keras", keras.layers.BatchNormalization, "float32"),
                                   ("fused", BatchNormalization, "float32"),
                                   ("exact", keras.layers.BatchNormalization, "float64")):
            keras.config.set_dtype_policy(dtype)
            try:
                with mock.patch.object(model, "BatchNormalization", layer):
                    nets[name] = model.build_model(profile)
            finally:
                keras.config.set_dtype_policy("float32")
        weights = nets["keras"].get_weights()
        nets["fused"].set_weights(weights)
        nets["exact"].set_weights([w.astype("float64") for w in weights])
        grads = {}
        for name, net in nets.items():
            dtype = net.trainable_variables[0].dtype
            with tf.GradientTape() as tape:
                probs = net(tf.constant(x, dtype), training=True)
                loss = tf.reduce_mean(keras.losses.categorical_crossentropy(tf.constant(y, dtype), probs))
            grads[name] = [g.numpy().astype("float64") for g in tape.gradient(loss, net.trainable_variables)]
        error = {name: max(np.abs(g - e).max() / np.abs(e).max() for g, e in zip(grads[name], grads["exact"]))
                 for name in ("keras", "fused")}
        assert error["fused"] < 0.2, error
        assert error["fused"] < 10 * error["keras"], error
