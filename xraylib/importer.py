"""The data from the public archives a reader downloads: the same selection, processed, verified.

`xraylib data import` (README "Data") reads zip archives or extracted folders of the COVID-19
Radiography Database, Kermany et al.'s Chest X-Ray Images (Pneumonia) and the external set's
sources, picks exactly the files our manifests list (`selection.csv` beside this module, matched by
source file name and folder), processes each image as the data folders' SOURCES.md describe and
writes `data/covid-xray/`, `data/external/` and `data/adult-normals/` (the age arm's training
films, xraylib.adults) with a full manifest.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image

from . import data as xdata
from .config import DATA_SETS
from .data import DataError, to_gray_float

SELECTION_FILE = Path(__file__).with_name("selection.csv")
SELECTION_COLUMNS = ("dataset", "label", "source_name", "patient_id", "orig_width", "orig_height",
                     "sha256")
MANIFEST_COLUMNS = ("file", "label", "source_repo", "source_commit", "source_path", "orig_width",
                    "orig_height", "sha256", "patient_id", "dataset")
MARKER = ".xraylib-import.json"
SIZE = 256
FLUSH_EVERY = 200  # manifest rows between rewrites, so an interrupted import resumes near its end
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".7z", ".rar")


@dataclass(frozen=True)
class Source:
    """One public origin of selected files: the data set it fills and where its archives keep them."""

    dataset: str
    set: str
    short: str
    title: str
    folders: dict[str, tuple[tuple[str, ...], ...]]  # label -> accepted last folders; () = any

    def accepts(self, label: str, parents: tuple[str, ...]) -> bool:
        """Whether a file under `parents` is this source's `label` image (not a mask, not another split)."""
        low = tuple(p.lower() for p in parents)
        return any(low[len(low) - len(chain):] == tuple(c.lower() for c in chain)
                   for chain in self.folders.get(label, ()) if len(low) >= len(chain))

    def layout(self, label: str, name: str) -> str:
        """Where a reader's archive holds `name`, as the errors and the README show it."""
        chain = self.folders[label][0]
        return "/".join(("…", *chain, name)) if chain else f"…/{name}"


KERMANY = ("Kermany et al., Chest X-Ray Images (Pneumonia): Mendeley doi:10.17632/rscbjbr9sj.2 "
           "(ChestXRay2017.zip) or Kaggle paultimothymooney/chest-xray-pneumonia")
SOURCES: tuple[Source, ...] = (
    Source("covid19-radiography-database-v4", "covid-xray", "c19rdb",
           "COVID-19 Radiography Database (2021 release or later): Kaggle "
           "tawsifurrahman/covid19-radiography-database",
           {"covid": (("COVID",), ("COVID", "images"))}),
    Source("kermany-cxr-pneumonia-train", "covid-xray", "kermany", KERMANY + ", train split",
           {"normal": (("train", "NORMAL"),), "viral_pneumonia": (("train", "PNEUMONIA"),)}),
    Source("hannover-mhh-covid-19-image-repository", "external", "hannover",
           "Hannover Medical School COVID-19 image repository: github.com/ml-workgroup/"
           "covid-19-image-repository (its png/ folder)", {"covid": ((),)}),
    Source("nih-chestxray14-no-finding", "external", "nih",
           "NIH ChestX-ray14: nihcc.app.box.com/v/ChestXray-NIHCC (images_*.tar.gz, extracted), "
           "or github.com/muhammedtalo/COVID-19 (X-Ray Image DataSet/No_findings)",
           {"normal": ((),)}),
    Source("nih-chestxray14-no-finding-adults", "adult-normals", "nih",
           "NIH ChestX-ray14 adults (the stress test's age arm): github.com/muhammedtalo/COVID-19 "
           "(X-Ray Image DataSet/No_findings), or nihcc.app.box.com/v/ChestXray-NIHCC "
           "(images_*.tar.gz, extracted)", {"normal": ((),)}),
    Source("ieee8023-covid-chestxray-dataset", "external", "ieee8023",
           "Cohen et al., COVID-19 image data collection: github.com/ieee8023/covid-chestxray-dataset",
           {"viral_pneumonia": (("images",),)}),
    Source("kermany-cxr-pneumonia-test", "external", "kermany", KERMANY + ", test split",
           {"viral_pneumonia": (("test", "PNEUMONIA"),)}),
)
BY_DATASET: dict[str, Source] = {s.dataset: s for s in SOURCES}


