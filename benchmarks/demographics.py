"""records/demographics.csv: age and sex of every film whose public source states them.

Why: the book argues the network learned age (children against adults) as much as disease; the
argument needs the ages and sexes by class, from the sources' own metadata, not from guesswork.
This script joins the sources' metadata files (downloaded from the public mirrors named in
SOURCES) with the three data folders' manifests and writes one row per film for which anything is
known (age in years, sex M/F); a film with nothing known gets no row. Rows of reserved files or
patients (xraylib/reserved.csv) are never used, neither ours nor the metadata's.

    python benchmarks/demographics.py --cohen /tmp/gb_metadata.csv --hannover /tmp/mhh_data.csv \
        --nih /tmp/nih_Data_Entry_2017.csv --shenzhen /tmp/shenzhen_metadata.csv \
        --data ../shared/data --out records/demographics.csv

Kermany's children (main set, external and control test splits) have no per-film age or sex in
any public source: Kermany et al. (2018) state only "pediatric patients of one to five years
old"; xraylib.demographics says so in its table.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path, PurePosixPath

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from xraylib.reserved import reserved_table  # noqa: E402

FOLDERS = ("covid-xray", "external", "controls")
SOURCES = {
    "cohen": "GeneralBlockchain/covid-19-chest-xray-lung-bounding-boxes-dataset@"
             "103688cbcdd1bada8900b9a9b17fafa45c7ea368:metadata.csv",
    "hannover": "ml-workgroup/covid-19-image-repository@ad7ab099b425f16e06bba22322336b7d6a732965:data.csv",
    "nih": "qqto2008/capstone@cfe6522a181f745cbf708d72a186c28e19a8982f:Data_Entry_2017.csv",
    "shenzhen": "burikyali/Project--Rotten-Fruit-Detection-Using-CNN@"
                "931874bbe1aa71125592fa0dfbca001a051c7685:shenzhen_metadata.csv",
}
"""Where each metadata file was read (repo@commit:path); records/demographics.md says what each is."""
SEX = {"m": "M", "male": "M", "f": "F", "w": "F", "female": "F"}
MAX_AGE = 110  # NIH's table holds a few impossible ages (e.g. 414): treated as unknown


def _stem(path: str) -> str:
    return PurePosixPath(str(path)).stem.lower()


def _sex(value) -> str:
    return SEX.get(str(value).strip().lower(), "")


def _age(value) -> float | None:
    """Years as a number ('58', '058Y', 58.0); None where blank, unparsable or impossible."""
    match = re.fullmatch(r"0*(\d+(?:\.\d+)?)\s*[yY]?", str(value).strip())
    if not match:
        return None
    age = float(match.group(1))
    return age if age <= MAX_AGE else None


def _reserved() -> tuple[set[str], set[str]]:
    """Reserved file stems and patient ids: no metadata row naming either is used."""
    table = reserved_table()
    return {_stem(p) for p in table["source_path"]}, set(table["patient_id"]) - {""}


def _clean(meta: pd.DataFrame, file_col: str, patient: pd.Series) -> pd.DataFrame:
    """Metadata rows without the reserved files and patients."""
    stems, patients = _reserved()
    keep = ~meta[file_col].fillna("").map(_stem).isin(stems) & ~patient.isin(patients)
    return meta[keep]


def cohen(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cohen et al.'s metadata per film (by file name) and per patient (age and sex, when one value)."""
    meta = pd.read_csv(path, dtype=str)
    meta = _clean(meta, "filename", "ieee8023:" + meta["patientid"].astype(str))
    films = pd.DataFrame({"key": meta["filename"].map(_stem), "age": meta["age"].map(_age),
                          "sex": meta["sex"].map(_sex)})
    per = pd.DataFrame({"patient": "ieee8023:" + meta["patientid"].astype(str),
                        "age": meta["age"].map(_age), "sex": meta["sex"].map(_sex)})
    rows = []
    for patient, part in per.groupby("patient"):
        ages, sexes = set(part["age"].dropna()), set(part["sex"]) - {""}
        rows.append({"key": patient, "age": ages.pop() if len(ages) == 1 else None,
                     "sex": sexes.pop() if len(sexes) == 1 else ""})
    return films, pd.DataFrame(rows)


