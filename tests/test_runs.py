"""xraylib.runs: a stored run comes back exactly; a missing, partial or damaged run is not used."""
from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from xraylib import config, runs
from xraylib.model import build_model

FILES = ("model.keras", "history.csv", "arrays.npz", "meta.json")


@pytest.fixture(scope="module")
def net():
    model = build_model(config.get_profile("quick"))
    # Non-default values everywhere, so a load that silently re-initialised would show.
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


HISTORY = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.5, 0.75], "loss": [1.25, 0.5],
                        "val_accuracy": [0.4, 0.6], "val_loss": [1.5, 0.875], "lr": [1e-3, 5e-4]})
ARRAYS = {"y_true": np.array([0, 1, 2, 2]), "y_prob": np.eye(3)[[0, 1, 2, 1]] * 0.9 + 0.1 / 3,
          "test_index": np.array([3, 5, 8, 13])}
META = {"name": "tiny", "n_test": 4, "profile": {"seed": 2020}, "train_seconds": 1.5}


@pytest.fixture
def stored(net, cache):
    """A complete run saved under a private cache."""
    path = runs.run_dir("tiny-quick", "0123456789abcdef")
    runs.save_run(path, net, HISTORY, ARRAYS, META)
    return path


def test_save_then_load_gives_back_weights_history_arrays_and_meta(net, stored):
    model, history, arrays, meta = runs.load_run(stored)
    for got, want in zip(model.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    pd.testing.assert_frame_equal(history, HISTORY)
    assert arrays.keys() == ARRAYS.keys()
    for key, want in ARRAYS.items():
        np.testing.assert_array_equal(arrays[key], want)
        assert arrays[key].dtype == want.dtype
    assert meta == META


def test_loaded_model_predicts_as_the_saved_one(net, stored):
    model = runs.load_run(stored)[0]
    x = np.random.default_rng(1).random((2, 96, 96, 3), dtype=np.float32)
    np.testing.assert_allclose(model(x, training=False).numpy(), net(x, training=False).numpy(),
                               rtol=1e-5, atol=1e-7)


def test_save_run_lists_a_checksum_for_every_file(stored):
    sums = json.loads((stored / runs.CHECKSUMS).read_text())
    assert sorted(sums) == sorted(FILES)


def test_check_run_of_an_intact_run_is_none(stored):
    assert runs.check_run(stored) is None


def test_check_run_of_a_missing_folder_says_not_stored(cache):
    assert runs.check_run(cache / "runs" / "never-made") == "not stored"


def test_check_run_without_checksum_list_says_incomplete(stored):
    (stored / runs.CHECKSUMS).unlink()
    assert runs.check_run(stored) == "incomplete (no checksum list)"


def test_check_run_with_an_unreadable_checksum_list_says_corrupt(stored):
    (stored / runs.CHECKSUMS).write_text('{"model.keras": ')
    assert runs.check_run(stored) == "checksum list is corrupt"


@pytest.mark.parametrize("name", FILES)
def test_check_run_names_a_file_truncated_to_half(stored, name):
    file = stored / name
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    assert runs.check_run(stored) == f"{name} is truncated or altered"


@pytest.mark.parametrize("name", FILES)
def test_check_run_names_a_file_altered_in_one_byte(stored, name):
    file = stored / name
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    assert runs.check_run(stored) == f"{name} is truncated or altered"


@pytest.mark.parametrize("name", FILES)
def test_check_run_names_a_deleted_file(stored, name):
    (stored / name).unlink()
    assert runs.check_run(stored) == f"{name} is missing"


def test_load_run_of_a_damaged_run_raises_file_not_found_naming_the_problem(stored):
    file = stored / "arrays.npz"
    file.write_bytes(file.read_bytes()[:100])
    with pytest.raises(FileNotFoundError, match="arrays.npz is truncated or altered") as info:
        runs.load_run(stored)
    assert str(stored) in str(info.value)


def test_a_save_that_dies_midway_leaves_only_a_partial_folder_that_is_not_a_run(net, cache,
                                                                                monkeypatch):
    path = runs.run_dir("tiny-quick", "fedcba9876543210")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were stopped while writing

    with monkeypatch.context() as patched:
        patched.setattr(runs.np, "savez", killed)
        with pytest.raises(KeyboardInterrupt):
            runs.save_run(path, net, HISTORY, ARRAYS, META)
    leftovers = list(path.parent.glob(f"{path.name}.*.partial"))
    assert len(leftovers) == 1 and (leftovers[0] / "model.keras").exists()
    assert runs.check_run(path) == "not stored"
    with pytest.raises(FileNotFoundError, match="not stored"):
        runs.load_run(path)

    runs.save_run(path, net, HISTORY, ARRAYS, META)  # a later complete save is not disturbed
    assert runs.check_run(path) is None


def test_save_run_replaces_an_earlier_run_in_the_same_place(net, stored):
    runs.save_run(stored, net, HISTORY.iloc[:1], {"y_true": np.array([1])}, {"name": "second"})
    _, history, arrays, meta = runs.load_run(stored)
    assert len(history) == 1 and list(arrays) == ["y_true"] and meta == {"name": "second"}
    assert not list(stored.parent.glob("*.partial"))


def test_run_key_is_stable_across_sessions():
    # A changed key scheme silently retrains every stored run: change this value only on purpose.
    assert runs.run_key({"a": 1, "b": [1, 2]}, "data", [[0, 1], [2], [3]]) == "ce4be1c5eaeced21"


def test_run_key_ignores_dict_order_but_changes_with_every_input():
    base = runs.run_key({"a": 1, "b": 2}, "data", [[0, 1], [2]])
    assert runs.run_key({"b": 2, "a": 1}, "data", [[0, 1], [2]]) == base
    assert len({base,
                runs.run_key({"a": 1, "b": 3}, "data", [[0, 1], [2]]),
                runs.run_key({"a": 1, "b": 2}, "other", [[0, 1], [2]]),
                runs.run_key({"a": 1, "b": 2}, "data", [[0, 2], [1]]),
                runs.run_key({"a": 1, "b": 2}, "data", [[0, 1], [2]], "extra")}) == 5


def test_run_dir_lies_under_the_cache_runs_folder(cache):
    assert runs.run_dir("initial-quick", "abc") == cache / "runs" / "initial-quick-abc"


# ---------------------------------------------------------------------------------------------
# pinned runs (records/runs): the same book on every machine


@pytest.fixture
def pinned(stored, tmp_path, monkeypatch):
    """The stored run moved to a private pinned folder; the cache no longer has it."""
    import shutil

    folder = tmp_path / "pinned"
    folder.mkdir()
    shutil.move(str(stored), folder / stored.name)
    monkeypatch.setattr(runs, "pinned_dir", lambda: folder)
    monkeypatch.delenv(runs.PINNED_ENV, raising=False)
    return stored, folder / stored.name


def test_find_run_prefers_an_intact_cache_copy(stored, tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "pinned_dir", lambda: tmp_path / "nothing")
    assert runs.find_run(stored) == stored


def test_find_run_falls_back_to_the_pinned_copy_and_it_loads(pinned):
    cache_path, pinned_path = pinned
    assert runs.find_run(cache_path) == pinned_path
    _, _, arrays, _ = runs.load_run(runs.find_run(cache_path))
    np.testing.assert_array_equal(arrays["y_prob"], ARRAYS["y_prob"])


def test_pinned_runs_are_ignored_when_turned_off(pinned, monkeypatch):
    cache_path, _ = pinned
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    assert runs.find_run(cache_path) == cache_path


def test_a_damaged_pinned_copy_is_not_used(pinned):
    cache_path, pinned_path = pinned
    (pinned_path / "arrays.npz").write_bytes(b"damaged")
    assert runs.find_run(cache_path) == cache_path


def test_latest_points_at_a_pinned_run(pinned):
    _, pinned_path = pinned
    runs.mark_latest(pinned_path)
    assert runs.latest("tiny-quick") == pinned_path


def test_every_run_the_chapters_read_is_pinned_for_the_current_quick_profile(real_root, cache):
    # A change to the quick profile, the data or the splits changes the runs' keys: then the
    # chapters would train on the reader's machine and print other numbers. `make pin` mends it.
    from xraylib import data as xdata
    from xraylib import study
    from xraylib.splits import cv_splits, initial_split

    profile = config.get_profile("quick")
    comp = xdata.composition(profile, str(real_root))
    for name, split in [("initial", initial_split(comp, profile))] + [
            (f"cv-{s.name}", s) for s in cv_splits(comp, profile)]:
        found = runs.find_run(study.run_path(name, profile, comp, split))
        assert found.parent == runs.pinned_dir() and runs.check_run(found) is None, (
            f"{name} of the quick profile is not pinned in records/runs: run `make pin`")


def test_the_network_the_saliency_chapter_examines_is_pinned(real_root, cache):
    from xraylib import data as xdata
    from xraylib import record, study
    from xraylib.splits import initial_split

    profile = config.get_profile(record.EXAMINED)
    comp = xdata.composition(profile, str(real_root))
    found = runs.find_run(study.run_path("initial", profile, comp, initial_split(comp, profile)))
    assert found.parent == runs.pinned_dir() and runs.check_run(found) is None, (
        f"the {profile.name} profile's initial run is not pinned in records/runs: run `make pin`")


# ---------------------------------------------------------------------------------------------
# Damaged runs, the pointer, leftovers and read-only caches (issue 16)


def _recompute_checksums(path) -> None:
    """What a careless repair does: checksums made to match whatever the files now hold."""
    sums = {name: runs._sha(path / name) for name in FILES}
    (path / runs.CHECKSUMS).write_text(json.dumps(sums))


def test_check_run_of_a_checksum_list_with_a_flipped_byte_says_corrupt(stored):
    sums = bytearray((stored / runs.CHECKSUMS).read_bytes())
    sums[1] ^= 0xFF  # no longer UTF-8: once a UnicodeDecodeError traceback
    (stored / runs.CHECKSUMS).write_bytes(bytes(sums))
    assert runs.check_run(stored) == "checksum list is corrupt"


@pytest.mark.parametrize("content", ["null", "[]", '{"model.keras": 5}',
                                     '{"../../etc/passwd": "00"}'])
def test_check_run_of_a_checksum_list_that_is_not_a_map_of_names_to_hashes_says_corrupt(
        stored, content):
    (stored / runs.CHECKSUMS).write_text(content)  # `null` once gave a TypeError traceback
    assert runs.check_run(stored) == "checksum list is corrupt"


def test_check_run_names_a_run_file_that_is_a_fifo_without_reading_it(stored, no_hang):
    (stored / "history.csv").unlink()
    os.mkfifo(stored / "history.csv")
    assert no_hang(runs.check_run, stored) == "history.csv is not a regular file"


def test_load_run_of_a_model_altered_with_recomputed_checksums_raises_run_damaged(stored):
    model = stored / "model.keras"
    blob = bytearray(model.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # once a BadZipFile traceback
    model.write_bytes(bytes(blob))
    _recompute_checksums(stored)
    assert runs.check_run(stored) is None
    with pytest.raises(runs.RunDamaged, match="does not load \\(") as info:
        runs.load_run(stored)
    assert info.value.path == stored and str(stored) in str(info.value)


def test_load_run_writes_nothing(stored, read_only, cache):
    attempts = read_only(cache)
    runs.load_run(stored)
    assert runs.check_run(stored) is None
    assert attempts == []


def test_mark_latest_replaces_the_pointer_atomically(stored, monkeypatch):
    runs.mark_latest(stored)
    pointer = stored.parent / "tiny-quick.latest"
    replaced = []
    real = os.replace
    monkeypatch.setattr(os, "replace",
                        lambda src, dst: replaced.append((src, dst)) or real(src, dst))
    other = stored.with_name("tiny-quick-ffffffffffffffff")
    assert runs.mark_latest(other)
    ((src, dst),) = replaced
    assert dst == pointer and src != pointer and src.parent == pointer.parent
    assert pointer.read_text() == other.name
    assert sorted(p.name for p in stored.parent.iterdir()) == sorted(
        [stored.name, pointer.name])  # no temporary file left


def test_mark_latest_of_the_run_already_marked_writes_nothing(stored, read_only, cache):
    runs.mark_latest(stored)
    attempts = read_only(cache)
    assert runs.mark_latest(stored)
    assert attempts == []


def test_mark_latest_on_a_read_only_cache_warns_in_one_line_and_returns_false(stored, read_only,
                                                                            cache, capsys):
    attempts = read_only(cache)
    assert runs.mark_latest(stored) is False
    assert attempts
    err = capsys.readouterr().err
    assert err.startswith(f"warning: cannot mark {stored.name} as the latest") and \
        len(err.splitlines()) == 1
    assert runs.latest("tiny-quick") is None


@pytest.mark.parametrize("content", ["", "../../outside", "/etc", "\n\n"])
def test_latest_of_a_pointer_not_naming_a_run_is_none(cache, content):
    (cache / "runs").mkdir(parents=True)
    (cache / "runs" / "tiny-quick.latest").write_text(content)
    assert runs.latest("tiny-quick") is None


def test_save_run_removes_partial_folders_left_by_killed_saves(net, stored):
    stale = stored.parent / f"{stored.name}.x1.partial"
    stale.mkdir()
    (stale / "model.keras").write_bytes(b"half")
    old = time.time() - runs.STALE_PARTIAL_S - 60
    os.utime(stale, (old, old))
    recent = stored.parent / f"{stored.name}.x2.partial"  # a save still under way elsewhere
    recent.mkdir()
    runs.save_run(stored, net, HISTORY, ARRAYS, META)
    assert not stale.exists() and recent.exists()
    assert runs.check_run(stored) is None


def test_save_run_over_a_file_in_the_runs_place_replaces_it(net, cache):
    path = runs.run_dir("tiny-quick", "0000000000000000")
    path.parent.mkdir(parents=True)
    path.write_text("not a run")
    runs.save_run(path, net, HISTORY, ARRAYS, META)
    assert runs.check_run(path) is None


def test_read_arrays_reads_only_the_named_arrays_and_refuses_an_oversized_member(tmp_path):
    np.savez(tmp_path / "arrays.npz", y_true=np.arange(3), y_prob=np.zeros((100, 3)),
             planted=np.zeros(2**20, np.uint8))
    got = runs.read_arrays(tmp_path, ("y_true", "y_prob"), limit=10_000)
    assert set(got) == {"y_true", "y_prob"} and got["y_prob"].shape == (100, 3)
    with pytest.raises(runs.RunDamaged, match="y_prob.npy declares 2,528 bytes"):
        runs.read_arrays(tmp_path, ("y_true", "y_prob"), limit=1000)
