"""Reading the data: manifest, validation, decoding with a cache, the paper's composition.

Used by chapter 1 (Data) and by every later stage that needs pixels.
"""
from __future__ import annotations

import hashlib
import io
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from .config import CLASSES, Profile, cache_dir, data_dir

MANIFEST_COLUMNS = ("file", "label")
DECODER_VERSION = "1"  # bump when decode_gray changes, so cached arrays are rebuilt


class DataError(ValueError):
    """A problem with the data folder or one of its files; the message names the file and the fix."""


def load_manifest(root: str | Path) -> pd.DataFrame:
    """Rows of (file, label, ...) for a data folder: its manifest.csv, else images/<label>/*."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist: set $XRAYLIB_DATA or pass --data")
    manifest = root / "manifest.csv"
    if manifest.exists():
        df = pd.read_csv(manifest, dtype=str, keep_default_na=False)
        missing = [c for c in MANIFEST_COLUMNS if c not in df.columns]
        if missing:
            raise DataError(f"{manifest}: missing column(s) {missing}; expected at least "
                            f"{list(MANIFEST_COLUMNS)}")
    else:
        rows = []
        for label in CLASSES:
            folder = root / "images" / label
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"no class folder '{label}' under {root}: expected images/<label>/*.png "
                    f"(labels {', '.join(CLASSES)}) or a manifest.csv")
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
                    rows.append({"file": f"images/{label}/{path.name}", "label": label})
        df = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    for column in ("patient_id", "dataset", "sha256"):
        if column not in df.columns:
            df[column] = ""
    df.attrs["root"] = str(root.resolve())
    return df.reset_index(drop=True)


def validate_manifest(df: pd.DataFrame, check_sha256: bool = False) -> list[str]:
    """Every problem found (unknown label, missing file, path escaping the folder, bad hash)."""
    root = Path(df.attrs["root"])
    problems = []
    for row in df.itertuples():
        if row.label not in CLASSES:
            problems.append(f"{row.file}: unknown label {row.label!r} (expected one of "
                            f"{', '.join(CLASSES)})")
        path = (root / row.file).resolve()
        if not path.is_relative_to(root):
            problems.append(f"{row.file}: path points outside the data folder {root}; "
                            f"manifest paths must be relative and stay inside it")
            continue
        if not path.is_file():
            problems.append(f"{path}: listed in the manifest but not found")
            continue
        if check_sha256 and row.sha256:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != row.sha256:
                problems.append(f"{path}: sha256 {digest[:12]}... does not match the manifest's "
                                f"{row.sha256[:12]}...; re-download the file")
    return problems


def read_dataset(root: str | Path, check_sha256: bool = False) -> pd.DataFrame:
    """A validated manifest: raises DataError listing every bad row, so nothing is skipped silently."""
    df = load_manifest(root)
    problems = validate_manifest(df, check_sha256=check_sha256)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(f"{len(problems)} problem(s) in {df.attrs['root']}:\n  {shown}{more}")
    df["path"] = [str(Path(df.attrs["root"]) / f) for f in df["file"]]
    df["group"] = [p if p else f"file:{f}" for p, f in zip(df["patient_id"], df["file"])]
    return df


def decode_gray(source: str | Path | bytes, size: int) -> np.ndarray:
    """Any PNG/JPEG (8/16-bit, gray/RGB/RGBA) as a size x size uint8 gray image."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        if not data:
            raise DataError(f"{name}: file is empty (0 bytes); replace it with a valid PNG or JPEG")
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            gray = to_gray_float(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        reason = "not a recognised image format" if isinstance(exc, UnidentifiedImageError) else exc
        raise DataError(f"{name}: cannot decode as PNG or JPEG ({reason}); the file is corrupt or "
                        f"not an image: replace it or remove it from the manifest") from None
    resized = Image.fromarray(gray, mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.clip(np.rint(np.asarray(resized)), 0, 255).astype(np.uint8)


def to_gray_float(img: Image.Image) -> np.ndarray:
    """Gray in [0, 255] as float32: 16-bit min-max scaled, alpha composited on black."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        return (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:] / 255.0
        rgb = (rgba[..., :3] * alpha).round().astype(np.uint8)
        return np.asarray(Image.fromarray(rgb, "RGB").convert("L"), dtype=np.float32)
    return np.asarray(img.convert("L"), dtype=np.float32)


def to_model_input(gray: np.ndarray) -> np.ndarray:
    """uint8 gray (N, H, W) to the model's float32 (N, H, W, 3) in [0, 1]: the paper's 3 channels."""
    x = gray.astype(np.float32) / 255.0
    return np.repeat(x[..., None], 3, axis=-1)


def load_gray(paths: list[str], size: int, progress: bool = True) -> np.ndarray:
    """Decoded (N, size, size) uint8 for these files, from the cache keyed by content and size."""
    contents = [Path(p).read_bytes() for p in paths]
    key = hashlib.sha256(f"v{DECODER_VERSION}:{size}:".encode())
    for data in contents:
        key.update(hashlib.sha256(data).digest())
    cached = cache_dir() / "decoded" / f"{key.hexdigest()[:24]}.npy"
    if cached.exists():
        try:
            arr = np.load(cached)
            if arr.shape == (len(paths), size, size):
                return arr
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    arr = np.empty((len(paths), size, size), np.uint8)

    def work(i: int) -> None:
        try:
            arr[i] = decode_gray(contents[i], size)
        except DataError as exc:
            raise DataError(str(exc).replace("<bytes>", str(paths[i]))) from None

    with ThreadPoolExecutor(max_workers=4) as pool:
        for n, _ in enumerate(pool.map(work, range(len(paths))), 1):
            if progress and sys.stderr.isatty() and (n % 500 == 0 or n == len(paths)):
                print(f"\rdecoding {n}/{len(paths)}", end="", file=sys.stderr, flush=True)
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(cached)
    return arr


def load_images(df: pd.DataFrame, size: int) -> np.ndarray:
    """Model-ready (N, size, size, 3) float32 images for the rows of a dataset."""
    return to_model_input(load_gray(list(df["path"]), size))


def labels_of(df: pd.DataFrame) -> np.ndarray:
    """Integer class indices in CLASSES order."""
    return df["label"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()


def source_index(file: str) -> int:
    """The number in a source file name (COVID-17 -> 17), used to take the oldest COVID first."""
    digits = "".join(ch if ch.isdigit() else " " for ch in Path(file).stem).split()
    return int(digits[-1]) if digits else 0


def paper_composition(df: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """The paper's 289 / 550 / 550: lowest COVID indices first, a seeded sample of the others."""
    rng = np.random.default_rng(profile.seed)
    parts = []
    for label, n in profile.composition:
        rows = df[df["label"] == label]
        if len(rows) < n:
            raise DataError(f"class {label!r} has {len(rows)} images in {df.attrs.get('root')}, "
                            f"the paper's composition needs {n}")
        if label == "covid":
            order = np.argsort([source_index(f) for f in rows["file"]], kind="stable")
            parts.append(rows.iloc[order[:n]])
        else:
            parts.append(rows.iloc[np.sort(rng.choice(len(rows), n, replace=False))])
    out = pd.concat(parts).reset_index(drop=True)
    out.attrs.update(df.attrs)
    return out


def composition(profile: Profile, data: str | Path | None = None) -> pd.DataFrame:
    """The validated main set reduced to the paper's 289 / 550 / 550 (data: folder or the default)."""
    return paper_composition(read_dataset(data_dir(data)), profile)


def resize_gray(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize a uint8 batch as decode_gray does, for transforms that must run at native size."""
    out = np.empty((len(gray), size, size), np.uint8)
    for i, img in enumerate(gray):
        small = Image.fromarray(img.astype(np.float32), mode="F").resize(
            (size, size), Image.Resampling.BILINEAR)
        out[i] = np.clip(np.rint(np.asarray(small)), 0, 255)
    return out
