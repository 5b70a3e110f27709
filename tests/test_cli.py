"""xraylib.cli: `splits` gives the paper's sizes; `data verify` names bad files; `data where` finds folders."""
from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from xraylib import config
from xraylib.cli import main


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
