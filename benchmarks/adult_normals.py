"""The age arm's adult normal films: chosen (xraylib.adults.select), exported, added to the selection.

Why a script: the choice needs NIH's metadata table and the mirror, neither of which ships with the
package; what ships is its result, the `nih-chestxray14-no-finding-adults` rows of
xraylib/selection.csv (with the processed files' sha256), and records/adult-normals.json (the
counts left out by each rule, the chosen films' ages and sexes). Only the chosen films' blobs are
read from the mirror, so no external or reserved image is ever opened.

    python benchmarks/adult_normals.py --scratch /tmp/adult-normals
    xraylib data import /tmp/adult-normals/COVID-19-ee3e2cf --only adult-normals
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from xraylib import adults, importer  # noqa: E402

DATASET = "nih-chestxray14-no-finding-adults"


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True).stdout


def choose(mirrors: Path, external: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """The chosen films from the mirror's file list and NIH's table (no image read)."""
    repo, commit, folder = adults.MIRROR
    names = _git(mirrors / repo.replace("/", "+") / "repo", "ls-tree", "-r", "--name-only", commit,
                 "--", folder).decode().splitlines()
    meta_repo, rest = adults.METADATA.split("@")
    meta_commit, meta_path = rest.split(":", 1)
    blob = _git(mirrors / meta_repo.replace("/", "+") / "repo", "show", f"{meta_commit}:{meta_path}")
    metadata = pd.read_csv(io.BytesIO(blob), dtype=str)
    manifest = pd.read_csv(external / "manifest.csv", dtype=str, keep_default_na=False)
    return adults.select(names, metadata, manifest)


def export(chosen: pd.DataFrame, mirrors: Path, scratch: Path) -> Path:
    """The chosen films, as the mirror lays them out, under scratch/COVID-19-<commit>/."""
    repo, commit, folder = adults.MIRROR
    top = scratch / f"{repo.split('/')[1]}-{commit[:7]}"
    for name in chosen["source_name"]:
        out = top / folder / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(_git(mirrors / repo.replace("/", "+") / "repo", "show",
                             f"{commit}:{folder}/{name}"))
    return top


def selection_rows(chosen: pd.DataFrame, top: Path) -> pd.DataFrame:
    """The selection rows: each film processed as the import does, its output's sha256."""
    rows = []
    for film in chosen.itertuples():
        path = top / adults.MIRROR[2] / film.source_name
        png, width, height = importer.convert(path.read_bytes(), str(path))
        rows.append({"dataset": DATASET, "label": "normal", "source_name": film.source_name,
                     "patient_id": film.patient_id, "orig_width": str(width),
                     "orig_height": str(height), "sha256": hashlib.sha256(png).hexdigest()})
    return pd.DataFrame(rows, columns=list(importer.SELECTION_COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, required=True, help="where the chosen films go")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--external", type=Path, default=ROOT.parent / "shared" / "data" / "external")
    args = parser.parse_args()
    chosen, left_out = choose(args.mirrors, args.external)
    top = export(chosen, args.mirrors, args.scratch)
    rows = selection_rows(chosen, top)
    old = pd.read_csv(importer.SELECTION_FILE, dtype=str, keep_default_na=False)
    pd.concat([old[old["dataset"] != DATASET], rows]).to_csv(importer.SELECTION_FILE, index=False)
    ages = chosen["age"]
    record = {"what": "the age arm's adult normal films (benchmarks/adult_normals.py, "
                      "xraylib.adults.select)",
              "mirror": "{}@{}:{}".format(*adults.MIRROR), "metadata": adults.METADATA,
              "films_in_mirror": len(chosen) + sum(left_out.values()), "chosen": len(chosen),
              "left_out": left_out,
              "age": {"median": float(ages.median()), "min": int(ages.min()), "max": int(ages.max())},
              "sex": chosen["sex"].value_counts().sort_index().to_dict(),
              "films": [{"source_name": f.source_name, "patient_id": f.patient_id, "age": f.age,
                         "sex": f.sex} for f in chosen.itertuples()]}
    out = ROOT / "records" / "adult-normals.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{len(chosen)} films -> {top}; selection rows -> {importer.SELECTION_FILE}; {out}")
    print(json.dumps({k: record[k] for k in ("left_out", "age", "sex")}, indent=1))
    print(f"next: xraylib data import {top} --only adult-normals")


if __name__ == "__main__":
    main()
