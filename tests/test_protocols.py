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


# The Training, Cross-validation and Results chapters' values (issue 23: the chapters only glue)


@pytest.fixture(scope="module")
def recorded():
    return protocols.recorded()


@pytest.mark.parametrize("low, high, where", [(0.90, 0.95, "inside"), (0.80, 0.92, "above"),
                                              (0.94, 0.97, "below"), (0.93, 0.95, "inside")])
def test_interval_position_says_where_the_papers_number_lies_against_an_interval(low, high, where):
    assert protocols.interval_position(metrics.Estimate(0.9, low, high), 93.0) == where


def test_describe_prints_each_profiles_settings_and_a_title_for_a_build_without_one(recorded):
    built = protocols.Protocol("built", "this build (x profile)", recorded["paper"].record, "", None, "", "")
    lines = protocols.describe({**recorded, "built": built}).splitlines()
    assert lines[0].startswith("profile 'paper': 200x200 px") and "lr 0.001" in lines[1]
    assert lines[-1] == "this build (x profile)"


def test_curve_values_read_both_initial_histories(recorded):
    values = protocols.curve_values(recorded)
    text = recorded["paper"].record.initial.history
    assert values["t_text_val"] == f"{100 * text['val_accuracy'].max():.1f}%"
    halved = record.run_table(recorded["paper"].record).loc["initial", "times lr halved"]
    assert int(values["t_text_halved"]) == halved
    code_train = recorded["authors"].record.initial.history["accuracy"].iloc[-1]
    assert values["t_code_train"] == f"{100 * code_train:.1f}%"


def test_initial_values_quote_the_initial_table_and_where_the_paper_lies(recorded):
    table = protocols.initial_table(recorded)
    values = protocols.initial_values(recorded, table)
    assert values["text_acc"] == table.loc[protocols.TEXT_TITLE, "accuracy"].text(unit="%")
    assert values["text_inside"] == "above"  # the text's 51% interval lies far below the paper's 93%
    assert values["code_inside"] == protocols.interval_position(table.loc[protocols.CODE_TITLE, "accuracy"], 93.0)


def test_build_run_values_count_the_test_images_and_place_the_run_among_its_profiles_seeds():
    y = np.array([0, 1, 2, 2])
    values = protocols.build_run_values(y, np.eye(3)[[0, 1, 1, 2]], "quick")
    assert values["n_test"] == "4" and values["acc"].startswith("75.0%")
    assert "this run is" in values["acc_seeds"]
    assert protocols.build_run_values(y, np.eye(3)[y], "nosuch")["acc_seeds"].startswith("no seed record")


def test_confusion_values_count_the_normal_films_row_of_each_protocol(recorded):
    values = protocols.confusion_values(recorded)
    run = recorded["paper"].record.initial
    normal = run.y_true == 2
    assert values["text_normal_total"] == str(normal.sum())
    assert values["text_normal_as_viral"] == str((run.y_prob[normal].argmax(1) == 1).sum())
    code_ = recorded["authors"].record.initial
    assert values["code_normal_right"] == str((code_.y_prob[code_.y_true == 2].argmax(1) == 2).sum())


def test_cv_values_quote_the_build_tables_mean_and_its_folds_range():
    ours = pd.DataFrame({"accuracy": [80.0, 90.0, 85.0, 85.0, 3.0], "f1": [70.0, 80.0, 75.0, 75.0, 2.0]},
                        index=["fold-1", "fold-2", "fold-3", "mean", "SD"])
    values = protocols.cv_values(ours, "quick")
    assert values["cv_min"] == "80.0%" and values["cv_max"] == "90.0%" and values["cv_acc"] == "85.0%"
    assert values["p_cv"] == "90.64%" and values["p_f1_table"] == "89.8%"


def test_recorded_cv_values_read_both_records_and_the_code_settings_seeds(recorded):
    ours = recorded["paper"].record.table()
    values = protocols.recorded_cv_values(recorded, ours)
    assert values["span_build"] == values["span_text"]
    sds = values["code_fold_sds"].replace(" and ", ", ").split(", ")
    assert len(sds) == 3 and values["code_cv_sd"] in sds  # seed 2020 is one of the three
    assert values["rec_folds"] == "5" and values["span_paper"] == f"{91.73 - 89.57:.1f}"


