"""xraylib.record and xraylib.pinning: stored runs written to JSON and read back give the same numbers; nothing trains.

Runs are stored by a stand-in for fit_model that returns an untrained network (no training), over
a tiny synthetic data folder: 4 images per class, 3 folds, an initial run of 2 per class.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from xraylib import cli, config, pinning, record, study
from xraylib.config import CLASSES
from xraylib.model import build_model


@pytest.fixture
def tiny(tmp_path, cache, monkeypatch, class_folder):
    """(profile, data folder) with fit_model replaced by an untrained network and a 1-epoch history."""
    data = str(class_folder(tmp_path / "data", per_class=4))
    profile = dataclasses.replace(config.get_profile("quick"), folds=3,
                                  composition=tuple((c, 4) for c in CLASSES),
                                  initial_train=tuple((c, 2) for c in CLASSES))

    def untrained(profile, x_train, *args, **kwargs):
        history = pd.DataFrame({"epoch": [1], "accuracy": [0.5], "loss": [1.0],
                                "val_accuracy": [0.4], "val_loss": [1.1], "lr": [3.90625e-07],
                                "kept": [True]})
        return build_model(profile, size=x_train.shape[1]), history
    monkeypatch.setattr(study, "fit_model", untrained)
    monkeypatch.setattr(cli, "get_profile", lambda name=None: profile)  # the CLI gets it by name
    return profile, data


def no_training(monkeypatch):
    monkeypatch.setattr(study, "fit_model", lambda *a, **k: pytest.fail("recording must not train"))


def test_record_lists_stored_runs_and_names_the_missing_without_training(tiny, monkeypatch):
    profile, data = tiny
    study.Study(profile, data).cross_validate()
    no_training(monkeypatch)
    raw = pinning.build_record(profile, data, note="tiny")
    assert sorted(raw["runs"]) == ["cv-fold-1", "cv-fold-2", "cv-fold-3"]
    assert raw["missing"] == ["initial"]
    assert raw["profile"] == profile.name and raw["note"] == "tiny"
    assert raw["settings"]["folds"] == 3


def test_recorded_folds_read_back_give_the_cvs_own_table_and_predictions(tiny, tmp_path,
                                                                          monkeypatch):
    profile, data = tiny
    result = study.Study(profile, data).cross_validate()
    no_training(monkeypatch)
    path = tmp_path / "records" / "tiny.json"
    path.parent.mkdir()
    path.write_text(json.dumps(pinning.build_record(profile, data)))
    rec = record.read_record(path)
    assert [f.name for f in rec.folds] == ["cv-fold-1", "cv-fold-2", "cv-fold-3"]
    assert rec.initial is None and rec.missing == ["initial"]
    assert rec.table().equals(result.table())
    y, p = rec.pooled()
    order = np.concatenate([r.test_index for r in result.runs])
    np.testing.assert_array_equal(y, result.y_true[order])
    np.testing.assert_allclose(p, result.y_prob[order], atol=1e-6)
    assert list(rec.folds[0].history.columns[:2]) == ["epoch", "accuracy"]
    assert rec.folds[0].history["lr"].iloc[-1] == 3.90625e-07  # not rounded away to 0


def test_record_command_writes_the_file_and_prints_what_it_holds(tiny, tmp_path, capsys):
    profile, data = tiny
    study.Study(profile, data).initial_run()
    out = tmp_path / "out" / "rec.json"
    assert cli.main(["record", "--profile", profile.name, "--data", data, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text
    assert "initial: accuracy" in text
    assert "not stored yet: cv-fold-1, cv-fold-2, cv-fold-3" in text
    rec = record.read_record(out)
    assert rec.initial is not None and rec.folds == []
    assert rec.summary()["initial"]["n"] == len(rec.initial.y_true)


def test_record_of_a_profile_with_nothing_stored_exits_2_naming_the_commands(tiny, tmp_path,
                                                                             capsys):
    profile, data = tiny
    out = tmp_path / "rec.json"
    assert cli.main(["record", "--profile", profile.name, "--data", data, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "xraylib train --profile" in err and "xraylib cv --profile" in err
    assert not out.exists()


def test_read_record_of_a_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="xraylib record --profile paper"):
        record.read_record(tmp_path / "nothing.json")


def _recorded(name, lrs, val, train_seconds=600.0):
    history = pd.DataFrame({"epoch": range(1, len(lrs) + 1), "lr": lrs, "val_accuracy": val})
    return record.RecordedRun(name, np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 1, 2]], history,
                              train_seconds)


def test_run_table_counts_learning_rate_halvings_and_reads_validation_and_test_accuracy():
    rec = record.Record("paper", {}, None,
                        [_recorded("cv-fold-1", [1e-4, 1e-4, 5e-5, 2.5e-5], [0.5, 0.7, 0.6, 0.65])],
                        ["initial"])
    row = record.run_table(rec).loc["cv-fold-1"]
    assert row["times lr halved"] == 2 and row["last lr"] == "2.5e-05"
    assert row["best val acc"] == 0.7 and row["last val acc"] == 0.65
    assert row["train minutes"] == 10.0 and row["epochs"] == 4
    assert row["test accuracy"] == 75.0


def test_describe_says_when_where_what_is_recorded_and_what_is_missing():
    meta = {"recorded_utc": "2026-11-26 06:00", "commit": "abc1234", "note": "fold 1 paused",
            "machine": {"processor": "Some CPU", "tensorflow": "2.21.0"}, "settings": {"folds": 5}}
    rec = record.Record("paper", meta, None, [_recorded("cv-fold-1", [1e-4], [0.5])],
                        ["initial", "cv-fold-2"])
    text = record.describe(rec)
    assert "recorded 2026-11-26 06:00 UTC at commit abc1234 on Some CPU" in text
    assert "initial procedure not recorded; 1 of 5 cross-validation folds recorded" in text
    assert "note: fold 1 paused" in text
    assert "not recorded yet: initial, cv-fold-2" in text


def test_run_table_shows_a_rate_rounded_away_to_0_as_below_5e_7():
    rec = record.Record("paper", {}, _recorded("initial", [1e-4, 1e-6, 0.0], [0.5, 0.5, 0.5]), [],
                        [])
    row = record.run_table(rec).loc["initial"]
    assert row["last lr"] == "<5e-07" and row["times lr halved"] == 2


def test_runs_turned_into_a_record_keep_their_predictions_and_history():
    from types import SimpleNamespace

    make = lambda name: SimpleNamespace(name=name, y_true=np.array([0, 1, 2]),  # noqa: E731
                                        y_prob=np.eye(3), history=pd.DataFrame({"lr": [1e-3]}),
                                        meta={"train_seconds": 12.5})
    rec = record.from_runs("quick", make("initial"), [make("cv-fold-1"), make("cv-fold-2")])
    assert rec.initial.name == "initial" and rec.initial.train_seconds == 12.5
    assert [f.name for f in rec.folds] == ["cv-fold-1", "cv-fold-2"]
    assert rec.summary()["cv"]["accuracy"] == 1.0


def test_pinning_copies_the_runs_the_book_read_and_removes_the_profiles_stale_ones(tmp_path, cache,
                                                                                    monkeypatch):
    from types import SimpleNamespace

    from xraylib import runs

    monkeypatch.setattr(runs, "pinned_dir", lambda: tmp_path / "pinned")
    model = build_model(config.get_profile("quick"))
    history = pd.DataFrame({"epoch": [1], "accuracy": [0.5]})
    arrays = {"y_true": np.array([0]), "y_prob": np.array([[1.0, 0, 0]]), "test_index": np.array([0])}
    made = []
    for name in ("initial-quick-aaa", "cv-fold-1-quick-bbb"):
        path = cache / "runs" / name
        runs.save_run(path, model, history, arrays, {})
        made.append(SimpleNamespace(path=path))
    stale = tmp_path / "pinned" / "initial-quick-old"
    other = tmp_path / "pinned" / "initial-paper-keep"
    for folder in (stale, other):
        folder.mkdir(parents=True)
    kept = pinning.pin(made + [SimpleNamespace(path=None)], {"quick"})
    assert sorted(p.name for p in kept) == ["cv-fold-1-quick-bbb", "initial-quick-aaa"]
    assert all(runs.check_run(p) is None for p in kept)
    assert not stale.exists() and other.exists()


def _times_root(tmp_path, seconds: dict, cross_machine: dict | None = None):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "paper-profile.json").write_text(json.dumps(
        {"machine": {"processor": "CPU X"}, "runs": {k: {"train_seconds": v} for k, v in seconds.items()}}))
    if cross_machine is not None:
        (tmp_path / "benchmarks").mkdir()
        (tmp_path / "benchmarks" / "cross-machine.json").write_text(json.dumps({"examined_network": cross_machine}))
    return tmp_path


def test_training_times_gather_every_measured_training_in_minutes(tmp_path):
    root = _times_root(tmp_path, {"initial": 600.0, "cv-fold-1": 1200.0},
                       {"record": {"train_seconds": 300.0, "machine": {"processor": "CPU Y"}},
                        "pinned": {"train_seconds": 900.0, "machine": {}}})
    times = record.training_times(root)
    assert list(times["minutes"]) == [10.0, 20.0, 5.0, 15.0]
    assert record.training_time_phrase(times).startswith("5 to 20 minutes (median 12) over 4 measured")


def test_training_times_without_any_measurement_say_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="xraylib record --profile paper"):
        record.training_times(_times_root(tmp_path, {"initial": None}))


def test_run_values_quote_the_fewest_halvings_and_the_highest_last_rate():
    rec = record.Record("paper", {}, _recorded("initial", [1e-4, 5e-5, 2.5e-5], [0.5] * 3),
                        [_recorded("cv-fold-1", [1e-4, 1e-4, 5e-5], [0.5] * 3)], [])
    assert record.run_values(rec) == {"rec_halved_min": "1", "rec_lr_max": "5.0e-05"}


def test_history_table_rounds_and_names_the_columns_per_epoch():
    history = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.51234, 0.6], "loss": [1.0, 0.9],
                            "val_accuracy": [0.4, 0.5], "val_loss": [2.0, 1.5], "lr": [1e-3, 1.23456789e-4],
                            "kept": [False, True]})
    table = record.history_table(history)
    assert table.index.name == "epoch" and table.loc[1, "training accuracy"] == 0.512
    assert table.loc[2, "learning rate"] == 0.000123 and bool(table.loc[2, "weights kept"])


def test_fold_predictions_pair_each_folds_labels_with_its_predicted_classes_and_pool_them():
    a, b = _recorded("cv-fold-1", [1e-4], [0.5]), _recorded("cv-fold-2", [1e-4], [0.5])
    b.y_prob = np.eye(3)[[2, 2, 2, 2]]
    folds, (y, pred) = record.Record("paper", {}, None, [a, b], []).fold_predictions()
    np.testing.assert_array_equal(folds[1][1], [2, 2, 2, 2])
    np.testing.assert_array_equal(pred, [0, 1, 1, 2, 2, 2, 2, 2])
    assert len(y) == 8 and len(folds) == 2
