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
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .backend import keras
from .config import cache_dir, project_root

CHECKSUMS = "checksums.json"
RUN_FILES = ("model.keras", "history.csv", "arrays.npz", "meta.json")
PINNED_ENV = "XRAYLIB_PINNED"
STALE_PARTIAL_S = 3600  # a save takes seconds: a `.partial` this old belongs to a killed one
MAX_ARRAY_BYTES = 64 * 2**20  # one stored array read by `read_arrays` (689 x 3 float32 is 8 KB)


class RunDamaged(FileNotFoundError):
    """A stored run that exists but cannot be used (a file missing, altered or unloadable); the
    message names the run and the problem. A FileNotFoundError, as a run that is not stored."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"stored run {path}: {problem}; the command that made it (e.g. "
                         f"`xraylib train`) trains it again")
        self.path, self.problem = path, problem


def pinned_dir() -> Path:
    """Where the repository keeps pinned runs (records/runs)."""
    return project_root() / "records" / "runs"


def find_run(path: Path) -> Path:
    """The intact stored copy of the run at `path`: the cache's, else a pinned one, else `path`."""
    if check_run(path) is None or os.environ.get(PINNED_ENV, "1") == "0":
        return path
    pinned = pinned_dir() / path.name
    return pinned if check_run(pinned) is None else path


def stored_copies(path: Path) -> list[tuple[Path, str | None]]:
    """Every stored copy of the run at `path`, best first (the cache's, then the pinned one unless
    XRAYLIB_PINNED=0), each with what is wrong with it (None: intact), so a caller can report a
    damaged copy and fall back to the next."""
    candidates = [path]
    if os.environ.get(PINNED_ENV, "1") != "0":
        candidates.append(pinned_dir() / path.name)
    return [(p, check_run(p)) for p in candidates if p.is_dir()]


def run_key(*parts) -> str:
    """A short stable hash of the things that decide a run (config, data, split)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_dir(name: str, key: str) -> Path:
    return cache_dir() / "runs" / f"{name}-{key}"


def _plain_name(name: object) -> bool:
    """A bare file name (no folder, no '..'): what a checksum list or a pointer may name."""
    return isinstance(name, str) and name not in ("", ".", "..") and name == Path(name).name


def _read_pointer(pointer: Path) -> str | None:
    """The run name a `.latest` pointer holds, or None when it is absent, unreadable or odd."""
    try:
        if not pointer.is_file() or pointer.stat().st_size > 4096:
            return None
        name = pointer.read_text().strip()
    except (OSError, ValueError):
        return None
    return name if _plain_name(name) else None


def mark_latest(path: Path) -> bool:
    """Record `path` (in the cache or pinned) as the newest run of its name (`<name>.latest`).

    Nothing is written when the pointer already says so, so loading a marked run writes nothing;
    otherwise the pointer is replaced atomically (a reader never sees it empty). A cache that
    cannot be written is reported in one line and False returned: the run itself is still usable.
    """
    name = path.name.rsplit("-", 1)[0]
    folder = cache_dir() / "runs"
    pointer = folder / f"{name}.latest"
    if _read_pointer(pointer) == path.name:
        return True
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{pointer.name}.{os.getpid()}.partial"
        tmp.write_text(path.name)
        os.replace(tmp, pointer)
    except OSError as exc:
        print(f"warning: cannot mark {path.name} as the latest '{name}' run in {folder} "
              f"({exc.strerror or exc}); it is used now but not remembered as the latest",
              file=sys.stderr)
        return False
    return True


def latest(name: str) -> Path | None:
    """The run last marked for `name` (e.g. 'initial-quick'), or None."""
    pointer = cache_dir() / "runs" / f"{name}.latest"
    target = _read_pointer(pointer)
    return find_run(pointer.parent / target) if target else None


def _sha(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def clean_partials(folder: Path, older_than: float = STALE_PARTIAL_S) -> list[Path]:
    """Remove the `.partial` leftovers of saves that were killed (older than any save takes)."""
    removed = []
    for leftover in folder.glob("*.partial"):
        try:
            if time.time() - leftover.lstat().st_mtime < older_than:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            removed.append(leftover)
        except OSError:
            continue  # another process removed it, or it is not ours to remove
    return removed


def save_run(path: Path, model: keras.Model, history: pd.DataFrame, arrays: dict[str, np.ndarray],
             meta: dict) -> None:
    """Write a complete run atomically: files first, checksums last, then one rename (an older
    run in the same place is moved aside first and removed after). Stale `.partial` folders of
    killed saves are cleaned on the way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_partials(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", suffix=".partial", dir=path.parent))
    model.save(tmp / "model.keras")
    history.to_csv(tmp / "history.csv", index=False)
    np.savez(tmp / "arrays.npz", **arrays)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    sums = {p.name: _sha(p) for p in sorted(tmp.iterdir())}
    (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=2))
    old = None
    if os.path.lexists(path):
        old = path.with_name(f"{path.name}.{os.getpid()}.old.partial")
        os.rename(path, old)
    os.rename(tmp, path)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()


