"""xraylib.importer: `data import` from archives built here in the public layouts, and its safeguards.

Each test builds small zip archives or folders laid out as the COVID-19 Radiography Database,
Kermany et al.'s Chest X-Ray Images and the external sources are, with a selection of a few rows.
The real import on the GitHub mirrors is benchmarks/import_mirrors.py (its record is checked last).
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xraylib import config, importer
from xraylib.cli import main
from xraylib.data import DataError

# (dataset, label, path inside the archive) of each selected file, in the public layouts
SELECTED = [
    ("covid19-radiography-database-v4", "covid", "COVID-19_Radiography_Dataset/COVID/COVID-1.png"),
    ("covid19-radiography-database-v4", "covid", "COVID-19_Radiography_Dataset/COVID/COVID-2.png"),
    ("kermany-cxr-pneumonia-train", "normal", "chest_xray/train/NORMAL/IM-0115-0001.jpeg"),
    ("kermany-cxr-pneumonia-train", "viral_pneumonia",
     "chest_xray/train/PNEUMONIA/person1_virus_6.jpeg"),
    ("hannover-mhh-covid-19-image-repository", "covid",
     "covid-19-image-repository-master/png/006f3a8a.png"),
    ("nih-chestxray14-no-finding", "normal", "images_001/images/00002053_000.png"),
    ("ieee8023-covid-chestxray-dataset", "viral_pneumonia",
     "covid-chestxray-dataset-master/images/SARS-10.1148rg.242035193-Fig4a.jpeg"),
    ("kermany-cxr-pneumonia-test", "viral_pneumonia",
     "chest_xray/test/PNEUMONIA/person100_virus_184.jpeg"),
]
# beside them, as in the real archives: files not selected, resource forks, masks
OTHERS = ["chest_xray/train/PNEUMONIA/person1_bacteria_1.jpeg",
          "__MACOSX/chest_xray/train/NORMAL/._IM-0115-0001.jpeg",
          "COVID-19_Radiography_Dataset/Normal/Normal-1.png",
          "chest_xray/README.txt"]
ARCHIVES = {"covid": "COVID-19_Radiography_Dataset/", "kermany": "chest_xray/",
            "external": ("covid-19-image-repository-master/", "images_001/",
                         "covid-chestxray-dataset-master/")}


def _image_bytes(entry: str, seed: int) -> bytes:
    """A small image in the kind of file the public archive holds (JPEG, RGB / 16-bit / RGBA PNG)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    if entry.endswith((".jpeg", ".jpg")):
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), np.uint8), "RGB").save(buf, "JPEG")
    elif "png/" in entry:  # Hannover: 16-bit
        Image.fromarray(rng.integers(0, 65535, (60, 48), np.uint16)).save(buf, "PNG")
    elif "images_001" in entry:  # an RGBA PNG
        Image.fromarray(rng.integers(0, 256, (32, 32, 4), np.uint8), "RGBA").save(buf, "PNG")
    else:
        Image.fromarray(rng.integers(0, 256, (30, 30, 3), np.uint8), "RGB").save(buf, "PNG")
    return buf.getvalue()


def _files(selected=SELECTED) -> dict[str, bytes]:
    files = {entry: _image_bytes(entry, i) for i, (_, _, entry) in enumerate(selected)}
    files.update({entry: b"not selected" for entry in OTHERS})
    return files


def _write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for entry, data in files.items():
        (root / entry).parent.mkdir(parents=True, exist_ok=True)
        (root / entry).write_bytes(data)
    return root


