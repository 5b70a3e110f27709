"""The reporting checklists a reproduction report is read against, item by item, with where this
book answers each one: REFORMS (Kapoor et al. 2024) and CLAIM (Mongan et al. 2020).

Why one table here: the appendix "Reporting checklist" is generated from it (`markdown()`, written
into chapters/13_checklist.ipynb by `python -m xraylib.checklist`), and a test checks that every
target page and label exists, so a link cannot silently point nowhere. Items are paraphrased.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import project_root

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Item:
    """One checklist item: its number, what it asks, and where the book answers it (a chapter
    file under chapters/, 'intro', or a label `(name)=` defined in a chapter), or why it does not apply."""

    number: str
    asks: str
    where: str = ""
    label: str = ""
    note: str = ""


REFORMS = [
    Item("1a", "Population or distribution the claim is about", "01_data", "data-population"),
    Item("1b", "Why that population", "01_data", "data-population"),
    Item("1c", "Why machine learning", "intro", note="the paper's choice, reproduced as it is"),
    Item("2a", "Data set described, with a link", "01_data"),
    Item("2b", "Code, with a link to the version used", "11_reproducibility"),
    Item("2c", "Computing infrastructure", "10_performance"),
    Item("2d", "README with instructions", "intro", note="README.md and the opening page's 'How to run it'"),
    Item("2e", "One script reproducing every result", "11_reproducibility", note="`make book`, `make test`"),
    Item("3a", "Data sources and how ground truth was made", "01_data", "data-labels"),
    Item("3b", "Sampling frame", "01_data", "data-population"),
    Item("3c", "Why the data fit the task", "01_data", "shortcuts-in-data",
         note="they do not fit it well: the cues that are not disease"),
    Item("3d", "Outcome variable, per class", "01_data"),
    Item("3e", "Number of samples", "01_data", "data-flow"),
    Item("3f", "Missing data, per class", "01_data", "shortcuts-in-data",
         note="patient ids missing for many COVID-19 images"),
    Item("3g", "Whether the data represent the population", "01_data", "data-population"),
    Item("4a", "Excluded samples and why", "01_data", "data-flow"),
    Item("4b", "Corrupt or impossible samples", "11_reproducibility", note="manifest and sha256 checks"),
    Item("4c", "Every transformation from raw data", "03_training"),
    Item("5a", "Every model trained", "06_why"),
    Item("5b", "Why these model types", "02_architecture", note="the paper's network, and a linear baseline"),
    Item("5c", "How models were evaluated", "04_cross_validation"),
    Item("5d", "How the reported model was selected", "03_training"),
    Item("5e", "Hyperparameter tuning", "06_why", note="none: every setting is the paper's or its code's"),
    Item("5f", "Comparison with appropriate baselines", "05_results"),
    Item("6a", "Preprocessing uses training data only", "03_training"),
    Item("6b", "Dependencies and duplicates across splits", "01_data", "shortcuts-in-data"),
    Item("6c", "Every input legitimate for the task", "08_shortcuts"),
    Item("7a", "Every metric", "05_results"),
    Item("7b", "Uncertainty estimates and how computed", "05_results"),
    Item("7c", "Statistical tests and their assumptions", "05_results"),
    Item("8a", "Evidence of external validity", "08_shortcuts"),
    Item("8b", "Where the findings are not expected to hold", "12_conclusions"),
]
"""REFORMS: 32 items in eight modules (study goals, reproducibility, data quality, preprocessing,
modelling, leakage, metrics and uncertainty, generalisability), numbered as Table 1 of Kapoor et al.
(Sci. Adv. 2024, PMC11092361): 3 + 5 + 7 + 3 + 6 + 3 + 3 + 2 items (a test checks the count)."""

CLAIM = [
    Item("1", "Title or abstract says AI is used", "intro"),
    Item("2", "Structured summary", "intro"),
    Item("3", "Background, intended use and clinical role", "intro"),
    Item("4", "Objectives and hypotheses", "intro"),
    Item("5", "Prospective or retrospective", "01_data", "data-population",
         note="retrospective: public archives only"),
    Item("6", "Study goal", "intro", note="a reproduction, then a stress test"),
    Item("7", "Data sources", "01_data"),
    Item("8", "Eligibility criteria", "01_data", "data-flow"),
    Item("9", "Data preprocessing", "03_training"),
    Item("10", "Selection of data subsets", "01_data", "data-flow"),
    Item("11", "Definitions of data elements", "01_data", "data-labels"),
    Item("12", "De-identification", note="not applicable: public, already de-identified archives"),
    Item("13", "Missing data", "01_data", "shortcuts-in-data"),
    Item("14", "Reference standard defined", "01_data", "data-labels"),
    Item("15", "Why that reference standard", "01_data", "data-labels"),
    Item("16", "Who annotated, with what qualification", "01_data", "data-labels"),
    Item("17", "Annotation tools", note="not applicable: no image was annotated for this book"),
    Item("18", "Inter- and intra-rater variability", "01_data", "data-labels",
         note="not measured by the sources or by us"),
    Item("19", "Intended sample size", "01_data", note="the paper's 1,389 images; no power calculation"),
    Item("20", "How data were assigned to partitions", "04_cross_validation"),
    Item("21", "Level at which partitions are disjoint", "01_data", "data-flow"),
    Item("22", "Model described in detail", "02_architecture"),
    Item("23", "Software and versions", "11_reproducibility"),
    Item("24", "Initialisation of parameters", "02_architecture"),
    Item("25", "Training: augmentation, hyperparameters, number of models", "03_training"),
    Item("26", "How the final model was selected", "03_training"),
    Item("27", "Ensembling", note="not applicable: no ensembles"),
    Item("28", "Performance metrics", "05_results"),
    Item("29", "Significance and uncertainty", "05_results"),
    Item("30", "Robustness or sensitivity analysis", "06_why"),
    Item("31", "Explainability, and how it was validated", "07_saliency"),
    Item("32", "Testing on external data", "08_shortcuts"),
    Item("33", "Flow of cases, as a diagram", "01_data", "data-flow"),
    Item("34", "Demographics per partition", "01_data", "data-population",
         note="the archives carry no age or sex for most images; the classes' age groups are described"),
    Item("35", "Performance on every partition", "05_results"),
    Item("36", "Diagnostic accuracy with 95% intervals", "05_results"),
    Item("37", "Failure analysis of misclassified cases", "08_shortcuts"),
    Item("38", "Limitations", "12_conclusions"),
    Item("39", "Implications for practice", "09_model_card"),
    Item("40", "Registration", note="not applicable: a reproduction, not a clinical study"),
    Item("41", "Where the full protocol is", "11_reproducibility", note="the profiles and the records"),
    Item("42", "Funding", note="none"),
]
"""CLAIM: 42 items for medical-imaging AI (title to funding)."""

CHECKLISTS = {"REFORMS": ("kapoor2024reforms", REFORMS), "CLAIM": ("mongan2020claim", CLAIM)}


def _link(item: Item) -> str:
    if item.label:
        return f"{{ref}}`{item.label}`"
    if item.where == "intro":
        return "{doc}`../intro`"
    if item.where:
        return f"{{doc}}`{item.where}`"
    return ""


def markdown() -> str:
    """The appendix's checklist tables as MyST markdown: item, what it asks, where answered."""
    parts = []
    for name, (key, items) in CHECKLISTS.items():
        rows = [f"## {name} {{footcite:p}}`{key}`", "", "| item | asks | answered in |", "|---|---|---|"]
        for it in items:
            where = "; ".join(filter(None, [_link(it), it.note]))
            rows.append(f"| {it.number} | {it.asks} | {where} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def defined_labels(root: str | Path | None = None) -> set[str]:
    """Every `(label)=` target in the book's notebooks' markdown cells."""
    import nbformat

    root = Path(root) if root is not None else project_root()
    labels = set()
    for path in [root / "intro.ipynb", *sorted((root / "chapters").glob("*.ipynb"))]:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                labels.update(re.findall(r"^\(([\w-]+)\)=\s*$", cell.source, flags=re.M))
    return labels


def missing_targets(root: str | Path | None = None) -> list[str]:
    """Checklist targets that do not exist: a chapter file that is not there, or a label no chapter
    defines. Empty when every link of the appendix resolves."""
    root = Path(root) if root is not None else project_root()
    labels = defined_labels(root)
    missing = []
    for name, (_, items) in CHECKLISTS.items():
        for it in items:
            if it.where and it.where != "intro" and not (root / "chapters" / f"{it.where}.ipynb").is_file():
                missing.append(f"{name} {it.number}: chapters/{it.where}.ipynb")
            if it.label and it.label not in labels:
                missing.append(f"{name} {it.number}: label ({it.label})=")
            if not it.where and not it.note:
                missing.append(f"{name} {it.number}: neither a target nor a reason it does not apply")
    return missing


def write_into(notebook: str | Path, cell_id: str = "c13-items") -> None:
    """Store markdown() in the notebook's cell with this id (the appendix is generated, not typed)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.get("id") == cell_id]
    if not cells:
        raise KeyError(f"{notebook} has no cell with id '{cell_id}': add a markdown cell with that id")
    cells[0].source = markdown()
    nbformat.write(nb, notebook)


if __name__ == "__main__":
    write_into(sys.argv[1] if len(sys.argv) > 1 else project_root() / "chapters" / "13_checklist.ipynb")


def coverage() -> "pd.DataFrame":
    """Per checklist, how many items the book answers on a page and how many do not apply."""
    import pandas as pd

    rows = [{"checklist": name, "answered in the book": sum(bool(it.where) for it in items),
             "not applicable": sum(not it.where for it in items)}
            for name, (_, items) in CHECKLISTS.items()]
    return pd.DataFrame(rows).set_index("checklist")
