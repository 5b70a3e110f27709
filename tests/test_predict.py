"""xraylib.predict through the CLI: `predict` on files, `evaluate` on folders, with a stored run.

The stored 'initial' run is an untrained quick-profile network saved with runs.save_run: these
tests check the plumbing (files in, rows and reports out, errors named), not the accuracy.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import unexpected_stderr
from PIL import Image

from xraylib import config, predict, runs
from xraylib.cli import main
from xraylib.config import CLASSES

QUICK = config.get_profile("quick")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A cache folder holding one stored, marked 'initial' run of the quick profile (untrained)."""
    from xraylib import study
    from xraylib.backend import keras
    from xraylib.model import build_model

    folder = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.CACHE_ENV, str(folder))
        keras.utils.set_random_seed(0)
        model = build_model(QUICK)
        # Untrained, the network gives about 1/3 to every class; a sharper head spreads the
        # probabilities so rows differ in their predicted class (argmax ties are not tested).
        kernel, bias = model.get_layer("predictions").get_weights()
        model.get_layer("predictions").set_weights([300 * kernel, bias])
        path = runs.run_dir(f"initial-{QUICK.name}", "test")
        history = pd.DataFrame({"epoch": [1], "accuracy": [0.33], "val_accuracy": [0.33]})
        arrays = {"y_true": np.array([0, 1, 2]), "y_prob": np.full((3, 3), 1 / 3),
                  "test_index": np.arange(3)}
        runs.save_run(path, model, history, arrays, {"profile": QUICK.name})
        runs.mark_latest(path)
        study.latest_model("initial", QUICK)  # the set-up is what the commands look for
    return folder


@pytest.fixture
def stored(cache, store) -> Path:
    """The private $XRAYLIB_CACHE of the test (conftest `cache`), holding the stored run."""
    shutil.copytree(store, cache)
    return cache


@pytest.fixture(scope="module")
def images(tmp_path_factory, real_root) -> list[str]:
    """Two real COVID and two real normal films, a 16-bit PNG, an RGBA PNG, a 300x410 RGB JPEG."""
    real = [str(p) for label in ("covid", "normal")
            for p in sorted((real_root / "images" / label).glob("*.png"))[:2]]
    made = tmp_path_factory.mktemp("made")
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 65535, 120 * 100).reshape(120, 100).astype(np.uint16)
    Image.fromarray(ramp).save(made / "deep16.png")
    assert Image.open(made / "deep16.png").mode.startswith("I")  # really 16-bit
    Image.fromarray(rng.integers(0, 256, (80, 90, 4), np.uint8), "RGBA").save(made / "alpha.png")
    Image.fromarray(rng.integers(0, 256, (410, 300, 3), np.uint8), "RGB").save(made / "wide.jpg")
    return real + [str(made / n) for n in ("deep16.png", "alpha.png", "wide.jpg")]


def _table(out: str) -> pd.DataFrame:
    """The printed table (file ... predicted [heatmap]) parsed back; paths hold no spaces. The
    line naming the network comes first."""
    assert out.startswith("network: the 'quick' protocol (96 px, seed ")
    lines = [line.split() for line in out.strip().splitlines()[1:]]
    return pd.DataFrame(lines[1:], columns=lines[0])


