"""xraylib.saliency: map shapes and signs, IG completeness, Grad-CAM on a planted square,
model randomisation (Adebayo et al. 2018), region shares and overlays.

Two models: the paper network at 96 px (the quick profile's size, the smallest it accepts),
untrained, for shapes; and a tiny CNN trained in a few seconds to find a bright square, for
behaviour.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xraylib import regions, saliency
from xraylib.backend import keras
from xraylib.config import get_profile
from xraylib.model import build_model

TOY_SIZE, SQUARE = 32, 6


def planted_squares(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy grey images; odd-numbered ones (class 1) hold a bright SQUARE x SQUARE patch at a
    random place. Returns images (n, 32, 32, 3), labels, and each patch's top-left corner."""
    rng = np.random.default_rng(seed)
    gray = rng.normal(0.3, 0.1, (n, TOY_SIZE, TOY_SIZE)).clip(0, 1)
    labels = np.arange(n) % 2
    corners = rng.integers(0, TOY_SIZE - SQUARE + 1, (n, 2))
    for i in np.flatnonzero(labels == 1):
        r, c = corners[i]
        gray[i, r:r + SQUARE, c:c + SQUARE] = rng.uniform(0.85, 1.0)
    return np.repeat(gray[..., None], 3, axis=-1).astype(np.float32), labels, corners


def square_mask(corner) -> np.ndarray:
    mask = np.zeros((TOY_SIZE, TOY_SIZE), bool)
    mask[corner[0]:corner[0] + SQUARE, corner[1]:corner[1] + SQUARE] = True
    return mask


