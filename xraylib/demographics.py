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


def folders_table(data=None, external=None, controls=None) -> tuple[dict, pd.DataFrame]:
    """Every folder's films by origin and class, as the book shows them (`display_demographics`),
    and the numbers its prose quotes: how many NIH 'No Finding' films are of patients under 18."""
    from . import data as xdata
    from .config import controls_dir, data_dir, external_dir

    demographics = read_demographics()
    parts = [demographics_table(xdata.load_manifest(root), folder, demographics)
             for folder, root in (("covid-xray", data_dir(data)), ("external", external_dir(external)),
                                  ("controls", controls_dir(controls)))]
    table = pd.concat(parts, ignore_index=True)
    nih = demographics[(demographics["folder"] == "external") &
                       demographics["file"].str.contains("nih", case=False)]
    children = int((nih["age"] < 18).sum())
    values = {"demo_nih_children": f"{children} of {len(nih)}",
              "demo_nih_child_ages": (f"{nih.loc[nih['age'] < 18, 'age'].min():.0f}-"
                                      f"{nih.loc[nih['age'] < 18, 'age'].max():.0f}") if children else "none"}
    shown = display_demographics(table)
    shown.index = shown.index.set_levels(
        [shown.index.levels[0].map(lambda o: ORIGIN_LABELS.get(o, o)), shown.index.levels[1]])
    return values, shown


ORIGIN_LABELS = {
    "covid19-radiography-database-v4": "main set: COVID-19 Radiography Database (v4)",
    "kermany-cxr-pneumonia-train": "main set: Kermany training split (children)",
    "hannover-mhh-covid-19-image-repository": "external: Hannover Medical School",
    "ieee8023-covid-chestxray-dataset": "external: Cohen et al. collection",
    "nih-chestxray14-no-finding": "external: NIH ChestX-ray14 'No Finding'",
    "kermany-cxr-pneumonia-test": "external and controls: Kermany test split (children)",
    "shenzhen-tb-normal": "controls: Shenzhen No.3 People's Hospital",
}
"""Reader-facing names of every folder's origins (the manifests' dataset values)."""
