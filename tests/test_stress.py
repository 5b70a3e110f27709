"""xraylib.stress_plan and xraylib.stress: the plan's order, seeded profiles, and a tiny plan
trained, resumed and recorded."""
from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
from test_train import tiny_profile

from xraylib import config, shortcuts, stress, stress_plan, study


def test_plan_trains_every_protocol_seed_then_the_causal_arms_seed_by_seed_then_diagnoses():
    order = [(arm.name, seed) for arm, seed in stress_plan.plan()]
    assert order[:5] == [("protocol", s) for s in stress_plan.SEEDS]
    assert order[5:14] == [(arm, seed) for seed in (2020, 2021, 2022)
                           for arm in ("jpeg", "lungs-blanked", "adult-normals")]
    assert order[14:] == [("b32", 2020), ("b32-bn0.9", 2020), ("b32-no-stop", 2020), ("paper-text", 2020),
                          ("b32", 2021), ("b32-bn0.9", 2021), ("b32-no-stop", 2021)]
    assert len(order) == len(set(order)) == 5 + 3 * 3 + 3 * 2 + 1


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
        {"stored": 2, "trained": 2, "left": 1, "skipped": 0}
    assert lines[0].startswith("training 1 of 2: protocol / seed 2020 (tiny, 96 px)")
    assert "min left" in lines[1]
    assert stress.train(profile, data, log=lines.append, arms=arms)["trained"] == 1
    assert stress.train(profile, data, log=lines.append, arms=arms) == \
        {"stored": 3, "trained": 0, "left": 0, "skipped": 0}

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
    assert np.asarray(nets[("lungs-blanked", 2020)]["recalibrated_test"]).shape == (n_test, 3)
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
    assert {a.name: a.seeds for a in arms} == {
        "protocol": (2020, 2021), "b32": (2020, 2021), "b32-bn0.9": (2020, 2021), "b32-no-stop": (2020, 2021),
        "paper-text": (2020,), "jpeg": (2020, 2021), "lungs-blanked": (2020, 2021), "adult-normals": (2020, 2021)}
    assert stress_plan.arms_with_seeds(None) is stress_plan.ARMS
    with pytest.raises(ValueError, match="at least one seed"):
        stress_plan.arms_with_seeds(0)


# --- The age arm: adult normal films in place of some training children -------------------------

AGE = {a.name: a for a in stress_plan.ARMS}["adult-normals"]


def _adult_folder(make_root, n: int, name: str = "adults"):
    return make_root([{"file": f"images/normal/nih_0000{i}_000.png", "label": "normal",
                       "patient_id": f"nih:0000{i:04d}", "dataset": "nih-chestxray14-no-finding-adults",
                       "sha256": ""} for i in range(n)], name)


def _tiny_comp_and_split(root):
    from xraylib import data as xdata
    from xraylib.splits import Split

    comp = xdata.read_dataset(root)
    idx = np.arange(len(comp))
    return comp, Split("initial", train=idx[idx % 3 != 2][::2], val=idx[idx % 3 != 2][1::2],
                       test=idx[idx % 3 == 2])


def test_the_age_arm_replaces_only_training_children_keeping_class_sizes_and_splits(
        tmp_path, class_folder, make_root, monkeypatch):
    comp, split = _tiny_comp_and_split(class_folder(tmp_path / "data", per_class=12))
    monkeypatch.setenv(config.ADULTS_ENV, str(_adult_folder(make_root, 3)))
    swapped = AGE.composition(comp, split)
    assert AGE.run_name == "adult-normals" and AGE.seeds == stress_plan.ARM_SEEDS
    assert list(swapped.columns) == list(comp.columns) and len(swapped) == len(comp)
    assert swapped["label"].value_counts().to_dict() == comp["label"].value_counts().to_dict()
    changed = np.flatnonzero((swapped["path"] != comp["path"]).to_numpy())
    assert len(changed) == 3 and set(changed) <= set(split.train)
    assert (comp["label"].iloc[changed] == "normal").all()
    assert swapped["patient_id"].iloc[changed].str.startswith("nih:").all()
    assert all("/adults/images/normal/nih_" in p for p in swapped["path"].iloc[changed])
    kept = np.setdiff1d(np.arange(len(comp)), changed)
    assert swapped.iloc[kept].equals(comp.iloc[kept])  # validation and test parts untouched
    assert AGE.composition(comp, split).equals(swapped)  # the same children go every time


def test_the_age_arm_refuses_more_adults_than_training_children(tmp_path, class_folder, make_root,
                                                                monkeypatch):
    comp, split = _tiny_comp_and_split(class_folder(tmp_path / "data", per_class=6))
    monkeypatch.setenv(config.ADULTS_ENV, str(_adult_folder(make_root, 5)))
    with pytest.raises(ValueError, match="more than the 2 normal films of the training part"):
        AGE.composition(comp, split)