def output_file(source: Source, label: str, source_name: str) -> str:
    """The imported file's path in its data folder: images/<label>/<short>_<sanitised stem>.png."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", PurePosixPath(source_name).stem)
    return f"images/{label}/{source.short}_{stem}.png"


# ---------------------------------------------------------------------------------------------
# The selection that ships with the package


def build_selection(manifests: list[str | Path]) -> pd.DataFrame:
    """The packaged selection from our manifests: what an import must find, row for row."""
    rows = []
    for manifest in manifests:
        df = pd.read_csv(manifest, dtype=str, keep_default_na=False)
        for row in df.itertuples():
            source = BY_DATASET.get(row.dataset)
            name = PurePosixPath(row.source_path).name
            if source is None or output_file(source, row.label, name) != row.file:
                raise DataError(f"{manifest}: row {row.file} (dataset {row.dataset!r}) is not one "
                                f"the import can rebuild: add its source to importer.SOURCES")
            rows.append({c: getattr(row, c) if c != "source_name" else name
                         for c in SELECTION_COLUMNS})
    return pd.DataFrame(rows, columns=list(SELECTION_COLUMNS))


def load_selection(path: str | Path | None = None) -> pd.DataFrame:
    """The packaged selection with each row's set and output file added (the manifests' order)."""
    path = path or SELECTION_FILE
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    unknown = sorted(set(df["dataset"]) - set(BY_DATASET))
    if unknown:
        raise DataError(f"{path}: unknown dataset(s) {unknown}; expected one of {sorted(BY_DATASET)}")
    df["set"] = [BY_DATASET[d].set for d in df["dataset"]]
    df["file"] = [output_file(BY_DATASET[d], lab, n)
                  for d, lab, n in zip(df["dataset"], df["label"], df["source_name"])]
    return df


# ---------------------------------------------------------------------------------------------
# What the reader passes: zip archives or folders


@dataclass
class Input:
    """A reader's archive or folder: its files (POSIX paths inside it) and a way to read each."""

    path: Path
    entries: dict[str, str]  # POSIX path -> the name to read it by (a zip's own spelling)
    zip: zipfile.ZipFile | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.path.name

    def where(self, entry: str) -> str:
        """How messages name an entry: the file in a folder, or the archive and its member."""
        return str(self.path / entry) if self.zip is None else f"{self.path}: member {entry}"

    def read(self, entry: str, limit: int | None = None) -> bytes:
        """The bytes of one entry through data's safe path: a regular file of at most `limit`
        bytes (data.read_file), or a zip member checked by its declared size and read bounded
        (never more than `limit` + 1 bytes, so a member that lies about its size cannot exhaust
        memory), under a lock (one file handle, many threads). Failures are a DataError naming
        the archive and member."""
        limit = xdata.MAX_FILE_BYTES if limit is None else limit
        if self.zip is None:
            return xdata.read_file(self.path / entry, limit)
        info = self.zip.getinfo(self.entries[entry])
        if info.file_size > limit:
            raise DataError(f"{self.where(entry)}: declares {info.file_size:,} bytes, over the "
                            f"{limit:,}-byte limit for an image file; skipped")
        try:
            with self.lock, self.zip.open(info) as member:
                blob = member.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError) as exc:  # bad CRC, damaged data, unsupported method, encrypted
            raise DataError(f"{self.where(entry)}: damaged in the archive ({exc}); download the "
                            f"archive again") from None
        if len(blob) > limit:
            raise DataError(f"{self.where(entry)}: over the {limit:,}-byte limit for an image "
                            f"file; skipped")
        return blob


