"""`xraylib data import` for real: on the public GitHub mirrors the project's data were staged from.

The mirrors hold the same file names and folder layouts as the archives a reader downloads (the
COVID-19 Radiography Database's `COVID-19_Radiography_Dataset/COVID/COVID-<n>.png`, Kermany's
`<split>/<NORMAL|PNEUMONIA>/*.jpeg`, ...). This script lays them out in a scratch folder outside the
checkout (some as zip archives, some as folders), runs the import on them, runs it again (resume),
and compares the manifests it wrote with the project's own, row for row:

    python benchmarks/import_mirrors.py extract /work/scratch-import --mirrors /work/.mirror
    python benchmarks/import_mirrors.py run /work/scratch-import --out benchmarks/import-mirrors.json

`selection` rewrites xraylib/selection.csv from the project's manifests (../shared/data).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
# repo, commit, folders to take, how the reader would have it ("zip" as GitHub serves it, or a folder)
MIRRORS = (
    ("rtchanon/Machine-Learning-for-COVID-19-detection-from-chest-X-RAYS",
     "744af3631b6055c5c808f56d7c3d65bd0aa3439d", ("COVID-19_Radiography_Dataset/COVID/",), "folder"),
    ("waliatushar/ai-pneumonia-detection", "362d6d1be840461d0f26253972ec86bbc8533772",
     ("dataset/",), "zip"),
    ("ml-workgroup/covid-19-image-repository", "ad7ab099b425f16e06bba22322336b7d6a732965",
     ("png/",), "zip"),
    ("muhammedtalo/COVID-19", "ee3e2cffc0824711bed675275506b26f19be7198",
     ("X-Ray Image DataSet/No_findings/",), "folder"),
    ("GeneralBlockchain/covid-19-chest-xray-lung-bounding-boxes-dataset",
     "103688cbcdd1bada8900b9a9b17fafa45c7ea368", ("images/",), "folder"),
)
COMPARED = ("file", "label", "patient_id", "dataset")


def _git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], input=data, check=True,
                          capture_output=True).stdout


def blobs(git_dir: Path, commit: str, prefixes: tuple[str, ...]):
    """(path, bytes or None when the mirror lacks the blob) for every file under the prefixes."""
    listing = _git(git_dir, "ls-tree", "-r", "-z", commit, "--", *prefixes).split(b"\0")
    items = [(line.split(b"\t", 1)[1].decode(), line.split()[2].decode())
             for line in listing if line]
    with subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as cat:
        for path, sha in items:
            cat.stdin.write(sha.encode() + b"\n")
            cat.stdin.flush()
            header = cat.stdout.readline().split()
            if header[-1] == b"missing":
                yield path, None
                continue
            body = cat.stdout.read(int(header[2]))
            cat.stdout.read(1)
            yield path, body


def extract(scratch: Path, mirrors: Path) -> dict:
    """Lay each mirror out under scratch/inputs as a reader would have it; report absent blobs."""
    inputs = scratch / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    absent = {}
    for repo, commit, prefixes, kind in MIRRORS:
        git_dir = mirrors / repo.replace("/", "+") / "repo"
        top = f"{repo.split('/')[1]}-{commit[:7]}"
        missing = []
        if kind == "zip":
            with zipfile.ZipFile(inputs / f"{top}.zip", "w", zipfile.ZIP_STORED) as zf:
                for path, body in blobs(git_dir, commit, prefixes):
                    if body is None:
                        missing.append(path)
                    else:
                        zf.writestr(f"{top}/{path}", body)
        else:
            for path, body in blobs(git_dir, commit, prefixes):
                if body is None:
                    missing.append(path)
                    continue
                out = inputs / top / path
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(body)
        absent[repo] = missing
        print(f"{repo}: {top}{'.zip' if kind == 'zip' else '/'}, blobs absent: {len(missing)}")
    (scratch / "absent-blobs.json").write_text(json.dumps(absent, indent=1) + "\n")
    return absent


def _import(inputs: list[Path], out: Path) -> tuple[float, dict, int]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "xraylib", "data", "import", *map(str, inputs),
                           "--out", str(out), "--json"], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr}")
    return seconds, json.loads(done.stdout), done.returncode


def compare(ours: Path, theirs: Path) -> dict:
    """Row-for-row agreement of an imported manifest with ours on COMPARED, and sha256 agreement."""
    a = pd.read_csv(ours, dtype=str, keep_default_na=False)
    b = pd.read_csv(theirs, dtype=str, keep_default_na=False)
    joined = a.merge(b, on="file", how="outer", suffixes=("_ours", "_import"), indicator=True)
    both = joined[joined["_merge"] == "both"]
    return {"ours": len(a), "imported": len(b), "same_files": len(both),
            "only_ours": joined.loc[joined["_merge"] == "left_only", "file"].tolist()[:20],
            "only_imported": joined.loc[joined["_merge"] == "right_only", "file"].tolist()[:20],
            "same_order": list(a["file"]) == list(b["file"]),
            **{f"same_{c}": int((both[f"{c}_ours"] == both[f"{c}_import"]).sum())
               for c in COMPARED if c != "file"},
            "same_sha256": int((both["sha256_ours"] == both["sha256_import"]).sum()),
            "same_orig_size": int(((both["orig_width_ours"] == both["orig_width_import"])
                                   & (both["orig_height_ours"] == both["orig_height_import"])).sum())}


def run(scratch: Path, record: Path | None) -> dict:
    """Import from scratch/inputs into scratch/out twice (fresh, then resumed) and compare."""
    inputs = sorted((scratch / "inputs").iterdir())
    out = scratch / "out"
    if out.exists():
        raise SystemExit(f"{out} exists: remove it first, so the first run starts fresh")
    load = os.getloadavg()[0]  # the timings below are from a shared machine: say how busy it was
    fresh_s, report, rc = _import(inputs, out)
    resume_s, again, rc2 = _import(inputs, out)
    result = {
        "what": "xraylib data import on the GitHub mirrors the project's data were staged from "
                "(benchmarks/import_mirrors.py)",
        "inputs": [p.name for p in inputs],
        "absent_blobs": json.loads((scratch / "absent-blobs.json").read_text()),
        "exit_code": rc, "complete": report["complete"],
        "per_set": {s["set"]: {k: s[k] for k in ("selected", "found", "written", "same_pixels",
                                                 "other_pixels", "missing", "failed")}
                    for s in report["sets"]},
        "seconds_fresh": round(fresh_s, 1), "seconds_resumed": round(resume_s, 1),
        "resumed_written": sum(s["written"] for s in again["sets"]),
        "resumed_exit_code": rc2,
        "compare": {name: compare(SHARED / name / "manifest.csv", out / name / "manifest.csv")
                    for name in ("covid-xray", "external")},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_at_start": round(load, 1),
    }
    text = json.dumps(result, indent=1) + "\n"
    if record:
        record.write_text(text)
    print(text)
    return result


def write_selection() -> None:
    """xraylib/selection.csv from the project's two manifests."""
    sys.path.insert(0, str(ROOT))
    from xraylib import importer

    df = importer.build_selection([SHARED / "covid-xray" / "manifest.csv",
                                   SHARED / "external" / "manifest.csv"])
    df.to_csv(importer.SELECTION_FILE, index=False)
    print(f"wrote {importer.SELECTION_FILE}: {len(df)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("scratch", type=Path)
    ex.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ru = sub.add_parser("run")
    ru.add_argument("scratch", type=Path)
    ru.add_argument("--out", type=Path, help="write the result here (benchmarks/import-mirrors.json)")
    sub.add_parser("selection")
    args = parser.parse_args()
    if args.cmd == "extract":
        extract(args.scratch, args.mirrors)
    elif args.cmd == "run":
        run(args.scratch, args.out)
    else:
        write_selection()


if __name__ == "__main__":
    main()
