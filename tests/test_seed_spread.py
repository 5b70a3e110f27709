"""Training itself is tested here, not by nbval: a fresh quick-profile training on this machine
must land inside the spread of the recorded seeds (records/quick-seeds.json).

The chapters print pinned runs (records/runs), because trained weights differ from CPU to CPU;
this test retrains with pinned runs turned off, so a change that breaks training still fails.

False failures: if a fresh training is one more draw from the recorded seeds' distribution (normal,
the seeds' mean and SD estimated from n seeds), (fresh - mean) / (SD * sqrt(1 + 1/n)) follows
Student's t with n - 1 degrees of freedom. The tolerance (ladder_tables.spread_tolerance) is the
SD times a factor chosen so that a correct training fails 1% of the time (ladder_tables.FALSE_FAILURE;
with the five recorded seeds 5.04 SD; the old 3 SD failed a correct training about 1 time in 19).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xraylib import config, ladder_record, ladder_tables, runs, study

RECORD = Path(__file__).resolve().parents[1] / "records" / "quick-seeds.json"
def test_the_tolerance_fails_a_correct_training_at_most_one_time_in_a_hundred():
    n = len(ladder_tables.seed_accuracies("quick", "cv mean"))
    factor = ladder_tables.spread_factor(n)
    assert ladder_tables.false_failure_rate(factor, n) == pytest.approx(0.01) == ladder_tables.FALSE_FAILURE
    assert ladder_tables.false_failure_rate(3.0, 5) > 0.05  # what three SDs of five seeds gave: 1 in 19
    # Simulated: fresh runs drawn from the same normal as five seeds fall outside about 1% of the time.
    rng = np.random.default_rng(0)
    seeds, fresh = rng.normal(size=(200_000, 5)), rng.normal(size=200_000)
    outside = np.abs(fresh - seeds.mean(1)) > ladder_tables.spread_factor(5) * seeds.std(1, ddof=1)
    assert outside.mean() == pytest.approx(0.01, abs=0.002)


def test_the_record_holds_five_seeds_of_the_initial_run_and_of_each_fold():
    members = ladder_record.read_ladder(RECORD).members
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
    seeds = ladder_tables.seed_accuracies("quick", "cv mean")
    mean = float(seeds.mean())
    # spread_factor SDs of the recorded seeds (1% false failures), plus one test image of rounding.
    tolerance = ladder_tables.spread_tolerance(seeds, min(len(run.y_true) for run in result.runs))
    assert abs(accuracy - mean) <= tolerance, (
        f"fresh mean of folds {accuracy:.1f}% is outside {mean:.1f} +- {tolerance:.1f} "
        f"(mean +- {ladder_tables.spread_factor(len(seeds)):.2f} SD of {len(seeds)} recorded seeds)")
    one_class = 100 * np.bincount(result.y_true).max() / len(result.y_true)
    assert mean - tolerance > one_class, "the test must fail a network that always says one class"
