"""Files and patients reserved for an outside check: never read, imported, trained or evaluated on.

Why a shipped list: the check is only worth something if no image of it ever reaches a network, so
every manifest the project reads is compared with this list (xraylib/reserved.csv, a copy of the
list the outside checkers published) and a row naming a reserved file or patient is refused.
"""
from __future__ import annotations

import functools
from pathlib import Path, PurePosixPath

import pandas as pd

RESERVED_CSV = Path(__file__).with_name("reserved.csv")


@functools.cache
def reserved_table() -> pd.DataFrame:
    """The reserved files (source repository and path) and patients, as shipped."""
    return pd.read_csv(RESERVED_CSV, dtype=str, keep_default_na=False)


def _stem(path: str) -> str:
    return PurePosixPath(str(path)).stem.lower()


def reserved_rows(df: pd.DataFrame) -> pd.Series:
    """Which rows of a manifest (or of the import's selection) name a reserved file or patient:
    by patient id, by source repository and path, or by the source file's name (any extension,
    since the import may re-encode it)."""
    table = reserved_table()
    hit = pd.Series(False, index=df.index)
    if "patient_id" in df.columns:
        patients = set(table["patient_id"]) - {""}
        hit |= df["patient_id"].fillna("").isin(patients)
    if {"source_repo", "source_path"} <= set(df.columns):
        files = set(zip(table["source_repo"], table["source_path"]))
        hit |= pd.Series([(r, p) in files for r, p in zip(df["source_repo"], df["source_path"])],
                         index=df.index)
    names = {_stem(p) for p in table["source_path"]}
    for column in ("source_path", "source_name"):
        if column in df.columns:
            hit |= df[column].fillna("").map(_stem).isin(names) & (df[column].fillna("") != "")
    return hit


def reserved_problems(df: pd.DataFrame, where: str) -> list[str]:
    """One line per manifest row that names a reserved file or patient (see the module)."""
    hit = reserved_rows(df)
    return [f"{where}: row {i + 2} ({row.get('file') or row.get('source_name')}) names a file or "
            f"patient reserved for an outside check (xraylib/reserved.csv); remove the row"
            for i, (_, row) in enumerate(df.iterrows()) if hit.iloc[i]]
