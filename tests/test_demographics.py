"""xraylib.demographics: age and sex by origin and class, "unknown" where no source gives them."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from xraylib import demographics
from xraylib.reserved import reserved_rows

MANIFEST = pd.DataFrame({
    "file": ["c1.png", "c2.png", "c3.png", "n1.png", "n2.png", "k1.png"],
    "label": ["covid", "covid", "covid", "normal", "normal", "normal"],
    "dataset": ["cohen", "cohen", "cohen", "nih", "nih", "kermany-cxr-pneumonia-test"],
})
CSV = """folder,file,age,sex,source
main,c1.png,40,M,a
main,c2.png,60,F,a
main,c3.png,,F,a
main,n1.png,30,,b
other,n2.png,99,F,b
"""


@pytest.fixture
def table(tmp_path) -> pd.DataFrame:
    path = tmp_path / "demographics.csv"
    path.write_text(CSV)
    return demographics.demographics_table(MANIFEST, "main", demographics.read_demographics(path))


def row(table: pd.DataFrame, origin: str) -> pd.Series:
    return table.set_index("origin").loc[origin]


def test_ages_and_sexes_are_summarised_over_the_films_that_have_them(table):
    covid = row(table, "cohen")
    assert (covid["films"], covid["age known"], covid["sex known"]) == (3, 2, 3)
    assert (covid["median age"], covid["age min"], covid["age max"]) == (50, 40, 60)
    assert covid["female (%)"] == pytest.approx(200 / 3)


def test_a_row_of_another_folder_is_not_joined_by_file_name(table):
    nih = row(table, "nih")
    assert (nih["films"], nih["age known"], nih["median age"], nih["sex known"]) == (2, 1, 30, 0)
    assert math.isnan(nih["female (%)"])


def test_unknown_is_stated_where_no_source_gives_a_value_and_kermany_gets_its_papers_range(table):
    shown = demographics.display_demographics(table)
    kermany = shown.loc[("kermany-cxr-pneumonia-test", "normal")]
    assert kermany["median age (IQR; range)"] == kermany["female"] == demographics.UNKNOWN
    assert kermany["note"] == demographics.KERMANY_NOTE
    assert shown.loc[("nih", "normal"), "female"] == demographics.UNKNOWN
    assert shown.loc[("cohen", "COVID-19"), "median age (IQR; range)"] == \
        "50 (IQR 45-55; range 40-60)"


def test_read_demographics_names_the_missing_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv.*benchmarks/demographics\.py"):
        demographics.read_demographics(tmp_path / "nowhere.csv")


def test_read_demographics_refuses_a_sex_other_than_m_or_f(tmp_path):
    path = tmp_path / "demographics.csv"
    path.write_text("folder,file,age,sex,source\nmain,a.png,3,x,s\n")
    with pytest.raises(ValueError, match=r"demographics\.csv.*\['x'\]"):
        demographics.read_demographics(path)


@pytest.fixture(scope="module")
def real_manifests(real_root, real_external, real_controls) -> dict[str, pd.DataFrame]:
    return {folder.name: pd.read_csv(folder / "manifest.csv", dtype=str)
            for folder in (real_root, real_external, real_controls)}


def test_the_committed_table_names_only_films_of_the_manifests_and_no_reserved_one(real_manifests):
    table = demographics.read_demographics()
    assert set(table["folder"]) == set(real_manifests)
    for folder, part in table.groupby("folder"):
        manifest = real_manifests[folder].set_index("file")
        assert set(part["file"]) <= set(manifest.index), folder
        assert not reserved_rows(manifest.loc[part["file"]].reset_index()).any(), folder


def test_main_set_ages_come_only_from_films_matched_to_cohens_patients(real_manifests):
    table = demographics.read_demographics()
    main = real_manifests["covid-xray"].set_index("file")
    known = main.loc[table.loc[table["folder"] == "covid-xray", "file"]]
    assert (known["label"] == "covid").all()
    assert known["patient_id"].str.startswith("ieee8023:").all()