def _read_checksums(sums_file: Path) -> dict[str, str] | None:
    """The checksum list as {file name: sha256}, or None when unreadable or malformed."""
    try:
        if not sums_file.is_file() or sums_file.stat().st_size > 2**20:
            return None
        sums = json.loads(sums_file.read_bytes())
    except (OSError, ValueError):  # unreadable, not UTF-8, not JSON
        return None
    if not isinstance(sums, dict) or not all(
            _plain_name(k) and isinstance(v, str) for k, v in sums.items()):
        return None
    return sums


def check_run(path: Path) -> str | None:
    """None if the stored run is complete and intact, else what is wrong with it. Only reads."""
    if not path.is_dir():
        return "not stored"
    sums_file = path / CHECKSUMS
    if not os.path.lexists(sums_file):
        return "incomplete (no checksum list)"
    sums = _read_checksums(sums_file)
    if sums is None:
        return "checksum list is corrupt"
    for name in RUN_FILES:
        if name not in sums:
            return f"{name} missing from checksum list"
    for name, digest in sums.items():
        file = path / name
        if not file.is_file():
            return (f"{name} is not a regular file" if os.path.lexists(file)
                    else f"{name} is missing")
        try:
            if _sha(file) != digest:
                return f"{name} is truncated or altered"
        except OSError as exc:
            return f"{name} is unreadable ({exc.strerror or exc})"
    return None


def load_run(path: Path, model: bool = True, arrays: bool = True
             ) -> tuple[keras.Model | None, pd.DataFrame, dict[str, np.ndarray], dict]:
    """Model (safe mode; None with model=False, for readers of predictions), history, arrays
    ({} with arrays=False, for callers that need only the network) and metadata of an intact
    run; writes nothing.

    A run that fails its checks, or whose files pass them but do not load (altered with their
    checksums recomputed), raises RunDamaged naming it.
    """
    problem = check_run(path)
    if problem == "not stored":
        raise FileNotFoundError(f"stored run {path}: not stored; the command that makes it "
                                f"(e.g. `xraylib train`) trains it")
    if problem:
        raise RunDamaged(path, problem)
    try:
        net = keras.saving.load_model(path / "model.keras", safe_mode=True, compile=False) if model else None
        history = pd.read_csv(path / "history.csv")
        if arrays:
            with np.load(path / "arrays.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        else:
            arrays = {}
        meta = json.loads((path / "meta.json").read_text())
        if not isinstance(meta, dict):
            raise ValueError("meta.json does not hold an object")
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise RunDamaged(path, f"does not load ({reason})") from None
    return net, history, arrays, meta


def read_arrays(path: Path, names: tuple[str, ...], limit: int = MAX_ARRAY_BYTES
                ) -> dict[str, np.ndarray]:
    """Only the named arrays of a run's arrays.npz, each refused (RunDamaged) when its member
    declares more than `limit` bytes, so a planted or inflated member is never read."""
    try:
        with np.load(path / "arrays.npz", allow_pickle=False) as z:
            out = {}
            for name in names:
                size = z.zip.getinfo(f"{name}.npy").file_size
                if size > limit:
                    raise RunDamaged(path, f"arrays.npz member {name}.npy declares {size:,} bytes, "
                                           f"over the {limit:,}-byte limit")
                out[name] = z[name]
    except RunDamaged:
        raise
    except Exception as exc:  # missing member, not an npz, damaged data
        raise RunDamaged(path, f"arrays.npz does not load ({type(exc).__name__}: {exc})") from None
    return out
