"""Training itself is tested here, not by nbval: a fresh quick-profile training on this machine
must land inside the spread of the recorded seeds (records/quick-seeds.json).

The chapters print pinned runs (records/runs), because trained weights differ from CPU to CPU;
this test retrains with pinned runs turned off, so a change that breaks training still fails.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from xraylib import config, ladder, runs, train

RECORD = Path(__file__).resolve().parents[1] / "records" / "quick-seeds.json"


def seed_spread(procedure: str = "initial") -> tuple[float, float, int]:
    members = ladder.read_ladder(RECORD).members
    part = members[members["procedure"] == procedure]
    return float(part["accuracy"].mean()), float(part["accuracy"].std(ddof=1)), len(part)


def test_the_record_holds_five_seeds_of_the_initial_run_and_of_each_fold():
    members = ladder.read_ladder(RECORD).members
    counts = members.groupby("procedure")["seed"].nunique()
    assert (counts >= 5).all() and set(counts.index) == {"initial"} | {f"fold-{k}" for k in range(1, 6)}


def test_a_fresh_quick_training_falls_inside_the_seed_spread(real_root, tmp_path, monkeypatch):
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    run = train.initial_run("quick", data=str(real_root))
    assert not run.loaded, "the run must be trained here, not loaded"
    accuracy = 100 * float(np.mean(run.y_pred == run.y_true))
    mean, sd, n = seed_spread()
    # Three standard deviations of the recorded seeds, plus one test image of rounding.
    tolerance = 3 * sd + 100 / len(run.y_true)
    assert abs(accuracy - mean) <= tolerance, (
        f"fresh accuracy {accuracy:.1f}% is outside {mean:.1f} +- {tolerance:.1f} "
        f"(mean +- 3 SD of {n} recorded seeds)")
