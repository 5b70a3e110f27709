"""Age and sex by origin and class, from the sources' public metadata, "unknown" where none says.

Why: the book's second claim is that the network learned age (children against adults) as much as
disease. That needs the ages by class, not an assumption: records/demographics.csv (written by
benchmarks/demographics.py, sources in records/demographics.md) holds every film whose source
states its age or sex; this module joins it with a manifest and summarises each origin and class.
Kermany's children have no per-film age or sex anywhere; their paper's range is shown as a note.
Needs no Keras.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import CLASS_NAMES, project_root

COLUMNS = ("folder", "file", "age", "sex", "source")
KERMANY_NOTE = "1-5 years per Kermany et al. 2018; per film unknown"
NOTES = {
    "kermany-cxr-pneumonia-train": KERMANY_NOTE,
    "kermany-cxr-pneumonia-test": KERMANY_NOTE,
    "hannover-mhh-covid-19-image-repository": "age redacted by the source (k-anonymity)",
    "covid19-radiography-database-v4": "known only for films matched to Cohen et al.'s collection",
}
"""What the sources say about an origin beyond the per-film values (the manifests' dataset values)."""
UNKNOWN = "unknown"


def demographics_path() -> Path:
    return project_root() / "records" / "demographics.csv"


def read_demographics(path: str | Path | None = None) -> pd.DataFrame:
    """The per-film ages and sexes (age a float, NaN if unknown; sex 'M', 'F' or '')."""
    path = Path(path) if path else demographics_path()
    if not path.is_file():
        raise FileNotFoundError(f"no demographics table at {path}: regenerate it with "
                                f"benchmarks/demographics.py (see records/demographics.md)")
    table = pd.read_csv(path, dtype={"folder": str, "file": str, "sex": str, "source": str})
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}")
    bad = sorted(set(table["sex"].dropna()) - {"M", "F"})
    if bad:
        raise ValueError(f"{path}: sex must be M, F or blank, found {bad}")
    table["sex"] = table["sex"].fillna("")
    table["age"] = pd.to_numeric(table["age"], errors="raise")
    return table


def demographics_table(manifest: pd.DataFrame, folder: str,
                       demographics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per origin (dataset) and class: films, ages known with median, quartiles and range, sexes
    known with the share female (%), and the sources' note; NaN where nothing is known."""
    demographics = read_demographics() if demographics is None else demographics
    mine = demographics[demographics["folder"] == folder].set_index("file")[["age", "sex"]]
    films = manifest[["file", "label", "dataset"]].join(mine, on="file")
    films["sex"] = films["sex"].fillna("")
    rows = []
    for (origin, label), part in films.groupby(["dataset", "label"], sort=True):
        ages = part["age"].dropna().to_numpy(float)
        sexes = part.loc[part["sex"] != "", "sex"]
        q = np.percentile(ages, [0, 25, 50, 75, 100]) if len(ages) else [np.nan] * 5
        rows.append({"origin": origin, "class": label, "films": len(part), "age known": len(ages),
                     "median age": q[2], "age q1": q[1], "age q3": q[3], "age min": q[0],
                     "age max": q[4], "sex known": len(sexes),
                     "female (%)": 100 * float((sexes == "F").mean()) if len(sexes) else np.nan,
                     "note": NOTES.get(origin, "")})
    return pd.DataFrame(rows)


def display_demographics(table: pd.DataFrame) -> pd.DataFrame:
    """A demographics table as text for the book: 'unknown' stated wherever no source gives a value."""
    def age(r) -> str:
        if not r["age known"]:
            return UNKNOWN
        return (f"{r['median age']:.0f} (IQR {r['age q1']:.0f}-{r['age q3']:.0f}; "
                f"range {r['age min']:.0f}-{r['age max']:.0f})")

    def female(r) -> str:
        return f"{r['female (%)']:.0f}%" if r["sex known"] else UNKNOWN

    return pd.DataFrame({
        "origin": table["origin"], "class": table["class"].map(lambda c: CLASS_NAMES.get(c, c)),
        "films": table["films"], "age known": table["age known"],
        "median age (IQR; range)": table.apply(age, axis=1),
        "sex known": table["sex known"], "female": table.apply(female, axis=1),
        "note": table["note"]}).set_index(["origin", "class"])
