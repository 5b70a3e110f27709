"""xraylib.ablation: the ablation chapter's sections on the committed ladder and CPU records (a
missing committed record fails, it does not skip); the test set needs the data."""
from __future__ import annotations

import numpy as np
import pytest

from xraylib import ablation, ladder, ladder_record, ladder_tables, record
from xraylib.config import CLASS_NAMES, project_root

RECORDS = project_root() / "records"


@pytest.fixture(scope="module")
def lad():
    return ladder_record.read_ladder(RECORDS / "ladder.json")


@pytest.fixture(scope="module")
def cpu():
    return record.read_record(RECORDS / "paper-profile.json")


def _test_set(lad) -> ablation.TestSet:
    """A stand-in with the ladder's own test labels (no data needed)."""
    y_test = ladder_tables.true_labels(lad)
    split = ablation.Split("initial", train=np.arange(0), val=np.arange(len(y_test)), test=np.arange(len(y_test)))
    return ablation.TestSet(y_test, split, baseline_accuracy=60.0, majority_accuracy=40.0)


def test_headline_counts_the_seeds_and_rungs_in_words_and_numbers(cpu):
    values = ablation.headline(cpu)
    assert values["n_seeds"] == "five" and values["n_cv_seeds"] == "three"
    assert values["n_rungs"] == str(len(ladder.rungs())) and values["paper_cv"] == "90.64%"


def test_rungs_quote_every_key_rung_from_the_rung_table(lad):
    values, rt = ablation.rungs(lad, _test_set(lad))
    for name, key in ablation.RUNG_KEYS.items():
        assert values[f"{key}_mean"] == f"{rt.loc[name, 'accuracy mean']:.1f}%"
    gap = 60.0 - rt.loc["paper+rate", "accuracy mean"]
    assert values["base_vs_prate"] == f"{abs(gap):.1f} points {'above' if gap > 0 else 'below'}"


def test_training_and_cross_validation_sections_agree_with_their_tables(lad, cpu):
    values, shown = ablation.training(lad)
    assert shown.loc["paper", "last lr"] == values["paper_last_lr"]
    values, cvt = ablation.cross_validation(lad, cpu)
    assert values["cva_mean"] == f"{cvt.loc['authors rung, GPU ladder', 'mean of folds']:.1f}%"
    cpu_values, note = ablation.cpu_beside_gpu(lad, cpu, cvt)
    assert cpu_values["cpu_init_where"].split(" the range")[0] in ("inside", "above", "below")
    assert note.startswith("profile 'authors'") and "authors" in cpu_values["cpu_authors"]


def test_without_an_authors_cpu_record_the_section_says_so(lad, cpu, tmp_path):
    _, cvt = ablation.cross_validation(lad, cpu)
    values, note = ablation.cpu_beside_gpu(lad, cpu, cvt, authors_file=tmp_path / "authors-profile.json")
    assert note.startswith("no CPU record of the authors' protocol yet") and "not yet recorded" in values["cpu_authors"]


def test_batch_32_names_the_one_class_the_collapsed_seeds_answered(lad):
    values = ablation.batch_32(lad, _test_set(lad))
    init = ablation.initial_members(lad)
    b32 = init[init["rung"] == "authors-b32"]
    assert values["b32_one_class"].endswith("five") and values["bn_memory"] == "100"  # 1 / (1 - 0.99)
    named = values["b32_class"].split(" or ") if values["b32_class"] else []
    assert set(named) <= {n.lower() for n in CLASS_NAMES.values()}
    assert bool(named) == bool((b32["classes_predicted"] == 1).any())


def test_the_test_set_is_the_ladders_own_and_the_baseline_beats_the_majority(lad, real_root):
    ts = ablation.test_set(lad, str(real_root))
    assert (ts.y[ts.split.test] == ladder_tables.true_labels(lad)).all()
    assert ts.baseline_accuracy > ts.majority_accuracy > 33.0
    values = ablation.test_set_values(lad, ts)
    assert values["n_test"] == str(len(ts.split.test)) == "689"


def test_costs_are_the_rung_differences_in_points_and_collapsed_seeds(lad):
    values = ablation.costs(lad)
    dropout = ladder_tables.rung_difference(lad, "+dropout", "paper+floor")
    assert values["dropout_cost"] == f"{-dropout['points']:.1f}"  # dropout costs: a positive number
    assert values["floor_collapsed"] in ("none", "one", "two", "three", "four", "five")
    assert values["dropout_collapsed"].endswith(" of five") or values["dropout_collapsed"].startswith("all")
    rt = ladder_tables.rung_table(lad)
    assert values["floor_mean"] == f"{rt.loc['paper+floor', 'accuracy mean']:.1f}%"
