"""Keras 2's ImageDataGenerator augmentation, rebuilt as one Keras 3 layer that runs inside the step.

The paper and the authors' code both used `ImageDataGenerator` (rotation in degrees, shear angle in
degrees, zoom: x and y scales drawn independently from [1 - z, 1 + z], shifts as fractions of the
side, horizontal flip, bilinear sampling, 'nearest' fill). Keras 3's separate Random* layers use other
units and resample once per layer, so this layer builds ImageDataGenerator's one affine matrix per
image and resamples once with `keras.ops.image.affine_transform`. It is pure `keras.ops`, so it
compiles into the training step on TensorFlow and on JAX. The ranges are non-trainable variables, so
models that differ only in their ranges can be trained side by side (`xraylib.grid`).
"""
from __future__ import annotations

import math

from .backend import keras
from .config import Augmentation

ops = keras.ops

RANGE_FIELDS = ("rotation_deg", "shear_deg", "zoom", "width_shift", "height_shift", "horizontal_flip")


def ranges_of(aug: Augmentation) -> list[float]:
    """The six numbers the layer keeps (a flip is a probability: 0.5 when on, as Keras 2 drew it)."""
    return [float(aug.rotation_deg), float(aug.shear_deg), float(aug.zoom), float(aug.width_shift),
            float(aug.height_shift), 0.5 if aug.horizontal_flip else 0.0]


def affine_params(theta, tx, ty, shear, zx, zy, height: int, width: int):
    """ImageDataGenerator's matrix (rotation @ shift @ shear @ zoom about the image centre), as the
    8 numbers `keras.ops.image.affine_transform` takes. Angles in radians; tx shifts rows, ty columns.

    In (row, col) coordinates the input pixel read for output (r, c) is T @ (r, c, 1); Keras' form
    maps output (x=col, y=row) to input (a0 x + a1 y + a2, b0 x + b1 y + b2).
    """
    c, s = ops.cos(theta), ops.sin(theta)
    t00, t01 = c * zx, -(c * ops.sin(shear) + s * ops.cos(shear)) * zy
    t10, t11 = s * zx, (c * ops.cos(shear) - s * ops.sin(shear)) * zy
    t02, t12 = c * tx - s * ty, s * tx + c * ty
    o_r, o_c = (height - 1) / 2.0, (width - 1) / 2.0  # rotate and zoom about the centre
    t02 = t02 + o_r - (t00 * o_r + t01 * o_c)
    t12 = t12 + o_c - (t10 * o_r + t11 * o_c)
    zero = ops.zeros_like(t00)
    return ops.stack([t11, t10, t12, t01, t00, t02, zero, zero], axis=-1)


class Augment(keras.layers.Layer):
    """Random ImageDataGenerator transforms in training, the identity otherwise."""

    def __init__(self, aug: Augmentation | None = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.initial = ranges_of(aug or Augmentation())
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.ranges = self.add_weight(shape=(len(RANGE_FIELDS),), trainable=False, name="ranges",
                                      initializer=keras.initializers.Constant(self.initial))

    def call(self, images, training=False):
        if not training:
            return images
        n, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
        draw = keras.random.uniform((6, n), minval=-1.0, maxval=1.0, seed=self.seed_generator)
        rot, shear, zoom, wshift, hshift, flip_p = (self.ranges[i] for i in range(6))
        theta = draw[0] * rot * (math.pi / 180.0)
        shear_angle = draw[1] * shear * (math.pi / 180.0)
        zx, zy = 1.0 + draw[2] * zoom, 1.0 + draw[3] * zoom
        tx = draw[4] * hshift * height
        ty = keras.random.uniform((n,), minval=-1.0, maxval=1.0, seed=self.seed_generator) * wshift * width
        params = affine_params(theta, tx, ty, shear_angle, zx, zy, height, width)
        out = ops.image.affine_transform(images, params, interpolation="bilinear",
                                         fill_mode="nearest")
        flip = (draw[5] + 1.0) / 2.0 < flip_p  # uniform in [0, 1) below the flip probability
        return ops.where(flip[:, None, None, None], ops.flip(out, axis=2), out)

    def compute_output_shape(self, input_shape):
        return input_shape
