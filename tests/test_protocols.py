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
    row = table.loc[protocols.CODE_TITLE]
    assert row["initial seeds"] == len(seeds) == 5 and row["cv seeds"] == 3
    assert row["initial seed mean"] == pytest.approx(seeds.mean())
    assert row["initial seed range"] == (pytest.approx(seeds.min()), pytest.approx(seeds.max()))


def test_the_authors_study_is_its_reference_seeds_runs(table):
    lad = ladder_record.read_ladder(RECORDS / "ladder.json")
    y, p = lad.predictions[("authors", "initial", protocols.REFERENCE_SEED)]
    assert table.loc[protocols.CODE_TITLE, "initial"] == metrics.accuracy(y, p)


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
    assert values["r_code_init"] == res.loc[protocols.CODE_TITLE, "initial accuracy"].text(unit="%")
def test_the_authors_row_is_named_for_the_hybrid_it_is(table):
    assert "the authors' code" not in table.index
    assert protocols.CODE_TITLE in table.index and "network" in protocols.CODE_TITLE


def test_the_readers_headline_leaves_out_the_quick_preview_and_names_the_implementation(table):
    quick = protocols.Protocol("quick", "the quick preview", protocols.recorded()["paper"].record,
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
    e = metrics.Estimate(0.91, 0.886, 0.929)
    assert protocols.interval_against(e, 93) == "its 95% interval (88.6-92.9%) excludes 93%"
    assert protocols.interval_against(e, 90).endswith("includes 90%")
