"""xraylib.study: runs are stored complete, loaded unchanged, redone when damaged, never half-used."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from test_train import BRIGHTNESS, SIZE, tiny_profile

from xraylib import config, runs, study, train
from xraylib.config import CLASSES
from xraylib.splits import Split


class Trained(Exception):
    """Raised by a stand-in fit_model: the run went to training."""


def make_composition(folder, n: int = 24) -> pd.DataFrame:
    """A composition table as data.read_dataset returns it, over small PNGs written here."""
    from PIL import Image

    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        label = CLASSES[i % 3]
        gray = 255 * BRIGHTNESS[i % 3] + rng.normal(0, 12, (48, 48))
        path = folder / "images" / label / f"{label}-{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gray.clip(0, 255).astype(np.uint8)).save(path)
        rows.append({"file": f"images/{label}/{path.name}", "label": label,
                     "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                     "patient_id": "", "group": f"file:images/{label}/{path.name}",
                     "path": str(path)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One train_split run, trained and stored once: (cache folder, args, the fresh Run)."""
    base = tmp_path_factory.mktemp("stored")
    comp = make_composition(base / "data")
    idx = np.arange(len(comp))
    split = Split("tiny", train=idx[:12], val=idx[12:18], test=idx[18:])
    profile = tiny_profile()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.CACHE_ENV, str(base / "cache"))
        run = study.train_split("tiny", profile, comp, split)
    return base / "cache", (profile, comp, split), run


def _only_run_dir(cache) -> object:
    (path,) = [p for p in (cache / "runs").iterdir() if p.is_dir()]
    return path


def test_train_split_trains_then_stores_a_complete_run(stored):
    cache, (_, _, split), run = stored
    assert not run.loaded
    assert runs.check_run(_only_run_dir(cache)) is None
    np.testing.assert_array_equal(run.test_index, split.test)
    assert run.y_prob.shape == (len(split.test), 3)
    assert run.meta["n_train"] == 12 and run.meta["n_test"] == 6


def test_train_split_second_call_loads_the_stored_run_unchanged(stored, monkeypatch):
    cache, (profile, comp, split), first = stored
    monkeypatch.setenv(config.CACHE_ENV, str(cache))
    monkeypatch.setattr(study, "fit_model", lambda *a, **k: pytest.fail("must not train again"))
    again = study.train_split("tiny", profile, comp, split)
    assert again.loaded
    np.testing.assert_array_equal(again.y_prob, first.y_prob)
    np.testing.assert_array_equal(again.y_true, first.y_true)
    assert again.history.to_string() == first.history.to_string()
    # JSON gives lists where the fresh meta has tuples: compare the stored content.
    assert json.dumps(again.meta, sort_keys=True) == json.dumps(first.meta, sort_keys=True)
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 3), dtype=np.float32)
    np.testing.assert_allclose(train.predict_proba(again.model, x), train.predict_proba(first.model, x),
                               rtol=1e-5, atol=1e-7)


def test_train_split_with_other_settings_does_not_reuse_the_stored_run(stored, tmp_path,
                                                                        monkeypatch):
    cache, (profile, comp, split), _ = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))

    class Trained(Exception):
        pass

    def fit_model(*args, **kwargs):
        raise Trained

    monkeypatch.setattr(study, "fit_model", fit_model)
    with pytest.raises(Trained):
        study.train_split("tiny", dataclasses.replace(profile, seed=profile.seed + 1), comp,
                          split)


def test_train_split_retrains_a_truncated_stored_run_instead_of_using_it(stored, tmp_path,
                                                                         monkeypatch):
    damaged = "model.keras"  # test_runs checks every file; retraining once is enough here
    cache, (profile, comp, split), first = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    path = _only_run_dir(tmp_path / "cache")
    file = path / damaged
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    assert runs.check_run(path) == f"{damaged} is truncated or altered"

    again = study.train_split("tiny", profile, comp, split)
    assert not again.loaded
    assert runs.check_run(path) is None
    np.testing.assert_array_equal(again.y_prob, first.y_prob)  # same seed, same run
    assert study.train_split("tiny", profile, comp, split).loaded  # the new copy is used


