"""xraylib.adults: which NIH "No Finding" films the age arm trains on, and that the shipped choice
keeps every rule (adults, one per patient, no external or reserved film or patient)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from xraylib import adults, config, importer, reserved


def _metadata(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"Image Index": n, "Finding Labels": f, "Patient Age": a, "Patient Gender": "F"}
                         for n, f, a in rows])


def test_select_applies_each_rule_in_order_counts_it_and_takes_the_first_by_name():
    reserved_file = reserved.reserved_table().query("source_repo == 'muhammedtalo/COVID-19'")
    reserved_name = reserved_file["source_path"].iloc[0].rsplit("/", 1)[1]  # its patient is reserved too
    meta = _metadata([("00009001_000.png", "No Finding", "40"), ("00009001_001.png", "No Finding", "41"),
                      ("00009002_000.png", "No Finding", "12"), ("00009003_000.png", "Effusion", "50"),
                      ("00009004_000.png", "No Finding", "414"), ("00009005_000.png", "No Finding", "18"),
                      ("00009006_000.png", "No Finding", "30"), ("00009007_000.png", "No Finding", "30"),
                      ("00009008_000.png", "No Finding", "30"), ("00009009_000.png", "No Finding", "70")])
    external = pd.DataFrame({"source_path": ["No_findings/00009006_000.png"],
                             "patient_id": ["nih:00009007"]})
    names = [f"X/{n}" for n in reversed(meta["Image Index"])] + [reserved_name]
    chosen, left_out = adults.select(names, meta, external, n=2)
    assert list(chosen["source_name"]) == ["00009001_000.png", "00009005_000.png"]
    assert list(chosen["patient_id"]) == ["nih:00009001", "nih:00009005"]
    assert list(chosen["age"]) == [40, 18]
    assert list(left_out.values()) == [2, 1, 1, 1, 1, 1, 2]  # files, patient, finding, age, child, later, cap
    assert len(chosen) + sum(left_out.values()) == len(names)


def test_the_shipped_adult_films_are_132_adults_one_per_patient_none_external_or_reserved(
        real_external):
    selection = importer.load_selection()
    rows = selection[selection["set"] == "adult-normals"]
    assert len(rows) == adults.MAX_FILMS and rows["patient_id"].is_unique
    assert (rows["patient_id"] == rows["source_name"].map(adults.nih_patient)).all()
    assert not reserved.reserved_rows(rows).any()
    external = pd.read_csv(real_external / "manifest.csv", dtype=str, keep_default_na=False)
    assert not set(rows["patient_id"]) & set(external["patient_id"])
    stems = {p.rsplit("/", 1)[-1] for p in external["source_path"]}
    assert not set(rows["source_name"]) & stems
    record = json.loads((config.project_root() / "records" / "adult-normals.json").read_text())
    assert [f["source_name"] for f in record["films"]] == list(rows["source_name"])
    assert all(adults.ADULT_AGE <= f["age"] <= adults.MAX_AGE for f in record["films"])


def test_arm_values_count_the_children_left_beside_the_adults_from_the_record():
    comp = pd.DataFrame({"label": ["normal"] * 250 + ["covid"] * 50})
    values = adults.arm_values(comp, np.arange(20, 300))  # 230 training-part normals
    assert values["age_training_normals"] == "230"
    values = adults.arm_values(comp, np.arange(50, 300))
    assert (values["age_adults"], values["age_children_left"]) == ("132", "68")
    assert values["age_ages"].startswith("median ") and "women" in values["age_sexes"]
