"""xraylib.ladder: the recorded ladder (records/ladder.json) reads back in order and complete, its
flags agree with its predictions, and the ladder ends at the authors' profile."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from xraylib import ladder, ladder_record, ladder_tables, wording
from xraylib.config import CLASSES, PROFILES, Profile, project_root

RECORD = project_root() / "records" / "ladder.json"


@pytest.fixture(scope="module")
def record() -> ladder_record.LadderRecord:
    """The committed record: a missing one fails (read_ladder says how to make it), never skips."""
    return ladder_record.read_ladder(RECORD)


def test_rung_table_rows_follow_the_ladder_order(record):
    names = [r.name for r in ladder.rungs()]
    table = ladder_tables.rung_table(record)
    assert list(table.index) == [n for n in names if n in table.index]
    assert list(ladder_tables.training_table(record).index) == list(table.index)


def test_every_initial_rung_has_every_seed(record):
    table = ladder_tables.rung_table(record)
    assert set(table.index) == {r.name for r in ladder.rungs()}
    assert (table["seeds"] == len(ladder.SEEDS)).all()
    init = record.members[record.members["procedure"] == "initial"]
    assert (init.groupby("rung")["seed"].apply(sorted).map(tuple) == ladder.SEEDS).all()


def test_cv_summary_has_both_ends_with_three_seeds_of_five_folds(record):
    summary = ladder_tables.cv_summary(record)
    assert set(summary.index) == {"paper", "authors"}
    assert (summary["seeds"] == len(ladder.CV_SEEDS)).all()
    assert (ladder_tables.cv_table(record)["folds"] == 5).all()


def test_collapsed_flag_agrees_with_recalls_computed_by_hand(record):
    m = record.members
    row = m[m["collapsed"]].iloc[0]  # a collapsed member, and one that did not collapse
    ok = m[~m["collapsed"]].iloc[0]
    for r, expected in ((row, True), (ok, False)):
        y_true, y_prob = record.predictions[(r["rung"], r["procedure"], r["seed"])]
        y_pred = y_prob.argmax(1)
        recalls = [np.sum((y_true == c) & (y_pred == c)) / np.sum(y_true == c) for c in range(3)]
        assert bool(min(recalls) < ladder_record.COLLAPSE_RECALL) is expected
        for c, name in enumerate(CLASSES):
            assert r[f"recall_{name}"] == pytest.approx(100 * recalls[c])


def test_classes_predicted_counts_the_distinct_predictions(record):
    for _, r in record.members.head(20).iterrows():
        _, y_prob = record.predictions[(r["rung"], r["procedure"], r["seed"])]
        assert r["classes_predicted"] == len(set(y_prob.argmax(1)))


def test_the_last_cumulative_rung_is_the_authors_profile():
    last = [r for r in ladder.rungs() if r.name == "authors"][0]
    assert dataclasses.replace(last.profile, name="authors") == PROFILES["authors"]
    assert last.profile != PROFILES["paper"]
    assert ladder.rungs()[0].profile == PROFILES["paper"]


def test_the_record_was_trained_with_the_current_profiles():
    stored = json.loads(RECORD.read_text())["rungs"]
    defaults = {f.name: f.default for f in dataclasses.fields(Profile)}
    for r in ladder.rungs():
        expected = json.loads(json.dumps(r.profile.as_dict()))  # tuples as lists, as stored
        added = set(expected) - set(stored[r.name])  # settings added since, at their defaults
        assert all(expected[k] == defaults[k] for k in added), (r.name, added)
        assert stored[r.name] == {k: v for k, v in expected.items() if k not in added}, r.name


def test_seeds_phrase_says_all_none_or_how_many():
    assert wording.seeds_phrase(5, 5) == "all five"
    assert wording.seeds_phrase(0, 3) == "none of the three"
    assert wording.seeds_phrase(2, 5) == "two of five"
    assert wording.seeds_phrase(12, 20) == "12 of 20"
    assert wording.seeds_phrase(8, 15) == "8 of 15"  # not 'eight of 15'
    assert wording.seeds_phrase(0, 15) == "none of the 15"


def test_study_seconds_shares_each_group_among_its_members():
    members = pd.DataFrame({
        "rung": ["p"] * 2 + ["q"] * 2 + ["p"] * 4,
        "procedure": ["initial"] * 4 + ["fold-1", "fold-2", "fold-1", "fold-2"],
        "seed": [1, 2, 1, 2, 1, 1, 2, 2],
        "group": ["init"] * 4 + ["cv"] * 4})
    groups = pd.DataFrame({"members": [4, 4], "total_s": [100.0, 60.0]}, index=["init", "cv"])
    rec = ladder_record.LadderRecord(members, groups, {}, {}, {})
    got = ladder_tables.protocol_seconds(rec, "p")
    assert got == pytest.approx({"initial_s": 25.0, "folds_s": 30.0, "total_s": 55.0})


def test_cv_comparison_puts_the_paper_beside_both_ends_and_the_cpu_seed(record):
    y = np.array([0, 1, 2, 2])
    p = np.eye(3)[[0, 1, 2, 0]]  # 3 of 4 right
    table = ladder_tables.cv_comparison(record, 90.64, [(y, p), (y, np.eye(3)[y])])
    assert table.loc["the paper, Table 2", "mean of folds"] == 90.64
    assert table.loc["paper profile, CPU record", "mean of folds"] == pytest.approx(87.5)
    seeds = ladder_tables.cv_table(record).groupby("rung")["mean of folds"]
    assert table.loc["authors rung, GPU ladder", "mean of folds"] == pytest.approx(seeds.mean()["authors"])
    assert table.loc["paper rung, GPU ladder", "lowest seed"] == pytest.approx(seeds.min()["paper"])


def test_the_record_tested_on_this_book_s_splits(record, real_comp, paper):
    from xraylib.splits import cv_splits, initial_split

    stored = json.loads(RECORD.read_text())["splits"]
    for split in [initial_split(real_comp, paper), *cv_splits(real_comp, paper)]:
        np.testing.assert_array_equal(stored[split.name]["test_index"], split.test)


def test_protocol_table_lists_exactly_the_settings_that_differ():
    table = ladder.protocol_table()
    assert "learning rate at the start" in table.index
    assert table.loc["learning rate at the start", "paper's text"] == f"{PROFILES['paper'].learning_rate:g}"
    assert table.loc["learning rate at the start", "authors' code"] == f"{PROFILES['authors'].learning_rate:g}"
    assert "width / height shift" not in table.index  # the same in both profiles
    same = ladder.protocol_table(PROFILES["authors"], PROFILES["authors"])
    assert same.empty


def test_beside_seeds_says_inside_above_or_below_the_range():
    assert wording.beside_seeds(50.0, [44.6, 63.1, 60.0]) == \
        "inside the range of the three GPU seeds (44.6-63.1%)"
    assert wording.beside_seeds(69.9, [42.9, 56.9]).startswith("above the range of the two")
    assert wording.beside_seeds(10.0, [42.9, 56.9], what="runs").startswith("below the range of the two runs")
    # a run that is one end of the range is named as that end, not 'inside'
    assert wording.beside_seeds(42.9, [42.9, 56.9, 50.0]).startswith("the lowest of the three")
    assert wording.beside_seeds(56.9, [42.9, 56.9]).startswith("the highest of the two")


def test_lost_classes_counts_trainings_below_the_collapse_recall():
    members = pd.DataFrame({"procedure": ["initial", "initial", "fold-1"],
                            "recall_covid": [5.0, 50.0, 1.0], "recall_viral_pneumonia": [90.0, 9.9, 1.0],
                            "recall_normal": [0.0, 10.0, 1.0]})
    rec = ladder_record.LadderRecord(members, pd.DataFrame(), {}, {}, {})
    assert ladder_tables.lost_classes(rec).to_dict() == {"covid": 1, "viral_pneumonia": 1, "normal": 1}
    assert ladder_tables.lost_classes(rec, "fold-").to_dict() == {"covid": 1, "viral_pneumonia": 1, "normal": 1}


def test_a_seed_record_holds_that_seeds_initial_run_and_its_five_folds(record):
    rec = ladder_record.seed_record(record, "paper", 2021)
    y, p = record.predictions[("paper", "initial", 2021)]
    np.testing.assert_array_equal(rec.initial.y_prob, p)
    assert [f.name for f in rec.folds] == [f"cv-fold-{k}" for k in range(1, 6)]
    pooled = ladder_tables.cv_table(record).query("rung == 'paper' and seed == 2021")["pooled accuracy"].item()
    y_all, p_all = rec.pooled()
    assert 100 * (p_all.argmax(1) == y_all).mean() == pytest.approx(pooled)


def test_a_seed_record_of_a_rung_without_folds_has_only_its_initial_run(record):
    rec = ladder_record.seed_record(record, "paper+rate", 2020)
    assert rec.initial is not None and rec.folds == []


def test_a_seed_record_that_was_never_trained_says_which(record):
    with pytest.raises(KeyError, match="'authors' with seed 1999"):
        ladder_record.seed_record(record, "authors", 1999)


def test_both_writers_round_a_member_one_way_whatever_its_float_type():
    """The GPU grid (float32 from JAX) and the run store (float64 from disk) write through add_member:
    the same training gives the same entry, probabilities to three decimals, lr to six digits."""
    member = ladder.Member("paper", "initial", PROFILES["paper"], 2020, np.arange(3), np.arange(2), np.arange(2))
    history = {"epoch": [1, 2], "loss": [1.23456789, 0.5], "accuracy": [0.5, 0.61234567],
               "val_loss": [1.0, 0.9], "val_accuracy": [0.4, 0.45], "lr": [1e-4, 3.90625e-07]}
    prob = np.array([[0.87430001, 0.12529999, 0.0004], [0.1, 0.2, 0.7]])
    entries = []
    for dtype in (np.float32, np.float64):
        raw = ladder_record.new_record("ladder", {}, np.array([0, 1, 2]), {"initial": np.array([1, 2])})
        ladder_record.add_member(raw, member, "g", {k: np.asarray(v, dtype).tolist() for k, v in history.items()},
                                 prob.astype(dtype), None)
        entries.append(raw["members"][0])
    assert entries[0] == entries[1]
    assert entries[0]["y_prob"][0] == [0.874, 0.125, 0.0]
    assert entries[0]["history"]["lr"] == [1e-4, 3.90625e-07] and entries[0]["history"]["loss"][0] == 1.235


def test_a_written_record_reads_back_with_its_provenance(tmp_path):
    member = ladder.Member("paper", "initial", PROFILES["paper"], 2020, np.arange(3), np.arange(2), np.arange(2))
    raw = ladder_record.new_record("ladder", {"processor": "x"}, np.array([0, 1, 2]), {"initial": np.array([0, 1, 2])})
    history = {k: [0.5] for k in ladder_record.HISTORY}
    ladder_record.add_member(raw, member, "g", history, np.eye(3), None)
    raw["groups"]["g"] = {"members": 1, "steps_per_epoch": 1, "first_epoch_s": 1.0, "train_s": 1.0,
                          "total_s": 1.0, "train_images": 3, "images_per_s": 3.0}
    path = tmp_path / "ladder.json"
    path.write_text(ladder_record.as_json(raw, note="tiny"))
    read = ladder_record.read_ladder(path)
    assert read.meta["note"] == "tiny" and read.meta["commit"] and read.meta["imported_utc"]
    assert read.members.loc[0, "accuracy"] == 100.0


def test_rung_difference_is_the_difference_of_seed_means_with_collapses(record):
    table = ladder_tables.rung_table(record)
    d = ladder_tables.rung_difference(record, "+dropout", "paper+floor")
    mean, collapsed = table["accuracy mean"], table["collapsed"]
    assert d["points"] == pytest.approx(mean["+dropout"] - mean["paper+floor"])
    assert (d["collapsed"], d["base collapsed"]) == (collapsed["+dropout"], collapsed["paper+floor"])
    with pytest.raises(KeyError, match="no-such-rung"):
        ladder_tables.rung_difference(record, "no-such-rung", "paper")


def test_fold_sd_by_seed_is_each_seeds_sd_over_its_five_folds(record):
    sd = ladder_tables.fold_sd_by_seed(record, "authors")
    assert list(sd.index) == list(ladder.CV_SEEDS)
    m = record.members
    folds = m[(m["rung"] == "authors") & (m["seed"] == ladder.CV_SEEDS[1]) & m["procedure"].str.startswith("fold-")]
    assert len(folds) == 5 and sd.iloc[1] == pytest.approx(folds["accuracy"].std(ddof=1))
    with pytest.raises(KeyError, match="no cross-validation"):
        ladder_tables.fold_sd_by_seed(record, "+flip")
