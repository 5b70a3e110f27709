"""xraylib.reproducibility: the Reproducibility chapter's sections, on small made-up measurements
and on the committed ones (a missing committed file fails, it does not skip)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xraylib import ladder_record, ladder_tables, reproducibility, wording
from xraylib.config import project_root

RECORDS = project_root() / "records"


def _det() -> dict:
    variants = [{"key": "default", "against": "", "weights_sha256": "a", "accuracy": 0.5, "loss": 1.0,
                 "val_accuracy": 0.4, "factor": "-", "setting": "-", "train_images": 10, "val_images": 4},
                {"key": "default-2", "against": "default", "weights_sha256": "a", "accuracy": 0.5, "loss": 1.0,
                 "val_accuracy": 0.4, "factor": "repeat", "setting": "again", "train_images": 10, "val_images": 4},
                {"key": "isa-avx2", "against": "default", "weights_sha256": "b", "accuracy": 0.6, "loss": 0.9,
                 "val_accuracy": 0.45, "factor": "isa", "setting": "AVX2", "train_images": 10, "val_images": 4}]
    return {"variants": variants, "epochs": 1, "machine": {"cpus": 2},
            "provenance": {"measured_utc": "2026-01-01", "commit": "abc"}}


def test_variants_mark_identical_weights_and_letter_each_distinct_set():
    v = reproducibility.variants(_det())
    assert v["identical"].tolist() == [False, True, False]  # the reference itself is compared to nothing
    assert v["weights"].tolist() == ["A", "A", "B"]


def test_verdict_says_none_all_or_how_many_changed():
    v = reproducibility.variants(_det())
    assert reproducibility.verdict(v, ["default-2"]) == "left the weights bit-identical"
    assert reproducibility.verdict(v, ["isa-avx2"]) == "changed the weights"
    assert reproducibility.verdict(v, ["default-2", "isa-avx2"]) == "changed the weights in one of two cases"


def test_determinism_variants_give_counts_and_a_table_with_display_names():
    values, table = reproducibility.determinism_variants(_det())
    assert values == {"n_variants": "3", "n_groups": "2", "det_train": "10", "det_val": "4",
                      "det_date": "2026-01-01", "det_epochs": "1", "det_commit": "abc"}
    assert list(table.columns) == list(reproducibility.VARIANT_COLUMNS.values())
    assert table["bit-identical"].tolist() == ["", "yes", "no"]


def test_cache_sizes_read_as_kib_or_mib():
    assert reproducibility._cache_size("32K") == "32 KiB" and reproducibility._cache_size("1024K") == "1 MiB"


def test_the_committed_measurements_give_every_value_the_chapter_glues():
    det = reproducibility.read_benchmark("determinism.json")
    assert set(reproducibility.determinism_verdicts(det)) >= set(reproducibility.VERDICTS)
    values, table = reproducibility.speed(det)
    assert len(values) == 11 and list(table.columns) == list(reproducibility.SPEED_COLUMNS.values())
    values, fits = reproducibility.cross_machine(reproducibility.read_benchmark("cross-machine.json"))
    assert values["xm_new_same"] in ("the same", "not the same")
    assert set(fits.index) == set(reproducibility.FIT_NAMES.values())


def test_read_benchmark_names_the_script_that_writes_a_missing_file():
    with pytest.raises(FileNotFoundError, match=r"benchmarks/nothing_here\.py writes it"):
        reproducibility.read_benchmark("nothing-here.json")


def test_seed_spread_states_the_tolerance_the_seed_spread_test_uses():
    # The test (tests/test_seed_spread.py) checks a fresh initial run against the initial seeds.
    qs = ladder_record.read_ladder(RECORDS / "quick-seeds.json")
    values, spread = reproducibility.seed_spread(qs, pinned_env="X")
    seeds = ladder_tables.seed_accuracies("quick", "initial")
    n_test = len(ladder_tables.true_labels(qs))
    assert values["tol_band"] == f"{seeds.mean():.1f} ± {ladder_tables.spread_tolerance(seeds, n_test):.1f}%"
    assert values["qs_n"] == "five" and values["pinned_env"] == "X"
    assert values["tol_verdict"].startswith("a network that always answers the most common class")
    assert list(spread.index) == list(reproducibility.SPREAD_ROWS.values())
    assert spread.loc["initial procedure, test accuracy", "seeds"] == 5


def test_the_preview_stands_beside_the_200_px_protocols_seeds():
    qs = ladder_record.read_ladder(RECORDS / "quick-seeds.json")
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    values, table = reproducibility.preview_beside_protocol(qs, lad, pd.Series([90.0, 88.0]))
    assert list(table.index) == ["preview (96 px), TensorFlow on a CPU",
                                 "authors' protocol (200 px), Keras on JAX, GPU",
                                 "authors' protocol (200 px), TensorFlow on a CPU"]
    assert table["seeds"].tolist() == [5, 5, 2]
    full = pd.concat([lad.members.query("rung == 'authors' and procedure == 'initial'")["accuracy"],
                      pd.Series([90.0, 88.0])])
    gap = table.iloc[0]["mean (%)"] - full.mean()
    assert values["pv_gap"] == f"{abs(gap):.1f} points {'above' if gap > 0 else 'below'}"
    assert values["pv_full_n"] == "seven"
    inside = table.iloc[0]["SD (points)"] <= 3 and abs(gap) <= 5
    assert values["pv_verdict"].startswith("within" if inside else "outside")


def test_machine_to_machine_places_each_cpu_run_among_its_gpu_seeds():
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    table, missing = reproducibility.machine_to_machine(lad)
    assert missing == [] and set(table.index.get_level_values(0)) == {"paper", "authors"}
    for _, row in table.iterrows():
        assert row["CPU against the GPU seeds"] in ("inside", "above", "below")
        inside = round(row["GPU min"], 1) <= round(row["CPU, one run"], 1) <= round(row["GPU max"], 1)
        assert (row["CPU against the GPU seeds"] == "inside") == inside


def test_machine_to_machine_without_cpu_records_says_which_rows_are_left_out(tmp_path):
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    table, missing = reproducibility.machine_to_machine(lad, tmp_path)
    assert table.empty and [m.split(" (")[0] for m in missing] == [
        "no CPU record of the paper profile yet", "no CPU record of the authors profile yet"]


def test_count_word_and_position_are_the_words_the_phrases_use():
    assert wording.count_word(5) == "five" and wording.count_word(15) == "15"
    seeds = pd.Series([40.0, 50.0])
    assert [wording.position(v, seeds) for v in (39.9, 40.04, 50.0, 50.06)] == ["below", "inside", "inside", "above"]
    assert wording.beside_seeds(45.0, np.array([40.0, 50.0])).startswith(wording.position(45.0, seeds))
