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


def test_levers_say_whether_bf16_runs_natively(meas):
    values, table = performance.levers(meas["levers"], {"vector_extensions": ["avx2"]})
    assert values["bf16_hardware"] == "this one has neither, so the arithmetic is emulated"
    values, _ = performance.levers(meas["levers"], {"vector_extensions": ["avx512_bf16"]})
    assert values["bf16_hardware"].startswith("this one has avx512_bf16")
    assert "median, times the defaults" in table.columns


def test_gpu_groups_divide_each_group_among_its_trainings(meas):
    values, table = performance.gpu_groups(meas["ladder"], cpu_rate=10.0)
    row = table.iloc[0]
    assert row["seconds per training"] == pytest.approx(row["total (s)"] / row["trainings"], abs=0.1)
    assert list(table.columns) == list(performance.GPU_COLUMNS.values())
    assert float(values["gpu_over_cpu"].replace(",", "")) == pytest.approx(table["images/s, all trainings"].max() / 10,
                                                                            abs=1)


def test_ceiling_names_the_tied_settings_and_where_the_defaults_sit():
    raw = {"levers": [{"key": k, "lever": k, "images_per_s": r, "min": r - 1, "x_defaults": r / 70.0}
                      for k, r in (("defaults", 70.0), ("aug", 58.0), ("batch32", 58.1), ("threads", 58.2),
                                   ("slow", 45.8))]}
    values = performance.ceiling(raw)
    assert values["tied_n"] == "3" and values["tied_range"] == "58.0-58.2"
    assert values["defaults_slowest"] == "69.0" and values["defaults_slowest_where"] == "lies elsewhere"
    assert values["lever_faster"] == "no setting was measured faster than the defaults"
