"""Shared fixtures: tiny images made in the test, tiny data folders, and the real data set (read once)."""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def real_root() -> Path:
    try:
        return config.data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"real data set not available: {exc}")


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
