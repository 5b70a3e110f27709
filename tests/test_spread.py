"""xraylib.spread: a stress record read back as per-seed tables, spreads and verdicts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from xraylib import spread

Y = [0, 0, 1, 1, 2, 2]


def _onehot(pred, sure: float = 0.8) -> list:
    p = np.full((len(pred), 3), (1 - sure) / 2)
    p[np.arange(len(pred)), pred] = sure
    return p.tolist()


def _net(arm, seed, test_pred, ext_pred, ctl_pred, protocol=True):
    net = {"arm": arm, "seed": seed, "test": _onehot(test_pred), "external": _onehot(ext_pred),
           "controls": _onehot(ctl_pred)}
    if protocol:
        net["blanked_test"] = _onehot([0] * 6)
        net["saliency"] = {"vanilla": {"images": 6, "empty_maps": 1, "lung": {"0": 0.8, "1": 0.9,
                                                                              "2": 0.7, "all": 0.8}}}
    return net


@pytest.fixture
def record(tmp_path):
    folders = {"external": {"files": ["a", "b", "c"], "labels": ["covid", "normal", "normal"],
                            "datasets": ["hannover", "nih", "nih"]},
               "controls": {"files": ["d", "e"], "labels": ["normal", "normal"],
                            "datasets": ["shenzhen", "shenzhen"]}}
    nets = [_net("protocol", 2020, [0, 0, 1, 1, 2, 2], [0, 0, 0], [1, 1]),
            _net("protocol", 2021, [0, 1, 1, 1, 2, 2], [0, 0, 2], [1, 2]),
            _net("jpeg", 2020, [0, 0, 1, 1, 2, 0], [1, 2, 2], [2, 2], protocol=False),
            _net("jpeg", 2021, [0, 0, 1, 1, 2, 0], [1, 2, 2], [2, 2], protocol=False)]
    path = tmp_path / "stress.json"
    path.write_text(json.dumps({"kind": "stress", "profile": {"name": "authors"}, "y_true": Y,
                                "folders": folders, "networks": nets}))
    return spread.read_stress(path)


def test_spread_text_gives_mean_range_and_seed_count():
    assert spread.Spread((0.5, 0.6, 0.7)).text() == "60.0 (50.0-70.0, 3 seeds)"
    assert spread.Spread((0.5,)).text() == "50.0 (1 seed)"
    assert spread.Spread(()).text() == "n/a"
    assert spread.Spread((0.5, 0.7)).sd == pytest.approx(np.std([0.5, 0.7], ddof=1))


def test_internal_rates_per_seed(record):
    table = spread.internal(record)
    assert table.index.tolist() == [2020, 2021]
    assert table.loc[2021, "accuracy"] == pytest.approx(5 / 6)
    assert table.loc[2021, "sensitivity covid"] == 0.5
    assert table.loc[2020, "lungs blanked at test"] == pytest.approx(2 / 6)
    assert spread.over_seeds(table)["accuracy"].values == (1.0, pytest.approx(5 / 6))


def test_origin_table_counts_calls_per_origin_and_true_class_over_seeds(record):
    table = spread.origin_table(record).set_index(["origin", "true class"])
    nih = table.loc[("nih", "normal")]
    assert nih["films"] == 2
    assert nih["called covid"].values == (1.0, 0.5) and nih["right"].values == (0.0, 0.5)
    assert table.loc[("shenzhen", "normal"), "called viral_pneumonia"].values == (1.0, 0.5)
    shown = spread.display_origins(spread.origin_table(record))
    assert shown.loc[("nih", "normal"), "called COVID-19 (%)"] == "75.0 (50.0-100.0)"


def test_saliency_shares_per_seed_and_class(record):
    table = spread.saliency_shares(record)
    assert table.loc[2020, "viral_pneumonia"] == 0.9 and table.loc[2021, "empty maps"] == 1


def test_an_arm_beyond_every_protocol_seed_is_called_a_change_and_one_within_is_not(record):
    effects = {e.quantity: e for e in spread.arm_effects(record, "jpeg")}
    shenzhen = effects["shenzhen, normal films right"]
    assert shenzhen.beyond_spread and "moved +75.0 points" in shenzhen.sentence("Shenzhen")
    internal = effects["internal test accuracy"]
    assert not internal.beyond_spread  # 5/6 for both jpeg seeds, inside the protocol's 5/6-6/6
    assert "within the spread" in internal.sentence("internal")


def test_one_seed_of_an_arm_is_never_a_verdict():
    one = spread.ArmEffect("x", spread.Spread((0.5, 0.6)), spread.Spread((0.9,)))
    assert not one.beyond_spread and "cannot tell" in one.sentence("x")


def test_a_missing_record_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="xraylib.stress record"):
        spread.read_stress(tmp_path / "none.json")


def test_covid_misses_count_seed_calls_per_covid_film_and_summarise_by_majority(record):
    import pandas as pd

    comp = pd.DataFrame({"file": [f"f{i}" for i in range(6)],
                         "patient_id": ["ieee8023:1", "", "", "", "", ""]})
    record.test_index = np.arange(6)
    gray = np.zeros((6, 256, 256), np.uint8)
    gray[1, :10, :] = 255  # film 1: a bright strip along the top edge (inside the border frame)
    films = spread.covid_misses(record, comp, gray)
    assert films["file"].tolist() == ["f0", "f1"]  # the two COVID-19 films of the test
    assert films["seeds calling covid"].tolist() == [2, 1] and films["seeds"].tolist() == [2, 2]
    assert films["seeds calling viral_pneumonia"].tolist() == [0, 1]
    assert films["Cohen et al. patient"].tolist() == [True, False]
    assert films.loc[1, "bright marks"] > 0 == films.loc[0, "bright marks"]
    summary = spread.misses_summary(films)
    assert summary.loc["called COVID-19 by most seeds", "films"] == 1  # film 1 is a 1-1 tie
    assert summary.loc["called viral pneumonia by most seeds", "films"] == 0
    values = spread.misses_values(films)
    assert (values["err_films"], values["err_split"], values["err_hit_n"], values["err_miss_n"]) == \
        ("2", "1", "1", "0")
    assert values["err_hit_cohen"] == "1 of 1 (100%)" and values["err_miss_cohen"] == "0 of 0"
    assert values["err_hit_marked"] == "0 of 1"  # the Cohen film has no mark; film 1 is the tie


def test_arm_status_and_verdicts_say_how_many_seeds_and_refuse_a_verdict_below_two(record):
    status = spread.arm_status(record)
    assert status.loc[spread.ARM_NAMES["jpeg"], "seeds trained"] == 2
    assert status.loc[spread.ARM_NAMES["lungs-blanked"], "seeds"] == "none yet"
    (only,) = spread.arm_verdicts(record, "lungs-blanked")
    assert "0 seeds trained" in only and "no verdict yet" in only
    verdicts = spread.arm_verdicts(record, "jpeg")
    assert len(verdicts) == 1 + 3 and any("beyond the protocol's seeds" in v for v in verdicts)


def test_the_age_arm_has_a_status_row_and_verdicts_on_every_origin(record):
    assert "0 seeds trained" in spread.arm_verdicts(record, "adult-normals")[0]
    record.networks.extend(_net("adult-normals", seed, [0, 0, 1, 1, 2, 2], [0, 2, 2], [1, 2],
                                protocol=False) for seed in (2020, 2021))
    status = spread.arm_status(record)
    assert status.loc["adult normal films from NIH in the normal class", "seeds"] == "2020, 2021"
    verdicts = spread.arm_verdicts(record, "adult-normals")
    (nih,) = [v for v in verdicts if v.startswith("nih, normal films right")]
    assert "moved +75.0 points" in nih and "beyond the protocol's seeds" in nih


def test_glue_values_quote_each_origin_as_mean_and_range_over_protocol_seeds(tmp_path):
    folders = {"external": {"files": ["a", "b"], "labels": ["normal", "normal"],
                            "datasets": ["nih-chestxray14-no-finding"] * 2},
               "controls": {"files": ["c"], "labels": ["normal"], "datasets": ["shenzhen-tb-normal"]}}
    nets = [_net("protocol", 2020, [0, 0, 1, 1, 2, 2], [0, 2], [1]),
            _net("protocol", 2021, [0, 0, 1, 1, 2, 0], [0, 0], [2])]
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"kind": "stress", "profile": {}, "y_true": Y, "folders": folders,
                                "networks": nets}))
    values = spread.glue_values(spread.read_stress(path))
    assert values["seeds_n"] == "2" and values["seeds_list"] == "2020, 2021"
    assert values["seeds_nih_right"] == "25.0% (0.0-50.0%)"
    assert values["seeds_nih_called_covid"] == "75.0% (50.0-100.0%)"
    assert values["seeds_shenzhen_right"] == "50.0% (0.0-100.0%)" and values["seeds_shenzhen_films"] == "1"
    assert values["seeds_hannover_right"] == "n/a" and values["seeds_hannover_films"] == "0"
    assert values["seeds_acc"] == "91.7% (83.3-100.0%)" and values["seeds_vanilla_empty"] == "2 of 12"
    assert values["seeds_adult_normal_max"] == "100.0%"  # seed 2021 got the one Shenzhen film right


def test_batchnorm_diagnosis_shows_accuracy_and_calls_before_and_after_recalibration(record):
    record.networks[0]["recalibrated_test"] = _onehot([0, 0, 1, 1, 2, 1])
    record.networks[0]["epochs"] = 11
    (row,) = spread.batchnorm_diagnosis(record).to_dict("records")
    assert row["epochs"] == 11 and row["accuracy"] == 1.0
    assert row["predicted (COVID-19/viral/normal)"] == "2/2/2" and row["predicted after"] == "2/3/1"
    assert row["accuracy, statistics recomputed"] == pytest.approx(5 / 6)


def test_batchnorm_verdict_names_the_cause_only_when_accuracy_comes_back():
    import pandas as pd

    row = {"network": "batch 32", "seed": 2020, "epochs": 11, "accuracy": 0.357, "collapsed": True}
    back = pd.DataFrame([{**row, "accuracy, statistics recomputed": 0.85}])
    assert "stale moving statistics were the cause" in spread.batchnorm_verdict(back)
    stays = pd.DataFrame([{**row, "accuracy, statistics recomputed": 0.40}])
    assert "were not the cause" in spread.batchnorm_verdict(stays)
    protocol_only = pd.DataFrame([{**row, "network": "the protocol as it is", "accuracy, statistics recomputed": 0.9}])
    assert "untested" in spread.batchnorm_verdict(protocol_only)


def test_batchnorm_verdict_reads_the_two_controls_without_calling_a_healthy_network_a_failure():
    import pandas as pd

    def net(arm, accuracy, collapsed):
        return {"network": spread.ARM_NAMES[arm], "seed": 2020, "epochs": 25, "accuracy": accuracy,
                "collapsed": collapsed, "accuracy, statistics recomputed": 0.88}
    momentum_helps = pd.DataFrame([net("b32", 0.435, True), net("b32-bn0.9", 0.868, False),
                                   net("b32-no-stop", 0.464, True)])
    text = spread.batchnorm_verdict(momentum_helps)
    assert "momentum 0.9 (seed 2020, 25 epochs): did not collapse (86.8% -> 88.0%" in text
    assert "not the cause: the weights" not in text
    assert "the lagging statistics, not the stopping epoch, carry it" in text
    assert "(one network each: " in text
    stop_matters = pd.DataFrame([net("b32", 0.435, True), net("b32-bn0.9", 0.45, True),
                                 net("b32-no-stop", 0.87, False)])
    assert "the stopping epoch is a co-cause" in spread.batchnorm_verdict(stop_matters)


def test_batchnorm_verdict_names_a_mechanism_only_when_every_seed_of_a_setting_agrees():
    import pandas as pd

    def net(arm, seed, accuracy, collapsed):
        return {"network": spread.ARM_NAMES[arm], "seed": seed, "epochs": 25, "accuracy": accuracy,
                "collapsed": collapsed, "accuracy, statistics recomputed": 0.88}
    agree = pd.DataFrame([net("b32", s, 0.435, True) for s in (2020, 2021)]
                         + [net("b32-bn0.9", s, 0.87, False) for s in (2020, 2021)]
                         + [net("b32-no-stop", s, 0.46, True) for s in (2020, 2021)])
    text = spread.batchnorm_verdict(agree)
    assert "the lagging statistics, not the stopping epoch, carry it" in text
    assert "(two networks each: " in text and text.count("seed 2021") == 3
    split = agree.copy()
    split.loc[3, ["accuracy", "collapsed"]] = [0.44, True]  # momentum 0.9's second seed collapsed
    text = spread.batchnorm_verdict(split)
    assert "not the stopping epoch, carry it" not in text and "The two controls' seeds disagree" in text


def test_batchnorm_verdict_reads_the_papers_text_apart_from_batch_32():
    import pandas as pd

    b32 = {"network": spread.ARM_NAMES["b32"], "seed": 2020, "epochs": 11, "accuracy": 0.435,
           "collapsed": True, "accuracy, statistics recomputed": 0.88}
    paper = {**b32, "network": spread.ARM_NAMES["paper-text"], "epochs": 25, "collapsed": False}
    for recomputed, says in ((0.62, "its statistics are not what holds it back; its weights are"),
                             (0.83, "its moving statistics hold it back too"),
                             (0.70, "recomputing moves it by +10.0 points, short of a recovery")):
        text = spread.batchnorm_verdict(pd.DataFrame([b32, {**paper, "accuracy": 0.60,
                                                            "accuracy, statistics recomputed": recomputed}]))
        assert text.endswith(f"with the statistics recomputed: {says} (one network)")
        assert ". The paper's text (learning rate 1e-4) (seed 2020, 25 epochs): 60.0% -> " in text


def test_display_tables_show_percent_and_every_arm_has_a_verdict_row(record):
    record.networks[0]["recalibrated_test"] = _onehot([0, 0, 1, 1, 2, 1])
    shown = spread.display_batchnorm(spread.batchnorm_diagnosis(record))
    assert shown.iloc[0]["test accuracy"] == "100.0%"
    verdicts = spread.verdict_table(record)
    assert set(verdicts.index) == {spread.ARM_NAMES[a] for a in ("jpeg", "lungs-blanked", "adult-normals")}
    internal = spread.display_internal(record)
    assert internal.loc["test accuracy", "mean (range over seeds)"] == "91.7% (83.3-100.0%)"
    assert internal.loc["test accuracy", "seeds"] == 2


def test_a_record_without_recomputed_statistics_gives_an_empty_diagnosis_and_says_untested(record):
    table = spread.batchnorm_diagnosis(record)
    assert table.empty and "untested" in spread.batchnorm_verdict(table)
    assert spread.display_batchnorm(table).empty


def test_the_committed_stress_record_agrees_with_the_pinned_network_it_starts_from():
    """records/stress-authors.json: a missing record fails (the book reads it); every network has a
    prediction per test, external and control film; seed 2020 is the pinned examined network."""
    from xraylib import runs

    record = spread.read_stress()
    assert record.seeds()[0] == 2020 and len(record.y_true) == 689
    for net in record.networks:
        assert np.asarray(net["test"]).shape == (689, 3)
        assert np.asarray(record.film_predictions(net)).shape == (len(record.films), 3)
    (pinned,) = runs.pinned_dir().glob("initial-authors-29d771135ae1f36f")
    arrays = np.load(pinned / "arrays.npz")
    np.testing.assert_array_equal(arrays["y_true"], record.y_true)
    np.testing.assert_allclose(np.asarray(record.arm("protocol")[0]["test"]), arrays["y_prob"], atol=6e-5)
    assert set(record.films["dataset"]) >= {"nih-chestxray14-no-finding", "shenzhen-tb-normal",
                                            "kermany-cxr-pneumonia-test"}


def test_arm_summaries_name_only_what_moved_beyond_the_spread_and_refuse_a_verdict_below_two(record):
    values = spread.arm_summaries(record)
    jpeg = values["arm_jpeg"]
    assert jpeg.startswith(spread.ARM_NAMES["jpeg"] + " (2 seeds): ")
    assert "shenzhen, normal films right +75.0 points" in jpeg and "internal test" not in jpeg
    assert values["arm_lungs_blanked"] == f"{spread.ARM_NAMES['lungs-blanked']}: 0 seeds trained, no verdict yet"


def test_recomputed_statistics_join_the_arms_effects_and_stay_out_of_the_batch_norm_table(record):
    for net in record.networks:  # Y is [0, 0, 1, 1, 2, 2]: protocol seeds right, jpeg seeds collapsed
        net["recalibrated_test"] = _onehot([0, 0, 1, 1, 2, 2] if net["arm"] == "protocol" else [1] * 6)
    (effect,) = [e for e in spread.arm_effects(record, "jpeg") if "recomputed" in e.quantity]
    assert effect.protocol.values == (1.0, 1.0) and effect.arm.values == (1 / 3, 1 / 3)
    assert effect.beyond_spread
    assert set(spread.batchnorm_diagnosis(record)["network"]) == {spread.ARM_NAMES["protocol"]}
