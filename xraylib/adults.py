"""The adult normal films of the stress test's age arm: which NIH "No Finding" films, and why those.

Why: the age arm asks whether the network calls adults "not normal" because every normal film it
trained on is a child's. It needs adult normal films that are not evaluation films: NIH
ChestX-ray14 "No Finding" films (the muhammedtalo/COVID-19 mirror holds 500), none of the external
set's NIH films or patients, none reserved for the outside check (xraylib/reserved.csv). The
rule is decided from file names and NIH's metadata alone, so no excluded image is ever read.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from .config import project_root
from .reserved import reserved_table

MAX_FILMS = 132
"""At most this many adult films (the issue's cap: about half the training part's normal films)."""
ADULT_AGE = 18
MAX_AGE = 110  # NIH's table holds a few impossible ages (e.g. 414): unknown, as in demographics
MIRROR = ("muhammedtalo/COVID-19", "ee3e2cffc0824711bed675275506b26f19be7198",
          "X-Ray Image DataSet/No_findings")
"""Where the films were taken from (repository, commit, folder)."""
METADATA = "qqto2008/capstone@cfe6522a181f745cbf708d72a186c28e19a8982f:Data_Entry_2017.csv"
"""NIH's Data_Entry_2017.csv (its first 40,000 rows) as the project reads it (records/demographics.md)."""

REASONS = ("external or reserved file", "external or reserved patient", "not 'No Finding' in NIH's table",
           "age unknown or over 110", "under 18", "a later film of a patient already taken",
           f"over the cap of {MAX_FILMS}")
"""Why a film is left out, in the order the rules apply (each film is counted under the first)."""


def nih_patient(name: str) -> str:
    """NIH's patient id of a film (`00001280_004.png` -> `nih:00001280`), as the manifests write it."""
    return f"nih:{PurePosixPath(name).name[:8]}"


def excluded(external: pd.DataFrame) -> tuple[set[str], set[str]]:
    """File stems and NIH patient ids that must not be taken: every external film's and every
    reserved one's (the external manifest and xraylib/reserved.csv)."""
    table = pd.concat([external[["source_path", "patient_id"]],
                       reserved_table()[["source_path", "patient_id"]]], ignore_index=True)
    stems = {PurePosixPath(str(p)).stem.lower() for p in table["source_path"].fillna("")} - {""}
    patients = {p for p in table["patient_id"].fillna("") if p.startswith("nih:")}
    return stems, patients


def select(names: list[str], metadata: pd.DataFrame, external: pd.DataFrame,
           n: int = MAX_FILMS) -> tuple[pd.DataFrame, dict[str, int]]:
    """The adult films, and how many films each rule left out (REASONS, first rule that applies).

    Rule: in file-name order, drop every film whose file or NIH patient is in the external set or
    reserved, every film NIH's table does not list as "No Finding", every film whose age is
    unknown, over 110 or under 18; keep each patient's first film only; take the first `n`.
    Sorting by name (patient id, then follow-up number) makes the choice depend on nothing else.
    """
    stems, patients = excluded(external)
    meta = metadata.drop_duplicates("Image Index").set_index("Image Index")
    age = pd.to_numeric(meta["Patient Age"], errors="coerce")
    counts = dict.fromkeys(REASONS, 0)
    rows, taken = [], set()
    for name in sorted(PurePosixPath(x).name for x in names):
        patient = nih_patient(name)
        years = age.get(name)
        if PurePosixPath(name).stem.lower() in stems:
            why = REASONS[0]
        elif patient in patients:
            why = REASONS[1]
        elif name not in meta.index or meta.at[name, "Finding Labels"] != "No Finding":
            why = REASONS[2]
        elif pd.isna(years) or years > MAX_AGE:
            why = REASONS[3]
        elif years < ADULT_AGE:
            why = REASONS[4]
        elif patient in taken:
            why = REASONS[5]
        elif len(rows) >= n:
            why = REASONS[6]
        else:
            taken.add(patient)
            rows.append({"source_name": name, "patient_id": patient, "age": int(years),
                         "sex": str(meta.at[name, "Patient Gender"])})
            continue
        counts[why] += 1
    return pd.DataFrame(rows, columns=["source_name", "patient_id", "age", "sex"]), counts


def record_path() -> Path:
    return project_root() / "records" / "adult-normals.json"


def arm_values(comp: pd.DataFrame, train: np.ndarray, path: str | Path | None = None) -> dict[str, str]:
    """The age arm's films for the prose (chapter Shortcuts), from records/adult-normals.json:
    how many adults replace how many of the training-part (`train`: rows of `comp`) normal
    children, and their ages and sexes."""
    import json

    training_normals = int((comp["label"].iloc[train] == "normal").sum())
    rec = json.loads(Path(path or record_path()).read_text())
    n, age, sex = rec["chosen"], rec["age"], rec["sex"]
    return {"age_adults": str(n), "age_children_left": str(training_normals - n),
            "age_training_normals": str(training_normals),
            "age_ages": f"median {age['median']:.0f}, range {age['min']}-{age['max']}",
            "age_sexes": f"{sex.get('F', 0)} women and {sex.get('M', 0)} men"}
