"""xraylib.cli: `splits` gives the paper's sizes; `data verify` names bad files; `data where` finds folders."""
from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from xraylib import config
from xraylib.cli import build_parser, main


def test_splits_json_starts_with_the_papers_560_140_689(real_root, cache, capsys):
    assert main(["splits", "--profile", "quick", "--json"]) == 0  # real_root: skip without data
    rows = json.loads(capsys.readouterr().out)
    initial = [(r["split"], r["side"], r["total"]) for r in rows[:3]]
    assert initial == [("initial", "train", 560), ("initial", "val", 140),
                       ("initial", "test", 689)]
    assert [r["covid"] + r["viral_pneumonia"] + r["normal"] for r in rows[:3]] == [560, 140, 689]
    assert len(rows) == 3 * 6  # the initial split and 5 folds, each train / val / test


def _with_hashes(root, wrong: str | None = None):
    """Fill the manifest's sha256 column from the files (a wrong one for the file `wrong`)."""
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["sha256"] = [
        "0" * 64 if f == wrong or not (root / f).exists()
        else hashlib.sha256((root / f).read_bytes()).hexdigest() for f in manifest["file"]]
    manifest.to_csv(root / "manifest.csv", index=False)
    return root


GOOD = [{"file": "images/covid/a.png", "label": "covid"},
        {"file": "images/covid/b.png", "label": "covid"},
        {"file": "images/viral_pneumonia/c.png", "label": "viral_pneumonia"},
        {"file": "images/normal/d.png", "label": "normal"}]


def test_data_verify_of_a_good_folder_exits_0_and_prints_the_counts(make_root, capsys):
    root = _with_hashes(make_root(GOOD))
    assert main(["data", "verify", "--data", str(root)]) == 0
    out, err = capsys.readouterr()
    assert "4 images" in out
    counts = {line.split()[0]: line.split()[1] for line in out.splitlines()
              if line.split() and line.split()[0] in ("covid", "viral_pneumonia", "normal")}
    assert counts == {"covid": "2", "viral_pneumonia": "1", "normal": "1"}
    assert "sha256 verified" in out
    assert err == ""


