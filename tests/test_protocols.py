"""xraylib.protocols: the headline table is computed from the committed records, one way."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xraylib import evaluate, ladder, paper, protocols, record
from xraylib.config import project_root

RECORDS = project_root() / "records"


@pytest.fixture(scope="module")
def table():
    return protocols.headline(protocols.recorded())


def test_the_paper_row_quotes_the_paper_module(table):
    row = table.loc["reported by the paper"]
    assert row["initial"] == paper.INITIAL_ACCURACY / 100 and row["cv"] == paper.CV_MEAN_ACCURACY / 100


def test_the_papers_text_study_is_the_cpu_record(table):
    rec = record.read_record(RECORDS / "paper-profile.json")
    expected = evaluate.accuracy(rec.initial.y_true, rec.initial.y_prob)
    assert table.loc["the paper's text", "initial"] == expected


def test_the_seed_columns_count_and_summarise_the_ladder_seeds(table):
    lad = ladder.read_ladder(RECORDS / "ladder.json")
    m = lad.members
    seeds = m[(m["rung"] == "authors") & (m["procedure"] == "initial")]["accuracy"] / 100
    row = table.loc[protocols.CODE_TITLE]
    assert row["initial seeds"] == len(seeds) == 5 and row["cv seeds"] == 3
    assert row["initial seed mean"] == pytest.approx(seeds.mean())
    assert row["initial seed range"] == (pytest.approx(seeds.min()), pytest.approx(seeds.max()))


def test_the_authors_study_is_its_reference_seeds_runs(table):
    lad = ladder.read_ladder(RECORDS / "ladder.json")
    y, p = lad.predictions[("authors", "initial", protocols.REFERENCE_SEED)]
    assert table.loc[protocols.CODE_TITLE, "initial"] == evaluate.accuracy(y, p)


def test_the_readers_table_has_no_missing_value_markers(table):
    text = protocols.headline_text(table)
    assert not text.isin(["nan", "NaN", "None"]).any().any()
    assert not text.apply(lambda col: col.str.contains("nan", case=False)).any().any()


def _table(ranges: dict) -> pd.DataFrame:
    return pd.DataFrame({name: {"initial seeds": 5, "initial seed mean": np.mean(r),
                                "initial seed range": r} for name, r in ranges.items()}).T


def test_separated_only_when_the_worst_seed_beats_the_best_seed():
    t = _table({"a": (0.87, 0.92), "b": (0.44, 0.63), "c": (0.60, 0.90)})
    assert protocols.separated(t, "a", "b")
    assert not protocols.separated(t, "a", "c")


def test_over_seeds_says_mean_range_and_count_in_words():
    t = _table({"a": (0.446, 0.631)})
    t.loc["a", "initial seed mean"] = 0.564
    assert protocols.over_seeds(t, "a") == "56.4% (44.6-63.1%) over five seeds"


def test_the_authors_row_is_named_for_the_hybrid_it_is(table):
    assert "the authors' code" not in table.index
    assert protocols.CODE_TITLE in table.index and "network" in protocols.CODE_TITLE


def test_the_readers_headline_leaves_out_the_quick_preview_and_names_the_implementation(table):
    quick = protocols.Protocol("quick", "the quick preview", protocols.recorded()["paper"].study,
                               "TensorFlow, CPU (pinned runs)", None, "quick", "")
    with_quick = protocols.headline({**protocols.recorded(), "quick": quick})
    text = protocols.headline_text(with_quick)
    assert "the quick preview" in with_quick.index and "the quick preview" not in text.index
    assert "CPU" in text.loc["the paper's text", "trained with"]
    assert "GPU" in text.loc["the paper's text", "trained with"]  # its seeds ran on the GPU


def test_seeds_against_counts_the_seeds_on_each_side_of_the_papers_number():
    p = protocols.recorded()["authors"]
    seeds = p.seed_accuracies("initial")
    below = protocols.seeds_against(p, 100.0)
    assert below.startswith("all five seeds below 100%")
    assert protocols.seeds_against(p, 0.0).startswith("all five seeds at or above 0%")
    middle = float(seeds.sort_values().iloc[2])
    assert protocols.seeds_against(p, middle).startswith("3 of five seeds at or above")


def test_interval_against_says_whether_the_interval_holds_the_number():
    e = evaluate.Estimate(0.91, 0.886, 0.929)
    assert protocols.interval_against(e, 93) == "its 95% interval (88.6-92.9%) excludes 93%"
    assert protocols.interval_against(e, 90).endswith("includes 90%")
