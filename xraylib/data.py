"""Reading the data: manifest, validation, decoding with a cache, the paper's composition.

Every image any command reads goes through one safe path: `manifest_path` (a manifest row stays inside its data folder),
`read_file` (a regular file of bounded size, read without blocking) and `open_image` (PNG or
JPEG of bounded pixel count, decoded in full), so no file can hang or exhaust the machine.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from . import paper
from .config import CLASS_NAMES, CLASSES, Profile, cache_dir, data_dir
from .reserved import reserved_problems

MANIFEST_COLUMNS = ("file", "label")
DECODER_VERSION = "1"  # bump when decode_gray changes, so cached arrays are rebuilt
IMAGE_FORMATS = ("PNG", "JPEG")
MAX_FILE_BYTES = 128 * 2**20  # one image file: a 16-bit 40-megapixel PNG stays below this
MAX_MANIFEST_BYTES = 64 * 2**20
MAX_PIXELS = 40_000_000  # twice a full-field digital chest detector (43 x 43 cm at 0.1 mm)
MAX_PNG_CHUNK = 4 * 2**20  # a PNG chunk other than pixel data (text, ICC profile): Pillow reads
# each whole before its own text limits apply, so a 100 MB text chunk would cost 100s of MB
MAX_PNG_CHUNKS = 200_000  # chunks walked per file (a 128 MB PNG in 8 KB IDAT chunks has 16,000)
RESERVED_DATASETS = ("overall", "unreadable", "network")  # the evaluate report's own keys
DECODE_WORKERS = 4


DATASET_NAMES = {
    "covid19-radiography-database-v4": "COVID-19 Radiography Database (v4)",
    "kermany-cxr-pneumonia-train": "Kermany et al., training split (children, Guangzhou)",
    "hannover-mhh-covid-19-image-repository": "COVID-19, adults (Hannover Medical School)",
    "ieee8023-covid-chestxray-dataset": "viral pneumonia, adults (Cohen et al. collection)",
    "kermany-cxr-pneumonia-test": "children, same hospital (Kermany test split)",
    "nih-chestxray14-no-finding": "adult normals (NIH ChestX-ray14)",
}
"""Reader-facing names of the manifests' `dataset` values (the sources of the two folders)."""


class DataError(ValueError):
    """A problem with the data folder or one of its files; the message names the file and the fix."""


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words, for messages."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def _a(what: str) -> str:
    """'a manifest', 'an image file': the article, for messages."""
    return ("an " if what[0] in "aeiou" else "a ") + what


def _os_reason(exc: OSError) -> str:
    """Why the system refused a file, in words (a symlink loop says so)."""
    return "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))


