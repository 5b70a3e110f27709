"""Shared fixtures: tiny images made in the test, tiny data folders, and the real data set (read once).

Tests that need the real data take `real_root` / `real_external` (or a fixture built on them).
Without the data they are skipped and the run ends with one line naming them and how to get the
data; where the data are expected (CI=true, or XRAYLIB_REQUIRE_DATA=1) missing data fails them.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xraylib import config, data


def save_image(path: Path, array: np.ndarray, mode: str | None = None, fmt: str | None = None,
               **save_kw) -> Path:
    """Write `array` as an image file (format from the suffix unless `fmt`), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(array, mode) if mode else Image.fromarray(array)
    img.save(path, fmt, **save_kw)
    return path


def write_class_folder(root: Path, per_class: int) -> Path:
    """A data folder of `per_class` 8x8 gray PNGs per class (brightness by class) and its manifest."""
    rows = []
    for k, label in enumerate(config.CLASSES):
        for i in range(per_class):
            file = f"images/{label}/{label}-{i}.png"
            save_image(root / file, np.full((8, 8), 60 * k + i, np.uint8))
            rows.append({"file": file, "label": label})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root


@pytest.fixture(scope="session")
def class_folder():
    """write_class_folder, for fixtures of any scope (training tests over a tiny data set)."""
    return write_class_folder


@pytest.fixture
def write_image():
    """save_image, as a fixture so test modules need not import conftest."""
    return save_image


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private $XRAYLIB_CACHE, so tests that decode never touch the project's .cache/."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(config.CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def make_root(tmp_path):
    """Build a data folder with a manifest.csv: make_root([{'file': ..., 'label': ...}, ...]).

    Every listed file that stays inside the folder is written as a small gray PNG unless the row
    says `write=False`; extra keys (sha256, patient_id) go into the manifest.
    """
    def build(rows: list[dict], name: str = "root") -> Path:
        root = tmp_path / name
        root.mkdir()
        table = []
        for i, row in enumerate(rows):
            row = dict(row)
            write = row.pop("write", True)
            target = (root / row["file"]).resolve()
            if write and target.is_relative_to(root.resolve()):
                save_image(target, np.full((8, 8), 10 * i, np.uint8))
            table.append(row)
        pd.DataFrame(table).to_csv(root / "manifest.csv", index=False)
        return root
    return build


DATA_REQUIRED_ENV = "XRAYLIB_REQUIRE_DATA"
DATA_NOTE_ENV = "XRAYLIB_DATA_NOTE"  # a file to which the closing line is also written (make test)
NEEDS_DATA = "needs the data"


def data_required() -> bool:
    """CI has the data: there (CI=true, or XRAYLIB_REQUIRE_DATA=1) missing data is an error."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes")
               for name in ("CI", DATA_REQUIRED_ENV))


def missing_data(what: str, exc: Exception):
    """Skip a test for want of the data, or fail it where the data are expected, never a silent pass."""
    if data_required():
        pytest.fail(f"{what} expected here (CI or ${DATA_REQUIRED_ENV} is set) but not found: {exc}",
                    pytrace=False)
    pytest.skip(f"{NEEDS_DATA}: {exc}")


def data_note(skipped: int, files: list[str]) -> str:
    """The closing line of a run without the data: which tests need it and how to get it."""
    return (f"{skipped} test(s) need the data and were skipped ({', '.join(files)}): get it with "
            f"`.venv/bin/xraylib data import ARCHIVE...` (README 'Data' lists the archives) or set "
            f"$XRAYLIB_DATA / $XRAYLIB_EXTERNAL; CI runs them all")


def pytest_unconfigure(config) -> None:
    """End the run (after pytest's counts) with the data note when tests were skipped for want of it."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    skipped = [r for r in (reporter.stats.get("skipped", []) if reporter else [])
               if NEEDS_DATA in str(getattr(r, "longrepr", ""))]
    if not skipped:
        return
    line = data_note(len(skipped), sorted({r.nodeid.split("::")[0] for r in skipped}))
    reporter.write_line(line, yellow=True, bold=True)
    if os.environ.get(DATA_NOTE_ENV):
        Path(os.environ[DATA_NOTE_ENV]).write_text(line + "\n")


def _data_folder(find, what: str) -> Path:
    """A real data folder; skipped (failed in CI) when there is none."""
    try:
        return find()
    except FileNotFoundError as exc:
        error = exc
    missing_data(what, error)  # outside `except`: one message, no chained traceback


@pytest.fixture(scope="session")
def real_root() -> Path:
    """The main data folder."""
    return _data_folder(config.data_dir, "the main data set")


