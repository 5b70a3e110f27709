"""xraylib.book_protocols: the protocols a page shows, this build's own runs among them."""
from __future__ import annotations

import numpy as np
import pytest

from xraylib import book_protocols, study


@pytest.fixture(scope="module")
def quick(real_root):
    return study.Study("quick", real_root)


def test_initial_runs_put_the_quick_builds_run_beside_the_two_records(quick):
    run, recorded = book_protocols.initial_runs(quick)
    assert list(recorded) == ["paper", "authors", "quick"]
    np.testing.assert_array_equal(recorded["quick"].record.initial.y_prob, run.y_prob)
    assert recorded["quick"].record.folds == []


def test_initial_runs_of_another_profile_add_this_builds_run_as_its_own_row(quick, real_root, monkeypatch):
    built = study.Study("paper", real_root)
    stand_in = quick.initial_run()  # no paper-scale training in a unit test: the quick run stands in
    monkeypatch.setattr(study.Study, "initial_run", lambda self, force=False: stand_in)
    run, recorded = book_protocols.initial_runs(built)
    assert list(recorded) == ["paper", "authors", "quick", "built"]
    assert recorded["built"].title == "this build (paper profile)" and run is stand_in
