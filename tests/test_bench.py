"""xraylib.bench: the result table and reading a stored result (the measurement itself runs in CI
as `xraylib bench --short`)."""
import json

import pytest

from xraylib import bench

RESULT = {"mode": "full", "profile": "paper", "image_size": 200, "batch_size": 5, "images": 560,
          "train_images_per_s": {"naive": 10.0, "ours": 15.0, "limit": 20.0},
          "ratio_ours_over_naive": 1.5, "ratio_ours_over_limit": 0.75,
          "inference_images_per_s": 80.0, "val_accuracy_after_bench_epochs": 0.5,
          "projected_paper_study_minutes_at_ours": 140.0}


def test_bench_table_gives_rates_relative_to_the_naive_path():
    table = bench.bench_table(RESULT)
    assert list(table.index) == ["naive", "ours", "limit", "inference"]
    assert list(table["images/s"]) == [10.0, 15.0, 20.0, 80.0]
    assert list(table["x naive"][:3]) == [1.0, 1.5, 2.0]
    assert table["x naive"].isna().tolist() == [False, False, False, True]


def test_read_bench_round_trips_a_stored_result(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(RESULT))
    assert bench.read_bench(path) == RESULT


def test_read_bench_names_the_missing_file_and_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.json.*make bench"):
        bench.read_bench(tmp_path / "missing.json")


def test_format_bench_prints_every_path_and_the_projection():
    text = bench.format_bench(RESULT)
    for word in ("naive", "ours", "limit", "1.50x", "0.75x", "140 min"):
        assert word in text


def test_rate_cluster_finds_the_settings_that_tie_at_one_rate():
    import pandas as pd

    levers = pd.DataFrame({"images_per_s": [70.0, 63.5, 58.0, 58.1, 58.0, 58.2, 45.8]},
                          index=["defaults", "spe", "aug", "aug_spe", "batch32", "threads21", "threads11"])
    tied = bench.rate_cluster(levers)
    assert set(tied.index) == {"aug", "aug_spe", "batch32", "threads21"}
    assert set(bench.rate_cluster(levers, tolerance=0.0).index) == {"aug", "batch32"}