def check_file(path: str | Path, limit: int = MAX_FILE_BYTES, what: str = "image file"
               ) -> os.stat_result:
    """The stat of a regular file of at most `limit` bytes: FIFOs, devices, sockets, folders,
    symlink loops and oversized files are refused (DataError naming the file), as they could hang
    a read or exhaust memory."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: is {_kind(st.st_mode)}, not {_a(what)}")
    if st.st_size > limit:
        raise DataError(f"{path}: {st.st_size:,} bytes is over the {limit:,}-byte limit for "
                        f"{_a(what)}; replace it with a smaller one")
    return st


def read_file(path: str | Path, limit: int = MAX_FILE_BYTES, what: str = "image file") -> bytes:
    """The bytes of one regular file (check_file), opened without blocking and read up to `limit`,
    so a file swapped for a FIFO or a growing file between the check and the read cannot hang."""
    check_file(path, limit, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({_os_reason(exc)})") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"{path}: is {_kind(mode)}, not {_a(what)}")
        blob = f.read(limit + 1)
    if len(blob) > limit:
        raise DataError(f"{path}: over the {limit:,}-byte limit for {_a(what)}; replace it "
                        f"with a smaller one")
    return blob


def _png_chunk_problem(blob: bytes) -> str | None:
    """What is wrong with a PNG's chunk list before Pillow reads it (a chunk other than pixel
    data over MAX_PNG_CHUNK, or too many chunks), or None; only the headers are read."""
    if not blob.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, n = 8, 0
    while pos + 8 <= len(blob):
        length, kind = struct.unpack_from(">I4s", blob, pos)
        if kind != b"IDAT" and length > MAX_PNG_CHUNK:
            return (f"a {kind.decode('latin-1')!r} chunk of {length:,} bytes (the limit for a PNG "
                    f"chunk other than pixel data is {MAX_PNG_CHUNK:,})")
        n += 1
        if n > MAX_PNG_CHUNKS or kind == b"IEND":
            return f"over {MAX_PNG_CHUNKS:,} chunks" if kind != b"IEND" else None
        pos += 12 + length
    return None


def open_image(blob: bytes, name: str) -> Image.Image:
    """The fully decoded PNG or JPEG in `blob`: empty, damaged, other formats, images over
    MAX_PIXELS (decompression bombs) and PNGs with oversized text or other metadata chunks are a
    DataError naming `name`, never a crash."""
    if not blob:
        raise DataError(f"{name}: file is empty (0 bytes); replace it with a valid PNG or JPEG")
    chunk = _png_chunk_problem(blob)
    if chunk:
        raise DataError(f"{name}: refused, the PNG holds {chunk}; replace it with a PNG without "
                        f"that metadata")
    try:
        img = Image.open(io.BytesIO(blob), formats=IMAGE_FORMATS)
        width, height = img.size
        if width * height <= MAX_PIXELS:
            img.load()
    except Image.DecompressionBombError as exc:
        raise DataError(f"{name}: {str(exc).split(',')[0]}: refused as a possible decompression "
                        f"bomb; replace it") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = ("not a PNG or JPEG image" if isinstance(exc, UnidentifiedImageError)
                  else f"{type(exc).__name__}: {exc}")
        raise DataError(f"{name}: cannot be decoded ({reason}); the file is damaged or not an "
                        f"image: replace it with a valid PNG or JPEG") from None
    if width * height > MAX_PIXELS:
        raise DataError(f"{name}: {width}x{height} pixels is over the limit of {MAX_PIXELS:,} "
                        f"(a decompression bomb, or not a chest film); replace it")
    return img


def manifest_path(root: Path, file: str) -> Path:
    """The file a manifest row names, which must be a relative path that stays inside the data
    folder: absolute paths, '..' and symlinks leading out are refused (DataError), so a manifest
    can never make a command read /dev/zero or another folder's images."""
    fix = f"manifest paths must be relative to the data folder {root} and stay inside it"
    if not file.strip():
        raise DataError(f"manifest row with an empty file name: {fix}")
    if "\x00" in file:
        raise DataError(f"{file!r}: the manifest row's file name holds a NUL byte; {fix} and "
                        f"name a file (remove the NUL)")
    if "\\" in file or re.match(r"^[A-Za-z]:", file):
        raise DataError(f"{file!r}: the manifest row's file name is a Windows path; manifest paths "
                        f"use '/' (e.g. images/covid/a.png), not Windows paths: {fix}")
    if PurePosixPath(file).is_absolute() or Path(file).is_absolute():
        raise DataError(f"{file}: absolute path in the manifest; {fix}")
    if ".." in PurePosixPath(file).parts:
        raise DataError(f"{file}: path points outside the data folder through '..'; {fix}")
    path = root / file
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a symlink loop
        raise DataError(f"{path}: is a symlink loop; replace it with the image file") from None
    if not resolved.is_relative_to(root):
        raise DataError(f"{file}: path points outside the data folder (a symlink to "
                        f"{resolved}); {fix}")
    return path


def load_manifest(root: str | Path) -> pd.DataFrame:
    """Rows of (file, label, ...) for a data folder: its manifest.csv, else images/<label>/*."""
    root = Path(root)
    if not root.is_dir():
        if root.exists():
            raise NotADirectoryError(f"data folder {root} is a file, not a folder: pass the folder "
                                     f"that holds manifest.csv or images/<label>/")
        raise FileNotFoundError(f"data folder {root} does not exist: set $XRAYLIB_DATA or pass --data")
    manifest = root / "manifest.csv"
    if os.path.lexists(manifest):
        blob = read_file(manifest, MAX_MANIFEST_BYTES, what="manifest")
        try:
            df = pd.read_csv(io.BytesIO(blob), dtype=str, keep_default_na=False)
        except ValueError as exc:  # pandas' parser and empty-data errors, bad UTF-8
            raise DataError(f"{manifest}: not a readable CSV ({type(exc).__name__}: {exc}); "
                            f"expected a header line with at least {','.join(MANIFEST_COLUMNS)} "
                            f"and one row per image") from None
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


