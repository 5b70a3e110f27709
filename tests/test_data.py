"""xraylib.data: decoding every supported format, clear errors, the cache, the paper's composition."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xraylib import config, data
from xraylib.data import DataError

# ---------------------------------------------------------------------------------------------
# Decoding formats made here with PIL


def test_importing_data_does_not_import_tensorflow():
    # A fresh interpreter: other test modules may import TensorFlow into this one.
    code = "import sys, xraylib.data, xraylib.splits; print('tensorflow' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=config.project_root(), check=True)
    assert run.stdout.strip() == "False"


def test_decode_8bit_gray_png_keeps_pixels_at_native_size(tmp_path, write_image):
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    path = write_image(tmp_path / "gray.png", pixels)
    out = data.decode_gray(path, 8)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)


def test_decode_16bit_png_is_min_max_scaled_to_0_255(tmp_path, write_image):
    pixels = np.linspace(1000, 3000, 64).reshape(8, 8).astype(np.uint16)
    path = write_image(tmp_path / "deep.png", pixels)
    assert Image.open(path).mode.startswith("I;16")
    out = data.decode_gray(path, 8)
    assert out.dtype == np.uint8
    assert out.max() == 255 and out.min() == 0
    assert out[np.unravel_index(pixels.argmax(), pixels.shape)] == 255
    assert out[np.unravel_index(pixels.argmin(), pixels.shape)] == 0
    expected = np.rint((pixels.astype(float) - 1000) * 255 / 2000)
    np.testing.assert_allclose(out, expected, atol=1)


def test_decode_16bit_png_of_one_value_is_black_not_an_error(tmp_path, write_image):
    path = write_image(tmp_path / "flat16.png", np.full((8, 8), 4000, np.uint16))
    np.testing.assert_array_equal(data.decode_gray(path, 8), 0)


def test_decode_rgb_png_uses_luminance(tmp_path, write_image):
    pixels = np.zeros((2, 2, 3), np.uint8)
    pixels[0, 0] = (255, 255, 255)
    pixels[0, 1] = (255, 0, 0)
    pixels[1, 0] = (0, 255, 0)
    pixels[1, 1] = (0, 0, 255)
    path = write_image(tmp_path / "rgb.png", pixels)
    out = data.decode_gray(path, 2)
    # ITU-R 601-2 luma, as PIL's convert("L"): 0.299 R + 0.587 G + 0.114 B
    np.testing.assert_allclose(out, [[255, 76], [150, 29]], atol=1)


def test_decode_rgba_png_composites_alpha_on_black(tmp_path, write_image):
    pixels = np.zeros((2, 2, 4), np.uint8)
    pixels[..., :3] = 255                      # all white ...
    pixels[..., 3] = [[0, 255], [128, 255]]    # ... fully transparent, opaque, half, opaque
    path = write_image(tmp_path / "rgba.png", pixels, "RGBA")
    out = data.decode_gray(path, 2)
    assert out[0, 0] == 0, "a fully transparent white pixel must come out black"
    assert out[0, 1] == 255 and out[1, 1] == 255
    assert abs(int(out[1, 0]) - 128) <= 1


def _blocks(shape_hw, channels=None) -> np.ndarray:
    """Two flat halves (dark left, bright right): JPEG keeps flat 8x8 blocks almost exactly."""
    h, w = shape_hw
    gray = np.full((h, w), 40, np.uint8)
    gray[:, w // 2:] = 210
    return gray if channels is None else np.repeat(gray[..., None], channels, axis=-1)


def test_decode_gray_jpeg(tmp_path, write_image):
    path = write_image(tmp_path / "gray.jpg", _blocks((16, 16)), quality=95)
    out = data.decode_gray(path, 16)
    assert out.shape == (16, 16) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(Image.open(path).convert("L")))
    np.testing.assert_allclose(out[:, 1:7], 40, atol=4)
    np.testing.assert_allclose(out[:, 9:15], 210, atol=4)


def test_decode_rgb_jpeg(tmp_path, write_image):
    pixels = _blocks((16, 16), channels=3)
    pixels[..., 0] = np.where(pixels[..., 0] > 100, 255, 0)   # tint: red on the bright side
    path = write_image(tmp_path / "rgb.jpeg", pixels, quality=95)
    assert Image.open(path).mode == "RGB"
    out = data.decode_gray(path, 16)
    assert out.shape == (16, 16) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(Image.open(path).convert("L")))
    # dark side (0, 40, 40) -> ~28; bright side (255, 210, 210) -> ~223
    np.testing.assert_allclose(out[:, 1:7], 0.587 * 40 + 0.114 * 40, atol=5)
    np.testing.assert_allclose(out[:, 9:15], 0.299 * 255 + 0.701 * 210, atol=5)


@pytest.mark.parametrize("size", [7, 32])
def test_decode_non_square_image_gives_size_by_size_uint8(tmp_path, write_image, size):
    pixels = np.tile(np.arange(30, dtype=np.uint8) * 8, (20, 1))   # 20 rows x 30 columns
    path = write_image(tmp_path / "wide.png", pixels)
    out = data.decode_gray(path, size)
    assert out.shape == (size, size) and out.dtype == np.uint8
    # the left-to-right ramp survives the resize
    assert np.all(np.diff(out[size // 2].astype(int)) >= 0) and out[0, -1] > out[0, 0]


def test_decode_accepts_bytes(tmp_path, write_image):
    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    path = write_image(tmp_path / "b.png", pixels)
    np.testing.assert_array_equal(data.decode_gray(path.read_bytes(), 4), pixels)


def test_to_model_input_is_float32_nhw3_in_unit_range_with_equal_channels():
    gray = np.array([[[0, 255], [51, 102]], [[255, 0], [0, 0]]], np.uint8)
    x = data.to_model_input(gray)
    assert x.dtype == np.float32 and x.shape == (2, 2, 2, 3)
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x[..., 0], x[..., 1])
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    np.testing.assert_allclose(x[0, 1, 0, 0], 0.2)


# ---------------------------------------------------------------------------------------------
# Bad files: a DataError whose message names the file


def _valid_png_bytes(tmp_path, write_image) -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    return write_image(tmp_path / "valid.png", noise).read_bytes()


def _bad_files(tmp_path, write_image):
    good = _valid_png_bytes(tmp_path, write_image)
    contents = {"empty.png": b"", "truncated.png": good[: len(good) // 2],
                "text.png": b"this is not an image\n"}
    paths = {}
    for name, blob in contents.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(blob)
    return paths


@pytest.mark.parametrize("name", ["empty.png", "truncated.png", "text.png"])
def test_decode_bad_file_raises_data_error_naming_the_file(tmp_path, write_image, name):
    path = _bad_files(tmp_path, write_image)[name]
    with pytest.raises(DataError) as info:
        data.decode_gray(path, 8)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["empty.png", "truncated.png", "text.png"])
def test_load_gray_bad_file_raises_data_error_naming_the_file(tmp_path, write_image, cache, name):
    bad = _bad_files(tmp_path, write_image)[name]
    good = tmp_path / "valid.png"
    with pytest.raises(DataError) as info:
        data.load_gray([str(good), str(bad)], 8, progress=False)
    assert str(bad) in str(info.value)
    assert "<bytes>" not in str(info.value)


def test_empty_file_message_says_it_is_empty(tmp_path, write_image):
    path = _bad_files(tmp_path, write_image)["empty.png"]
    with pytest.raises(DataError, match="empty"):
        data.decode_gray(path, 8)


# ---------------------------------------------------------------------------------------------
# Manifests and folders


def test_folder_layout_without_manifest_lists_images_per_class(tmp_path, write_image):
    for label in config.CLASSES:
        for i in range(2):
            write_image(tmp_path / "images" / label / f"{label}-{i}.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "images" / "covid" / "notes.txt").write_text("not an image")
    df = data.read_dataset(tmp_path)
    assert len(df) == 6
    assert df["label"].value_counts().to_dict() == {c: 2 for c in config.CLASSES}
    assert all(p.endswith(".png") for p in df["path"])


def test_missing_class_folder_raises_file_not_found_naming_the_label(tmp_path, write_image):
    for label in ("covid", "normal"):
        write_image(tmp_path / "images" / label / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(FileNotFoundError, match="viral_pneumonia"):
        data.load_manifest(tmp_path)


def test_missing_data_folder_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.load_manifest(tmp_path / "nowhere")


def test_manifest_without_label_column_raises_data_error(tmp_path):
    (tmp_path / "manifest.csv").write_text("file\nimages/covid/a.png\n")
    with pytest.raises(DataError, match="label"):
        data.load_manifest(tmp_path)


def test_valid_manifest_has_no_problems(make_root):
    root = make_root([{"file": "images/covid/a.png", "label": "covid"},
                      {"file": "images/normal/b.png", "label": "normal"}])
    assert data.validate_manifest(data.load_manifest(root), check_sha256=True) == []


def test_manifest_path_outside_the_data_folder_is_reported(tmp_path, make_root, write_image):
    write_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))   # exists, but outside root
    root = make_root([{"file": "images/covid/a.png", "label": "covid"},
                      {"file": "../x.png", "label": "covid"}])
    problems = data.validate_manifest(data.load_manifest(root))
    assert len(problems) == 1
    assert "../x.png" in problems[0] and "outside" in problems[0]


def test_read_dataset_raises_data_error_naming_a_path_outside_the_folder(tmp_path, make_root,
                                                                         write_image):
    write_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    root = make_root([{"file": "../x.png", "label": "covid"}])
    with pytest.raises(DataError, match=r"\.\./x\.png"):
        data.read_dataset(root)


def test_manifest_file_that_does_not_exist_is_reported(make_root):
    root = make_root([{"file": "images/covid/gone.png", "label": "covid", "write": False}])
    problems = data.validate_manifest(data.load_manifest(root))
    assert len(problems) == 1 and "gone.png" in problems[0] and "not found" in problems[0]


def test_sha256_mismatch_is_reported_only_when_checking(make_root):
    root = make_root([{"file": "images/covid/a.png", "label": "covid", "sha256": "0" * 64}])
    df = data.load_manifest(root)
    assert data.validate_manifest(df, check_sha256=False) == []
    problems = data.validate_manifest(df, check_sha256=True)
    assert len(problems) == 1 and "a.png" in problems[0] and "sha256" in problems[0]
    with pytest.raises(DataError, match="a.png"):
        data.read_dataset(root, check_sha256=True)


def test_matching_sha256_is_not_reported(make_root):
    root = make_root([{"file": "images/covid/a.png", "label": "covid"}])
    digest = hashlib.sha256((root / "images/covid/a.png").read_bytes()).hexdigest()
    df = data.load_manifest(root)
    df.loc[0, "sha256"] = digest
    assert data.validate_manifest(df, check_sha256=True) == []


def test_unknown_label_is_reported(make_root):
    root = make_root([{"file": "images/flu/a.png", "label": "flu"}])
    problems = data.validate_manifest(data.load_manifest(root))
    assert len(problems) == 1 and "'flu'" in problems[0] and "a.png" in problems[0]
    with pytest.raises(DataError, match="flu"):
        data.read_dataset(root)


def test_read_dataset_adds_paths_and_patient_groups(make_root):
    root = make_root([{"file": "images/covid/a.png", "label": "covid", "patient_id": "p1"},
                      {"file": "images/covid/b.png", "label": "covid", "patient_id": "p1"},
                      {"file": "images/normal/c.png", "label": "normal", "patient_id": ""}])
    df = data.read_dataset(root)
    assert list(df["group"]) == ["p1", "p1", "file:images/normal/c.png"]
    assert all((root / f).resolve() == Path(p).resolve()
               for f, p in zip(df["file"], df["path"]))


def test_labels_of_follows_class_order(make_root):
    root = make_root([{"file": "n.png", "label": "normal"}, {"file": "c.png", "label": "covid"},
                      {"file": "v.png", "label": "viral_pneumonia"}])
    np.testing.assert_array_equal(data.labels_of(data.read_dataset(root)), [2, 0, 1])


@pytest.mark.parametrize("name, index", [("images/covid/c19rdb_COVID-17.png", 17),
                                         ("COVID (3).jpg", 3), ("x2_y-105.png", 105),
                                         ("nodigits.png", 0)])
def test_source_index_is_the_last_number_in_the_file_name(name, index):
    assert data.source_index(name) == index


# ---------------------------------------------------------------------------------------------
# The decode cache


def _two_images(tmp_path, write_image):
    a = write_image(tmp_path / "a.png", np.arange(256, dtype=np.uint8).reshape(16, 16))
    b = write_image(tmp_path / "b.png", np.full((16, 16), 200, np.uint8))
    return [str(a), str(b)]


def test_load_gray_returns_n_by_size_by_size_uint8(tmp_path, write_image, cache):
    out = data.load_gray(_two_images(tmp_path, write_image), 8, progress=False)
    assert out.shape == (2, 8, 8) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[1], 200)


def test_load_gray_writes_a_cache_file_under_decoded(tmp_path, write_image, cache):
    data.load_gray(_two_images(tmp_path, write_image), 8, progress=False)
    assert len(list((cache / "decoded").glob("*.npy"))) == 1


def test_load_gray_second_call_reads_the_cache_without_decoding(tmp_path, write_image, cache,
                                                                monkeypatch):
    paths = _two_images(tmp_path, write_image)
    first = data.load_gray(paths, 8, progress=False)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decode_gray called although the cache holds these images")

    monkeypatch.setattr(data, "decode_gray", no_decoding)
    second = data.load_gray(paths, 8, progress=False)
    np.testing.assert_array_equal(first, second)


def test_load_gray_cache_key_changes_when_an_image_changes(tmp_path, write_image, cache):
    paths = _two_images(tmp_path, write_image)
    before = data.load_gray(paths, 8, progress=False)
    write_image(tmp_path / "b.png", np.full((16, 16), 7, np.uint8))   # same name, new content
    after = data.load_gray(paths, 8, progress=False)
    np.testing.assert_array_equal(after[1], 7)
    np.testing.assert_array_equal(after[0], before[0])
    assert len(list((cache / "decoded").glob("*.npy"))) == 2


def test_load_gray_cache_key_changes_with_size(tmp_path, write_image, cache):
    paths = _two_images(tmp_path, write_image)
    assert data.load_gray(paths, 8, progress=False).shape == (2, 8, 8)
    assert data.load_gray(paths, 4, progress=False).shape == (2, 4, 4)
    assert len(list((cache / "decoded").glob("*.npy"))) == 2


def test_load_gray_rebuilds_a_damaged_cache_file(tmp_path, write_image, cache):
    paths = _two_images(tmp_path, write_image)
    first = data.load_gray(paths, 8, progress=False)
    (cached,) = (cache / "decoded").glob("*.npy")
    cached.write_bytes(b"garbage")
    np.testing.assert_array_equal(data.load_gray(paths, 8, progress=False), first)
    np.testing.assert_array_equal(np.load(cached), first)


# ---------------------------------------------------------------------------------------------
# The real data set (a slice of it) and the paper's composition


def test_real_dataset_has_4069_rows_with_the_documented_class_counts(real_df):
    assert len(real_df) == 4069
    assert real_df["label"].value_counts().to_dict() == {
        "covid": 1400, "viral_pneumonia": 1329, "normal": 1340}


def test_first_real_files_of_each_class_decode_to_the_right_shape(real_df, cache):
    paths = [p for c in config.CLASSES for p in real_df.loc[real_df["label"] == c, "path"][:3]]
    out = data.load_gray(paths, 200, progress=False)
    assert out.shape == (9, 200, 200) and out.dtype == np.uint8
    assert all(img.std() > 5 for img in out), "a real X-ray decoded to a flat image"


def test_paper_composition_has_289_550_550(real_comp):
    assert real_comp["label"].value_counts().to_dict() == {
        "covid": 289, "viral_pneumonia": 550, "normal": 550}
    assert real_comp["file"].is_unique


def test_paper_composition_takes_the_289_lowest_covid_indices(real_df, real_comp):
    taken = sorted(data.source_index(f) for f in real_comp.loc[real_comp["label"] == "covid", "file"])
    available = sorted(data.source_index(f) for f in real_df.loc[real_df["label"] == "covid", "file"])
    assert taken == available[:289]


def test_paper_composition_orders_covid_by_number_not_by_name_or_row(make_root, paper):
    # Lexical order (COVID-10 < COVID-2) and manifest order both differ from numeric order.
    names = ["COVID-10", "COVID-2", "COVID-100", "COVID-1", "COVID-3"]
    rows = [{"file": f"images/covid/{n}.png", "label": "covid"} for n in names]
    rows += [{"file": "images/normal/n.png", "label": "normal"},
             {"file": "images/viral_pneumonia/v.png", "label": "viral_pneumonia"}]
    small = dataclasses.replace(paper, composition=(("covid", 3), ("viral_pneumonia", 1),
                                                    ("normal", 1)))
    comp = data.paper_composition(data.read_dataset(make_root(rows)), small)
    taken = comp.loc[comp["label"] == "covid", "file"]
    assert sorted(data.source_index(f) for f in taken) == [1, 2, 3]


def test_paper_composition_is_deterministic_for_the_seed(real_df, real_comp, paper):
    again = data.paper_composition(real_df, paper)
    assert list(again["file"]) == list(real_comp["file"])


def test_paper_composition_other_seed_changes_only_the_non_covid_sample(real_df, real_comp, paper):
    other = data.paper_composition(real_df, dataclasses.replace(paper, seed=paper.seed + 1))
    for label in config.CLASSES:
        mine = set(real_comp.loc[real_comp["label"] == label, "file"])
        theirs = set(other.loc[other["label"] == label, "file"])
        if label == "covid":
            assert mine == theirs
        else:
            assert mine != theirs


def test_paper_composition_too_few_images_raises_data_error(make_root, paper):
    root = make_root([{"file": "c.png", "label": "covid"}])
    with pytest.raises(DataError, match="covid"):
        data.paper_composition(data.read_dataset(root), paper)


# ---------------------------------------------------------------------------------------------
# The safe path every image takes (issue 16): regular files of bounded size, inside the folder,
# PNG or JPEG of bounded pixel count; a bad file is a DataError naming it, never a hang or crash


def test_read_file_refuses_a_fifo_at_once_naming_it(tmp_path, no_hang):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)  # no writer: a plain read would block forever
    with pytest.raises(DataError, match="FIFO") as info:
        no_hang(data.read_file, fifo)
    assert str(fifo) in str(info.value)


def test_read_file_refuses_dev_zero_as_a_character_device():
    with pytest.raises(DataError, match="/dev/zero: is a character device"):
        data.read_file("/dev/zero")


def test_read_file_refuses_a_socket(tmp_path):
    path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(DataError, match="socket"):
            data.read_file(path)


def test_read_file_refuses_a_directory(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        data.read_file(tmp_path)


def test_read_file_refuses_a_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * 101)
    with pytest.raises(DataError, match="over the 100-byte limit"):
        data.read_file(path, limit=100)
    assert data.read_file(path, limit=101) == b"\0" * 101


def test_decode_gray_of_a_decompression_bomb_raises_data_error_naming_it(bomb_png):
    with pytest.raises(DataError, match="decompression bomb") as info:
        data.decode_gray(bomb_png, 8)
    assert str(bomb_png) in str(info.value)


def test_open_image_refuses_an_image_over_max_pixels_before_decoding_it(tmp_path, write_image,
                                                                        monkeypatch):
    blob = write_image(tmp_path / "a.png", np.zeros((20, 30), np.uint8)).read_bytes()
    monkeypatch.setattr(data, "MAX_PIXELS", 599)
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded an oversized image"))
    with pytest.raises(DataError, match="30x20 pixels is over the limit of 599"):
        data.open_image(blob, "a.png")


def test_open_image_refuses_a_format_other_than_png_or_jpeg(tmp_path, write_image):
    blob = write_image(tmp_path / "a.bmp", np.zeros((4, 4), np.uint8)).read_bytes()
    with pytest.raises(DataError, match="a.bmp: cannot be decoded \\(not a PNG or JPEG image\\)"):
        data.open_image(blob, "a.bmp")


def test_decode_message_gives_no_manifest_advice(tmp_path):
    path = tmp_path / "text.png"
    path.write_text("not an image\n")
    with pytest.raises(DataError) as info:
        data.decode_gray(path, 8)
    assert "manifest" not in str(info.value) and "replace it" in str(info.value)


@pytest.mark.parametrize("file, reason", [("/dev/zero", "absolute path"),
                                          ("../x.png", "outside the data folder"),
                                          ("images/../../x.png", "outside the data folder"),
                                          ("", "empty file name")])
def test_manifest_path_refuses_a_row_leaving_the_data_folder(tmp_path, file, reason):
    with pytest.raises(DataError, match=reason):
        data.manifest_path(tmp_path, file)


def test_manifest_path_refuses_a_symlink_leading_out_of_the_folder(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "zero.png").symlink_to("/dev/zero")
    with pytest.raises(DataError, match="outside the data folder.*/dev/zero"):
        data.manifest_path(root.resolve(), "zero.png")


def test_manifest_path_of_a_symlink_loop_raises_data_error(tmp_path):
    (tmp_path / "loop.png").symlink_to("loop.png")
    with pytest.raises(DataError, match="symlink loop"):
        data.manifest_path(tmp_path.resolve(), "loop.png")


def test_manifest_path_keeps_a_row_inside_the_folder(tmp_path):
    assert data.manifest_path(tmp_path, "images/covid/a.png") == tmp_path / "images/covid/a.png"


def test_validate_manifest_with_decode_names_text_truncated_empty_and_bomb_pngs(
        make_root, write_image, bomb_png, tmp_path):
    rows = [{"file": f"images/covid/{n}.png", "label": "covid"}
            for n in ("good", "text", "truncated", "empty", "bomb")]
    root = make_root(rows)
    good = (root / "images/covid/good.png").read_bytes()
    (root / "images/covid/text.png").write_text("not an image\n")
    (root / "images/covid/truncated.png").write_bytes(good[: len(good) // 2])
    (root / "images/covid/empty.png").write_bytes(b"")
    shutil.copy(bomb_png, root / "images/covid/bomb.png")
    df = data.load_manifest(root)
    assert data.validate_manifest(df) == []  # without decoding, only the table and the stat
    problems = data.validate_manifest(df, decode=True)
    assert [p.split(": ")[0].rsplit("/", 1)[1] for p in problems] == [
        "text.png", "truncated.png", "empty.png", "bomb.png"]
    assert "decompression bomb" in problems[3] and "empty" in problems[2]


def test_manifest_problems_names_a_file_listed_twice_with_two_labels(make_root):
    root = make_root([{"file": "images/a.png", "label": "covid"},
                      {"file": "images/./a.png", "label": "normal", "write": False}])
    problems = data.manifest_problems(data.load_manifest(root))
    assert problems == ["images/a.png: listed 2 times with conflicting labels ['covid', "
                        "'normal']; keep one row with the right label"]


def test_manifest_problems_names_a_file_listed_twice_with_one_label(make_root):
    root = make_root([{"file": "images/a.png", "label": "covid"},
                      {"file": "images/a.png", "label": "covid", "write": False}])
    assert data.manifest_problems(data.load_manifest(root)) == [
        "images/a.png: listed 2 times; keep one row"]


def test_manifest_problems_of_a_manifest_without_rows_says_no_images(tmp_path):
    (tmp_path / "manifest.csv").write_text("file,label\n")
    (problem,) = data.manifest_problems(data.load_manifest(tmp_path))
    assert "no images listed" in problem


@pytest.mark.parametrize("value", data.RESERVED_DATASETS)
def test_manifest_problems_names_a_dataset_value_the_report_reserves(make_root, value):
    root = make_root([{"file": "a.png", "label": "covid", "dataset": value},
                      {"file": "b.png", "label": "covid", "dataset": "site-a"}])
    (problem,) = data.manifest_problems(data.load_manifest(root))
    assert f"dataset value {value!r} is reserved" in problem


def test_read_dataset_refuses_a_manifest_with_a_file_listed_twice(make_root):
    root = make_root([{"file": "a.png", "label": "covid"},
                      {"file": "a.png", "label": "normal", "write": False}])
    with pytest.raises(DataError, match="conflicting labels"):
        data.read_dataset(root)


def test_validate_manifest_names_a_symlink_loop_under_images(tmp_path, write_image):
    for label in config.CLASSES:
        write_image(tmp_path / "images" / label / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "images" / "covid" / "loop.png").symlink_to("loop.png")
    problems = data.validate_manifest(data.load_manifest(tmp_path), decode=True)
    assert len(problems) == 1 and "loop.png: is a symlink loop" in problems[0]


def test_validate_manifest_names_a_fifo_and_a_device_listed_in_the_manifest(make_root, no_hang):
    root = make_root([{"file": "fifo.png", "label": "covid", "write": False},
                      {"file": "zero.png", "label": "covid", "write": False},
                      {"file": "ok.png", "label": "covid"}])
    os.mkfifo(root / "fifo.png")
    os.mknod(root / "zero.png", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero's numbers
    problems = no_hang(data.validate_manifest, data.load_manifest(root), True, True)
    assert len(problems) == 2
    assert "fifo.png: is a FIFO" in problems[0] and "zero.png: is a character device" in problems[1]


def test_load_manifest_refuses_a_manifest_that_is_a_fifo(tmp_path, no_hang):
    os.mkfifo(tmp_path / "manifest.csv")
    with pytest.raises(DataError, match="manifest.csv: is a FIFO .*, not a manifest"):
        no_hang(data.load_manifest, tmp_path)


def test_load_manifest_of_a_binary_manifest_raises_data_error_naming_it(tmp_path):
    (tmp_path / "manifest.csv").write_bytes(b"file,label\n\xff\xfe\x00a,\x9c\n")
    with pytest.raises(DataError, match="manifest.csv: not a readable CSV"):
        data.load_manifest(tmp_path)


# ---------------------------------------------------------------------------------------------
# The decoded-image cache is verified (shape, dtype, content hash) and never required writable


def test_load_gray_rebuilds_a_cache_file_with_flipped_pixels(tmp_path, write_image, cache):
    paths = _two_images(tmp_path, write_image)
    first = data.load_gray(paths, 8, progress=False)
    (cached,) = (cache / "decoded").glob("*.npy")
    flipped = first.copy()
    flipped[0, 0, 0] ^= 0xFF
    with open(cached, "wb") as f:
        np.save(f, flipped)  # a valid .npy of the right shape and dtype, wrong content
    np.testing.assert_array_equal(data.load_gray(paths, 8, progress=False), first)
    np.testing.assert_array_equal(np.load(cached), first)


def test_load_gray_rebuilds_a_cache_file_whose_hash_is_missing(tmp_path, write_image, cache,
                                                               monkeypatch):
    paths = _two_images(tmp_path, write_image)
    data.load_gray(paths, 8, progress=False)
    (digest,) = (cache / "decoded").glob("*.sha256")
    digest.unlink()
    decoded = []
    real = data.decode_gray
    monkeypatch.setattr(data, "decode_gray", lambda *a: decoded.append(1) or real(*a))
    data.load_gray(paths, 8, progress=False)
    assert len(decoded) == 2 and digest.exists()


def test_load_gray_from_a_verified_cache_writes_nothing(tmp_path, write_image, cache, read_only):
    paths = _two_images(tmp_path, write_image)
    first = data.load_gray(paths, 8, progress=False)
    attempts = read_only(cache)
    np.testing.assert_array_equal(data.load_gray(paths, 8, progress=False), first)
    assert attempts == []


def test_load_gray_on_a_read_only_cache_warns_and_returns_the_images(tmp_path, write_image, cache,
                                                                     read_only, capsys):
    paths = _two_images(tmp_path, write_image)
    cache.mkdir()
    attempts = read_only(cache)
    out = data.load_gray(paths, 8, progress=False)
    assert out.shape == (2, 8, 8) and attempts
    err = capsys.readouterr().err
    assert err.startswith("warning: decoded images not stored in") and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# Issue 24: metadata chunks, NUL bytes and Windows paths


def _png_with_text(n_bytes: int) -> bytes:
    """A valid 8x8 PNG with a tEXt chunk of n_bytes (correct CRC) before its pixel data."""
    import io
    import struct
    import zlib

    buf = io.BytesIO()
    Image.new("L", (8, 8), 50).save(buf, "PNG")
    png = buf.getvalue()
    body = b"tEXt" + b"Comment\0" + b"A" * (n_bytes - 8)
    text = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return png[:33] + text + png[33:]


def test_open_image_refuses_a_png_with_an_oversized_text_chunk_before_pillow_reads_it(
        monkeypatch):
    monkeypatch.setattr(data, "MAX_PNG_CHUNK", 2**16)
    assert data.open_image(_png_with_text(2**15), "small.png").size == (8, 8)
    with pytest.raises(DataError, match="big.png: refused, the PNG holds a 'tEXt' chunk of 131,072"):
        data.open_image(_png_with_text(2**17), "big.png")


@pytest.mark.parametrize("file", ["images/covid/a\0b.png", "images\\covid\\a.png",
                                  "C:\\data\\a.png", "C:/data/a.png"])
def test_manifest_path_refuses_nul_bytes_and_windows_paths_naming_the_row(tmp_path, file):
    with pytest.raises(DataError) as caught:
        data.manifest_path(tmp_path, file)
    message = str(caught.value)
    assert message.startswith(repr(file))
    assert ("NUL byte" in message) if "\0" in file else ("use '/'" in message)


# ---------------------------------------------------------------------------------------------
# The Data chapter's tables and values (issue 23: computed here, the chapter only glues)


def _manifest(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """A manifest-like frame: (label, dataset, source_repo) per image."""
    return pd.DataFrame([{"label": lab, "dataset": ds, "source_repo": repo, "file": f"images/{lab}/{i}.png",
                          "group": f"g{i // 2}"} for i, (lab, ds, repo) in enumerate(rows)])


def test_composition_table_counts_each_class_beside_the_papers_and_totals_them():
    main = _manifest([("covid", "a", "r")] * 3 + [("viral_pneumonia", "a", "r")] * 5 + [("normal", "a", "r")] * 4)
    comp = main.iloc[[0, 1, 3, 4, 8]]
    values, table = data.composition_table(main, comp)
    assert values == {"n_main": "12", "n_covid_all": "3", "n_vp_all": "5", "n_normal_all": "4",
                      "n_covid": "2", "n_vp": "2", "n_normal": "1", "n_comp": "5"}
    assert list(table.index) == ["COVID-19", "viral pneumonia", "normal", "total"]
    assert table.loc["total"].tolist() == [1389, 12, 5]
    assert table.loc["COVID-19", "paper (used)"] == 289


def test_by_source_counts_classes_per_data_set_with_readers_names_and_zero_for_absent_classes():
    df = _manifest([("covid", "covid19-radiography-database-v4", "x/y")] * 2
                   + [("normal", "kermany-cxr-pneumonia-train", "u/v")])
    table = data.by_source(df)
    assert table.index.names == ["data set", "downloaded from"]
    assert table.loc[("COVID-19 Radiography Database (v4)", "x/y")].tolist() == [2, 0, 0]
    flat = data.by_source(df, repository=False)
    assert flat.index.name == "origin" and list(flat.columns) == ["COVID-19", "viral pneumonia", "normal"]


def test_cue_examples_take_the_same_position_in_every_class_and_count_patient_groups():
    comp = _manifest([(c, "a", "r") for c in config.CLASSES for _ in range(4)])
    values, examples = data.cue_examples(comp, position=3)
    assert values == {"n_groups": "6"}
    assert examples["label"].tolist() == list(config.CLASSES)
    assert examples.index.tolist() == [3, 7, 11]
    assert data.examples_text(examples).splitlines()[0] == "COVID-19: images/covid/3.png (source a)"
