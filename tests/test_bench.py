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


def test_run_bench_trains_and_counts_the_same_images_on_every_path(tmp_path, cache, class_folder,
                                                                  monkeypatch):
    """A real measurement on a tiny folder: the counted images are the trained ones, every rate is
    positive, and the ratios and the projection follow from the rates it reports."""
    import dataclasses

    from xraylib import config, study
    from xraylib.config import CLASSES

    data = str(class_folder(tmp_path / "data", per_class=8))
    profile = dataclasses.replace(config.get_profile("quick"), composition=tuple((c, 8) for c in CLASSES),
                                  initial_train=tuple((c, 4) for c in CLASSES))
    trained = []
    real_fit = bench.fit_model
    monkeypatch.setattr(bench, "fit_model", lambda p, x, *a, **k: trained.append((len(x), p.epochs))
                        or real_fit(p, x, *a, **k))
    result = bench.run_bench(profile, short=True, data=data)
    n_train = len(study.Study(profile, data).initial_split.train)  # short mode takes all of them here
    assert result["images"] == n_train == trained[0][0] and trained[0][1] == 2
    rates = result["train_images_per_s"]
    assert set(rates) == {"naive", "ours", "limit"} and all(v > 0 for v in rates.values())
    # the rates are kept to 0.1 image/s, the ratios to 0.01: compared within that rounding
    assert result["ratio_ours_over_naive"] == pytest.approx(rates["ours"] / rates["naive"], rel=0.05, abs=0.01)
    assert result["inference_images_per_s"] > 0 and 0 <= result["val_accuracy_after_bench_epochs"] <= 1
    projected = (bench.PAPER_STUDY_TRAIN_IMAGES / rates["ours"]
                 + bench.PAPER_STUDY_INFER_IMAGES / result["inference_images_per_s"]) / 60
    assert result["projected_paper_study_minutes_at_ours"] == pytest.approx(projected, rel=0.05)
