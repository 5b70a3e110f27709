"""The ladder without a GPU: trained a few runs at a time through the run store, then recorded."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
from test_study import make_composition

from xraylib import config, ladder_record, ladder_tables, ladder_train, wording
from xraylib.ladder import Member
from xraylib.splits import Split


def tiny_plan(comp):
    """Two rungs of the real ladder, shrunk to 96 px, 1 epoch, on a 24-image composition."""
    idx = np.arange(len(comp))
    split = Split("initial", train=idx[:12], val=idx[12:18], test=idx[18:])
    shrink = lambda p: dataclasses.replace(p, image_size=96, epochs=1, batch_size=4)  # noqa: E731
    members = [Member(name, "initial", shrink(config.PROFILES[name]), seed,
                      split.train, split.val, split.test)
               for name, seed in (("paper", 2020), ("authors", 2021))]
    return comp, {"initial": split}, [("initial-tiny", members)]


def test_cpu_ladder_resumes_a_few_runs_at_a_time_and_records_them(tmp_path, monkeypatch):
    comp = make_composition(tmp_path / "data")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(ladder_train, "_cpu_plan", lambda data=None, plan="ladder": tiny_plan(comp))
    quiet = lambda s: None  # noqa: E731
    assert ladder_train.train_on_cpu(limit=1, log=quiet) == {"stored": 1, "trained": 1, "left": 1}
    assert ladder_train.train_on_cpu(limit=1, log=quiet) == {"stored": 2, "trained": 1, "left": 0}
    assert ladder_train.train_on_cpu(limit=1, log=quiet) == {"stored": 2, "trained": 0, "left": 0}

    raw = ladder_train.record_from_store()
    path = tmp_path / "ladder.json"
    path.write_text(json.dumps(raw))
    record = ladder_record.read_ladder(path)
    assert sorted(zip(record.members["rung"], record.members["seed"])) == [
        ("authors", 2021), ("paper", 2020)]
    assert raw["machine"]["backend"] == "tensorflow"
    # The recorded accuracy is the stored run's own: recompute it from the stored probabilities.
    member = raw["members"][0]
    y_true = np.asarray(raw["splits"]["initial"]["y_true"])
    expected = 100 * np.mean(np.asarray(member["y_prob"]).argmax(1) == y_true)
    got = record.members.set_index("rung").loc[member["label"], "accuracy"]
    assert got == expected
    table = ladder_tables.rung_table(record)
    assert list(table.index) == ["paper", "authors"] and (table["seeds"] == 1).all()


def test_a_run_equal_to_the_lowest_seed_is_named_the_lowest_not_a_hair_below():
    phrase = wording.beside_seeds(55.73294629898403, np.array([55.732946298984035, 70.0, 86.2]))
    assert phrase.startswith("the lowest of the three")
    assert wording.beside_seeds(70.0, np.array([55.7, 70.0, 86.2])).startswith("inside")
    assert wording.beside_seeds(86.26, np.array([55.7, 86.2])).startswith("above")


def test_spread_phrase_names_the_quick_seeds_and_says_when_there_is_no_record():
    phrase = wording.spread_phrase(80.0, "quick", "initial")
    assert phrase.startswith("over five training seeds (recorded on a CPU in records/quick-seeds.json)")
    seeds = ladder_tables.seed_accuracies("quick", "initial")
    assert len(seeds) == 5 and f"{seeds.mean():.1f}%" in phrase
    cv_seeds = ladder_tables.seed_accuracies("quick", "cv mean")
    assert wording.spread_phrase(80.0, "quick", "cv mean").startswith(
        f"over {wording.count_word(len(cv_seeds))} training seeds")
    assert wording.spread_phrase(80.0, "nonesuch").startswith("no seed record")
    assert len(ladder_tables.seed_accuracies("paper", "cv pooled")) == 3  # the GPU ladder's paper seeds


def test_the_seed_plan_trains_whole_cross_validations_one_seed_at_a_time():
    # A stopped seed plan leaves complete cross-validations behind (the record and its tests need
    # all five folds of a seed): the folds are ordered seed by seed, the profile's own seed first.
    from xraylib import ladder
    idx = np.arange(10)
    splits = {p: {"train": idx, "val": idx, "test": idx} for p in ["initial", *(f"fold-{k}" for k in range(1, 6))]}
    groups = dict(ladder.seed_plan(config.PROFILES["quick"], splits))
    cv = [(m.seed, m.procedure) for m in groups["quick-cv"]]
    assert cv[:5] == [(2020, f"fold-{k}") for k in range(1, 6)]
    assert [s for s, _ in cv] == sorted(s for s, _ in cv) and len(cv) == 25
    assert [m.seed for m in groups["quick-initial"]] == list(ladder.SEEDS)