def test_per_class_values_read_the_classes_of_each_protocol(recorded):
    rates = protocols.per_class(recorded)
    values = protocols.per_class_values(recorded, rates)
    y, prob = recorded["authors"].record.pooled()
    found = (prob.argmax(1)[y == 0] == 0).mean()
    assert values["r_code_covid_sens"].startswith(f"{100 * found:.1f}%")
    spec = rates.loc[(protocols.TEXT_TITLE, "viral pneumonia"), "specificity"]
    assert values["r_text_viral_spec"] == spec.text(unit="%")


def test_calibration_is_keyed_by_protocol_and_titled_only_for_display(recorded):
    cal = protocols.calibration(recorded)
    assert set(cal) == set(recorded)
    y, prob = recorded["paper"].record.pooled()
    assert protocols.calibration_values(cal)["r_text_ece"] == f"{metrics.expected_calibration_error(y, prob):.3f}"
    assert list(protocols.titled(recorded, cal)) == [p.title for p in recorded.values()]


@pytest.mark.parametrize("low, high, verdict", [(-0.05, -0.01, "the thumbnail baseline is"),
                                                (0.01, 0.05, "the network is ahead"),
                                                (-0.01, 0.02, "cannot be told apart")])
def test_baseline_verdict_follows_the_paired_interval(low, high, verdict):
    assert verdict in protocols.baseline_verdict(metrics.Estimate((low + high) / 2, low, high))


def test_landmarks_put_the_code_settings_fold_mean_beside_the_published_systems(recorded):
    res = protocols.results_table(recorded)
    table = protocols.landmarks(res)
    assert table.loc["the paper", "accuracy reported (%)"] == paper.CV_MEAN_ACCURACY
    ours = round(100 * res.loc[protocols.CODE_TITLE, "CV accuracy, mean of folds"], 2)
    assert table.iloc[-1]["accuracy reported (%)"] == ours
    assert len(table) == len(paper.OTHER_SYSTEMS) + 1


def test_baseline_values_quote_the_code_settings_row_and_the_baselines_pooled_accuracy(recorded):
    y = np.array([0, 1, 2, 2])
    base = record.Record("baseline", {}, None, [record.RecordedRun("f", y, np.eye(3)[[0, 1, 1, 2]], None, None)], [])
    versus = pd.DataFrame({"accuracy minus the baseline's": [metrics.Estimate(-0.02, -0.04, -0.001)],
                           "McNemar p": [0.03]}, index=[protocols.CODE_TITLE])
    values = protocols.baseline_values(recorded, versus, base)
    assert values["r_base_cv"].startswith("75.0%") and values["r_code_vs_base"].startswith("-2.0 ")
    assert values["r_code_vs_base_p"] == metrics.p_text(0.03)
    assert values["r_code_vs_base_verdict"].startswith("the thumbnail baseline")
    shown = protocols.baseline_text(versus)
    assert shown.iloc[0, 0] == metrics.Estimate(-0.02, -0.04, -0.001).text()
    assert shown.iloc[0, 1] == metrics.p_text(0.03)


def test_seed_values_place_the_code_settings_seeds_against_the_papers_numbers(recorded):
    values = protocols.seed_values(recorded)
    assert values["r_code_init_vs"] == protocols.seeds_against(recorded["authors"], paper.INITIAL_ACCURACY)
    assert "90.64%" in values["r_code_cv_vs"]


def test_match_values_quote_the_fold_spread_of_every_seed_and_the_seeds_against_the_paper(recorded):
    from xraylib import ladder_record, ladder_tables
    from xraylib.config import project_root

    lad = ladder_record.read_ladder(project_root() / "records" / "ladder.json")
    values = protocols.match_values(recorded, lad)
    sds = ladder_tables.fold_sd_by_seed(lad, "authors")
    assert values["c_fold_sds"].count(",") == len(sds) - 2 and values["c_fold_sds"].endswith(f"and {sds.iloc[-1]:.2f}")
    assert values["c_code_init_vs"] == protocols.seeds_against(recorded["authors"], paper.INITIAL_ACCURACY)


def test_easy_values_subtract_the_training_pool_from_the_composition():
    values = protocols.easy_values()
    covid = paper.COMPOSITION["covid"] - paper.INITIAL_TRAIN_POOL["covid"]
    assert values["c_left_test"].split(" / ")[0] == str(covid)
    assert (values["c_text_lr"], values["c_code_lr"]) == ("0.0001", "0.001")
