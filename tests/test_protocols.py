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


def _external(right_nih: int = 3, covid_nih: int = 5) -> pd.DataFrame:
    """An origins() table: 10 images per origin."""
    rows = {o: {"images": 10, "right": 7, "accuracy": metrics.Estimate(0.7, 0.4, 0.9), "called COVID-19": 1,
                "called viral pneumonia": 2} for o in (protocols.ORIGIN_NIH, protocols.ORIGIN_KERMANY,
                                                       protocols.ORIGIN_HANNOVER, protocols.ORIGIN_COHEN)}
    rows[protocols.ORIGIN_NIH].update({"right": right_nih, "called COVID-19": covid_nih})
    return pd.DataFrame(rows).T


def test_the_opening_page_quotes_the_headline_table_and_the_external_normals():
    recorded = protocols.recorded()
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    thumbs = record.Record("baseline", {}, recorded["paper"].record.initial, recorded["paper"].record.folds, [])
    table = protocols.headline(recorded, thumbs)
    values = protocols.opening_values(recorded, table, _external())
    assert values["text_init"] == protocols.over_seeds(table, "the paper's text", "initial")
    assert (values["nih_right"], values["nih_covid"]) == ("3 of 10", "5")
    assert values["kermany_acc"] == metrics.Estimate(0.7, 0.4, 0.9).text(unit="%")
    assert values["base_cv"] == metrics.accuracy(*thumbs.pooled()).text(unit="%")
    cues = dict(zip(protocols.shortcuts.CUES, (metrics.Estimate(0.8, 0.7, 0.9), metrics.Estimate(0.6, 0.5, 0.7))))
    quick = protocols.recorded(recorded["paper"].record)  # any record stands in for the quick preview
    values = protocols.conclusions_values(quick, protocols.headline(quick, thumbs), lad, cues,
                                          metrics.Estimate(0.9, 0.85, 0.95), _external())
    assert values["c_border"] == cues[protocols.shortcuts.CUES[0]].text(unit="%")
    assert values["c_b32"].endswith("%") and values["c_nih"] == "3 of 10"


def test_the_results_prose_compares_the_interval_the_seeds_and_the_folds():
    recorded = protocols.recorded()
    res, unc = protocols.results_table(recorded), protocols.uncertainty_table(recorded)
    values = protocols.results_values(recorded, res, unc)
    half = unc["initial: half-width of the 95% interval"]
    assert values["r_half_lo"] == f"{half.min():.1f}" and values["r_half_hi"] == f"{half.max():.1f}"
    text = "the paper's text"
    ratio = min(unc.loc[text, "initial: SD over seeds"], unc.loc[text, "CV: SD over folds"]) / half[text]
    assert values["r_text_ratio"] == f"{ratio:.1f}"
    assert values["r_code_init"] == res.loc["the authors' code", "initial accuracy"].text(unit="%")