def _safe_entry(archive: Path, name: str) -> str:
    """A zip entry's POSIX path, refusing any that would point outside the archive."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix) or ".." in posix.split("/"):
        raise DataError(f"{archive}: entry {name!r} is an absolute path or climbs out with '..'; "
                        f"no public archive of this data does that, so it is refused: download the "
                        f"archive again from its source (README 'Data')")
    return posix


def open_input(path: str | Path) -> Input:
    """A zip archive or an extracted folder, listed; anything else is refused naming what to pass."""
    path = Path(path)
    if path.is_dir():
        entries = {}
        for folder, _, files in os.walk(path):  # does not follow links out of the folder
            rel = Path(folder).relative_to(path).as_posix()
            for f in files:
                entry = f if rel == "." else f"{rel}/{f}"
                entries[entry] = entry
        return Input(path, entries)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such archive or folder; download it first "
                                f"(README 'Data' lists the archives)")
    if not path.is_file():  # a FIFO or device would block or never end
        xdata.check_file(path, what="zip archive")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(4)
        if head == b"PK\x03\x04":  # a zip's first member, but no directory at its end
            raise DataError(f"{path}: truncated or damaged zip archive (its central directory is "
                            f"missing: the download stopped early?); download it again")
        raise DataError(f"{path}: not a zip archive or a folder; extract it (e.g. `tar xzf` for a "
                        f".tar.gz) and pass the extracted folder, or pass the .zip you downloaded")
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: damaged zip archive ({exc}); download it again") from None
    entries = {_safe_entry(path, i.filename): i.filename for i in infos if not i.is_dir()}
    return Input(path, entries, zip=archive)


def match_files(selection: pd.DataFrame, inputs: list[Input]) -> dict[int, tuple[Input, str]]:
    """Selection row (index) -> (input, entry) holding its source file, by file name and folders."""
    by_name: dict[str, list[tuple[int, tuple[str, ...], str]]] = {}
    for k, inp in enumerate(inputs):
        for entry in inp.entries:
            parts = tuple(entry.split("/"))
            if "__MACOSX" in parts or parts[-1].startswith("._"):
                continue  # macOS resource forks beside the real files
            by_name.setdefault(parts[-1], []).append((k, parts[:-1], entry))
    found = {}
    for i, row in zip(selection.index, selection.itertuples()):
        source = BY_DATASET[row.dataset]
        hits = [(k, len(parents), entry) for k, parents, entry in by_name.get(row.source_name, ())
                if source.accepts(row.label, parents)]
        if hits:  # the first input, then the shallowest copy (Kaggle's zip nests a second copy)
            k, _, entry = min(hits)
            found[i] = (inputs[k], entry)
    return found


def wrong_archive_message(inp: Input, selection: pd.DataFrame) -> str:
    """Why an input holds none of the selected files, and what the import expected instead."""
    names = set(selection["source_name"])
    near = sorted(e for e in inp.entries if e.rsplit("/", 1)[-1] in names)
    nested = sorted(e for e in inp.entries if e.lower().endswith(ARCHIVE_SUFFIXES))
    lines = [f"{inp.path}: holds none of the {len(selection)} files the import selects, so it is "
             f"not one of the archives it reads."]
    if nested:
        lines.append(f"It holds archives ({', '.join(nested[:3])}): extract them and pass the "
                     f"extracted folder (or the inner .zip).")
    if near:
        lines.append(f"It holds {len(near)} selected file names, but not in the expected folders "
                     f"(e.g. {near[0]}): pass the archive as downloaded, not re-arranged.")
    lines.append("Expected one of:")
    for source in SOURCES:
        rows = selection[selection["dataset"] == source.dataset].drop_duplicates("label")
        if len(rows):
            like = " and ".join(source.layout(r.label, r.source_name) for r in rows.itertuples())
            lines.append(f"  {source.title}: files like {like}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Processing one image, as SOURCES.md describes


def convert(data: bytes, name: str) -> tuple[bytes, int, int]:
    """The 256x256 8-bit gray Lanczos PNG SOURCES.md describes, and the size the source was read
    at; decoded through data.open_image (PNG or JPEG, pixel cap, metadata cap)."""
    with xdata.open_image(data, name) as img:
        width, height = img.size
        gray = to_gray_float(img)  # RGB->L, 16-bit min-max scaled, alpha composited on black
    small = Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8), "L").resize(
        (SIZE, SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    return out.getvalue(), width, height


# ---------------------------------------------------------------------------------------------
# The target folder: refuse what is not ours, resume what is


def prepare_target(target: Path, set_name: str) -> None:
    """Refuse a folder the import did not write (it may be the reader's own data); mark ours."""
    marker = target / MARKER
    if target.exists() and not target.is_dir():
        raise DataError(f"{target}: exists and is not a folder; pass another --out")
    if marker.is_file():
        try:
            written_for = json.loads(marker.read_text()).get("set")
        except (ValueError, AttributeError):
            written_for = None
        if written_for == set_name:
            return
        raise DataError(f"{target}: holds an import of {written_for!r}, not {set_name!r}; pass "
                        f"another --out or remove that folder")
    if target.is_dir() and any(target.iterdir()):
        first = sorted(p.name for p in target.iterdir())[:3]
        raise DataError(f"{target}: exists and was not written by `xraylib data import` (it holds "
                        f"{', '.join(first)}, ...); it may be your own data, so nothing is "
                        f"overwritten: pass another --out, or move that folder away")
    target.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"set": set_name, "written_by": "xraylib data import"}) + "\n")


