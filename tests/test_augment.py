"""The Augment layer reproduces Keras 2 ImageDataGenerator's transforms and units."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from xraylib.augment import Augment, affine_params, ranges_of
from xraylib.backend import keras, to_numpy
from xraylib.config import PROFILES, Augmentation


def idg_reference(img: np.ndarray, theta_deg, tx, ty, shear_deg, zx, zy) -> np.ndarray:
    """keras_preprocessing.image.apply_affine_transform (order 1, fill 'nearest'), written out."""
    theta, shear = np.deg2rad(theta_deg), np.deg2rad(shear_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0],
                         [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    shear_m = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    m = rotation @ shift @ shear_m @ zoom
    h, w = img.shape
    o_x, o_y = h / 2 - 0.5, w / 2 - 0.5
    m = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]]) @ m @ np.array(
        [[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return ndimage.affine_transform(img, m[:2, :2], m[:2, 2], order=1, mode="nearest")


def ours(img: np.ndarray, theta_deg, tx, ty, shear_deg, zx, zy) -> np.ndarray:
    f = lambda v: np.array([v], np.float32)  # noqa: E731
    params = affine_params(f(math.radians(theta_deg)), f(tx), f(ty), f(math.radians(shear_deg)),
                           f(zx), f(zy), *img.shape)
    out = keras.ops.image.affine_transform(img[None, :, :, None].astype(np.float32), params,
                                           interpolation="bilinear", fill_mode="nearest")
    return to_numpy(out)[0, :, :, 0]


def bar_image(size: int = 64) -> np.ndarray:
    img = np.zeros((size, size), np.float32)
    img[size // 2 - 2:size // 2 + 2, 8:size - 8] = 1.0  # a horizontal bar through the centre
    img[10:20, 10:16] = 0.5  # an off-centre patch, so shifts and flips are visible
    return img


@pytest.mark.parametrize("params", [
    (15, 0, 0, 0, 1, 1), (-15, 0, 0, 0, 1, 1), (0, 6.4, -3.2, 0, 1, 1), (0, 0, 0, 10, 1, 1),
    (0, 0, 0, 0, 1.2, 0.8), (12, 3, -5, 0.1, 0.85, 1.15)])
def test_matrix_matches_image_data_generator(params):
    img = bar_image()
    ref, got = idg_reference(img, *params), ours(img, *params)
    assert np.abs(ref - got).max() < 1e-3


def principal_angle(img: np.ndarray) -> float:
    """Angle of the bright bar's long axis, in degrees (rows down, columns right)."""
    r, c = np.nonzero(img > 0.75)
    cov = np.cov(np.stack([c - c.mean(), r - r.mean()]))
    vx, vy = np.linalg.eigh(cov)[1][:, -1]
    return math.degrees(math.atan2(vy, vx) + (math.pi if vx < 0 else 0)) % 180


def test_rotation_range_is_in_degrees():
    img = bar_image()
    img[10:20, 10:16] = 0.0
    layer = Augment(Augmentation(rotation_deg=15, shear_deg=0, zoom=0, width_shift=0,
                                 height_shift=0), seed=1)
    out = to_numpy(layer(np.repeat(img[None, :, :, None], 200, 0), training=True))[..., 0]
    angles = np.array([(principal_angle(o) + 90) % 180 - 90 for o in out])
    assert np.abs(angles).max() <= 16.0  # uniform in +-15 degrees, not +-15/360 of a turn
    assert np.abs(angles).max() >= 13.0
    assert abs(np.mean(angles)) < 2.5


def test_zoom_draws_each_scale_in_one_plus_minus_range():
    img = np.zeros((64, 64), np.float32)
    img[22:42, 22:42] = 1.0
    layer = Augment(Augmentation(rotation_deg=0, shear_deg=0, zoom=0.2, width_shift=0,
                                 height_shift=0), seed=2)
    out = to_numpy(layer(np.repeat(img[None, :, :, None], 300, 0), training=True))[..., 0]
    widths = (out[:, 32, :] > 0.5).sum(1)
    heights = (out[:, :, 32] > 0.5).sum(1)
    # ImageDataGenerator samples input coordinates at zoom * output: a side of 20 shows as 20 / z.
    assert widths.min() >= 20 / 1.2 - 1 and widths.max() <= 20 / 0.8 + 1
    assert np.corrcoef(widths, heights)[0, 1] < 0.5  # x and y scales are drawn independently


def test_horizontal_flip_mirrors_about_half_the_images():
    img = bar_image()
    layer = Augment(Augmentation(rotation_deg=0, shear_deg=0, zoom=0, width_shift=0,
                                 height_shift=0, horizontal_flip=True), seed=3)
    out = to_numpy(layer(np.repeat(img[None, :, :, None], 200, 0), training=True))[..., 0]
    flipped = np.array([np.allclose(o, img[:, ::-1], atol=1e-4) for o in out])
    same = np.array([np.allclose(o, img, atol=1e-4) for o in out])
    assert (flipped | same).all()
    assert 70 < flipped.sum() < 130


def test_identity_when_not_training_or_without_ranges():
    img = np.random.default_rng(0).random((4, 32, 32, 3)).astype(np.float32)
    assert np.array_equal(to_numpy(Augment(PROFILES["authors"].augmentation)(img)), img)
    none = Augmentation(rotation_deg=0, shear_deg=0, zoom=0, width_shift=0, height_shift=0)
    assert np.allclose(to_numpy(Augment(none, seed=0)(img, training=True)), img, atol=1e-5)


def test_layer_keeps_the_profile_ranges_as_variables():
    aug = PROFILES["authors"].augmentation
    layer = Augment(aug, seed=0)
    layer.build((None, 32, 32, 3))
    assert np.allclose(to_numpy(layer.ranges), [15, 0.1, 0.2, 0.1, 0.1, 0.5])
    assert ranges_of(PROFILES["paper"].augmentation)[-1] == 0.0
