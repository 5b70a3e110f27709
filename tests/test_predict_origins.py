"""The external report per origin (predict.FolderResult.origins): numbers, reader-facing names."""
from __future__ import annotations

import numpy as np
import pandas as pd

from xraylib import predict
from xraylib.config import CLASSES


def _result() -> predict.FolderResult:
    rows = [("nih-chestxray14-no-finding", "normal", "covid")] * 3 + [
        ("nih-chestxray14-no-finding", "normal", "normal"),
        ("kermany-cxr-pneumonia-test", "viral_pneumonia", "viral_pneumonia")]
    given = pd.DataFrame(rows, columns=["dataset", "label", "predicted"])
    prob = np.eye(3)[[CLASSES.index(c) for c in given["predicted"]]]
    rows = given[["dataset", "label"]].assign(file=[f"f{i}.png" for i in range(len(given))])
    return predict.FolderResult(predict.predictions_table(rows, prob))


def test_each_origin_counts_its_right_answers_and_what_it_was_called():
    out = _result().origins()
    nih = out.loc["adult normals (NIH ChestX-ray14)"]
    assert (nih["images"], nih["right"], nih["called COVID-19"], nih["called normal"]) == (4, 1, 3, 1)
    assert nih["accuracy"].value == 0.25 and nih["accuracy"].low < 0.25 < nih["accuracy"].high
    assert out.loc["children, same hospital (Kermany test split)", "true class"] == "viral pneumonia"


def test_an_origin_without_a_reader_name_keeps_its_manifest_name():
    res = _result()
    res.table.loc[0, "dataset"] = "somewhere-else"
    assert "somewhere-else" in res.origins().index