def _write_zip(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for entry, data in files.items():
            zf.writestr(prefix + entry, data)
    return path


def _selection(tmp_path: Path, selected=SELECTED, other_pixels: frozenset[str] = frozenset()) -> Path:
    """A selection CSV of these rows; its sha256 is of the right output unless in other_pixels."""
    files = _files(selected)
    rows = []
    for dataset, label, entry in selected:
        name = entry.rsplit("/", 1)[1]
        sha = ("0" * 64 if name in other_pixels
               else hashlib.sha256(importer.convert(files[entry], entry)[0]).hexdigest())
        rows.append({"dataset": dataset, "label": label, "source_name": name,
                     "patient_id": f"p:{name[:6]}", "orig_width": "224", "orig_height": "224",
                     "sha256": sha})
    path = tmp_path / "selection.csv"
    pd.DataFrame(rows, columns=list(importer.SELECTION_COLUMNS)).to_csv(path, index=False)
    return path


@pytest.fixture
def selection(tmp_path, monkeypatch) -> Path:
    """The small selection, also as the package's (so the CLI uses it)."""
    path = _selection(tmp_path)
    monkeypatch.setattr(importer, "SELECTION_FILE", path)
    return path


@pytest.fixture
def archives(tmp_path) -> list[Path]:
    """The three downloads as zips: the COVID database, Kermany, and one of the external sources."""
    files = _files()
    out = []
    for name, prefixes in ARCHIVES.items():
        prefixes = prefixes if isinstance(prefixes, tuple) else (prefixes,)
        part = {e: d for e, d in files.items() if e.startswith(prefixes)
                or (name == "kermany" and e.startswith("__MACOSX"))}
        out.append(_write_zip(tmp_path / "downloads" / f"{name}.zip", part))
    return out


def _run(sources, out, **kw) -> importer.ImportReport:
    return importer.import_data(sources, out, **kw)


def _manifest(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------------------------
# The packaged selection


def test_packaged_selection_lists_the_4069_main_169_external_and_132_adult_rows_by_class():
    df = importer.load_selection()
    counts = df.groupby(["set", "label"]).size().to_dict()
    assert counts == {("covid-xray", "covid"): 1400, ("covid-xray", "normal"): 1340,
                      ("covid-xray", "viral_pneumonia"): 1329, ("external", "covid"): 34,
                      ("external", "normal"): 60, ("external", "viral_pneumonia"): 75,
                      ("adult-normals", "normal"): 132}
    assert df.groupby("set")["file"].apply(lambda f: f.is_unique).all()


def test_packaged_selection_equals_our_manifests_row_for_row(real_root, real_external):
    df = importer.load_selection()
    for name, root in (("covid-xray", real_root), ("external", real_external)):
        ours = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
        mine = df[df["set"] == name].reset_index(drop=True)
        cols = ["file", "label", "patient_id", "dataset", "sha256"]
        pd.testing.assert_frame_equal(mine[cols], ours[cols])


def test_output_file_is_the_short_name_and_the_stem_with_odd_characters_replaced():
    source = importer.BY_DATASET["ieee8023-covid-chestxray-dataset"]
    assert importer.output_file(source, "viral_pneumonia", "SARS-10.1148rg.2420 a.jpeg") == \
        "images/viral_pneumonia/ieee8023_SARS-10_1148rg_2420_a.png"


def test_build_selection_refuses_a_row_whose_file_name_the_import_would_not_rebuild(tmp_path):
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame([{"file": "images/covid/renamed.png", "label": "covid",
                   "source_path": "COVID/COVID-1.png", "dataset": "covid19-radiography-database-v4",
                   "patient_id": "", "orig_width": "1", "orig_height": "1", "sha256": ""}]
                 ).to_csv(manifest, index=False)
    with pytest.raises(DataError, match="renamed.png"):
        importer.build_selection([manifest])


# ---------------------------------------------------------------------------------------------
# Processing


def test_convert_gives_a_256_px_8bit_gray_png_and_the_size_it_read():
    png, w, h = importer.convert(_image_bytes("x.jpeg", 0), "x.jpeg")
    img = Image.open(io.BytesIO(png))
    assert (img.format, img.mode, img.size, (w, h)) == ("PNG", "L", (256, 256), (50, 40))


def test_convert_scales_a_16bit_image_to_the_full_8bit_range():
    buf = io.BytesIO()
    Image.fromarray(np.linspace(1000, 3000, 64 * 64).reshape(64, 64).astype(np.uint16)).save(buf, "PNG")
    arr = np.asarray(Image.open(io.BytesIO(importer.convert(buf.getvalue(), "deep.png")[0])))
    assert arr.min() <= 2 and arr.max() >= 253


def test_convert_composites_a_transparent_image_on_black():
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 4), (255, 255, 255, 0), np.uint8), "RGBA").save(buf, "PNG")
    arr = np.asarray(Image.open(io.BytesIO(importer.convert(buf.getvalue(), "a.png")[0])))
    assert arr.max() == 0


