"""The run store: trained weights, histories and predictions under one ignored folder.

A run is written to a temporary folder and renamed into place only when complete, with a
checksum list; a run whose files are missing or altered is reported and redone, never half-used.

Pinned runs: trained weights differ from CPU to CPU (oneDNN and Eigen pick kernels and block sizes
by instruction set and cache size), so the quick profile's runs that the chapters show are kept in
the repository under records/runs/ (same layout). A run missing from the cache is loaded from there
when an intact copy exists, so every machine prints the same book; XRAYLIB_PINNED=0 turns this off
and trains instead (tests/test_seed_spread.py retrains and checks the result against the seed spread).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .config import cache_dir, project_root
from .backend import keras

CHECKSUMS = "checksums.json"
PINNED_ENV = "XRAYLIB_PINNED"


def pinned_dir() -> Path:
    """Where the repository keeps pinned runs (records/runs)."""
    return project_root() / "records" / "runs"


def find_run(path: Path) -> Path:
    """The intact stored copy of the run at `path`: the cache's, else a pinned one, else `path`."""
    if check_run(path) is None or os.environ.get(PINNED_ENV, "1") == "0":
        return path
    pinned = pinned_dir() / path.name
    return pinned if check_run(pinned) is None else path


def run_key(*parts) -> str:
    """A short stable hash of the things that decide a run (config, data, split)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_dir(name: str, key: str) -> Path:
    return cache_dir() / "runs" / f"{name}-{key}"


def mark_latest(path: Path) -> None:
    """Record `path` (in the cache or pinned) as the newest run of its name (`<name>.latest`)."""
    name = path.name.rsplit("-", 1)[0]
    folder = cache_dir() / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.latest").write_text(path.name)


def latest(name: str) -> Path | None:
    """The run last marked for `name` (e.g. 'initial-quick'), or None."""
    pointer = cache_dir() / "runs" / f"{name}.latest"
    return find_run(pointer.parent / pointer.read_text().strip()) if pointer.exists() else None


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_run(path: Path, model: keras.Model, history: pd.DataFrame, arrays: dict[str, np.ndarray],
             meta: dict) -> None:
    """Write a complete run atomically: files first, checksums last, then one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", suffix=".partial", dir=path.parent))
    model.save(tmp / "model.keras")
    history.to_csv(tmp / "history.csv", index=False)
    np.savez(tmp / "arrays.npz", **arrays)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    sums = {p.name: _sha(p) for p in sorted(tmp.iterdir())}
    (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=2))
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)


def check_run(path: Path) -> str | None:
    """None if the stored run is complete and intact, else what is wrong with it."""
    if not path.is_dir():
        return "not stored"
    sums_file = path / CHECKSUMS
    if not sums_file.exists():
        return "incomplete (no checksum list)"
    try:
        sums = json.loads(sums_file.read_text())
    except json.JSONDecodeError:
        return "checksum list is corrupt"
    for name in ("model.keras", "history.csv", "arrays.npz", "meta.json"):
        if name not in sums:
            return f"{name} missing from checksum list"
    for name, digest in sums.items():
        file = path / name
        if not file.exists():
            return f"{name} is missing"
        if _sha(file) != digest:
            return f"{name} is truncated or altered"
    return None


def load_run(path: Path) -> tuple[keras.Model, pd.DataFrame, dict[str, np.ndarray], dict]:
    """Model (safe mode), history, arrays and metadata of an intact run."""
    problem = check_run(path)
    if problem:
        raise FileNotFoundError(f"stored run {path} is {problem}; rerun to recreate it")
    model = keras.saving.load_model(path / "model.keras", safe_mode=True, compile=False)
    history = pd.read_csv(path / "history.csv")
    with np.load(path / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads((path / "meta.json").read_text())
    return model, history, arrays, meta
