"""Batch-norm statistics recomputed over the training images, with every weight fixed.

Why: a network that predicts one class for everything (the ladder's batch-32 rung, every seed)
may have learned nothing, or may have learned well and be betrayed at test time by the moving
averages its batch-norm layers keep (momentum 0.99 forgets slowly: after t steps the initial
statistics still weigh 0.99^t). Replacing those averages by the statistics of the training images
themselves, layer by layer, tells the two apart: if accuracy comes back, the averages were the
cause; if not, the weights were.
"""
from __future__ import annotations

import numpy as np

from .backend import keras, to_numpy


def batchnorm_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def recalibrated(model: keras.Model, x: np.ndarray, batch_size: int = 32) -> keras.Model:
    """A copy of `model` whose batch-norm moving means and variances are the population statistics
    of each layer's input over `x`, computed in order (each layer sees the earlier layers already
    recalibrated); every other weight is unchanged."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in batchnorm_layers(copy):
        feed = keras.Model(copy.inputs, layer.input)
        total, total_sq, count = 0.0, 0.0, 0
        for i in range(0, len(x), batch_size):
            a = to_numpy(feed(x[i:i + batch_size], training=False)).astype(np.float64)
            a = a.reshape(-1, a.shape[-1])
            total, total_sq, count = total + a.sum(0), total_sq + (a * a).sum(0), count + len(a)
        mean = total / count
        var = np.maximum(total_sq / count - mean * mean, 0.0)
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(var.astype(np.float32))
    return copy


def initial_share(momentum: float, steps: int) -> float:
    """How much of a moving average is still its initial value after `steps` updates."""
    return float(momentum ** steps)
