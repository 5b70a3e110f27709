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


# --- One protocol on both machines ------------------------------------------------------------


def _cpu_like(lad, seeds=(2020, 2021), shift=0.0, drop=()):
    """A stand-in CPU record of the paper-cv plan: the GPU's own fold trainings, moved by `shift`
    points, without the (seed, fold) pairs in `drop`."""
    import dataclasses

    m = lad.members
    m = m[(m["rung"] == "paper") & m["procedure"].str.startswith("fold-") & m["seed"].isin(seeds)]
    m = m[[(s, p) not in drop for s, p in zip(m["seed"], m["procedure"])]]
    return dataclasses.replace(lad, members=m.assign(accuracy=m["accuracy"] + shift))


def test_fold_pairs_put_each_cpu_fold_beside_the_gpu_fold_of_its_seed(lad, cpu):
    pairs = ablation.fold_pairs(lad, _cpu_like(lad, shift=2.5), cpu)
    new = pairs[pairs["CPU run"] == ablation.NEW_CPU]
    assert len(new) == 10 and np.allclose(new["CPU - GPU"], 2.5)
    old = pairs[pairs["CPU run"] == ablation.OLD_CPU]
    assert list(old["fold"]) == [f"fold-{k}" for k in range(1, 6)] and set(old["seed"]) == {2020}
    gpu = lad.members.set_index(["rung", "procedure", "seed"])["accuracy"]
    for f, row in zip(cpu.folds, old.itertuples()):
        assert row.CPU == pytest.approx(100 * (f.y_prob.argmax(1) == f.y_true).mean())
        assert row.GPU == pytest.approx(gpu[("paper", row.fold, 2020)])


def test_one_protocol_uses_complete_seeds_only_and_compares_seed_means(lad, cpu):
    values, table = ablation.one_protocol(lad, _cpu_like(lad, shift=-1.0, drop={(2021, "fold-3")}), cpu)
    gpu = ladder_tables.cv_table(lad).query("rung == 'paper'")["mean of folds"]
    cpu_2020 = table.loc[(ablation.NEW_CPU, 2020), "CPU"]
    assert values["op_cpu_seed_list"] == "2020"
    assert values["op_gap"] == f"{cpu_2020 - gpu.mean():+.1f}"
    assert values["op_bar"] == f"{2 * gpu.std(ddof=1) * np.sqrt(1 + 1 / 3):.1f}"
    assert table.loc[(ablation.NEW_CPU, 2021), "folds"] == 4  # shown, not counted in the verdict
    with pytest.raises(ValueError, match="xraylib cv --profile paper --workers 2"):
        ablation.one_protocol(lad, _cpu_like(lad, seeds=(2020,), drop={(2020, "fold-1")}), cpu)


@pytest.mark.parametrize("gap, old_gap, verdict", [(3.0, 19.1, "No gap beyond the seeds' spread is left"),
                                                   (14.0, 19.1, "A gap remains"),
                                                   (3.0, 12.0, "cannot tell"), (3.0, None, "cannot tell")])
def test_the_verdict_says_no_more_than_the_gaps_against_their_bars(gap, old_gap, verdict):
    assert verdict in ablation.one_protocol_verdict(gap, 13.1, old_gap, 16.6)


def test_the_cpu_cross_validation_record_trained_the_gpu_s_folds_with_its_seeds(lad):
    """records/paper-cv-cpu.json: the paper's text through the five folds on the CPU, each
    training on the test fold (same labels, same order) of the GPU training it is paired with,
    with one of the ladder's seeds, and at least one seed complete."""
    cpu_cv = ladder_record.read_ladder(RECORDS / "paper-cv-cpu.json")
    m = cpu_cv.members
    assert set(m["rung"]) == {"paper"} and set(m["seed"]) <= set(ladder.CV_SEEDS)
    assert (m.groupby("seed")["procedure"].nunique() == 5).any()
    for (rung, fold, seed), (y_true, _) in cpu_cv.predictions.items():
        np.testing.assert_array_equal(y_true, lad.predictions[(rung, fold, seed)][0])
    assert all(len(h) == 25 for h in cpu_cv.histories.values()), "the paper's text: 25 epochs, no stopping"


def test_positions_count_where_each_cpu_seed_lies_among_the_gpu_seeds():
    import pandas as pd

    gpu = [52.5, 42.9, 56.9]
    assert ablation._positions(pd.Series([54.4, 59.2]), gpu) == \
        "one inside and one above the range of the three GPU seeds (42.9-56.9%)"
    assert ablation._positions(pd.Series([44.0, 50.0]), gpu).startswith("both inside the range")
    assert ablation._positions(pd.Series([54.4]), gpu) == "inside the range of the three GPU seeds (42.9-56.9%)"
