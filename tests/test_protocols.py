"""xraylib.protocols: the headline table is computed from the committed records, one way."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xraylib import ladder_record, metrics, paper, protocols, record
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
    expected = metrics.accuracy(rec.initial.y_true, rec.initial.y_prob)
    assert table.loc["the paper's text", "initial"] == expected


def test_the_seed_columns_count_and_summarise_the_ladder_seeds(table):
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    m = lad.members
    seeds = m[(m["rung"] == "authors") & (m["procedure"] == "initial")]["accuracy"] / 100
    row = table.loc["the authors' code"]
    assert row["initial seeds"] == len(seeds) == 5 and row["cv seeds"] == 3
    assert row["initial seed mean"] == pytest.approx(seeds.mean())
    assert row["initial seed range"] == (pytest.approx(seeds.min()), pytest.approx(seeds.max()))


def test_the_authors_study_is_its_reference_seeds_runs(table):
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    y, p = lad.predictions[("authors", "initial", protocols.REFERENCE_SEED)]
    assert table.loc["the authors' code", "initial"] == metrics.accuracy(y, p)


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