@pytest.fixture(scope="session")
def real_external() -> Path:
    """The external-validation folder."""
    return _data_folder(config.external_dir, "the external set")


@pytest.fixture(scope="session")
def real_controls() -> Path:
    """The control films' folder (evaluation only)."""
    return _data_folder(config.controls_dir, "the control films")


@pytest.fixture(scope="session")
def real_df(real_root) -> pd.DataFrame:
    """read_dataset on the real folder, once per session; tests must not modify it."""
    return data.read_dataset(real_root)


@pytest.fixture(scope="session")
def paper() -> config.Profile:
    return config.get_profile("paper")


@pytest.fixture(scope="session")
def real_comp(real_df, paper) -> pd.DataFrame:
    """The paper's 289 / 550 / 550 composition of the real data set."""
    return data.paper_composition(real_df, paper)


# ---------------------------------------------------------------------------------------------
# Hostile files and faults (issue 16): a bomb, a guard against hangs, a read-only folder


@pytest.fixture(scope="session")
def bomb_png(tmp_path_factory) -> Path:
    """A decompression bomb: a 388 KB PNG of 20000 x 20000 pixels (400 MB decoded), made once."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("L", (20000, 20000)).save(path)
    return path


@pytest.fixture
def no_hang():
    """no_hang(fn, *args): fn's result, failing the test (not hanging it) if it runs past 20 s.

    It runs in a daemon thread, so a read blocked on a FIFO cannot keep pytest from exiting.
    """
    def run(fn, *args, seconds: float = 20):
        box = {}

        def target():
            try:
                box["value"] = fn(*args)
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            pytest.fail(f"{getattr(fn, '__name__', fn)} still running after {seconds} s: it hangs")
        if "error" in box:
            raise box["error"]
        return box.get("value")
    return run


@pytest.fixture
def reads_cannot_hang(monkeypatch, no_hang):
    """Every image read (data.read_file, where a file is opened) under no_hang: a read that blocks
    fails the test at once, and the rest of a command runs unguarded, however busy the machine."""
    real = data.read_file
    monkeypatch.setattr(data, "read_file", lambda *args, **kwargs: no_hang(lambda: real(*args, **kwargs)))


KNOWN_STDERR = ("oneDNN custom operations are on", "Unable to register cu", "TF-TRT Warning",
                "absl::InitializeLog", "cpu_feature_guard", "This TensorFlow binary is optimized",
                "To enable the following instructions", "Could not find cuda drivers")
"""Lines a TensorFlow start-up may print however the package keeps its own stderr quiet."""


def unexpected_stderr(text: str) -> list[str]:
    """The lines of `text` that are not known start-up noise (KNOWN_STDERR)."""
    return [line for line in text.splitlines() if line.strip() and not any(k in line for k in KNOWN_STDERR)]


@pytest.fixture
def read_only(monkeypatch):
    """read_only(folder) makes every write under `folder` fail with EROFS, as on a read-only
    mount, and returns the list of the writes tried (so a test can also require none at all).

    Tests run as root, where chmod does not stop writes: so writes are refused here instead, at
    the calls that Python, pathlib, tempfile and NumPy write through (open, os.open, os.replace,
    os.rename, os.mkdir, os.unlink, os.remove, os.rmdir).
    """
    def guard(folder: Path) -> list[tuple[str, str]]:
        roots = {os.path.abspath(folder), os.path.realpath(folder)}
        attempts: list[tuple[str, str]] = []

        def under(path) -> bool:
            if not isinstance(path, (str, bytes, os.PathLike)):
                return False  # a file descriptor or a file object
            full = os.path.abspath(os.fsdecode(path))
            return any(full == r or full.startswith(r + os.sep) for r in roots)

        def refuse(what: str, path) -> None:
            attempts.append((what, os.fsdecode(path)))
            raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))

        real_open, real_os_open = builtins.open, os.open

        def fake_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and under(file):
                refuse("open", file)
            return real_open(file, mode, *args, **kwargs)

        def fake_os_open(path, flags, *args, **kwargs):
            writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
            if flags & writes and under(path):
                refuse("os.open", path)
            return real_os_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        for name in ("replace", "rename", "mkdir", "unlink", "remove", "rmdir"):
            def fake(path, *args, _real=getattr(os, name), _name=name, **kwargs):  # noqa: B008 (bound per loop turn on purpose)
                if _name == "mkdir" and os.path.lexists(path):  # EEXIST comes before EROFS
                    raise FileExistsError(errno.EEXIST, "File exists", os.fsdecode(path))
                if under(path) or (args and under(args[0])):
                    refuse(f"os.{_name}", path)
                return _real(path, *args, **kwargs)
            monkeypatch.setattr(os, name, fake)
        return attempts
    return guard