def _sha256(path: Path) -> str:
    """The hex digest the manifests carry ('' for a file that is not a regular, bounded one)."""
    try:
        return hashlib.sha256(xdata.read_file(path)).hexdigest()
    except DataError:
        return ""


def reusable_rows(target: Path) -> dict[str, dict]:
    """Rows of an earlier import whose file is still on disk unchanged: what a rerun skips."""
    manifest = target / "manifest.csv"
    if not manifest.is_file():
        return {}
    try:
        blob = xdata.read_file(manifest, xdata.MAX_MANIFEST_BYTES, what="manifest")
        df = pd.read_csv(io.BytesIO(blob), dtype=str, keep_default_na=False)
    except (DataError, ValueError):  # ours, but damaged: every file is imported again
        return {}
    if list(df.columns) != list(MANIFEST_COLUMNS):
        return {}
    return {row["file"]: row for row in df.to_dict("records")
            if (target / row["file"]).is_file() and _sha256(target / row["file"]) == row["sha256"]}


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary name, so a file on disk is always whole (what resuming relies on)."""
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(data)
        part.replace(path)
    except OSError as exc:  # a full disk, a read-only folder: say where, leave no part behind
        part.unlink(missing_ok=True)
        error = OSError(f"{path}: not written ({exc.strerror or exc}); free space there or pass "
                        f"another --out, then rerun: the import resumes")
        error.errno = exc.errno
        raise error from None


def write_manifest(target: Path, rows: list[dict]) -> None:
    """manifest.csv with our columns, rows in the selection's order."""
    text = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)).to_csv(index=False)
    _write_atomic(target / "manifest.csv", text.encode())


# ---------------------------------------------------------------------------------------------
# The import


