"""xraylib.stress_plan and xraylib.stress: the plan's order, seeded profiles, and a tiny plan
trained, resumed and recorded."""
from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
from test_train import tiny_profile

from xraylib import config, shortcuts, stress, stress_plan


def test_plan_trains_every_protocol_seed_then_the_causal_arms_seed_by_seed_then_diagnoses():
    order = [(arm.name, seed) for arm, seed in stress_plan.plan()]
    assert order[:5] == [("protocol", s) for s in stress_plan.SEEDS]
    assert order[5:11] == [("jpeg", 2020), ("lungs-blanked", 2020), ("jpeg", 2021),
                           ("lungs-blanked", 2021), ("jpeg", 2022), ("lungs-blanked", 2022)]
    assert order[11:] == [("b32", 2020), ("b32-bn0.9", 2020), ("b32-no-stop", 2020)]
    assert len(order) == len(set(order)) == 5 + 3 + 2 * 3


def test_an_arm_that_changes_settings_trains_a_renamed_profile_the_ladder_shares():
    from xraylib import ladder

    arm = {a.name: a for a in stress_plan.ARMS}
    b32 = arm["b32"].profile(config.PROFILES["authors"], 2020)
    (rung,) = [r for r in ladder.rungs() if r.name == "authors-b32"]
    assert b32 == rung.profile  # one run in the store for the ladder's rung and this arm
    momentum = arm["b32-bn0.9"].profile(config.PROFILES["authors"], 2021)
    assert (momentum.batch_size, momentum.bn_momentum, momentum.train_seed) == (32, 0.9, 2021)
    assert arm["b32-no-stop"].profile(config.PROFILES["authors"], 2020).early_stopping == 0


def test_the_profiles_own_seed_is_the_profile_itself_and_others_set_the_training_seed():
    authors = config.PROFILES["authors"]
    assert stress_plan.seeded(authors, authors.seed) is authors
    other = stress_plan.seeded(authors, 2023)
    assert other.train_seed == 2023 and dataclasses.replace(other, train_seed=None) == authors


def test_transformed_images_apply_the_arm_at_native_size_then_resize(tmp_path, write_image, cache):
    rng = np.random.default_rng(0)
    path = write_image(tmp_path / "a.png", rng.integers(0, 255, (256, 256), dtype=np.uint8))
    plain = stress_plan.transformed_images([str(path)], 96)
    blanked = stress_plan.transformed_images([str(path)], 96, shortcuts.blank_lungs)
    assert plain.shape == blanked.shape == (1, 96, 96, 3)
    assert blanked[0, 48, 48, 0] == 0.0 and plain[0, 48, 48, 0] != 0.0  # the lung box's centre
    assert np.allclose(blanked[0, 2, 2], plain[0, 2, 2], atol=2 / 255)  # a corner is untouched


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory, class_folder):
    """A tiny data folder, external and control folders, and a tiny profile of its composition."""
    base = tmp_path_factory.mktemp("stress")
    data = class_folder(base / "data", per_class=10)
    external = class_folder(base / "external", per_class=2)
    controls = class_folder(base / "controls", per_class=1)
    profile = tiny_profile(name="tiny", composition=(("covid", 10), ("viral_pneumonia", 10), ("normal", 10)),
                           initial_train=(("covid", 5), ("viral_pneumonia", 5), ("normal", 5)))
    arms = (dataclasses.replace(stress_plan.ARMS[0], seeds=(profile.seed, 7)),
            dataclasses.replace({a.name: a for a in stress_plan.ARMS}["lungs-blanked"], seeds=(profile.seed,)))
    return base, data, external, controls, profile, arms


def test_a_tiny_plan_trains_once_resumes_and_records_every_network(tiny_study, monkeypatch):
    base, data, external, controls, profile, arms = tiny_study
    monkeypatch.setenv(config.CACHE_ENV, str(base / "cache"))
    lines = []
    assert stress.train(profile, data, limit=2, log=lines.append, arms=arms) == \
        {"stored": 2, "trained": 2, "left": 1}
    assert lines[0].startswith("training 1 of 2: protocol / seed 2020 (tiny, 96 px)")
    assert "min left" in lines[1]
    assert stress.train(profile, data, log=lines.append, arms=arms)["trained"] == 1
    assert stress.train(profile, data, log=lines.append, arms=arms) == \
        {"stored": 3, "trained": 0, "left": 0}

    record = stress.build_record(profile, data, external, controls, log=lambda _: None, arms=arms)
    nets = {(n["arm"], n["seed"]): n for n in record["networks"]}
    assert set(nets) == {("protocol", 2020), ("protocol", 7), ("lungs-blanked", 2020)}
    n_test = len(record["y_true"])
    for net in nets.values():
        assert np.asarray(net["test"]).shape == (n_test, 3)
        assert np.asarray(net["external"]).shape == (6, 3)
        assert np.asarray(net["controls"]).shape == (3, 3)
        assert np.allclose(np.asarray(net["external"]).sum(1), 1, atol=1e-3)
    assert "saliency" in nets[("protocol", 7)] and "saliency" not in nets[("lungs-blanked", 2020)]
    assert np.asarray(nets[("protocol", 7)]["recalibrated_test"]).shape == (n_test, 3)
    assert "recalibrated_test" not in nets[("lungs-blanked", 2020)]
    vanilla = nets[("protocol", 7)]["saliency"]["vanilla"]
    assert 0 <= vanilla["lung"]["all"] <= 1 and vanilla["images"] == n_test
    assert record["folders"]["external"]["labels"] == ["covid"] * 2 + ["viral_pneumonia"] * 2 + ["normal"] * 2
    out = base / "stress.json"
    stress.write_record(record, out)
    assert json.loads(out.read_text())["networks"][0]["seed"] == 2020

    # a rerun keeps what the previous record holds and evaluates only what it lacks
    partial = copy.deepcopy({**record, "networks": [n for n in record["networks"] if n["seed"] != 7]})
    del partial["networks"][0]["recalibrated_test"]  # an incomplete entry is evaluated again
    lines = []
    again = stress.build_record(profile, data, external, controls, log=lines.append, arms=arms,
                                previous=partial)
    assert lines == ["evaluating protocol / seed 2020", "evaluating protocol / seed 7",
                     "kept lungs-blanked / seed 2020 from the previous record"]
    as_text = lambda nets: json.dumps(nets, sort_keys=True)  # noqa: E731 (an empty map's share is NaN)
    assert as_text(again["networks"]) == as_text(record["networks"])
    other_films = {**partial, "folders": {**partial["folders"], "controls": {}}}
    lines.clear()
    stress.build_record(profile, data, external, controls, log=lines.append, arms=arms,
                        previous=other_films)
    assert not any(line.startswith("kept") for line in lines)


def test_seeds_option_keeps_the_first_seeds_of_every_arm_and_refuses_zero():
    arms = stress_plan.arms_with_seeds(2)
    assert [a.seeds for a in arms] == [(2020, 2021)] + [(2020,)] * 3 + [(2020, 2021)] * 2
    assert stress_plan.arms_with_seeds(None) is stress_plan.ARMS
    with pytest.raises(ValueError, match="at least one seed"):
        stress_plan.arms_with_seeds(0)