def test_without_the_adult_folder_train_says_so_in_one_line_and_skips_only_that_arm(
        tiny_study, tmp_path, monkeypatch):
    base, data, _, _, profile, arms = tiny_study
    monkeypatch.setenv(config.CACHE_ENV, str(base / "cache"))
    monkeypatch.setenv(config.ADULTS_ENV, str(tmp_path / "nowhere"))
    lines = []
    counts = stress.train(profile, data, limit=0, log=lines.append,
                          arms=(*arms, dataclasses.replace(AGE, seeds=(profile.seed, 7))))
    assert counts["skipped"] == 2 and counts["stored"] + counts["left"] == 3
    (line,) = lines
    assert line.startswith("adult-normals: skipped, no adult-normals data folder (looked in: ")
    assert "--only adult-normals`" in line and "\n" not in line


def test_the_age_arm_trains_on_the_adult_films_and_recalibrates_on_them(
        tiny_study, make_root, monkeypatch):
    base, data, external, controls, profile, _ = tiny_study
    monkeypatch.setenv(config.CACHE_ENV, str(base / "cache-age"))
    monkeypatch.setenv(config.ADULTS_ENV, str(_adult_folder(make_root, 2)))
    read = []
    real = stress.transformed_images
    monkeypatch.setattr(stress, "transformed_images",
                        lambda paths, *a, **k: read.append(list(paths)) or real(paths, *a, **k))
    arms = (dataclasses.replace(AGE, seeds=(profile.seed,)),)
    assert stress.train(profile, data, log=lambda _: None, arms=arms)["trained"] == 1
    assert sum("/images/normal/nih_" in p for p in read[0]) == 2  # trained on the adults
    read.clear()
    record = stress.build_record(profile, data, external, controls, log=lambda _: None, arms=arms)
    (net,) = record["networks"]
    assert net["arm"] == "adult-normals" and net["run"].startswith("adult-normals-tiny")
    assert set(net) == stress._needs(arms[0]) and "recalibrated_test" in net
    assert any(sum("/images/normal/nih_" in p for p in paths) == 2 for paths in read)  # its statistics
    assert np.asarray(net["external"]).shape == (6, 3)


def test_side_by_side_runs_each_missing_network_in_its_own_one_thread_process(monkeypatch):
    """`stress train --workers 2`: never more than two processes, one job each, the next started as
    one ends; a failed process is counted, not hidden."""
    import subprocess

    arms = {a.name: a for a in stress_plan.ARMS}
    todo = [(arms["adult-normals"], 2022), (arms["paper-text"], 2020), (arms["b32"], 2021)]
    monkeypatch.setattr(stress, "_survey", lambda *a, **k: (list(todo), {"stored": 16, "trained": 0, "left": 0,
                                                                        "skipped": 0}, None, None))
    started, alive = [], []

    class FakeProcess:
        def __init__(self, command, env):
            assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == "1"
            assert len(alive) < 2  # never a third process beside two running
            self.job = command[command.index("--job") + 1]
            self.polls, self.returncode = 0, None
            started.append(self.job)
            alive.append(self)

        def poll(self):
            self.polls += 1
            if self.polls >= 2:  # ends on its second poll; paper-text fails
                self.returncode = 3 if self.job.startswith("paper-text") else 0
                if self in alive:
                    alive.remove(self)
            return self.returncode

    class Clock:  # each poll of the running processes takes five minutes
        now = 0.0

        def time(self):
            return self.now

        def sleep(self, seconds):
            self.now += 300

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(study, "time", Clock())
    lines = []
    counts = stress.train_side_by_side("authors", workers=2, log=lines.append, poll_s=0)
    assert started == ["adult-normals:2022", "paper-text:2020", "b32:2021"]
    assert counts == {"stored": 18, "trained": 2, "left": 0, "skipped": 0, "failed": 1}
    assert lines[0] == "starting 1 of 3 (2 side by side): adult-normals / seed 2022"
    assert "paper-text / seed 2020: the training process failed (exit 3)" in lines
    # two runs ended after ten minutes side by side: the third, alone left, about five more
    assert "starting 3 of 3 (2 side by side): b32 / seed 2021; about 5 min left" in lines


def test_workers_below_one_is_refused_by_the_command_line(capsys):
    with pytest.raises(SystemExit):
        stress.main(["train", "--workers", "0"])
    assert "--workers must be at least 1, not 0" in capsys.readouterr().err