@pytest.fixture(scope="module")
def toy_model() -> keras.Model:
    """Three 'same' convolutions, global average pooling, Dense(2) logits 'predictions' and a
    'softmax', as the paper net names them; trained 4 epochs on 200 images (about 5 s)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((TOY_SIZE, TOY_SIZE, 3))
    h = keras.layers.Rescaling(2.0, offset=-1.0, name="center")(inputs)  # without it, no learning
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    logits = keras.layers.Dense(2, name="predictions")(h)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="softmax")(logits))
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    x, y, _ = planted_squares(200, seed=0)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    return model


@pytest.fixture(scope="module")
def toy_test():
    """Forty fresh images (20 with a square) the toy model never saw."""
    return planted_squares(40, seed=1)


@pytest.fixture(scope="module")
def paper_net() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_model(get_profile("quick"))


@pytest.fixture(scope="module")
def paper_maps(paper_net) -> dict[str, np.ndarray]:
    x = np.random.default_rng(0).random((2, 96, 96, 3), dtype=np.float32)
    return {method: saliency.compute(method, paper_net, x) for method in saliency.METHODS}


def test_toy_model_learned_the_planted_square(toy_model, toy_test):
    # Precondition of the behaviour tests below: they mean nothing on an untrained model.
    x, y, _ = toy_test
    assert (toy_model(x, training=False).numpy().argmax(1) == y).mean() >= 0.95


@pytest.mark.parametrize("method", list(saliency.METHODS))
def test_every_method_gives_one_finite_float32_map_per_image_on_the_paper_net(paper_maps, method):
    maps = paper_maps[method]
    assert maps.shape == (2, 96, 96) and maps.dtype == np.float32
    assert np.isfinite(maps).all()


@pytest.mark.parametrize("method", ["vanilla", "smoothgrad", "gradcam"])
def test_vanilla_smoothgrad_and_gradcam_maps_are_non_negative_and_not_all_zero(paper_maps, method):
    maps = paper_maps[method]
    assert (maps >= 0).all()
    assert (maps.max(axis=(1, 2)) > 0).all()


def test_gradcam_maps_are_scaled_to_peak_one_per_image(paper_maps):
    maps = paper_maps["gradcam"]
    assert maps.min() >= 0
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0, rtol=1e-6)


def test_integrated_gradients_keep_negative_attributions(paper_maps):
    maps = paper_maps["integrated_gradients"]
    assert (maps < 0).any() and (maps > 0).any()


def test_integrated_gradients_add_up_to_the_logit_difference_from_black(toy_model, toy_test):
    # Completeness (Sundararajan et al. 2017): sum of attributions = logit(x) - logit(black).
    # Run on the trained toy model: an untrained paper net has zero biases and is positively
    # homogeneous, so its logit is linear along the path and any step count is exact (the test
    # could not catch a wrong path). Measured on these 8 images, largest relative error: 0.13%
    # with 64 midpoint steps (0.7% with 8); a left or right Riemann sum, i.e. the path points
    # shifted by half a step, gives 1.3% with 64. The 0.5% tolerance leaves a 4x margin and still
    # fails for that shift, a missing (x - baseline) factor or a wrong baseline.
    x = toy_test[0][:8]
    attributions = saliency.integrated_gradients(toy_model, x, steps=64)
    logits = saliency.logit_model(toy_model)
    idx = logits(x, training=False).numpy().argmax(1)
    rows = np.arange(len(x))
    delta = (logits(x, training=False).numpy()[rows, idx]
             - logits(np.zeros_like(x), training=False).numpy()[rows, idx])
    error = np.abs(attributions.sum(axis=(1, 2)) - delta) / np.abs(delta)
    assert error.max() < 0.005, error


def test_gradcam_of_class_1_puts_most_mass_inside_the_planted_square(toy_model, toy_test):
    x, y, corners = toy_test
    with_square = np.flatnonzero(y == 1)
    maps = saliency.grad_cam(toy_model, x[with_square], np.ones(len(with_square), int),
                             layer="last_conv")
    masks = np.stack([square_mask(corners[i]) for i in with_square])
    inside = (maps * masks).sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
    peak_inside = masks.reshape(len(masks), -1)[np.arange(len(masks)),
                                                maps.reshape(len(maps), -1).argmax(1)]
    # The square covers 36 / 1024 = 3.5% of the image.
    assert (inside > 0.5).mean() >= 0.9, inside
    assert peak_inside.mean() >= 0.9


def test_class_none_explains_the_predicted_class(toy_model, toy_test):
    x = toy_test[0][:6]
    predicted = toy_model(x, training=False).numpy().argmax(1)
    np.testing.assert_array_equal(saliency.vanilla_gradients(toy_model, x),
                                  saliency.vanilla_gradients(toy_model, x, predicted))
    assert not np.array_equal(saliency.vanilla_gradients(toy_model, x),
                              saliency.vanilla_gradients(toy_model, x, 1 - predicted))


def test_smoothgrad_is_reproducible_for_a_seed_and_changes_with_it(toy_model, toy_test):
    x = toy_test[0][:2]
    first = saliency.smoothgrad(toy_model, x, samples=4, seed=0)
    np.testing.assert_array_equal(first, saliency.smoothgrad(toy_model, x, samples=4, seed=0))
    assert not np.allclose(first, saliency.smoothgrad(toy_model, x, samples=4, seed=1))


def test_randomizing_the_trained_toy_model_drives_vanilla_rank_correlation_below_half(
        toy_model, toy_test):
    x, y, _ = toy_test
    table = saliency.sanity_check(toy_model, x[y == 1][:6], methods=("vanilla",))
    assert table["layers_randomized"].tolist() == [0, 1, 2, 3, 4]
    assert table["layer"].tolist() == ["none", "predictions", "last_conv", "conv2", "conv1"]
    assert table["spearman"].iloc[0] == pytest.approx(1.0)
    assert table["spearman"].iloc[-1] < 0.5, table


def test_randomized_copies_go_top_down_through_the_paper_nets_weight_layers(paper_net):
    names = [name for name, _ in saliency.randomized_copies(paper_net)]
    assert names == ["predictions", "dense", "conv5", "conv4", "conv3", "conv2", "conv1"]


def test_each_randomized_copy_changes_exactly_the_top_layers_so_far(toy_model):
    order = ["predictions", "last_conv", "conv2", "conv1"]
    for k, (name, copy) in enumerate(saliency.randomized_copies(toy_model), 1):
        assert name == order[k - 1]
        for layer in order:
            same = np.array_equal(copy.get_layer(layer).kernel.numpy(),
                                  toy_model.get_layer(layer).kernel.numpy())
            assert same == (layer not in order[:k]), (name, layer)
        assert not copy.get_layer(name).bias.numpy().any()  # biases re-set to zero


def test_randomized_copies_never_change_the_original_weights(toy_model):
    before = [w.copy() for w in toy_model.get_weights()]
    copies = [copy for _, copy in saliency.randomized_copies(toy_model)]
    assert copies[-1] is not toy_model
    for old, new in zip(before, toy_model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_rank_correlation_is_one_for_equal_maps_and_minus_one_for_reversed_ranks():
    a = np.arange(32, dtype=np.float32).reshape(2, 4, 4)
    np.testing.assert_allclose(saliency.rank_correlation(a, a), 1.0)
    np.testing.assert_allclose(saliency.rank_correlation(a, a.max() - a), -1.0)


def test_rank_correlation_compares_absolute_values_and_is_nan_for_a_constant_map():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    np.testing.assert_allclose(saliency.rank_correlation(a, -a), 1.0)
    assert np.isnan(saliency.rank_correlation(a, np.zeros_like(a))).all()


def test_map_inside_the_lung_box_has_all_its_share_there():
    shares = saliency.region_shares(regions.lung_mask((100, 120))[None].astype(np.float32))
    assert shares.loc[0, "lung_share"] == pytest.approx(1.0)
    assert shares.loc[0, "border_share"] == 0 and shares.loc[0, "corner_share"] == 0


def test_uniform_map_has_shares_equal_to_area_fractions():
    shares = saliency.region_shares(np.ones((2, 100, 120), np.float32)).iloc[0]
    top, bottom, left, right = regions.LUNG_BOX
    assert shares["lung_area"] == pytest.approx((bottom - top) * (right - left), abs=0.01)
    inner = 1 - 2 * regions.BORDER
    assert shares["border_area"] == pytest.approx(1 - inner * inner, abs=0.01)
    assert shares["corner_area"] == pytest.approx(4 * 0.15 * 0.15, abs=0.01)
    for region in ("lung", "border", "corner"):
        assert shares[f"{region}_share"] == pytest.approx(shares[f"{region}_area"])


def test_overlay_is_rgb_uint8_and_colors_the_peak_with_the_colormaps_top():
    import matplotlib

    gray = np.full((8, 8), 0.5, np.float32)
    heat = np.zeros((8, 8), np.float32)
    heat[2, 3] = 4.0
    rgb = saliency.overlay(gray, heat, alpha=0.5)
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    top = np.asarray(matplotlib.colormaps["inferno"](1.0)[:3])
    np.testing.assert_allclose(rgb[2, 3], np.round(255 * (0.25 + 0.5 * top)), atol=1)


def test_compute_names_the_methods_when_asked_for_an_unknown_one(toy_model, toy_test):
    with pytest.raises(ValueError, match="vanilla, smoothgrad, integrated_gradients, gradcam"):
        saliency.compute("lime", toy_model, toy_test[0][:1])


def test_region_table_has_a_row_per_method_and_class_and_the_even_map(paper_net):
    rng = np.random.default_rng(0)
    x = rng.random((6, 96, 96, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    values, table, shares = saliency.region_table(paper_net, x, y, y, images=3)  # every 2nd image: one per class
    assert list(table.columns) == ["lung box (%)", "border (%)", "corners (%)"]
    assert len(table) == len(saliency.METHODS) * 3 + 1
    even = table.loc[("a map spread evenly", "")]
    assert values["lung_area"] == f"{even['lung box (%)']:.0f}%"
    assert values["box_rows"] == f"{100 * regions.LUNG_BOX[0]:.0f}-{100 * regions.LUNG_BOX[1]:.0f}%"
    assert len(shares) == 3 * len(saliency.METHODS) and set(shares["method"]) == set(saliency.METHOD_NAMES.values())
def test_share_summary_leaves_all_zero_maps_out_of_the_mean_and_counts_them():
    maps = np.zeros((4, 20, 20), np.float32)
    maps[0, 8:12, 8:12] = 1.0  # all in the lung box
    maps[1, 0, 0] = 1.0        # all in a corner
    maps[3, 8:12, 8:12] = 1.0
    shares = saliency.region_shares(maps).assign(group=["a", "a", "a", "b"])
    out = saliency.share_summary(shares, ["group"])
    assert out.loc["a", "maps"] == 3 and out.loc["a", "all-zero maps"] == 1 and out.loc["a", "maps with mass"] == 2
    assert out.loc["a", "mean lung share"] == pytest.approx(0.5)  # (1 + 0) / 2: the empty map is not a 0
    assert out.loc["b", "mean lung share"] == pytest.approx(1.0)
    with pytest.raises(KeyError, match="no column 'skull_share'"):
        saliency.share_summary(shares, ["group"], region="skull")


def test_examples_pick_right_and_wrong_films_per_class_and_map_the_predicted_class(paper_net):
    rng = np.random.default_rng(1)
    x = rng.random((9, 96, 96, 3)).astype(np.float32)
    gray = (255 * x[..., 0]).astype(np.uint8)
    y_true = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_prob = np.eye(3, dtype=np.float32)[[0, 0, 1, 1, 1, 2, 2, 2, 0]] * 0.8 + 0.2 / 3
    ex = saliency.examples(paper_net, gray, x, y_true, y_prob, methods=("vanilla",))
    assert ex.picked.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]  # two right, one wrong per class
    assert ex.y_pred.tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 0]
    assert ex.titles[2] == "true COVID-19\npredicted viral pneumonia (0.87)"
    assert ex.of_class("normal").tolist() == [6, 7, 8]
    assert ex.maps["vanilla"].shape == (9, 96, 96)
    assert np.array_equal(ex.gray[3], gray[3])


def test_method_values_name_the_gradcam_grid_of_the_last_convolution(paper_net):
    values = saliency.method_values(paper_net)
    grid = paper_net.get_layer(saliency.last_conv_layer(paper_net)).output.shape[1:3]
    assert values["cam_size"] == f"{grid[0]}x{grid[1]}" and values["sg_noise"] == "15%"


def test_sanity_verdicts_split_methods_at_the_limit_by_their_last_correlation():
    sanity = pd.DataFrame({"method": ["vanilla", "vanilla", "gradcam", "gradcam"],
                           "spearman": [1.0, 0.2, 1.0, -0.7]})
    values, table = saliency.sanity_verdicts(sanity)
    assert (values["sanity_pass"], values["sanity_fail"]) == ("vanilla gradient", "Grad-CAM")
    assert "ig_final" not in values and table.loc["Grad-CAM"].iloc[0] == -0.7


def test_empty_maps_count_gradcams_all_zero_maps_and_its_classes_with_mass():
    maps = np.zeros((3, 20, 20), np.float32)
    maps[0, 8:12, 8:12] = 1.0
    shares = saliency.region_shares(maps).assign(method=saliency.METHOD_NAMES["gradcam"],
                                                 **{"class": ["COVID-19", "COVID-19", "normal"]})
    values, table = saliency.empty_maps(shares)
    assert values["cam_empty"] == "2 of 3" and values["cam_counted"] == "1"
    assert values["cam_by_class"].startswith("COVID-19: 1 maps, 100.0%")
    assert table.loc[saliency.METHOD_NAMES["gradcam"], "all-zero maps"] == 2


def test_the_traced_gradient_equals_the_eager_one_and_lets_its_model_go(paper_net):
    # backend.class_logit_gradients traces one graph per model for speed: same arithmetic as the
    # eager tape, per image its own class, and neither cache keeps a model alive.
    import gc
    import weakref

    from xraylib import backend
    x = np.random.default_rng(1).random((5, 96, 96, 3)).astype(np.float32)
    idx = np.array([0, 2, 1, 1, 0])
    lmodel = saliency.logit_model(paper_net)
    assert saliency.logit_model(paper_net) is lmodel
    column = keras.ops.convert_to_tensor(idx[:, None].astype("int32"))
    eager = backend.input_gradients(
        lambda xb: keras.ops.take_along_axis(lmodel(xb, training=False), column, axis=1)[:, 0], x)
    np.testing.assert_allclose(backend.class_logit_gradients(lmodel, x, idx), eager, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(backend.class_logit_gradients(lmodel, x[:2], idx[:2]), eager[:2],
                               rtol=1e-5, atol=1e-7)  # a smaller last batch reuses the graph
    other = build_model(get_profile("quick"))
    gone = weakref.ref(other)
    saliency.vanilla_gradients(other, x[:2])
    del other
    gc.collect()
    assert gone() is None, "a cached logit model or traced gradient kept its network alive"