def manifest_problems(df: pd.DataFrame) -> list[str]:
    """What is wrong with the table itself: no rows, unknown labels, a file listed twice (with one
    or with conflicting labels), dataset values that would collide with the report's own keys."""
    root = Path(df.attrs["root"])
    problems = []
    if df.empty:
        problems.append(f"{root}: no images listed (the manifest has no rows, or images/<label>/ "
                        f"holds no .png/.jpg); add the images")
    for row in df.itertuples():
        if row.label not in CLASSES:
            problems.append(f"{row.file}: unknown label {row.label!r} (expected one of "
                            f"{', '.join(CLASSES)})")
    normal = df["file"].map(os.path.normpath)
    for file, rows in df.groupby(normal, sort=False):
        if len(rows) > 1:
            labels = sorted(set(rows["label"]))
            problems.append(
                f"{file}: listed {len(rows)} times with conflicting labels {labels}; keep one row "
                f"with the right label" if len(labels) > 1 else
                f"{file}: listed {len(rows)} times; keep one row")
    problems += reserved_problems(df, str(root / "manifest.csv"))
    for value in sorted(set(df["dataset"]) & set(RESERVED_DATASETS)):
        problems.append(f"{root / 'manifest.csv'}: dataset value {value!r} is reserved (the "
                        f"evaluate report's own blocks are {', '.join(RESERVED_DATASETS)}); "
                        f"rename it in the dataset column")
    return problems


def _file_problem(root: Path, file: str, sha256: str, check_sha256: bool, decode: bool
                  ) -> str | None:
    """What is wrong with one row's file (outside the folder, missing, not a regular file, a
    wrong hash, not decodable), or None; reads the file only to hash or decode it."""
    try:
        path = manifest_path(root, file)
        if not os.path.lexists(path):
            return f"{path}: listed in the manifest but not found"
        if not (decode or (check_sha256 and sha256)):
            check_file(path)
            return None
        blob = read_file(path)
        if check_sha256 and sha256:
            digest = hashlib.sha256(blob).hexdigest()
            if digest != sha256.lower():  # hex digits in either case are the same hash
                return (f"{path}: sha256 of the file {digest!r} does not match the manifest's "
                        f"{sha256!r}; re-download the file (or correct the manifest)")
        if decode:
            open_image(blob, str(path))
    except DataError as exc:
        return str(exc)
    return None


def validate_manifest(df: pd.DataFrame, check_sha256: bool = False, decode: bool = False,
                      progress: bool = False) -> list[str]:
    """Every problem found: the table's own (manifest_problems), then each row's file (path
    escaping the folder, missing, not a regular file, bad hash and, with `decode`, an image that
    does not decode in full). Files are read in parallel when they are hashed or decoded."""
    root = Path(df.attrs["root"])
    problems = manifest_problems(df)
    rows = list(zip(df["file"], df["sha256"]))
    check = lambda row: _file_problem(root, row[0], row[1], check_sha256, decode)  # noqa: E731
    workers = DECODE_WORKERS if (decode or check_sha256) else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n, problem in enumerate(pool.map(check, rows), 1):
            if problem:
                problems.append(problem)
            _progress("verifying", n, len(rows), progress)
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
    """Any PNG/JPEG (8/16-bit, gray/RGB/RGBA) as a size x size uint8 gray image, read and decoded
    through the safe path (read_file, open_image)."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    blob = source if isinstance(source, bytes) else read_file(source)
    gray = to_gray_float(open_image(blob, name))
    resized = Image.fromarray(gray, mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.clip(np.rint(np.asarray(resized)), 0, 255).astype(np.uint8)


def _progress(what: str, done: int, total: int, show: bool = True) -> None:
    """A one-line counter on the terminal (stderr) for long loops; nothing when it is not one."""
    if not (show and sys.stderr is not None and sys.stderr.isatty()):
        return
    if done % 200 == 0 or done == total:
        print(f"\r{what} {done}/{total}", end="\n" if done == total else "", file=sys.stderr,
              flush=True)


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
    contents = [read_file(p) for p in paths]
    key = hashlib.sha256(f"v{DECODER_VERSION}:{size}:".encode())
    for blob in contents:
        key.update(hashlib.sha256(blob).digest())
    cached = cache_dir() / "decoded" / f"{key.hexdigest()[:24]}.npy"
    arr = _cached_gray(cached, (len(paths), size, size))
    if arr is not None:
        return arr
    arr = np.empty((len(paths), size, size), np.uint8)

    def work(i: int) -> None:
        try:
            arr[i] = decode_gray(contents[i], size)
        except DataError as exc:
            raise DataError(str(exc).replace("<bytes>", str(paths[i]))) from None

    with ThreadPoolExecutor(max_workers=DECODE_WORKERS) as pool:
        for n, _ in enumerate(pool.map(work, range(len(paths))), 1):
            _progress("decoding", n, len(paths), progress)
    _store_gray(cached, arr)
    return arr


def _digest_file(cached: Path) -> Path:
    """Where the content hash of a decoded array is kept, beside it."""
    return cached.with_name(cached.name + ".sha256")


def _cached_gray(cached: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The stored decoded array if its shape, dtype and content hash are those written, else None
    (missing, damaged or altered: it is decoded again), so flipped pixels are never used."""
    if not os.path.lexists(cached):
        return None
    try:
        check_file(cached, limit=int(np.prod(shape)) + 4096, what="cache file")
        digest = read_file(_digest_file(cached), limit=200, what="cache file").decode().strip()
        arr = np.load(cached, allow_pickle=False)
    except (DataError, OSError, ValueError):
        return None
    if arr.shape != shape or arr.dtype != np.uint8 or \
            hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest() != digest:
        return None
    return arr