def test_convert_of_a_damaged_file_raises_naming_it():
    with pytest.raises(DataError, match="broken.jpeg: cannot be decoded"):
        importer.convert(b"\xff\xd8 not really a jpeg", "broken.jpeg")


# ---------------------------------------------------------------------------------------------
# Import: zip and folder, both layouts, the selection exactly


def test_import_from_zips_writes_each_selected_file_and_manifests_with_our_columns(
        selection, archives, tmp_path):
    report = _run(archives, tmp_path / "data")
    assert report.complete and report.skipped == {}
    main_df, ext_df = _manifest(tmp_path / "data" / "covid-xray"), _manifest(tmp_path / "data" / "external")
    assert list(main_df.columns) == list(importer.MANIFEST_COLUMNS)
    assert len(main_df) == 4 and len(ext_df) == 4
    for folder, df in ((tmp_path / "data" / "covid-xray", main_df), (tmp_path / "data" / "external", ext_df)):
        assert all(hashlib.sha256((folder / f).read_bytes()).hexdigest() == s
                   for f, s in zip(df["file"], df["sha256"]))
    assert set(main_df["file"]) == {"images/covid/c19rdb_COVID-1.png", "images/covid/c19rdb_COVID-2.png",
                                    "images/normal/kermany_IM-0115-0001.png",
                                    "images/viral_pneumonia/kermany_person1_virus_6.png"}


def test_imported_folder_passes_data_verify(selection, archives, tmp_path, capsys):
    _run(archives, tmp_path / "data")
    assert main(["data", "verify", "--data", str(tmp_path / "data" / "covid-xray")]) == 0
    assert "sha256 verified" in capsys.readouterr().out


def test_import_from_extracted_folders_gives_the_same_manifest_as_from_zips(selection, archives,
                                                                            tmp_path):
    _run(archives, tmp_path / "from-zip")
    folder = _write_folder(tmp_path / "extracted", _files())
    _run([folder], tmp_path / "from-folder")
    for name in ("covid-xray", "external"):
        a, b = _manifest(tmp_path / "from-zip" / name), _manifest(tmp_path / "from-folder" / name)
        assert a.drop(columns="source_repo").equals(b.drop(columns="source_repo"))


def test_import_copies_label_patient_and_dataset_from_the_selection(selection, archives, tmp_path):
    _run(archives, tmp_path / "data")
    df = _manifest(tmp_path / "data" / "covid-xray")
    sel = pd.read_csv(selection, dtype=str, keep_default_na=False).iloc[:4]
    assert list(df["label"]) == list(sel["label"])
    assert list(df["patient_id"]) == list(sel["patient_id"])
    assert list(df["dataset"]) == list(sel["dataset"])


def test_import_reads_the_later_covid_layout_and_takes_images_not_masks(tmp_path, monkeypatch):
    rows = [("covid19-radiography-database-v4", "covid",
             "COVID-19_Radiography_Dataset/COVID/images/COVID-1.png")]
    monkeypatch.setattr(importer, "SELECTION_FILE", _selection(tmp_path, rows))
    files = _files(rows) | {"COVID-19_Radiography_Dataset/COVID/masks/COVID-1.png":
                            _image_bytes("mask.png", 99)}
    zf = _write_zip(tmp_path / "covid.zip", {k: v for k, v in files.items() if "COVID-19_" in k})
    report = _run([zf], tmp_path / "data")
    assert report.complete and report.sets[0].same_pixels == 1
    assert _manifest(tmp_path / "data" / "covid-xray")["source_path"].tolist() == [rows[0][2]]


