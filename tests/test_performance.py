"""xraylib.performance: the Performance page's sections on the committed measurements (a missing
one fails, it does not skip) and on a made-up benchmark result."""
from __future__ import annotations

import pytest

from xraylib import bench, performance

RESULT = {"mode": "full", "profile": "paper", "image_size": 200, "batch_size": 5, "images": 560,
          "train_images_per_s": {"naive": 10.0, "ours": 15.0, "limit": 20.0},
          "ratio_ours_over_naive": 1.5, "ratio_ours_over_limit": 0.75,
          "inference_images_per_s": 80.0, "val_accuracy_after_bench_epochs": 0.5,
          "projected_paper_study_minutes_at_ours": 140.0}


@pytest.fixture(scope="module")
def meas():
    return performance.measurements()


def test_one_training_costs_the_epochs_over_the_measured_rate(meas):
    values, table = performance.costs({**meas, "bench": RESULT})
    assert values["cpu_one_min"] == f"{25 * 560 / 15.0 / 60:.0f}" == "16"
    assert values["cpu_study_min"] == "140"
    assert list(table.index) == list(performance.COST_ROWS.values())
    assert table.iloc[0, 0].startswith("about 16 min (projected from the benchmark)")


def test_loaders_glue_the_rates_and_show_the_bench_table_with_blanks(meas):
    values, table = performance.loaders(RESULT)
    assert (values["rate_ours"], values["ours_over_naive"], values["ours_over_limit"]) == ("15.0", "1.50", "75%")
    assert "times the naive path" in table.columns and table.loc["inference", "times the naive path"] == ""
    assert len(table) == len(bench.bench_table(RESULT))


def test_speed_word_counts_two_percent_as_the_same_speed():
    assert [performance.speed_word(r) for r in (1.03, 1.01, 0.99, 0.97)] == ["faster", "as fast", "as fast", "slower"]


def _lever(key, rate, share):
    return {"key": key, "lever": f"setting {key}", "windows": 10, "images_per_s": rate, "min": rate - 5,
            "max": rate + 5, "x_ours": rate / 30.0, "train_gflops": rate * 2.4, "share_of_sgemm": share,
            "cores_busy_slowest": 1.04 if key == "ours" else 1.96,
            "cores_busy_fastest": 1.81 if key == "ours" else 1.98}


LEVERS = {"images": 100, "windows": 5, "repeats": 2, "base": "ours", "sgemm_gflops": 180.0, "sgemm_n": 4096,
          "train_gflop_per_image": 2.416,
          "levers": [_lever("ours", 30.0, 0.40), _lever("keras_bn", 20.0, 0.27), _lever("side_by_side", 38.0, 0.51),
                     _lever("threads11", 19.0, 0.25)],
          "profiles": {"ours": {"op_seconds": {"convolutions, backward": 3.0, "batch norm, forward": 0.5,
                                               "batch norm, backward": 0.5}},
                       "keras_bn": {"op_seconds": {"convolutions, backward": 3.0, "batch norm, forward": 1.0,
                                                   "batch norm, backward": 2.0, "dropout, forward": 1.0}}}}


def test_levers_say_whether_bf16_runs_natively_and_compare_with_our_path():
    values, table = performance.levers(LEVERS, {"vector_extensions": ["avx2"]})
    assert values["bf16_hardware"] == "this one has neither, so the arithmetic is emulated"
    values, _ = performance.levers(LEVERS, {"vector_extensions": ["avx512_bf16"]})
    assert values["bf16_hardware"].startswith("this one has avx512_bf16")
    assert "lever_ours" not in values
    assert values["lever_keras_bn"] == "20.0 images/s (15.0-25.0), 0.67x ours, slower"
    assert table.loc["setting side_by_side", "share of sgemm"] == "51%"
    assert list(table.columns) == list(performance.LEVER_COLUMNS.values())


def test_against_machine_says_which_settings_reach_the_goal_and_what_batch_norm_cost():
    values = performance.against_machine(LEVERS)
    assert (values["ours_share"], values["keras_bn_share"], values["side_by_side_share"]) == ("40%", "27%", "51%")
    assert values["ours_reach"] == "reaches" and values["goal_share"] == "40%"
    assert values["fused_speedup"] == "1.50"
    assert values["bn_share_keras"] == "43%" and values["bn_share_fused"] == "25%"  # 3 of 7 s, 1 of 4 s
    assert values["conv_share_fused"] == "75%"
    busy = (values["ours_busy_slowest"], values["ours_busy_fastest"], values["side_by_side_busy"])
    assert busy == ("1.0", "1.8", "2.0")
    table = performance.profile_table(LEVERS)
    assert table.loc["dropout, forward", "fused batch norm"] == 0.0  # a kind missing from one profile
    assert list(table.index)[0] == "convolutions, backward"


def test_the_committed_levers_record_has_every_setting_the_page_glues(meas):
    keys = {row["key"] for row in meas["levers"]["levers"]}
    assert {"ours", "keras_bn", "side_by_side", "threads11", "no_aug", "spe", "batch32", "threads21", "bf16",
            "xla"} <= keys
    assert set(meas["levers"]["profiles"]) == {"ours", "keras_bn"}
    performance.against_machine(meas["levers"])


def test_gpu_groups_divide_each_group_among_its_trainings(meas):
    values, table = performance.gpu_groups(meas["ladder"], cpu_rate=10.0)
    row = table.iloc[0]
    assert row["seconds per training"] == pytest.approx(row["total (s)"] / row["trainings"], abs=0.1)
    assert list(table.columns) == list(performance.GPU_COLUMNS.values())
    assert float(values["gpu_over_cpu"].replace(",", "")) == pytest.approx(table["images/s, all trainings"].max() / 10,
                                                                            abs=1)
