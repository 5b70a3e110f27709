"""The files reserved for an outside check never enter a manifest the project reads or builds."""
from __future__ import annotations

import pandas as pd
import pytest

from xraylib import config, data, reserved

SHARED_LIST = config.project_root().parent / "shared" / "data" / "reserved.csv"


def test_shipped_list_is_the_published_one_where_the_published_one_is_beside_the_checkout():
    if not SHARED_LIST.exists():
        pytest.skip(f"no published list at {SHARED_LIST} to compare with")
    shipped = reserved.reserved_table()
    published = pd.read_csv(SHARED_LIST, dtype=str, keep_default_na=False)
    assert shipped.equals(published)


def test_shipped_list_names_files_and_patients():
    table = reserved.reserved_table()
    assert len(table) > 100 and (table["source_path"] != "").all()
    assert {"nih", "kermany-test", "ieee8023"} <= {p.split(":")[0] for p in table["patient_id"]}


def test_the_import_selection_names_no_reserved_file_or_patient():
    selection = pd.read_csv(config.project_root() / "xraylib" / "selection.csv", dtype=str,
                            keep_default_na=False)
    assert not reserved.reserved_rows(selection).any()


@pytest.mark.parametrize("folder", ["real_root", "real_external", "real_controls"])
def test_no_data_folder_names_a_reserved_file_or_patient(folder, request):
    df = data.load_manifest(request.getfixturevalue(folder))
    assert len(df) > 100
    assert not reserved.reserved_rows(df).any()
    assert not any("outside check" in p for p in data.manifest_problems(df))


def test_a_manifest_row_naming_a_reserved_patient_is_refused_with_its_row(make_root):
    patient = reserved.reserved_table()["patient_id"].iloc[0]
    root = make_root([{"file": "images/covid/a.png", "label": "covid", "patient_id": ""},
                      {"file": "images/covid/b.png", "label": "covid", "patient_id": patient}])
    problems = data.manifest_problems(data.load_manifest(root))
    assert problems == [f"{root / 'manifest.csv'}: row 3 (images/covid/b.png) names a file or "
                        f"patient reserved for an outside check (xraylib/reserved.csv); remove "
                        f"the row"]
    with pytest.raises(data.DataError, match="outside check"):
        data.read_dataset(root)


def test_a_manifest_row_naming_a_reserved_source_file_is_refused(make_root):
    row = reserved.reserved_table().iloc[-1]
    root = make_root([{"file": "images/normal/x.png", "label": "normal", "source_repo": row.source_repo,
                       "source_path": row.source_path}])
    assert reserved.reserved_rows(data.load_manifest(root)).tolist() == [True]