def test_a_train_row_is_not_taken_from_the_test_split(tmp_path, monkeypatch):
    train = [("kermany-cxr-pneumonia-train", "viral_pneumonia",
              "chest_xray/train/PNEUMONIA/person1_virus_6.jpeg")]
    monkeypatch.setattr(importer, "SELECTION_FILE", _selection(tmp_path, train))
    wrong_split = {"chest_xray/test/PNEUMONIA/person1_virus_6.jpeg": _image_bytes("a.jpeg", 0),
                   "chest_xray/test/PNEUMONIA/person2_virus_7.jpeg": _image_bytes("a.jpeg", 1)}
    with pytest.raises(DataError, match="not in the expected folders"):
        _run([_write_zip(tmp_path / "k.zip", wrong_split)], tmp_path / "data")


def test_kaggle_s_nested_second_copy_is_not_taken_twice(selection, tmp_path):
    files = _files()
    kermany = {e: d for e, d in files.items() if e.startswith("chest_xray/")}
    nested = kermany | {"chest_xray/" + e: d for e, d in kermany.items()}
    _run([_write_zip(tmp_path / "k.zip", nested)], tmp_path / "data", sets=("covid-xray",))
    paths = _manifest(tmp_path / "data" / "covid-xray")["source_path"]
    assert sorted(paths) == ["chest_xray/train/NORMAL/IM-0115-0001.jpeg",
                             "chest_xray/train/PNEUMONIA/person1_virus_6.jpeg"]


def test_only_one_set_is_written_when_asked(selection, archives, tmp_path):
    report = _run(archives, tmp_path / "data", sets=("external",))
    assert [s.set for s in report.sets] == ["external"]
    assert not (tmp_path / "data" / "covid-xray").exists()


def test_a_set_whose_archives_are_not_given_is_skipped_and_says_what_it_needs(selection, archives,
                                                                            tmp_path):
    report = _run(archives[:1], tmp_path / "data")
    assert [s.set for s in report.sets] == ["covid-xray"]
    assert "Hannover" in report.skipped["external"]
    assert not (tmp_path / "data" / "external").exists()


def test_the_adult_normals_folder_is_imported_alone_from_the_mirror_s_extracted_folder(
        tmp_path, monkeypatch, capsys):
    folder = "COVID-19-master/X-Ray Image DataSet/No_findings/"
    rows = [("nih-chestxray14-no-finding-adults", "normal", folder + "00001280_004.png"),
            ("nih-chestxray14-no-finding-adults", "normal", folder + "00001299_000.png"),
            ("nih-chestxray14-no-finding", "normal", folder + "00002053_000.png")]
    monkeypatch.setattr(importer, "SELECTION_FILE", _selection(tmp_path, rows))
    mirror = _write_folder(tmp_path / "extracted", _files(rows))
    assert main(["data", "import", str(mirror / "COVID-19-master"), "--out", str(tmp_path / "d"),
                 "--only", "adult-normals"]) == 0
    assert "XRAYLIB_ADULTS=" in capsys.readouterr().out
    df = _manifest(tmp_path / "d" / "adult-normals")
    assert list(df["file"]) == ["images/normal/nih_00001280_004.png", "images/normal/nih_00001299_000.png"]
    assert set(df["dataset"]) == {"nih-chestxray14-no-finding-adults"}
    assert not (tmp_path / "d" / "external").exists()
    monkeypatch.setenv(config.ADULTS_ENV, str(tmp_path / "d" / "adult-normals"))
    assert config.adults_dir() == (tmp_path / "d" / "adult-normals").resolve()
    assert main(["data", "verify", "--data", str(config.adults_dir())]) == 0


# ---------------------------------------------------------------------------------------------
# What cannot be found, and pixels that differ from ours