class Progress:
    """One line on stderr, rewritten in place: what is imported, how far, how long is left."""

    def __init__(self, total: int, label: str, enabled: bool, stream=None):
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.stream = stream or sys.stderr
        self.done, self.start, self.shown = 0, time.monotonic(), 0.0

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self.shown > 0.2 or self.done == self.total):
            self.shown = now
            frac = self.done / self.total
            left = (now - self.start) * (1 - frac) / frac if frac else 0.0
            bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
            print(f"\r{self.label} [{bar}] {self.done}/{self.total} {100 * frac:3.0f}% "
                  f"{left:4.0f} s left", end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.enabled and self.done:
            print(file=self.stream, flush=True)


@dataclass
class SetReport:
    """What an import did for one data folder; `complete` when every selected file is in it."""

    set: str
    target: str
    selected: int
    found: int = 0
    written: int = 0
    reused: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    same_pixels: int = 0
    other_pixels: int = 0
    other_pixels_example: str = ""
    by_dataset: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.found == self.selected and not self.failed


@dataclass
class ImportReport:
    """The whole import: one report per data folder written, and the sets no input held."""

    sets: list[SetReport]
    skipped: dict[str, str]
    inputs: dict[str, int]  # input path -> selected files found in it (of the sets imported)

    @property
    def complete(self) -> bool:
        return all(s.complete for s in self.sets)

    def as_dict(self) -> dict:
        return {"complete": self.complete, "sets": [asdict(s) | {"complete": s.complete}
                                                    for s in self.sets],
                "skipped": self.skipped, "inputs": self.inputs}


def _manifest_row(sel, inp: Input, entry: str, sha: str, width: int, height: int) -> dict:
    """A manifest row: the reader's archive as its source, label, patient and origin from ours."""
    return {"file": sel.file, "label": sel.label, "source_repo": inp.name, "source_commit": "",
            "source_path": entry, "orig_width": str(width), "orig_height": str(height),
            "sha256": sha, "patient_id": sel.patient_id, "dataset": sel.dataset}


def import_set(set_name: str, selection: pd.DataFrame, matches: dict[int, tuple[Input, str]],
               target: Path, progress: bool = False, workers: int | None = None) -> SetReport:
    """Write one data folder: the matched files processed, earlier good files kept, a manifest."""
    start = time.monotonic()
    prepare_target(target, set_name)
    report = SetReport(set_name, str(target), len(selection))
    previous = reusable_rows(target)
    done: dict[str, dict] = {}
    todo = []
    for i, sel in zip(selection.index, selection.itertuples()):
        prev = previous.get(sel.file)
        if prev:  # label, patient and origin always come from the selection
            prev |= {"label": sel.label, "patient_id": sel.patient_id, "dataset": sel.dataset}
        if i not in matches:
            if prev:
                done[sel.file] = prev  # imported earlier from an archive not passed this time
                report.reused += 1
            else:
                report.missing.append(f"{sel.dataset}: {sel.source_name}")
            continue
        inp, entry = matches[i]
        if prev and (prev["source_repo"], prev["source_path"]) == (inp.name, entry):
            done[sel.file] = prev
            report.reused += 1
        else:
            todo.append((sel, inp, entry))

    root = target.resolve()

    def work(job):
        sel, inp, entry = job
        path = (target / sel.file).resolve()
        if not path.is_relative_to(root):  # selection files are fixed names; this guards edits
            raise DataError(f"{sel.file}: would be written outside {target}; refused")
        try:
            png, width, height = convert(inp.read(entry), inp.where(entry))
        except DataError as exc:
            return sel, None, str(exc)
        _write_atomic(path, png)
        sha = hashlib.sha256(png).hexdigest()
        return sel, _manifest_row(sel, inp, entry, sha, width, height), ""

    order = list(selection["file"])
    bar = Progress(len(todo), f"importing {set_name}", progress)
    pool = ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 2))
    try:
        for n, (sel, row, error) in enumerate(pool.map(work, todo), 1):
            if row is None:
                report.failed.append(error)
            else:
                done[sel.file] = row
                report.written += 1
            bar.step()
            if n % FLUSH_EVERY == 0:
                write_manifest(target, [done[f] for f in order if f in done])
    finally:  # also on Ctrl-C: stop queued work, keep what is done for the next run
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        write_manifest(target, [done[f] for f in order if f in done])
    ours = dict(zip(selection["file"], selection["sha256"]))
    rows = [done[f] for f in order if f in done]
    report.found = len(rows)
    report.same_pixels = sum(r["sha256"] == ours[r["file"]] for r in rows)
    report.other_pixels = report.found - report.same_pixels
    sizes = dict(zip(selection["file"], zip(selection["orig_width"], selection["orig_height"])))
    for r in rows:
        if r["sha256"] != ours[r["file"]]:
            w, h = sizes[r["file"]]
            report.other_pixels_example = (f"{r['source_path']} read at {r['orig_width']}x"
                                           f"{r['orig_height']}, ours at {w}x{h}")
            break
    for r in rows:
        report.by_dataset[r["dataset"]] = report.by_dataset.get(r["dataset"], 0) + 1
    report.seconds = round(time.monotonic() - start, 1)
    return report