def test_data_verify_json_of_a_good_folder_lists_no_problems(make_root, capsys):
    root = _with_hashes(make_root(GOOD))
    assert main(["data", "verify", "--data", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 4 and report["problems"] == []
    assert report["by_label"] == {"covid": 2, "normal": 1, "viral_pneumonia": 1}


def test_data_verify_names_a_missing_file_and_a_sha256_mismatch_on_stderr(make_root, capsys):
    rows = [dict(GOOD[0], write=False), *GOOD[1:]]
    root = _with_hashes(make_root(rows), wrong="images/normal/d.png")
    assert main(["data", "verify", "--data", str(root)]) == 1
    err = capsys.readouterr().err
    assert "images/covid/a.png: listed in the manifest but not found" in err
    assert "images/normal/d.png: sha256" in err and "does not match" in err
    assert "2 problem(s) found" in err
    assert "b.png" not in err and "c.png" not in err


def test_data_verify_without_sha256_check_passes_a_file_with_a_wrong_hash(make_root, capsys):
    root = _with_hashes(make_root(GOOD), wrong="images/normal/d.png")
    assert main(["data", "verify", "--data", str(root), "--no-sha256"]) == 0


def test_data_verify_of_a_missing_folder_exits_2_with_a_message(capsys):
    assert main(["data", "verify", "--data", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "/nonexistent" in err and "--data" in err


def test_an_unknown_profile_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["splits", "--profile", "huge"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_a_missing_command_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_data_where_exits_1_naming_the_folder_it_cannot_find(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    monkeypatch.setenv(config.EXTERNAL_ENV, str(tmp_path / "nowhere"))
    assert main(["data", "where"]) == 1
    out = capsys.readouterr().out
    assert f"covid-xray: {tmp_path.resolve()}" in out and "external: not found" in out


# ---------------------------------------------------------------------------------------------
# data verify decodes every image and checks the table; errors as JSON; outputs checked before
# the work; a read-only cache serves a load (issue 16)


def test_data_verify_exits_1_naming_text_truncated_empty_and_bomb_pngs(make_root, bomb_png,
                                                                       capsys):
    import shutil

    root = make_root(GOOD + [{"file": f"images/covid/{n}.png", "label": "covid"}
                             for n in ("text", "truncated", "empty", "bomb")])
    good = (root / "images/covid/a.png").read_bytes()
    (root / "images/covid/text.png").write_text("not an image\n")
    (root / "images/covid/truncated.png").write_bytes(good[: len(good) // 2])
    (root / "images/covid/empty.png").write_bytes(b"")
    shutil.copy(bomb_png, root / "images/covid/bomb.png")
    _with_hashes(root)  # the hashes match: only decoding finds these
    assert main(["data", "verify", "--data", str(root)]) == 1
    err = capsys.readouterr().err
    for name in ("text", "truncated", "empty", "bomb"):
        assert f"ERROR {root}/images/covid/{name}.png: " in err
    assert "4 problem(s) found" in err


def test_data_verify_exits_1_for_one_file_listed_twice_with_two_labels(make_root, capsys):
    root = make_root(GOOD + [dict(GOOD[0], label="normal", write=False)])
    assert main(["data", "verify", "--data", str(root), "--no-sha256"]) == 1
    assert "images/covid/a.png: listed 2 times with conflicting labels" in capsys.readouterr().err


def test_data_verify_exits_1_for_a_manifest_without_rows(tmp_path, capsys):
    (tmp_path / "manifest.csv").write_text("file,label\n")
    assert main(["data", "verify", "--data", str(tmp_path)]) == 1
    assert "no images listed" in capsys.readouterr().err


def test_data_verify_names_a_symlink_loop_under_images_and_exits_1(tmp_path, write_image, capsys):
    for label in ("covid", "viral_pneumonia", "normal"):
        write_image(tmp_path / "images" / label / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "images" / "normal" / "loop.png").symlink_to("loop.png")
    assert main(["data", "verify", "--data", str(tmp_path)]) == 1
    assert "loop.png: is a symlink loop" in capsys.readouterr().err


def test_data_verify_json_of_a_missing_folder_prints_a_json_error_and_exits_2(capsys):
    assert main(["data", "verify", "--data", "/nonexistent", "--json"]) == 2
    out, err = capsys.readouterr()
    error = json.loads(out)
    assert "/nonexistent" in error["error"] and err == f"error: {error['error']}\n"


def test_a_usage_error_with_json_prints_a_json_error_and_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["splits", "--profile", "huge", "--json"])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert "invalid choice: 'huge'" in json.loads(out)["error"] and "invalid choice" in err


def test_record_out_naming_a_folder_exits_2_before_building_the_record(tmp_path, monkeypatch,
                                                                       capsys):
    from xraylib import pinning

    monkeypatch.setattr(pinning, "build_record", lambda *a, **k: pytest.fail("work began first"))
    assert main(["record", "--profile", "quick", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --out {tmp_path} is a folder")


def test_record_that_cannot_be_written_is_kept_in_a_file_the_error_names(tmp_path, monkeypatch,
                                                                         capsys):
    import os
    import re

    from xraylib import pinning

    monkeypatch.setattr(pinning, "build_record", lambda *a, **k: {"profile": "quick", "runs": {}})
    out = tmp_path / "rec.json"

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    assert main(["record", "--profile", "quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    kept = re.search(r"the result is kept in (\S+)$", err.strip()).group(1)
    assert json.loads(open(kept).read()) == {"profile": "quick", "runs": {}}
    os.unlink(kept)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_train_loads_the_pinned_run_from_a_read_only_cache(real_root, cache, read_only, capsys):
    (cache / "runs").mkdir(parents=True)  # a cache that was used, then mounted read-only
    attempts = read_only(cache)
    assert main(["train", "--profile", "quick", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["loaded_from_store"] is True
    assert [a[0] for a in attempts] == ["open"]  # only the .latest pointer was tried, and refused
    assert err.startswith("warning: cannot mark initial-quick-") and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# Every --json command's stdout is JSON, on success and on error (issue 24)

JSON_ERRORS = {  # one failing command line per command that takes --json
    ("data", "import"): ["data", "import", "/nonexistent.zip"],
    ("data", "verify"): ["data", "verify", "--data", "/nonexistent"],
    ("splits",): ["splits", "--data", "/nonexistent"],
    ("train",): ["train", "--data", "/nonexistent"],
    ("cv",): ["cv", "--data", "/nonexistent"],
    ("evaluate",): ["evaluate", "--data", "/nonexistent"],
    ("predict",): ["predict", "/nonexistent.png", "--out", "/dev/null"],
    ("bench",): ["bench", "--data", "/nonexistent"],
    ("ladder",): ["ladder", "--record", "/nonexistent.json"],
}


def _json_commands(parser, prefix=()) -> set[tuple[str, ...]]:
    """Every (sub)command of the parser that takes --json."""
    found = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _json_commands(sub, (*prefix, name))
        elif "--json" in action.option_strings:
            found.add(prefix)
    return found


def test_every_json_command_has_a_case_here():
    assert _json_commands(build_parser()) == set(JSON_ERRORS)


@pytest.mark.parametrize("command", sorted(JSON_ERRORS), ids=" ".join)
def test_every_json_command_prints_a_json_error_alone_on_stdout(command, cache, capsys):
    assert main([*JSON_ERRORS[command], "--json"]) == 2
    out, err = capsys.readouterr()
    assert set(json.loads(out)) == {"error", "kind"}
    assert err.startswith("error: ")


def test_ladder_json_is_json_alone_also_after_training_on_the_cpu(monkeypatch, capsys):
    from xraylib import ladder_train

    monkeypatch.setattr(ladder_train, "train_on_cpu",
                        lambda *a, **k: {"stored": 3, "trained": 0, "left": 5})
    assert main(["ladder", "--train-cpu", "0", "--json"]) == 0
    out, err = capsys.readouterr()
    assert set(json.loads(out)) == {"machine", "initial", "cv"}
    assert "ladder runs stored: 3, trained now: 0, left: 5" in err


def test_ladder_reads_the_checkouts_record_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["ladder", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["initial"]


def test_predict_and_data_verify_json_of_bad_files_is_json_with_the_errors(make_root, tmp_path,
                                                                          capsys):
    root = make_root(GOOD)
    (root / "manifest.csv").write_text((root / "manifest.csv").read_text()
                                       + "images/covid/a\0b.png,covid\n")
    assert main(["data", "verify", "--data", str(root), "--json", "--no-sha256"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report["problems"]) == 1 and "NUL byte" in report["problems"][0]


# ---------------------------------------------------------------------------------------------
# Messages that name the file and the fix (issue 24)


def test_a_data_path_that_is_a_file_is_called_a_file(tmp_path, capsys):
    afile = tmp_path / "manifest.csv"
    afile.write_text("file,label\n")
    assert main(["data", "verify", "--data", str(afile)]) == 2
    err = capsys.readouterr().err
    assert f"{afile} is a file, not a folder" in err and "does not exist" not in err


def test_data_verify_accepts_an_upper_case_sha256(make_root, capsys):
    root = _with_hashes(make_root(GOOD))
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["sha256"] = manifest["sha256"].str.upper()
    manifest.to_csv(root / "manifest.csv", index=False)
    assert main(["data", "verify", "--data", str(root)]) == 0


def test_a_sha256_with_a_trailing_space_shows_the_space(make_root, capsys):
    root = _with_hashes(make_root(GOOD))
    manifest = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[0, "sha256"] += " "
    manifest.to_csv(root / "manifest.csv", index=False)
    assert main(["data", "verify", "--data", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"'{manifest.loc[0, 'sha256']}'" in err and manifest.loc[0, "sha256"].endswith(" ")


class _FakeStudy:
    """Study's stand-in for `xraylib cv`: five folds, 2 and 4 missing, nothing trained."""

    def __init__(self, profile, data=None):
        self.profile = profile if isinstance(profile, config.Profile) else config.get_profile(profile)
        self.folds = [None] * 5

    def missing_folds(self):
        return [2, 4]

    def fold_run(self, k, force=False):
        if not 1 <= k <= 5:
            raise ValueError(f"fold {k} does not exist: the profile has folds 1 to 5")
        y = np.array([0, 1, 2, 2])
        return argparse.Namespace(loaded=True, y_true=y, y_prob=np.eye(3)[[0, 1, 2, 0]])

    def cross_validate(self, force=False):
        raise AssertionError("stops here in this test")


def test_cv_with_workers_trains_the_missing_folds_side_by_side_with_the_seed(monkeypatch, capsys):
    from xraylib import study

    started = {}
    monkeypatch.setattr(study, "Study", _FakeStudy)
    monkeypatch.setattr(study, "side_by_side", lambda jobs, workers, log: started.update(jobs, n=workers) or ["fold 4"])
    assert main(["cv", "--profile", "paper", "--workers", "2", "--train-seed", "2021"]) == 1
    assert started.pop("n") == 2 and list(started) == ["fold 2", "fold 4"]
    assert started["fold 4"][-4:] == ["--train-seed", "2021", "--fold", "4"]
    assert "not trained: fold 4" in capsys.readouterr().err


def test_cv_of_one_fold_prints_its_accuracy_and_a_missing_fold_is_an_error(monkeypatch, capsys):
    from xraylib import study

    monkeypatch.setattr(study, "Study", _FakeStudy)
    assert main(["cv", "--profile", "paper", "--fold", "3"]) == 0
    assert "fold 3 (paper): loaded, accuracy 75.0% on 4 test images" in capsys.readouterr().out
    assert main(["cv", "--profile", "paper", "--fold", "9"]) == 2
    assert "fold 9 does not exist" in capsys.readouterr().err
    assert main(["cv", "--profile", "paper", "--workers", "0"]) == 2
    assert "--workers must be at least 1, not 0" in capsys.readouterr().err