def hannover(path: Path) -> pd.DataFrame:
    meta = pd.read_csv(path, dtype=str)
    meta = _clean(meta, "image_id", "mhh:" + meta["patient_id"].astype(str))
    return pd.DataFrame({"key": meta["image_id"].str.lower(), "age": meta["age"].map(_age),
                         "sex": meta["sex"].map(_sex)})


def nih(path: Path) -> pd.DataFrame:
    meta = pd.read_csv(path, dtype=str)
    meta = _clean(meta, "Image Index", "nih:" + meta["Patient ID"].astype(str).str.zfill(8))
    return pd.DataFrame({"key": meta["Image Index"].map(_stem), "age": meta["Patient Age"].map(_age),
                         "sex": meta["Patient Gender"].map(_sex)})


def shenzhen(path: Path) -> pd.DataFrame:
    meta = pd.read_csv(path, dtype=str)
    number = meta["study_id"].str.extract(r"CHNCXR_(\d+)_", expand=False)
    meta = _clean(meta, "study_id", "shenzhen:" + number.fillna(""))
    return pd.DataFrame({"key": meta["study_id"].map(_stem), "age": meta["age"].map(_age),
                         "sex": meta["sex"].map(_sex)})


def _join(manifest: pd.DataFrame, folder: str, table: pd.DataFrame, keys: pd.Series,
          source: str) -> pd.DataFrame:
    """The manifest rows whose key is in a metadata table, with that table's age and sex."""
    lookup = table.drop_duplicates("key").set_index("key")
    hit = keys.isin(lookup.index)
    rows = manifest[hit]
    found = lookup.loc[keys[hit]]
    return pd.DataFrame({"folder": folder, "file": rows["file"].to_numpy(),
                         "age": found["age"].to_numpy(), "sex": found["sex"].to_numpy(),
                         "source": SOURCES[source]})


def build(data: Path, paths: dict[str, Path]) -> pd.DataFrame:
    """One row per film of the three folders for which a source states age or sex."""
    from xraylib.reserved import reserved_rows
    cohen_films, cohen_patients = cohen(paths["cohen"])
    tables = {"hannover": hannover(paths["hannover"]), "nih": nih(paths["nih"]),
              "shenzhen": shenzhen(paths["shenzhen"])}
    parts = []
    for folder in FOLDERS:
        manifest = pd.read_csv(data / folder / "manifest.csv", dtype=str)
        manifest = manifest[~reserved_rows(manifest)]
        stem = manifest["source_path"].fillna("").map(_stem)
        patient = manifest["patient_id"].fillna("")
        dataset = manifest["dataset"].fillna("")
        by_file = dataset == "ieee8023-covid-chestxray-dataset"
        by_patient = ~by_file & patient.str.startswith("ieee8023:")
        parts.append(_join(manifest[by_file], folder, cohen_films, stem[by_file], "cohen"))
        parts.append(_join(manifest[by_patient], folder, cohen_patients, patient[by_patient], "cohen"))
        for source, name in (("hannover", "hannover-mhh"), ("nih", "nih-"), ("shenzhen", "shenzhen")):
            mine = dataset.str.startswith(name)
            parts.append(_join(manifest[mine], folder, tables[source], stem[mine], source))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["age"].notna() | (out["sex"] != "")]
    return out.sort_values(["folder", "file"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for source in SOURCES:
        parser.add_argument(f"--{source}", type=Path, required=True, help=SOURCES[source])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "records" / "demographics.csv")
    args = parser.parse_args(argv)
    table = build(args.data, {source: getattr(args, source) for source in SOURCES})
    table["age"] = table["age"].map(lambda a: "" if pd.isna(a) else f"{a:g}")
    table.to_csv(args.out, index=False)
    print(f"{args.out}: {len(table)} films; by folder and source:")
    print(table.groupby(["folder", table["source"].str.split("@").str[0]]).size().to_string())


if __name__ == "__main__":
    main()
