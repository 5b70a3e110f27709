"""Helpers for the book itself: glue, the profile banner, and re-executing chapters in place.

`python -m xraylib.book chapters/*.ipynb` (or `make notebooks`) refreshes the stored outputs that
nbval compares against.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .config import Profile

TABLE_OPTIONS = {"display.max_colwidth": None, "display.max_columns": None, "display.width": None}
"""pandas' display options for every table the book shows: no cell cut with '...' (pandas cuts text
past 50 characters by default) and no column hidden. Set when a chapter imports this module."""


def table_style() -> None:
    """Apply TABLE_OPTIONS (idempotent); the book's one table formatter setting."""
    import pandas as pd

    for key, value in TABLE_OPTIONS.items():
        pd.set_option(key, value)


table_style()


def glue(name: str, value, display: bool = False):
    """myst-nb glue that also works outside a book build (no output either way unless asked)."""
    from myst_nb import glue as _glue

    _glue(name, value, display=display)
    return value


def glue_all(values: dict) -> None:
    """glue every (name, value) in order: a section's values, computed by one package call."""
    for name, value in values.items():
        glue(name, value)


def banner(profile: Profile) -> None:
    """The line every chapter prints first: which profile and settings produced its numbers."""
    print(profile.describe())


def execute_in_place(paths: list[str], timeout: int = 3600) -> None:
    """Run each notebook top to bottom in its folder and store its outputs (stderr dropped)."""
    import nbformat
    from nbclient import NotebookClient

    for path in map(Path, paths):
        print(f"executing {path} ...", file=sys.stderr, flush=True)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs
                                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        nbformat.write(nb, path)


if __name__ == "__main__":
    execute_in_place(sys.argv[1:])
