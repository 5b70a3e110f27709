"""The model card's numbers (chapter Model card): what the examined network is, how well it does
inside its own data, and what it does once its shortcuts are taken away.

Why a module: the card quotes one network beside its protocol's seeds, the paper and the
shortcut tests; computed here, the chapter only glues and shows them.
"""
from __future__ import annotations

import pandas as pd

from . import metrics, paper, protocols, wording


def card_values(run) -> dict[str, str]:
    """The examined network's sizes, accuracy, F1 and calibration beside the paper's numbers and
    its protocol's recorded seeds (initial test and cross-validation)."""
    acc = metrics.accuracy(run.y_true, run.y_prob)
    authors = protocols.recorded()["authors"]
    table = protocols.headline({"authors": authors})
    return {"card_params": f"{paper.PARAMS:,}",
            **{f"card_n_{k}": str(run.meta[f"n_{k}"]) for k in ("train", "val", "test")},
            "card_acc": acc.text(unit="%"),
            "card_f1": metrics.macro_f1_estimate(run.y_true, run.y_prob).text(unit="%"),
            "card_ece": f"{metrics.expected_calibration_error(run.y_true, run.y_prob):.3f}",
            "paper_init": f"{paper.INITIAL_ACCURACY:g}%", "paper_cv": f"{paper.CV_MEAN_ACCURACY:g}%",
            "card_protocol_cv": protocols.over_seeds(table, authors.title, "cv"),
            "card_protocol_init": protocols.over_seeds(table, authors.title, "initial"),
            "card_seeds": wording.beside_seeds(100 * acc.value, authors.seed_accuracies("initial").to_numpy(),
                                               what="GPU seeds")}


CUE_ROWS = {"border only (32x32 frame)": "a linear classifier of the border pixels only (cross-validation)",
            "JPEG block statistics": "a linear classifier of three JPEG statistics (cross-validation)"}
"""The cue-only classifiers (shortcuts.CUES) as the card's table names them."""


def shortcut_rows(run, blanked_prob, cues: dict) -> tuple[dict[str, str], pd.DataFrame]:
    """The network on its test set, then with the lung box blanked, beside the classifiers that
    see no anatomy (`cues`: name -> accuracy Estimate): the glued values and the table."""
    acc, blank = metrics.accuracy(run.y_true, run.y_prob), metrics.accuracy(run.y_true, blanked_prob)
    values = {"card_blank": blank.text(unit="%"),
              "card_border": cues["border only (32x32 frame)"].text(unit="%"),
              "card_jpeg": cues["JPEG block statistics"].text(unit="%")}
    table = pd.DataFrame({"accuracy (95% CI)": [acc.text(), blank.text()] + [e.text() for e in cues.values()]},
                         index=["this network, internal test", "this network, lung box blanked",
                                *(CUE_ROWS[name] for name in cues)])
    return values, table


def shortcut_summary(examined, run) -> tuple[dict[str, str], pd.DataFrame]:
    """shortcut_rows for the examined study: its blanked test and its folds' cue classifiers."""
    from . import audit, data, shortcuts

    cues = {name: metrics.accuracy(data.labels_of(examined.comp), prob)
            for name, prob in shortcuts.cue_predictions(examined.comp, examined.folds).items()}
    return shortcut_rows(run, audit.blanked_predictions(examined, run), cues)
