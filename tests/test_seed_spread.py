"""Training itself is tested here, not by nbval: a fresh quick-profile training on this machine
must land inside the spread of the recorded seeds (records/quick-seeds.json).

The chapters print pinned runs (records/runs), because trained weights differ from CPU to CPU;
this test retrains with pinned runs turned off, so a change that breaks training still fails.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from xraylib import config, ladder, runs, study

RECORD = Path(__file__).resolve().parents[1] / "records" / "quick-seeds.json"


def test_the_record_holds_five_seeds_of_the_initial_run_and_of_each_fold():
    members = ladder.read_ladder(RECORD).members
    counts = members.groupby("procedure")["seed"].nunique()
    assert (counts >= 5).all() and set(counts.index) == {"initial"} | {f"fold-{k}" for k in range(1, 6)}


def test_a_fresh_quick_cross_validation_falls_inside_the_seed_spread(real_root, tmp_path,
                                                                     monkeypatch):
    # The five-fold mean, not the initial run: over seeds the initial run of the quick profile
    # spreads over 30 points (a test that wide would pass a network that always says one class),
    # the mean of the folds over a few points.
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runs.PINNED_ENV, "0")
    result = study.Study("quick", real_root).cross_validate()
    assert not any(run.loaded for run in result.runs), "the folds must be trained here, not loaded"
    accuracy = float(result.table().loc["mean", "accuracy"])
    seeds = ladder.seed_accuracies("quick", "cv mean")
    mean, sd = float(seeds.mean()), float(seeds.std(ddof=1))
    # Three standard deviations of the recorded seeds, plus one test image of rounding.
    tolerance = 3 * sd + 100 / min(len(run.y_true) for run in result.runs)
    assert abs(accuracy - mean) <= tolerance, (
        f"fresh mean of folds {accuracy:.1f}% is outside {mean:.1f} +- {tolerance:.1f} "
        f"(mean +- 3 SD of {len(seeds)} recorded seeds)")
    one_class = 100 * np.bincount(result.y_true).max() / len(result.y_true)
    assert mean - tolerance > one_class, "the test must fail a network that always says one class"