def test_a_missing_selected_file_is_named_and_the_import_exits_1(selection, tmp_path, capsys):
    files = {e: d for e, d in _files().items() if e.startswith("COVID-19_") and "COVID-2" not in e}
    zf = _write_zip(tmp_path / "covid.zip", files)
    assert main(["data", "import", str(zf), "--out", str(tmp_path / "data"), "--only",
                 "covid-xray"]) == 1
    out = capsys.readouterr().out
    assert "MISSING 3 selected file(s)" in out
    assert "1 from COVID-19 Radiography Database (2021 release or later): Kaggle " \
           "tawsifurrahman/covid19-radiography-database (COVID-2.png)" in out
    assert len(_manifest(tmp_path / "data" / "covid-xray")) == 1


def test_other_pixels_than_ours_are_counted_and_shown_with_the_sizes(tmp_path, monkeypatch, archives,
                                                                     capsys):
    path = _selection(tmp_path, other_pixels=frozenset({"COVID-1.png"}))
    monkeypatch.setattr(importer, "SELECTION_FILE", path)
    assert main(["data", "import", *map(str, archives), "--out", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "sha256: 3 of 4 identical" in out and "1 have other pixels" in out
    assert "COVID-1.png read at 30x30, ours at 224x224" in out
    assert "sha256: all 4 identical" in out  # the external set


def test_a_corrupt_selected_image_is_reported_and_the_others_are_written(selection, tmp_path):
    files = _files()
    files["chest_xray/train/NORMAL/IM-0115-0001.jpeg"] = b"\xff\xd8 truncated"
    report = _run([_write_folder(tmp_path / "in", files)], tmp_path / "data")
    main_report = report.sets[0]
    assert not report.complete and main_report.found == 3
    assert "IM-0115-0001.jpeg: cannot be decoded" in main_report.failed[0]


# ---------------------------------------------------------------------------------------------
# Hostile input (issue 24): each bad file is one line naming the archive, member and reason; the
# rest is imported, the manifest lists it, the exit status is 1; nothing hangs or fills memory

HANNOVER = "covid-19-image-repository-master/png/006f3a8a.png"
NIH = "images_001/images/00002053_000.png"


def _external_folder(tmp_path: Path) -> Path:
    """The external sources as an extracted folder, for a test to spoil the Hannover file."""
    return _write_folder(tmp_path / "in", {e: d for e, d in _files().items()
                                           if e.startswith(ARCHIVES["external"])})


def _import_external(tmp_path, source: Path, capsys, no_hang) -> tuple[int, dict]:
    code = no_hang(main, ["data", "import", str(source), "--out", str(tmp_path / "data"),
                          "--only", "external", "--json"])
    return code, json.loads(capsys.readouterr().out)


def _one_failure_the_rest_imported(tmp_path, code: int, report: dict, reason: str) -> str:
    (external,) = report["sets"]
    assert code == 1 and not report["complete"]
    assert len(external["failed"]) == 1 and reason in external["failed"][0]
    assert external["found"] == 2  # NIH and ieee8023 written and listed
    manifest = _manifest(tmp_path / "data" / "external")
    assert sorted(manifest["source_path"]) == sorted(
        [NIH, "covid-chestxray-dataset-master/images/SARS-10.1148rg.242035193-Fig4a.jpeg"])
    return external["failed"][0]


def test_a_fifo_among_the_files_is_named_not_read_and_the_rest_imported(selection, tmp_path,
                                                                        capsys, no_hang):
    folder = _external_folder(tmp_path)
    (folder / HANNOVER).unlink()
    os.mkfifo(folder / HANNOVER)
    code, report = _import_external(tmp_path, folder, capsys, no_hang)
    line = _one_failure_the_rest_imported(tmp_path, code, report, "is a FIFO")
    assert line.startswith(str(folder / HANNOVER))


def test_a_symlink_to_dev_zero_is_named_not_read_and_the_rest_imported(selection, tmp_path,
                                                                       capsys, no_hang):
    folder = _external_folder(tmp_path)
    (folder / HANNOVER).unlink()
    (folder / HANNOVER).symlink_to("/dev/zero")
    code, report = _import_external(tmp_path, folder, capsys, no_hang)
    _one_failure_the_rest_imported(tmp_path, code, report, "is a character device")


def _external_zip(tmp_path: Path, hannover: bytes, **kw) -> Path:
    files = {e: d for e, d in _files().items() if e.startswith(ARCHIVES["external"])}
    files[HANNOVER] = hannover
    path = tmp_path / "external.zip"
    with zipfile.ZipFile(path, "w", **kw) as zf:
        for entry, data in files.items():
            zf.writestr(entry, data)
    return path


def test_a_zip_member_declaring_more_than_the_file_cap_is_skipped_unread(selection, tmp_path,
                                                                         monkeypatch, capsys,
                                                                         no_hang):
    monkeypatch.setattr(importer.xdata, "MAX_FILE_BYTES", 2**20)  # a 4 MB member is a bomb here
    bomb = _external_zip(tmp_path, bytes(4 * 2**20), compression=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 100_000
    code, report = _import_external(tmp_path, bomb, capsys, no_hang)
    line = _one_failure_the_rest_imported(tmp_path, code, report, "declares 4,194,304 bytes")
    assert line.startswith(f"{bomb}: member {HANNOVER}: ")


def test_a_zip_member_larger_than_it_declares_is_read_bounded_and_refused(selection, tmp_path):
    archive = importer.open_input(_external_zip(tmp_path, bytes(2**20)))
    archive.zip.getinfo(HANNOVER).file_size = 1000  # the size a forged header would claim
    with pytest.raises(DataError, match=f"member {HANNOVER}: damaged in the archive"):
        archive.read(HANNOVER, limit=5000)
    archive.zip.close()


def test_a_20000_px_png_in_a_zip_is_refused_by_the_pixel_cap_and_the_rest_imported(
        selection, tmp_path, bomb_png, capsys, no_hang):
    bomb = _external_zip(tmp_path, bomb_png.read_bytes())
    code, report = _import_external(tmp_path, bomb, capsys, no_hang)
    line = _one_failure_the_rest_imported(tmp_path, code, report, "possible decompression bomb")
    assert line.startswith(f"{bomb}: member {HANNOVER}: ")


def test_a_zip_member_with_a_bad_crc_is_skipped_and_the_rest_imported(selection, tmp_path, capsys,
                                                                      no_hang):
    good = _image_bytes(HANNOVER, 4)
    path = _external_zip(tmp_path, good)  # stored, not deflated: the member's bytes are in the file
    blob = bytearray(path.read_bytes())
    at = blob.index(good) + len(good) // 2
    blob[at] ^= 0xFF
    path.write_bytes(bytes(blob))
    code, report = _import_external(tmp_path, path, capsys, no_hang)
    line = _one_failure_the_rest_imported(tmp_path, code, report, "damaged in the archive")
    assert line.startswith(f"{path}: member {HANNOVER}: ") and "CRC" in line


def test_the_text_report_gives_one_line_per_failed_file(selection, tmp_path, capsys):
    folder = _external_folder(tmp_path)
    (folder / HANNOVER).unlink()
    os.mkfifo(folder / HANNOVER)
    assert main(["data", "import", str(folder), "--out", str(tmp_path / "data")]) == 1
    failed = [line for line in capsys.readouterr().out.splitlines() if "FAILED" in line]
    assert failed == [f"  FAILED {folder / HANNOVER}: is a FIFO (named pipe), not an image file"]


def test_a_truncated_zip_is_called_truncated_not_no_zip(selection, archives, tmp_path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archives[0].read_bytes()[:-200])
    with pytest.raises(DataError, match="truncated or damaged zip archive.*download it again"):
        _run([cut], tmp_path / "data")


def test_a_full_disk_names_the_manifest_and_leaves_no_part_file(selection, archives, tmp_path,
                                                                monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if self.name == "manifest.csv.part":
            real(self, data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="manifest.csv: not written \\(No space left on device\\)"):
        _run(archives, tmp_path / "data")
    assert not list((tmp_path / "data").rglob("*.part"))


# ---------------------------------------------------------------------------------------------
# Wrong archives, and nothing written outside the target


def test_a_wrong_archive_raises_naming_it_and_the_expected_archives_and_writes_nothing(
        selection, archives, tmp_path):
    wrong = _write_zip(tmp_path / "holiday.zip", {"photos/beach.jpg": _image_bytes("b.jpg", 0)})
    with pytest.raises(DataError) as info:
        _run([*archives, wrong], tmp_path / "data")
    message = str(info.value)
    assert str(wrong) in message and "COVID-19 Radiography Database" in message
    assert "…/COVID/COVID-1.png" in message
    assert "chest-xray-pneumonia" in message and "…/train/NORMAL/IM-0115-0001.jpeg" in message
    assert "…/train/PNEUMONIA/person1_virus_6.jpeg" in message
    assert not (tmp_path / "data").exists()


def test_an_archive_of_archives_says_to_extract_the_inner_one(selection, tmp_path):
    outer = _write_zip(tmp_path / "mendeley.zip", {"ChestXRay2017.zip": b"PK..."})
    with pytest.raises(DataError, match="ChestXRay2017.zip.*extract them"):
        _run([outer], tmp_path / "data")


def test_the_cli_reports_a_wrong_archive_as_error_exit_2(selection, tmp_path, capsys):
    wrong = _write_folder(tmp_path / "wrong", {"notes.txt": b"hello"})
    assert main(["data", "import", str(wrong), "--out", str(tmp_path / "data")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {wrong}: holds none of the 8 files")


def test_a_file_that_is_no_zip_is_refused_saying_what_to_pass(selection, tmp_path):
    tarball = tmp_path / "images_001.tar.gz"
    tarball.write_bytes(b"\x1f\x8b not a zip")
    with pytest.raises(DataError, match="not a zip archive or a folder; extract it"):
        _run([tarball], tmp_path / "data")


@pytest.mark.parametrize("evil", ["../../outside.png", "/tmp/absolute.png",
                                  "chest_xray/../../x.png", "C:\\windows\\x.png"])
def test_a_zip_entry_pointing_outside_is_refused_and_nothing_is_written(selection, archives,
                                                                         tmp_path, evil):
    files = _files()
    bad = _write_zip(tmp_path / "bad.zip", {**files, evil: b"x"})
    with pytest.raises(DataError, match="refused"):
        _run([bad], tmp_path / "out" / "data")
    assert not (tmp_path / "out").exists() and not (tmp_path / "outside.png").exists()


# ---------------------------------------------------------------------------------------------
# Resume, and refusing someone else's folder


def test_a_rerun_writes_nothing_and_leaves_the_files_untouched(selection, archives, tmp_path):
    _run(archives, tmp_path / "data")
    png = tmp_path / "data" / "covid-xray" / "images" / "covid" / "c19rdb_COVID-1.png"
    os.utime(png, (1, 1))
    report = _run(archives, tmp_path / "data")
    assert [(s.written, s.reused) for s in report.sets] == [(0, 4), (0, 4)]
    assert png.stat().st_mtime == 1


def test_a_rerun_rewrites_a_damaged_file_and_only_that_one(selection, archives, tmp_path):
    _run(archives, tmp_path / "data")
    png = tmp_path / "data" / "covid-xray" / "images" / "normal" / "kermany_IM-0115-0001.png"
    png.write_bytes(b"half a file")
    report = _run(archives, tmp_path / "data", sets=("covid-xray",))
    assert (report.sets[0].written, report.sets[0].reused) == (1, 3)
    assert report.sets[0].same_pixels == 4


def test_an_interrupted_import_keeps_what_it_wrote_and_the_rerun_does_the_rest(
        selection, archives, tmp_path, monkeypatch):
    calls, convert = [], importer.convert

    def interrupted(data, name):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return convert(data, name)

    monkeypatch.setattr(importer, "convert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(archives, tmp_path / "data", sets=("covid-xray",), workers=1)
    assert len(_manifest(tmp_path / "data" / "covid-xray")) == 2
    monkeypatch.setattr(importer, "convert", convert)
    report = _run(archives, tmp_path / "data", sets=("covid-xray",))
    assert report.complete and (report.sets[0].written, report.sets[0].reused) == (2, 2)


def test_an_import_resumes_across_runs_with_one_archive_each(selection, archives, tmp_path):
    _run(archives[:1], tmp_path / "data", sets=("covid-xray",))
    report = _run(archives[1:2], tmp_path / "data", sets=("covid-xray",))
    assert report.complete and (report.sets[0].written, report.sets[0].reused) == (2, 2)
    assert len(_manifest(tmp_path / "data" / "covid-xray")) == 4


def test_an_existing_folder_the_import_did_not_write_is_refused_and_left_alone(selection, archives,
                                                                             tmp_path):
    mine = tmp_path / "data" / "covid-xray"
    mine.mkdir(parents=True)
    (mine / "manifest.csv").write_text("file,label\nimages/covid/x.png,covid\n")
    with pytest.raises(DataError, match="not written by `xraylib data import`.*own data"):
        _run(archives, tmp_path / "data")
    assert sorted(p.name for p in mine.iterdir()) == ["manifest.csv"]


def test_a_folder_imported_for_the_other_set_is_refused(selection, archives, tmp_path):
    _run(archives, tmp_path / "data", sets=("external",))
    with pytest.raises(DataError, match="holds an import of 'external'"):
        importer.import_set("covid-xray", importer.load_selection(selection).iloc[:4], {},
                            tmp_path / "data" / "external")


def test_an_empty_existing_folder_is_used(selection, archives, tmp_path):
    (tmp_path / "data" / "covid-xray").mkdir(parents=True)
    assert _run(archives, tmp_path / "data").complete


# ---------------------------------------------------------------------------------------------
# The command line


def test_progress_bar_goes_to_stderr_with_the_flag(selection, archives, tmp_path, capsys):
    assert main(["data", "import", *map(str, archives), "--out", str(tmp_path / "d"),
                 "--progress"]) == 0
    err = capsys.readouterr().err
    assert "importing covid-xray [" in err and "4/4 100%" in err


def test_no_progress_bar_when_stderr_is_not_a_terminal(selection, archives, tmp_path, capsys):
    assert main(["data", "import", *map(str, archives), "--out", str(tmp_path / "d")]) == 0
    assert capsys.readouterr().err == ""


def test_cli_json_reports_each_set_complete(selection, archives, tmp_path, capsys):
    assert main(["data", "import", *map(str, archives), "--out", str(tmp_path / "d"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["complete"] and [s["found"] for s in report["sets"]] == [4, 4]
    assert {Path(k).name: n for k, n in report["inputs"].items()} == {
        "covid.zip": 2, "kermany.zip": 3, "external.zip": 3}


def test_default_target_is_data_in_the_checkout_where_the_book_looks(selection, archives, tmp_path,
                                                                    monkeypatch, capsys):
    monkeypatch.setattr(config, "project_root", lambda: tmp_path / "checkout")
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.delenv(config.EXTERNAL_ENV, raising=False)
    assert main(["data", "import", *map(str, archives)]) == 0
    assert "next, `make book`" in capsys.readouterr().out
    assert config.data_dir() == (tmp_path / "checkout" / "data" / "covid-xray").resolve()
    assert config.external_dir() == (tmp_path / "checkout" / "data" / "external").resolve()


# ---------------------------------------------------------------------------------------------
# The import on the real mirrors (benchmarks/import_mirrors.py), as recorded


def test_the_recorded_import_on_the_mirrors_matched_every_row_of_both_manifests():
    record = json.loads((config.project_root() / "benchmarks" / "import-mirrors.json").read_text())
    for name, rows in (("covid-xray", 4069), ("external", 169)):
        same = record["compare"][name]
        assert same["ours"] == same["imported"] == same["same_files"] == rows
        assert same["same_label"] == same["same_patient_id"] == same["same_dataset"] == rows
    assert record["complete"] and record["resumed_written"] == 0