def import_data(sources: list[str | Path], out: str | Path, sets: tuple[str, ...] = DATA_SETS,
                progress: bool = False, workers: int | None = None,
                selection_file: str | Path | None = None) -> ImportReport:
    """Build <out>/<set> for each of `sets` from the reader's archives, as our selection lists."""
    everything = load_selection(selection_file)
    inputs = []
    try:
        for source in sources:
            inputs.append(open_input(source))
        return _import_inputs(everything, inputs, Path(out), sets, progress, workers)
    finally:
        for inp in inputs:
            if inp.zip is not None:
                inp.zip.close()


def _import_inputs(everything: pd.DataFrame, inputs: list[Input], out: Path, sets: tuple[str, ...],
                   progress: bool, workers: int | None) -> ImportReport:
    """import_data on opened inputs: check every input holds selected files, then write each set."""
    matched = match_files(everything, inputs)
    for inp in inputs:  # checked before anything is written
        if not any(m[0] is inp for m in matched.values()):
            raise DataError(wrong_archive_message(inp, everything))
    selection = everything[everything["set"].isin(sets)]
    matches = {i: m for i, m in matched.items() if i in selection.index}
    per_input = {str(inp.path): 0 for inp in inputs}
    for inp, _ in matches.values():
        per_input[str(inp.path)] += 1
    reports, skipped = [], {}
    for set_name in sets:
        rows = selection[selection["set"] == set_name]
        if rows.empty:  # a selection that lists nothing for this folder (a test's, an older one)
            continue
        if not any(i in matches for i in rows.index):
            titles = sorted({BY_DATASET[d].title for d in rows["dataset"]})
            skipped[set_name] = "no input holds its files; it needs: " + "; ".join(titles)
            continue
        reports.append(import_set(set_name, rows, matches, out / set_name, progress, workers))
    return ImportReport(reports, skipped, per_input)


def format_report(report: ImportReport) -> str:
    """The import's outcome as the CLI prints it: per folder, what is there, what is missing, pixels."""
    lines = []
    for s in report.sets:
        lines.append(f"{s.set}: {s.found} of {s.selected} selected images in {s.target} "
                     f"({s.written} written, {s.reused} already there, {s.seconds:.0f} s)")
        for dataset, n in s.by_dataset.items():
            lines.append(f"  {dataset}: {n}")
        if s.found:
            if s.other_pixels == 0:
                lines.append(f"  sha256: all {s.found} identical to the project's copy")
            else:
                lines.append(f"  sha256: {s.same_pixels} of {s.found} identical to the project's "
                             f"copy; {s.other_pixels} have other pixels (e.g. {s.other_pixels_example}):"
                             f" same files, labels, patients and datasets, so the book's numbers "
                             f"will differ a little from the stored ones")
        if s.missing:
            lines.append(f"  MISSING {len(s.missing)} selected file(s) not in the inputs: pass the "
                         f"archive that holds them and rerun (the import resumes), or --only the "
                         f"other folder")
            by_source: dict[str, list[str]] = {}
            for item in s.missing:
                dataset, name = item.split(": ", 1)
                by_source.setdefault(dataset, []).append(name)
            for dataset, names in by_source.items():
                shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
                lines.append(f"    {len(names)} from {BY_DATASET[dataset].title} ({shown})")
        for error in s.failed[:5]:
            lines.append(f"  FAILED {error}")
        if len(s.failed) > 5:
            lines.append(f"  ... and {len(s.failed) - 5} more that could not be read or decoded")
    for set_name, why in report.skipped.items():
        lines.append(f"{set_name}: not imported: {why}")
    return "\n".join(lines)