def _store_gray(cached: Path, arr: np.ndarray) -> None:
    """Keep a decoded array and its content hash, each replaced atomically; on a read-only cache
    say so and go on (the images are decoded again next time)."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
        with open(tmp, "wb") as f:
            np.save(f, arr)
        os.replace(tmp, cached)
        tmp.write_text(hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest() + "\n")
        os.replace(tmp, _digest_file(cached))
    except OSError as exc:
        print(f"warning: decoded images not stored in {cached.parent} ({_os_reason(exc)}); "
              f"they are decoded again next time", file=sys.stderr)


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


def composition_table(main: pd.DataFrame, comp: pd.DataFrame) -> tuple[dict[str, str], pd.DataFrame]:
    """Images per class: the paper's, our pools', and the paper's composition drawn from them,
    with the counts the Data chapter quotes (ids -> text); class names applied last."""
    available = main["label"].value_counts().reindex(CLASSES)
    chosen = comp["label"].value_counts().reindex(CLASSES)
    table = pd.DataFrame({"paper (used)": pd.Series(paper.COMPOSITION), "ours (available)": available,
                          "ours (paper composition)": chosen})
    table.loc["total"] = table.sum()
    values = {"n_main": len(main), "n_covid_all": available["covid"], "n_vp_all": available["viral_pneumonia"],
              "n_normal_all": available["normal"], "n_covid": chosen["covid"],
              "n_vp": chosen["viral_pneumonia"], "n_normal": chosen["normal"], "n_comp": len(comp)}
    return {k: f"{v:,}" for k, v in values.items()}, table.rename(index=CLASS_NAMES)


def by_source(df: pd.DataFrame, repository: bool = True) -> pd.DataFrame:
    """Images per class of each data set (and, with `repository`, where it was downloaded from):
    a manifest's provenance counted, with reader-facing names."""
    rows = df["dataset"].map(DATASET_NAMES)
    table = pd.crosstab([rows, df["source_repo"]] if repository else rows, df["label"]).reindex(
        columns=list(CLASSES), fill_value=0).rename(columns=CLASS_NAMES)
    table.index.names = ["data set", "downloaded from"] if repository else ["origin"]
    table.columns.name = None
    return table


def cue_examples(comp: pd.DataFrame, position: int = 3) -> tuple[dict[str, str], pd.DataFrame]:
    """One film per class (the `position`-th of its class in the composition) to look at cues in,
    and how many patient groups the composition has (the Data chapter's cue list)."""
    examples = pd.DataFrame([comp[comp["label"] == c].iloc[position] for c in CLASSES])
    return {"n_groups": f"{comp['group'].nunique():,}"}, examples


def examples_text(examples: pd.DataFrame) -> str:
    """'COVID-19: images/covid/x.png (source ...)', one line per example film."""
    return "\n".join(f"{CLASS_NAMES[row.label]}: {row.file} (source {row.dataset})"
                     for row in examples.itertuples())


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
