"""xraylib.shortcut_tables: the shortcut chapter's sections, on made-up results of the experiments
(no training, no data): which numbers go where, and the verdicts' thresholds."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xraylib import data as xdata
from xraylib import ladder_tables, metrics, shortcut_tables, shortcuts
from xraylib.config import CLASSES
from xraylib.predict import FolderResult, predictions_table


def _origins(right: dict[str, int], n: int = 10) -> pd.DataFrame:
    """FolderResult.origins() of n images per external origin, `right[id]` of them right."""
    rows, prob = [], []
    for key, k in right.items():
        dataset = next(d for d, name in xdata.DATASET_NAMES.items() if name == shortcut_tables.ORIGINS[key])
        label = {"hannover": "covid", "nih": "normal"}.get(key, "viral_pneumonia")
        for i in range(n):
            rows.append({"file": f"{key}-{i}.png", "label": label, "dataset": dataset})
            hit = CLASSES.index(label) if i < k else (CLASSES.index(label) + 1) % 3
            prob.append(np.eye(3)[hit])
    return FolderResult(predictions_table(pd.DataFrame(rows), np.array(prob))).origins()


def test_every_cue_has_its_own_glue_name():
    assert set(shortcut_tables.CUE_KEYS) == set(shortcuts.CUES)
    assert len(set(shortcut_tables.CUE_KEYS.values())) == len(shortcuts.CUES)


def test_external_values_quote_each_origin_for_both_networks():
    ext = shortcut_tables.External(_origins({"hannover": 9, "nih": 5, "ieee": 7, "kermany": 2}),
                                   _origins({"hannover": 8, "nih": 6, "ieee": 1, "kermany": 10}), 0, "authors")
    values, side = shortcut_tables.external_values(ext)
    assert (values["ext_hannover"], values["ext_hannover_a"], values["ext_kermany_a"]) == ("90%", "80%", "100%")
    assert values["nih_a_covid"] == "4 of 10"  # the examined network's 4 wrong NIH answers went to COVID-19
    assert set(side.columns.get_level_values(0)) == {"this build", "authors protocol, 200 px"}


def test_mitigation_reads_a_change_within_twice_the_seed_sd_as_the_seeds_doing(monkeypatch):
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    run = SimpleNamespace(y_true=y, y_prob=np.eye(3)[y])  # 100%
    mitigated = SimpleNamespace(y_true=y, y_prob=np.eye(3)[np.where(np.arange(10) < 9, y, (y + 1) % 3)])  # 90%
    origins = _origins({"hannover": 9, "nih": 5, "ieee": 7, "kermany": 2})
    monkeypatch.setattr(shortcut_tables.audit, "jpeg_mitigation",
                        lambda book: (mitigated, SimpleNamespace(origins=lambda: origins)))
    monkeypatch.setattr(ladder_tables, "seed_accuracies", lambda name: pd.Series([60.0, 66.0, 72.0]))  # SD 6
    book = SimpleNamespace(profile=SimpleNamespace(name="quick"))
    values, compare = shortcut_tables.mitigation(book, run, shortcut_tables.External(origins, origins, 0, "x"))
    assert values["mit_gap"] == "-10.0 points" and values["mit_direction"] == "fell"
    assert values["mit_reading"].startswith("the change is within twice")  # 10 < 2 x 6
    assert compare.loc["internal test", "original"] == metrics.accuracy(y, run.y_prob).text()
    assert compare.loc["internal test", "JPEG for everyone"] == metrics.accuracy(y, mitigated.y_prob).text()
    assert len(compare) == 1 + len(origins)


def test_lungs_removed_compares_the_blanked_model_with_the_majority_class(monkeypatch):
    def summary(acc, lo):
        return {"accuracy": acc, "accuracy_95ci": (lo, acc + 0.05), "f1_macro": acc - 0.1}

    monkeypatch.setattr(shortcut_tables.audit, "lungs_removed", lambda book: {
        "original model, lungs blanked": summary(0.4, 0.35), "model trained on blanked images": summary(0.7, 0.62),
        "original model, intact images": summary(0.9, 0.85), "blanked_run": None})
    run = SimpleNamespace(y_true=np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2]))  # majority 50%
    values, table = shortcut_tables.lungs_removed(None, run)
    assert values["chance"] == "50.0%" and values["blank_verdict"].startswith("clearly above chance")
    assert list(table.index) == ["original model, lungs blanked", "model trained on blanked images",
                                 "original model, intact images"]
    monkeypatch.setattr(shortcut_tables.audit, "lungs_removed", lambda book: {
        "original model, lungs blanked": summary(0.4, 0.35), "model trained on blanked images": summary(0.52, 0.45),
        "original model, intact images": summary(0.9, 0.85), "blanked_run": None})
    assert shortcut_tables.lungs_removed(None, run)[0]["blank_verdict"].startswith("no better than chance")
    monkeypatch.setattr(shortcut_tables.audit, "lungs_removed", lambda book: {
        "original model, lungs blanked": summary(0.4, 0.35), "model trained on blanked images": summary(0.33, 0.29),
        "original model, intact images": summary(0.9, 0.85), "blanked_run": None})
    assert shortcut_tables.lungs_removed(None, run)[0]["blank_verdict"].startswith("below chance")


def test_two_runs_are_read_against_the_spread_of_a_difference_not_of_one_run():
    assert shortcut_tables.two_runs_reading(27.1, 12.4, "x").startswith("is within")  # 27.1 < 35.1
    assert shortcut_tables.two_runs_reading(36.0, 12.4, "x").startswith("is more than")
    assert "no verdict" in shortcut_tables.two_runs_reading(5.0, float("nan"), "x")


@pytest.mark.parametrize("gap_points, within", [(3.0, True), (13.0, True), (18.0, False)])
def test_image_level_split_is_judged_against_twice_the_sd_of_a_difference_of_two_runs(monkeypatch, gap_points, within):
    y = np.repeat([0, 1, 2], 100)
    right = lambda k: np.eye(3)[np.where(np.arange(300) < k, y, (y + 1) % 3)]  # noqa: E731
    run = SimpleNamespace(y_true=y, y_prob=right(210))  # 70%
    image_run = SimpleNamespace(y_true=y, y_prob=right(210 + int(3 * gap_points)))
    comp = pd.DataFrame({"patient_id": ["p1", "", "p2"] * 100})
    split = SimpleNamespace(train=np.arange(0, 150), val=np.arange(150, 160), test=np.arange(160, 300))
    monkeypatch.setattr(shortcut_tables.audit, "image_level_run", lambda book: (image_run, split))
    monkeypatch.setattr(ladder_tables, "seed_accuracies", lambda name: pd.Series([60.0, 66.0, 72.0]))  # SD 6
    book = SimpleNamespace(comp=comp, profile=SimpleNamespace(name="quick"))
    values, table = shortcut_tables.image_level(book, run)
    assert values["split_gap"] == f"{gap_points:+.1f} points" and values["straddle"] == "2"
    assert values["split_verdict"].startswith("is within") is within  # limit 2 x sqrt 2 x 6 = 17.0
    assert values["with_id"] == "200 of 300" and table.loc["patients on both sides", "image-level"] == "2"


def test_without_the_lungs_compares_the_blanked_accuracy_with_the_majority_class(monkeypatch):
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])  # majority 60%
    origins = _origins({"hannover": 9, "nih": 5, "ieee": 7, "kermany": 2})
    monkeypatch.setattr(shortcut_tables.audit, "blanked_predictions",
                        lambda examined, run: np.eye(3)[np.zeros(10, int)])  # always COVID-19
    monkeypatch.setattr(shortcut_tables.audit, "external_validation",
                        lambda examined, run: SimpleNamespace(origins=lambda: origins))
    values, table = shortcut_tables.without_the_lungs(None, SimpleNamespace(y_true=y))
    assert values["majority"] == "60.0%" and values["blank_vs_chance"] == "no better than"
    assert values["blank_called"] == "10 COVID-19, 0 viral pneumonia, 0 normal"
    assert values["kermany_acc"] == origins.loc[shortcut_tables.ORIGINS["kermany"], "accuracy"].text(unit="%")
    assert "right" not in table.columns
