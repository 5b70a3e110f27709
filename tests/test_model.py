"""xraylib.model: the paper's Table 1 (parameters, shapes), logits vs probabilities, FLOPs."""
from __future__ import annotations

import numpy as np
import pytest

from xraylib import config, model, paper
from xraylib.backend import keras


@pytest.fixture(scope="module")
def paper_net(paper):
    return model.build_model(paper)


def test_paper_network_has_the_papers_453027_parameters(paper_net):
    assert paper_net.count_params() == 453_027 == paper.PARAMS


def test_compare_table1_matches_all_25_rows_of_the_paper(paper_net):
    table = model.compare_table1(paper_net)
    assert len(table) == 25
    assert table["match"].all(), table[~table["match"]].to_string()


def test_conv_pool_and_flatten_output_sizes_are_the_papers(paper_net):
    # Table 1: 200 -> 198 -> 99 -> 97 -> 48 -> 46 -> 23 -> 21 -> 10 -> 8 -> 4; 4*4*32 = 512.
    expected = {"conv1": (198, 198, 32), "pool1": (99, 99, 32), "conv2": (97, 97, 64),
                "pool2": (48, 48, 64), "conv3": (46, 46, 128), "pool3": (23, 23, 128),
                "conv4": (21, 21, 64), "pool4": (10, 10, 64), "conv5": (8, 8, 32),
                "pool5": (4, 4, 32), "flatten": (512,), "dense": (512,), "softmax": (3,)}
    got = {name: tuple(paper_net.get_layer(name).output.shape[1:]) for name in expected}
    assert got == expected


def test_softmax_output_rows_sum_to_one_for_random_input(paper_net):
    x = np.random.default_rng(0).random((4, 200, 200, 3), dtype=np.float32)
    probs = paper_net(x, training=False).numpy()
    assert probs.shape == (4, 3)
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_predictions_layer_gives_logits_whose_softmax_is_the_model_output(paper_net):
    x = np.random.default_rng(1).random((3, 200, 200, 3), dtype=np.float32)
    logits_net = keras.Model(paper_net.input, paper_net.get_layer("predictions").output)
    logits = logits_net(x, training=False).numpy()
    probs = paper_net(x, training=False).numpy()
    assert not np.allclose(logits.sum(axis=1), 1.0), "'predictions' must not apply the softmax"
    np.testing.assert_allclose(keras.ops.softmax(logits, axis=-1).numpy(), probs, rtol=1e-5,
                               atol=1e-7)


def test_forward_flops_is_positive_and_grows_with_image_size(paper_net, paper):
    small = model.forward_flops(model.build_model(paper, size=96))
    assert 0 < small < model.forward_flops(paper_net)


def test_forward_flops_of_a_conv_layer_is_multiply_adds_plus_bias_plus_relu():
    inputs = keras.Input((200, 200, 3))
    net = keras.Model(inputs, keras.layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs))
    out = 198 * 198 * 32
    assert model.forward_flops(net) == 2 * out * 3 * 3 * 3 + out + out


def test_forward_flops_of_the_final_dense_layer_is_multiply_adds_plus_bias():
    inputs = keras.Input((512,))
    net = keras.Model(inputs, keras.layers.Dense(3, name="predictions")(inputs))
    assert model.forward_flops(net) == 2 * 512 * 3 + 3


def test_94_pixels_is_the_smallest_input_that_survives_the_five_blocks(paper):
    # 94 -> 92 -> 46 -> 44 -> 22 -> 20 -> 10 -> 8 -> 4 -> 2 -> 1: one pixel of 32 features left.
    net = model.build_model(paper, size=94)
    assert tuple(net.get_layer("flatten").output.shape[1:]) == (32,)
    assert tuple(net.output.shape[1:]) == (3,)
    with pytest.raises(ValueError, match="zero or negative"):
        model.build_model(paper, size=93)


def test_a_64_pixel_input_fails_to_build_with_a_value_error(paper):
    with pytest.raises(ValueError, match="zero or negative"):
        model.build_model(paper, size=64)


def test_table1_values_quote_the_parameters_and_the_matching_rows(paper_net):
    table = model.compare_table1(paper_net)
    assert model.table1_values(paper_net, table) == {"n_params": "453,027", "n_rows_match": "25 of 25"}
    table.loc[3, "match"] = False
    assert model.table1_values(paper_net, table)["n_rows_match"] == "24 of 25"


def test_cost_section_quotes_each_networks_flops_and_the_quick_networks_flat_vector(paper_net):
    quick_net = model.build_model(config.get_profile("quick"))
    values, lines = model.cost_section(paper_net, quick_net)
    assert values["gflops_paper"] == f"{model.forward_flops(paper_net) / 1e9:.2f}"
    assert float(values["gflops_quick"]) < float(values["gflops_paper"])
    assert values["quick_flat"] == str(quick_net.get_layer("flatten").output.shape[-1]) != "512"
    assert values["quick_params"] == f"{quick_net.count_params():,}"
    assert lines.splitlines()[0].startswith("paper (200x200): 453,027 parameters, ")