def _damage(path, how: str) -> None:
    sums = path / runs.CHECKSUMS
    if how == "checksum byte flipped":
        blob = bytearray(sums.read_bytes())
        blob[1] ^= 0xFF
        sums.write_bytes(bytes(blob))
    elif how == "checksum list null":
        sums.write_text("null")
    elif how == "model altered, checksums recomputed":
        model = path / "model.keras"
        blob = bytearray(model.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        model.write_bytes(bytes(blob))
        sums.write_text(json.dumps({p.name: runs._sha(p) for p in path.iterdir()
                                    if p.name != runs.CHECKSUMS}))


@pytest.mark.parametrize("how", ["checksum byte flipped", "checksum list null",
                                 "model altered, checksums recomputed"])
def test_train_split_reports_a_damaged_run_in_one_line_and_trains_it_again(stored, tmp_path,
                                                                          monkeypatch, how):
    cache, (profile, comp, split), _ = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    _damage(_only_run_dir(tmp_path / "cache"), how)
    (tmp_path / "cache" / "progress.log").unlink(missing_ok=True)

    def fit_model(*args, **kwargs):
        raise Trained

    monkeypatch.setattr(study, "fit_model", fit_model)
    assert study.stored_run("tiny", profile, comp, split) is None
    with pytest.raises(Trained):
        study.train_split("tiny", profile, comp, split)
    # each line starts with its time of day; the two looks may straddle a second
    lines = [line.split(" ", 1)[1] for line in (tmp_path / "cache" / "progress.log").read_text().splitlines()]
    assert len(lines) == 2 and lines[0] == lines[1]  # once per look at the store
    assert "[tiny] stored run " in lines[0]
    assert lines[0].endswith("; not used, it is trained again")


def test_loading_a_stored_run_writes_nothing(stored, tmp_path, monkeypatch, read_only, capsys):
    cache, (profile, comp, split), first = stored
    shutil.copytree(cache, tmp_path / "cache")
    for pointer in (tmp_path / "cache" / "runs").glob("*.latest"):
        pointer.unlink()  # not even a missing pointer is written
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    attempts = read_only(tmp_path / "cache")
    again = study.stored_run("tiny", profile, comp, split)
    assert again.loaded and attempts == []
    np.testing.assert_array_equal(again.y_prob, first.y_prob)
    assert capsys.readouterr().err == ""


def test_latest_model_of_a_damaged_run_names_it_and_the_train_command(stored, tmp_path,
                                                                      monkeypatch):
    cache, (profile, comp, split), _ = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    runs.mark_latest(study.stored_run("tiny", profile, comp, split).path)
    _damage(_only_run_dir(tmp_path / "cache"), "checksum list null")
    with pytest.raises(FileNotFoundError, match="checksum list is corrupt; retrain it with "
                                                "`xraylib train --profile quick`"):
        study.latest_model("tiny", profile)


def test_stored_run_falls_back_to_the_pinned_copy_when_the_caches_does_not_load(
        stored, tmp_path, monkeypatch, capsys):
    cache, (profile, comp, split), first = stored
    shutil.copytree(cache, tmp_path / "cache")
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(runs.PINNED_ENV, raising=False)
    damaged = _only_run_dir(tmp_path / "cache")
    pinned = tmp_path / "pinned" / damaged.name
    shutil.copytree(damaged, pinned)
    monkeypatch.setattr(runs, "pinned_dir", lambda: pinned.parent)
    _damage(damaged, "model altered, checksums recomputed")
    monkeypatch.setattr(study, "fit_model", lambda *a, **k: pytest.fail("an intact copy exists"))
    again = study.stored_run("tiny", profile, comp, split)
    assert again.loaded
    np.testing.assert_array_equal(again.y_prob, first.y_prob)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"[tiny] stored run {damaged}: does not load (BadZipFile: Bad CRC-32 for file "
                   f"'model.weights.h5'); not used, using the pinned copy"]
    model, _ = study.latest_model("tiny", profile)  # predict and evaluate skip the damaged copy
    x = np.random.default_rng(0).random((2, SIZE, SIZE, 3), dtype=np.float32)
    np.testing.assert_allclose(train.predict_proba(model, x), train.predict_proba(first.model, x), rtol=1e-5,
                               atol=1e-7)


# ---------------------------------------------------------------------------------------------
# The Study object: one composition, its splits and its runs


def _small() -> config.Profile:
    """The quick profile on a 6-per-class data set: 4 per class to train on, 2 to test, 2 folds."""
    return tiny_profile(composition=tuple((c, 6) for c in CLASSES),
                        initial_train=tuple((c, 4) for c in CLASSES), folds=2)


def test_a_study_reads_and_validates_its_manifest_once(tmp_path, class_folder, cache, monkeypatch):
    from xraylib import data as xdata

    folder = class_folder(tmp_path / "data", per_class=6)
    reads = []
    real = xdata.read_dataset
    monkeypatch.setattr(xdata, "read_dataset", lambda *a, **k: reads.append(a) or real(*a, **k))
    s = study.Study(_small(), folder)
    _ = s.comp, s.initial_split, s.folds, s.comp
    assert len(reads) == 1


def test_a_study_uses_the_data_folder_it_is_given(tmp_path, class_folder, cache):
    folder = class_folder(tmp_path / "elsewhere", per_class=6)
    s = study.Study(_small(), folder)
    assert s.data == folder.resolve()
    assert all(str(p).startswith(str(folder.resolve())) for p in s.comp["path"])


def test_a_study_of_a_folder_that_does_not_exist_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        study.Study("quick", tmp_path / "nowhere")


def test_a_studys_runs_decode_the_composition_once(tmp_path, class_folder, cache, monkeypatch):
    from xraylib import data as xdata

    folder = class_folder(tmp_path / "data", per_class=6)
    decodes = []
    real = xdata.load_images
    monkeypatch.setattr(xdata, "load_images", lambda *a, **k: decodes.append(1) or real(*a, **k))
    s = study.Study(_small(), folder)
    s.run("a", s.folds[0])
    s.run("b", s.folds[1])
    assert len(decodes) == 1


def test_a_study_and_its_decoded_images_are_freed_when_the_study_goes(tmp_path, class_folder, cache):
    import gc
    import weakref

    s = study.Study(_small(), class_folder(tmp_path / "data", per_class=6))
    images = weakref.ref(s.images())
    assert s.images() is images()  # decoded once, kept on the study
    gone = weakref.ref(s)
    del s
    gc.collect()
    assert gone() is None and images() is None  # no cache outside the instance keeps them alive


@pytest.mark.parametrize("change", [{"learning_rate": 1e-3}, {"epochs": 3}, {"min_lr": 1e-5},
                                    {"train_seed": 7}, {"early_stopping": 10}])
def test_a_run_is_keyed_by_every_setting_so_a_change_is_a_new_run(change):
    comp = pd.DataFrame({"file": ["a.png", "b.png"], "label": ["covid", "normal"], "sha256": ["x", "y"]})
    split = Split("s", train=np.array([0]), val=np.array([1]), test=np.array([1]))
    base = config.get_profile("paper")
    path = study.run_path("r", base, comp, split)
    assert study.run_path("r", dataclasses.replace(base), comp, split) == path
    assert study.run_path("r", dataclasses.replace(base, **change), comp, split) != path