def _predict_json(capsys, *args) -> tuple[int, dict, str]:
    code = main(["predict", *args, "--profile", "quick", "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_predict_prints_one_row_per_file_and_exits_0(stored, images, capsys):
    assert main(["predict", *images, "--profile", "quick"]) == 0
    out, err = capsys.readouterr()
    table = _table(out)
    assert list(table["file"]) == images
    assert set(table["predicted"]) <= set(CLASSES)
    assert err == ""


def test_predict_json_probabilities_of_each_file_sum_to_1(stored, images, capsys):
    code, result, _ = _predict_json(capsys, *images)
    assert code == 0 and result["errors"] == [] and result["profile"] == "quick"
    rows = result["predictions"]
    assert [r["file"] for r in rows] == images
    for r in rows:
        probs = [r[f"p_{c}"] for c in CLASSES]
        assert all(0 <= p <= 1 for p in probs)
        assert sum(probs) == pytest.approx(1, abs=2e-3)  # each rounded to 4 decimals
        assert r[f"p_{r['predicted']}"] == max(probs)
        assert all(len(repr(p)) <= 6 for p in probs)  # rounded to 4 decimals, as printed


def test_predict_out_writes_one_rgb_heatmap_of_the_profile_size_per_image(stored, images, tmp_path,
                                                                          capsys):
    out_dir = tmp_path / "maps"
    code, result, _ = _predict_json(capsys, *images, "--out", str(out_dir))
    assert code == 0
    expected = sorted(f"{Path(p).stem}_heatmap.png" for p in images)
    assert sorted(p.name for p in out_dir.iterdir()) == expected
    assert [Path(r["heatmap"]).name for r in result["predictions"]] == \
        [f"{Path(p).stem}_heatmap.png" for p in images]
    for name in expected:
        with Image.open(out_dir / name) as img:
            assert img.format == "PNG" and img.mode == "RGB"
            assert img.size == (QUICK.image_size, QUICK.image_size)
            img.load()


def test_predict_json_matches_the_table_output(stored, images, capsys):
    assert main(["predict", *images, "--profile", "quick"]) == 0
    table = _table(capsys.readouterr().out)
    _, result, _ = _predict_json(capsys, *images)
    as_json = pd.DataFrame(result["predictions"])
    assert list(table["file"]) == list(as_json["file"])
    assert list(table["predicted"]) == list(as_json["predicted"])
    for c in CLASSES:
        assert table[f"p_{c}"].astype(float).tolist() == pytest.approx(as_json[f"p_{c}"].tolist())


def test_predict_names_each_bad_file_exits_1_and_still_predicts_the_good_one(stored, images,
                                                                           tmp_path, capsys):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    missing = tmp_path / "missing.png"
    folder = tmp_path / "folder"
    folder.mkdir()
    bad = [str(empty), str(text), str(missing), str(folder)]
    code, result, err = _predict_json(capsys, bad[0], images[0], *bad[1:])
    assert code == 1
    assert [r["file"] for r in result["predictions"]] == [images[0]]
    assert len(result["errors"]) == 4
    for path, message in zip(bad, result["errors"]):
        assert message.startswith(path)
    err_lines = err.strip().splitlines()
    assert len(err_lines) == 4
    for path, line in zip(bad, err_lines):
        assert line.startswith(f"ERROR {path}")
    assert images[0] not in err


def test_predict_without_a_stored_or_shipped_run_exits_2_naming_the_train_command(
        cache, images, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "pinned_dir", lambda: tmp_path / "no-shipped-runs")
    assert main(["predict", images[0], "--profile", "quick"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: no stored 'initial' run for profile 'quick'")
    assert "`xraylib train --profile quick`" in err


@pytest.fixture
def folder(real_root, tmp_path):
    """folder(rows): real images copied in with a manifest; rows of (source, label, dataset)."""
    def build(rows: list[tuple[str, str, str]]) -> Path:
        root = tmp_path / "folder"
        table = []
        for source, label, dataset in rows:
            file = f"images/{label}/{Path(source).name}"
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(real_root / source, root / file)
            table.append({"file": file, "label": label, "dataset": dataset})
        pd.DataFrame(table).to_csv(root / "manifest.csv", index=False)
        return root
    return build


def _real_rows(real_root, per_class: int = 2) -> list[tuple[str, str, str]]:
    """per_class real files of each class, alternately in datasets 'site-a' and 'site-b'."""
    rows = []
    for label in CLASSES:
        files = sorted((real_root / "images" / label).glob("*.png"))[:per_class]
        rows += [(str(f.relative_to(real_root)), label, "site-" + "ab"[i % 2])
                 for i, f in enumerate(files)]
    return rows


def test_evaluate_prints_an_overall_block_and_one_block_per_dataset(stored, folder, real_root,
                                                                    capsys):
    root = folder(_real_rows(real_root))
    assert main(["evaluate", "--data", str(root), "--profile", "quick"]) == 0
    out, err = capsys.readouterr()
    blocks = [line for line in out.splitlines() if line.startswith("== ")]
    assert [b.split(":")[0] for b in blocks] == ["== overall", "== site-a", "== site-b"]
    assert [b.split(": ")[1].split(" images")[0] for b in blocks] == ["6", "3", "3"]
    assert "unreadable files: 0" in out
    assert err == ""


def test_evaluate_text_matrix_rows_follow_the_class_order_of_its_columns(stored, folder, real_root,
                                                                          capsys):
    root = folder(_real_rows(real_root))
    assert main(["evaluate", "--data", str(root), "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    overall = out.split("== site-a")[0].splitlines()
    header = next(line for line in overall if "pred covid" in line)
    assert header.split() == [f"pred {c}".split()[i] for c in CLASSES for i in (0, 1)]
    rows = [line.split()[1] for line in overall if line.split()[:1] == ["true"]]
    assert rows == list(CLASSES)  # so the diagonal holds the correct calls
    sens = [line.split(":")[0].strip() for line in overall if "sensitivity" in line]
    assert sens == list(CLASSES)


def test_evaluate_json_reports_overall_each_dataset_and_unreadable(stored, folder, real_root,
                                                                   capsys):
    root = folder(_real_rows(real_root))
    assert main(["evaluate", "--data", str(root), "--profile", "quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"overall", "site-a", "site-b", "unreadable", "network"}
    assert report["network"]["profile"] == "quick" and report["network"]["source"] == "cache"
    assert report["unreadable"] == {"count": 0, "files": []}
    for name, n in (("overall", 6), ("site-a", 3), ("site-b", 3)):
        r = report[name]
        assert r["n"] == n
        acc = r["accuracy"]  # numbers, not text: a value and its 95% interval
        assert 0 <= acc["low"] <= acc["value"] <= acc["high"] <= 1
        cm = np.array(r["confusion_matrix"])
        assert cm.shape == (3, 3) and cm.sum() == n
        assert cm.sum(axis=1).tolist() == ([2, 2, 2] if name == "overall" else [1, 1, 1])
        assert acc["value"] == pytest.approx(np.trace(cm) / n) and r["right"] == np.trace(cm)
        for rate in (*r["sensitivity"].values(), *r["specificity"].values()):
            assert set(rate) == {"value", "low", "high"} and all(isinstance(v, float) for v in rate.values())


def test_evaluate_of_a_manifest_with_an_unknown_label_exits_2_naming_it(stored, folder, real_root,
                                                                        capsys):
    rows = _real_rows(real_root, per_class=1)
    rows[1] = (rows[1][0], "bacterial_pneumonia", rows[1][2])
    root = folder(rows)
    assert main(["evaluate", "--data", str(root), "--profile", "quick"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and "'bacterial_pneumonia'" in err and "unknown label" in err


def test_evaluate_lists_a_corrupt_file_as_unreadable_exits_1_and_evaluates_the_rest(
        stored, folder, real_root, capsys):
    rows = _real_rows(real_root)
    root = folder(rows)
    corrupt = root / "images" / "normal" / Path(rows[-1][0]).name
    corrupt.write_text("not a PNG at all\n")
    assert main(["evaluate", "--data", str(root), "--profile", "quick", "--json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["unreadable"]["count"] == 1
    assert report["unreadable"]["files"][0].startswith(str(corrupt))
    assert report["overall"]["n"] == len(rows) - 1
    assert report["site-a"]["n"] + report["site-b"]["n"] == len(rows) - 1
    assert err.strip().splitlines() == [f"ERROR unreadable: {report['unreadable']['files'][0]}"]


def test_evaluate_of_a_folder_with_no_readable_image_exits_2_naming_the_files(stored, tmp_path,
                                                                            capsys):
    root = tmp_path / "bad"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_text("not a PNG\n")
    (root / "images" / "b.png").write_bytes(b"")
    pd.DataFrame({"file": ["images/a.png", "images/b.png"], "label": ["covid", "normal"]}).to_csv(
        root / "manifest.csv", index=False)
    assert main(["evaluate", "--data", str(root), "--profile", "quick"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and "none of the 2 listed images could be read" in err
    assert str(root / "images" / "a.png") in err and str(root / "images" / "b.png") in err


def test_evaluate_json_of_the_external_set_covers_its_4_datasets_and_169_images(stored, capsys,
                                                                               real_external):
    manifest = pd.read_csv(real_external / "manifest.csv", dtype=str, keep_default_na=False)
    assert main(["evaluate", "--data", str(real_external), "--profile", "quick", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    datasets = set(report) - {"overall", "unreadable", "network"}
    assert datasets == set(manifest["dataset"]) and len(datasets) == 4
    assert sum(report[d]["n"] for d in datasets) == report["overall"]["n"] == len(manifest) == 169
    assert report["unreadable"]["count"] == 0


def test_python_m_xraylib_predict_from_a_cold_start_prints_only_the_table(stored, images):
    done = subprocess.run([sys.executable, "-m", "xraylib", "predict", images[0], "--profile",
                           "quick"], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert _table(done.stdout)["file"].tolist() == [images[0]]
    assert unexpected_stderr(done.stderr) == []  # nothing but known start-up noise


# ---------------------------------------------------------------------------------------------
# Hostile and clumsy input (issue 16): nothing hangs, crashes or escapes the data folder, every
# bad file is named with its reason, the others are still scored, no result is lost to --out


def _png(path: Path, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(value).integers(0, 256, (32, 32), np.uint8)
    Image.fromarray(noise).save(path)
    return path


def _manifest(root: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A data folder with a manifest of (file, label, dataset) rows; files are written by caller."""
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["file", "label", "dataset"]).to_csv(root / "manifest.csv",
                                                                    index=False)
    return root


def test_evaluate_refuses_rows_leaving_the_folder_and_scores_the_rest(stored, tmp_path, capsys,
                                                                      reads_cannot_hang):
    elsewhere = _png(tmp_path / "elsewhere" / "x.png")
    root = tmp_path / "root"
    for i, label in enumerate(CLASSES):
        _png(root / "images" / f"{label}.png", i)
    os.mkfifo(root / "images" / "fifo.png")
    rows = [(f"images/{c}.png", c, "") for c in CLASSES] + [
        ("/dev/zero", "covid", ""), (str(elsewhere), "covid", ""),
        ("../elsewhere/x.png", "covid", ""), ("images/fifo.png", "normal", "")]
    _manifest(root, rows)
    code = main(["evaluate", "--data", str(root), "--profile", "quick", "--json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 1 and report["overall"]["n"] == 3
    files = report["unreadable"]["files"]
    assert [f.split(": ")[0] for f in files] == [
        "/dev/zero", str(elsewhere), "../elsewhere/x.png", str(root / "images" / "fifo.png")]
    assert "absolute path" in files[0] and "absolute path" in files[1]
    assert "outside the data folder" in files[2] and "FIFO" in files[3]
    assert len(err.strip().splitlines()) == 4


def test_predict_names_dev_zero_and_a_fifo_and_predicts_the_good_file(stored, tmp_path, capsys,
                                                                     reads_cannot_hang):
    good = str(_png(tmp_path / "good.png"))
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    code = main(["predict", "/dev/zero", str(fifo), good, "--profile", "quick", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and [r["file"] for r in result["predictions"]] == [good]
    assert result["errors"][0].startswith("/dev/zero: is a character device")
    assert result["errors"][1].startswith(f"{fifo}: is a FIFO")


def test_evaluate_and_predict_name_a_decompression_bomb_and_score_the_good_images(
        stored, tmp_path, bomb_png, capsys):
    root = tmp_path / "root"
    for i, label in enumerate(CLASSES):
        _png(root / "images" / f"{label}.png", i)
    shutil.copy(bomb_png, root / "images" / "bomb.png")
    _manifest(root, [(f"images/{c}.png", c, "") for c in CLASSES]
              + [("images/bomb.png", "covid", "")])
    assert main(["evaluate", "--data", str(root), "--profile", "quick", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["n"] == 3
    (bad,) = report["unreadable"]["files"]
    assert bad.startswith(str(root / "images" / "bomb.png")) and "decompression bomb" in bad

    assert main(["predict", str(root / "images" / "covid.png"), str(bomb_png), "--profile", "quick",
                 "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert len(result["predictions"]) == 1 and "decompression bomb" in result["errors"][0]


@pytest.mark.parametrize("value", ["overall", "unreadable", "network"])
def test_evaluate_of_a_manifest_with_a_reserved_dataset_value_exits_2_naming_it(stored, tmp_path,
                                                                               capsys, value):
    root = tmp_path / "root"
    for i, label in enumerate(CLASSES):
        _png(root / "images" / f"{label}.png", i)
    _manifest(root, [(f"images/{c}.png", c, value if c == "covid" else "site-a") for c in CLASSES])
    assert main(["evaluate", "--data", str(root), "--profile", "quick"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"dataset value {value!r} is reserved" in err


def test_evaluate_of_a_manifest_listing_one_file_twice_exits_2_naming_it(stored, tmp_path, capsys):
    root = tmp_path / "root"
    _png(root / "images" / "a.png")
    _manifest(root, [("images/a.png", "covid", ""), ("images/a.png", "normal", "")])
    assert main(["evaluate", "--data", str(root), "--profile", "quick"]) == 2
    assert "images/a.png: listed 2 times with conflicting labels" in capsys.readouterr().err


def test_predict_of_a_missing_file_says_not_found_without_manifest_advice(stored, tmp_path,
                                                                         capsys):
    missing = tmp_path / "missing.png"
    code, result, _ = _predict_json(capsys, str(missing), str(_png(tmp_path / "good.png")))
    assert code == 1
    assert result["errors"] == [f"{missing}: file not found"]


def test_predict_out_naming_an_existing_file_exits_2_before_loading_the_model(
        stored, tmp_path, capsys, monkeypatch):
    from xraylib import study

    existing = tmp_path / "maps.png"
    existing.write_text("keep me")
    monkeypatch.setattr(study, "latest_model", lambda *a: pytest.fail("work began before --out "
                                                                      "was checked"))
    code = main(["predict", str(_png(tmp_path / "good.png")), "--out", str(existing),
                 "--profile", "quick", "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and "is an existing file, not a folder" in json.loads(out)["error"]
    assert err.startswith(f"error: --out {existing}") and existing.read_text() == "keep me"


def test_predict_still_prints_every_prediction_when_a_heat_map_cannot_be_written(
        stored, tmp_path, capsys, monkeypatch):
    good = [str(_png(tmp_path / f"{n}.png", i)) for i, n in enumerate(("a", "b"))]

    def disk_full(self, fp, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    code, result, err = _predict_json(capsys, *good, "--out", str(tmp_path / "maps"))
    assert code == 1
    assert [r["file"] for r in result["predictions"]] == good
    assert [r["heatmap"] for r in result["predictions"]] == ["", ""]
    assert len(result["errors"]) == 2 and "No space left on device" in result["errors"][0]


def test_predict_json_without_a_stored_or_shipped_run_prints_a_json_error_and_exits_2(
        cache, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runs, "pinned_dir", lambda: tmp_path / "no-shipped-runs")
    assert main(["predict", str(_png(tmp_path / "a.png")), "--profile", "quick", "--json"]) == 2
    out, err = capsys.readouterr()
    error = json.loads(out)
    assert error["error"].startswith("no stored 'initial' run for profile 'quick'")
    assert err == f"error: {error['error']}\n"


def test_predict_with_xraylib_cache_naming_a_file_exits_2_naming_it(tmp_path, monkeypatch, capsys):
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("")
    monkeypatch.setenv(config.CACHE_ENV, str(not_a_folder))
    assert main(["predict", str(_png(tmp_path / "a.png")), "--profile", "quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cache folder {not_a_folder} is not a folder") and \
        len(err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# Out of the box (issue 22): with an empty cache, the network the repository ships, named


def _shipped_accuracy() -> tuple[str, int]:
    """The shipped network's test accuracy as the output prints it, from its stored predictions."""
    path = predict.shipped_candidates()[0]
    with np.load(path / "arrays.npz") as z:
        right, n = int((z["y_prob"].argmax(1) == z["y_true"]).sum()), len(z["y_true"])
    return f"{100 * right / n:.1f}%", n


def test_predict_and_evaluate_with_an_empty_cache_use_the_shipped_network_and_name_it(tmp_path):
    good = [_png(tmp_path / "root" / "images" / f"{c}.png", i) for i, c in enumerate(CLASSES)]
    _manifest(tmp_path / "root", [(f"images/{c}.png", c, "") for c in CLASSES])
    env = {k: v for k, v in os.environ.items() if k != config.PROFILE_ENV}
    env[config.CACHE_ENV] = str(tmp_path / "empty-cache")
    run = lambda *args: subprocess.run([sys.executable, "-m", "xraylib", *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=300, env=env,
                                       cwd=tmp_path)
    accuracy, n = _shipped_accuracy()
    done = run("predict", str(good[0]))
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("network: the 'authors' protocol (200 px, seed 2020), test accuracy "
                            f"{accuracy} (")
    assert f"on its {n}-image initial test set; shipped with the repository" in first
    assert done.stdout.splitlines()[-1].split()[0] == str(good[0])
    done = run("evaluate", "--data", str(tmp_path / "root"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["overall"]["n"] == 3
    network = report["network"]
    assert (network["profile"], network["seed"], network["image_size"], network["n_test"]) == (
        "authors", 2020, 200, n)
    assert network["source"] == "shipped with the repository"
    assert f"{100 * network['test_accuracy']['value']:.1f}%" == accuracy
    assert not list((tmp_path / "empty-cache").glob("runs/*-*/"))  # nothing trained or stored


def test_predict_says_it_uses_the_pinned_copy_when_the_caches_copy_is_damaged(cache, tmp_path,
                                                                               capsys):
    shipped = predict.shipped_candidates()[0]
    copy = cache / "runs" / shipped.name
    shutil.copytree(shipped, copy)
    (copy / "history.csv").write_text("epoch\n1\n")
    (cache / "runs" / "initial-authors.latest").write_text(shipped.name)
    assert main(["predict", str(_png(tmp_path / "a.png")), "--profile", "authors", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["network"]["path"] == str(shipped)
    assert f"stored run {copy}: history.csv is truncated or altered; not used, using the pinned " \
           "copy" in err


@pytest.mark.parametrize("bad", ["images/covid/a\0b.png", "images\\normal\\c.png"])
def test_evaluate_names_a_nul_or_windows_row_and_scores_the_others(stored, tmp_path, capsys, bad):
    root = tmp_path / "root"
    for i, label in enumerate(CLASSES):
        _png(root / "images" / f"{label}.png", i)
    _manifest(root, [(f"images/{c}.png", c, "") for c in CLASSES] + [(bad, "covid", "")])
    assert main(["evaluate", "--data", str(root), "--profile", "quick", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["n"] == 3
    (line,) = report["unreadable"]["files"]
    assert line.startswith(repr(bad))


def test_the_shipped_network_is_the_protocols_own_seed_whatever_seeded_runs_are_pinned_beside_it():
    pinned = predict.shipped_candidates()
    assert all(json.loads((p / "meta.json").read_text())["profile"]["name"] == "authors" for p in pinned)
    assert any("-b32-" in p.name for p in runs.pinned_dir().glob("initial-authors-*"))  # pinned, not shipped
    assert len(pinned) >= 1
    meta = json.loads((pinned[0] / "meta.json").read_text())
    assert meta["profile"].get("train_seed") is None and meta["profile"]["seed"] == 2020
