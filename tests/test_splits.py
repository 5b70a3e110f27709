"""xraylib.splits: the paper's exact sizes, disjoint sides, whole patients, determinism."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from xraylib import splits
from xraylib.config import CLASSES

SIDES = ("train", "val", "test")


def _per_class(comp: pd.DataFrame, idx: np.ndarray) -> dict[str, int]:
    counts = comp["label"].iloc[idx].value_counts()
    return {c: int(counts.get(c, 0)) for c in CLASSES}


def _assert_partition(parts: list[np.ndarray], n: int) -> None:
    """The index arrays are disjoint, without repeats, and together are exactly 0..n-1."""
    joined = np.concatenate(parts)
    assert len(joined) == n, f"{len(joined)} indices for {n} rows (overlap or gap)"
    np.testing.assert_array_equal(np.sort(joined), np.arange(n))


def _assert_no_group_on_two_sides(groups: np.ndarray, parts: list[np.ndarray]) -> None:
    seen: dict[str, int] = {}
    for side, idx in enumerate(parts):
        for g in set(groups[idx]):
            assert seen.setdefault(g, side) == side, f"patient group {g!r} is on two sides"


# ---------------------------------------------------------------------------------------------
# The real composition, paper profile


@pytest.fixture(scope="module")
def initial(real_comp, paper) -> splits.Split:
    return splits.initial_split(real_comp, paper)


@pytest.fixture(scope="module")
def folds(real_comp, paper) -> list[splits.Split]:
    return splits.cv_splits(real_comp, paper)


def test_real_composition_has_multi_image_patients(real_comp):
    # Otherwise the grouping tests below would pass trivially.
    assert real_comp["group"].duplicated().sum() > 0


def test_initial_split_has_the_papers_exact_sizes(real_comp, initial):
    assert _per_class(real_comp, initial.train) == {"covid": 160, "viral_pneumonia": 200, "normal": 200}
    assert _per_class(real_comp, initial.val) == {"covid": 40, "viral_pneumonia": 50, "normal": 50}
    assert _per_class(real_comp, initial.test) == {"covid": 89, "viral_pneumonia": 300, "normal": 300}


def test_initial_split_sides_are_disjoint_and_cover_all_1389(real_comp, initial):
    assert len(real_comp) == 1389
    _assert_partition([initial.train, initial.val, initial.test], 1389)


def test_initial_split_puts_no_patient_on_two_sides(real_comp, initial):
    _assert_no_group_on_two_sides(real_comp["group"].to_numpy(),
                                  [initial.train, initial.val, initial.test])


def test_cv_has_five_folds(folds, paper):
    assert len(folds) == paper.folds == 5
    assert [f.name for f in folds] == [f"fold-{i}" for i in range(1, 6)]


def test_cv_test_folds_are_disjoint_and_cover_all_rows(real_comp, folds):
    _assert_partition([f.test for f in folds], len(real_comp))


def test_cv_test_folds_hold_277_or_278_images(folds):
    sizes = [len(f.test) for f in folds]
    assert all(s in (277, 278) for s in sizes), sizes


def test_cv_test_folds_spread_each_class_evenly(real_comp, folds):
    for c in CLASSES:
        per_fold = [_per_class(real_comp, f.test)[c] for f in folds]
        assert max(per_fold) - min(per_fold) <= 1, (c, per_fold)


@pytest.mark.parametrize("i", range(5))
def test_cv_fold_sides_partition_all_rows_with_no_patient_on_two_sides(real_comp, folds, i):
    parts = [folds[i].train, folds[i].val, folds[i].test]
    _assert_partition(parts, len(real_comp))
    _assert_no_group_on_two_sides(real_comp["group"].to_numpy(), parts)


def test_cv_validation_is_a_fifth_of_the_non_test_rows(real_comp, folds):
    for f in folds:
        for c in CLASSES:
            rest = _per_class(real_comp, f.train)[c] + _per_class(real_comp, f.val)[c]
            assert _per_class(real_comp, f.val)[c] == round(0.2 * rest)


def test_splits_are_identical_for_the_same_seed(real_comp, paper, initial, folds):
    again = splits.initial_split(real_comp, paper)
    for side in SIDES:
        np.testing.assert_array_equal(getattr(again, side), getattr(initial, side))
    for a, b in zip(splits.cv_splits(real_comp, paper), folds):
        for side in SIDES:
            np.testing.assert_array_equal(getattr(a, side), getattr(b, side))


def test_splits_differ_for_another_seed(real_comp, paper, initial, folds):
    other = dataclasses.replace(paper, seed=paper.seed + 1)
    assert not np.array_equal(splits.initial_split(real_comp, other).test, initial.test)
    assert not np.array_equal(splits.cv_splits(real_comp, other)[0].test, folds[0].test)


def test_split_sizes_table_counts_each_side(real_comp, initial):
    table = splits.split_sizes(real_comp, [initial])
    assert list(table["side"]) == list(SIDES)
    assert list(table["total"]) == [560, 140, 689]
    assert list(table["covid"]) == [160, 40, 89]


# ---------------------------------------------------------------------------------------------
# A synthetic table with planted multi-image patients


@pytest.fixture
def synthetic() -> tuple[np.ndarray, np.ndarray]:
    """Per class: 10 patients with 3 images each, plus 20 single-image patients (50 images)."""
    labels, groups = [], []
    for c in CLASSES:
        for p in range(10):
            labels += [c] * 3
            groups += [f"{c}-patient-{p}"] * 3
        for s in range(20):
            labels.append(c)
            groups.append(f"{c}-single-{s}")
    order = np.random.default_rng(0).permutation(len(labels))   # interleave rows
    return np.asarray(labels)[order], np.asarray(groups)[order]


def _assert_whole_groups(groups: np.ndarray, chosen: np.ndarray) -> None:
    inside = set(groups[chosen])
    members = np.flatnonzero(np.isin(groups, list(inside)))
    np.testing.assert_array_equal(np.sort(chosen), members)


@pytest.mark.parametrize("seed", range(10))
def test_take_grouped_takes_exact_counts_and_whole_patients(synthetic, seed):
    labels, groups = synthetic
    counts = {"covid": 25, "viral_pneumonia": 7, "normal": 31}
    chosen = splits.take_grouped(labels, groups, counts, seed)
    assert len(set(chosen)) == len(chosen)
    assert {c: int((labels[chosen] == c).sum()) for c in CLASSES} == counts
    _assert_whole_groups(groups, chosen)


def test_take_grouped_draws_only_from_the_pool(synthetic):
    labels, groups = synthetic
    pool = splits.take_grouped(labels, groups, {c: 40 for c in CLASSES}, seed=1)
    chosen = splits.take_grouped(labels, groups, {c: 10 for c in CLASSES}, seed=2, pool=pool)
    assert set(chosen) <= set(pool)
    assert {c: int((labels[chosen] == c).sum()) for c in CLASSES} == {c: 10 for c in CLASSES}
    _assert_whole_groups(groups, chosen)


def test_take_grouped_is_deterministic_for_the_seed(synthetic):
    labels, groups = synthetic
    counts = {c: 20 for c in CLASSES}
    a = splits.take_grouped(labels, groups, counts, seed=5)
    np.testing.assert_array_equal(a, splits.take_grouped(labels, groups, counts, seed=5))
    assert not np.array_equal(a, splits.take_grouped(labels, groups, counts, seed=6))


def test_take_grouped_raises_when_more_images_are_asked_than_exist(synthetic):
    labels, groups = synthetic
    with pytest.raises(ValueError, match="covid"):
        splits.take_grouped(labels, groups, {"covid": 51}, seed=0)


def test_take_grouped_raises_when_whole_patients_cannot_make_the_count():
    labels = np.array(["covid"] * 6)
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    with pytest.raises(ValueError, match="whole patient groups"):
        splits.take_grouped(labels, groups, {"covid": 4}, seed=0)


@pytest.mark.parametrize("seed", range(5))
def test_grouped_folds_keep_each_patient_in_one_fold(synthetic, seed):
    labels, groups = synthetic
    folds = splits.grouped_folds(labels, groups, k=5, seed=seed)
    assert len(folds) == 5
    _assert_partition(folds, len(labels))
    _assert_no_group_on_two_sides(groups, folds)


def test_grouped_folds_spread_each_class_evenly(synthetic):
    labels, groups = synthetic
    folds = splits.grouped_folds(labels, groups, k=5, seed=0)
    for c in CLASSES:
        assert [int((labels[f] == c).sum()) for f in folds] == [10] * 5


def test_fold_size_ranges_quote_each_sides_span_over_the_folds(real_comp, initial, folds):
    sizes = splits.split_sizes(real_comp, [initial] + folds)
    ranges = splits.fold_size_ranges(sizes)
    tests = sizes[(sizes["side"] == "test") & sizes["split"].str.startswith("fold-")]["total"]
    assert ranges["test"] == (f"{tests.min()}" if tests.min() == tests.max() else f"{tests.min()}-{tests.max()}")
    with pytest.raises(ValueError, match="no fold-N rows"):
        splits.fold_size_ranges(sizes[sizes["split"] == "initial"])


def test_fold_size_ranges_give_one_number_when_every_fold_agrees():
    sizes = pd.DataFrame({"split": ["fold-1", "fold-2"] * 3, "side": ["train"] * 2 + ["val"] * 2 + ["test"] * 2,
                          "total": [889, 890, 222, 222, 278, 277]})
    assert splits.fold_size_ranges(sizes) == {"train": "889-890", "val": "222", "test": "277-278"}


def test_sizes_beside_the_paper_quote_its_sizes_and_the_folds_ranges(real_comp, paper):
    values, sizes = splits.sizes_beside_paper(real_comp, paper)
    initial = sizes[sizes["split"] == "initial"].set_index("side")
    assert initial["paper total"].tolist() == [560, 140, "589 (89/250/250)"]
    assert (sizes.loc[sizes["split"] != "initial", "paper total"].tolist()
            == [889, 223, 277] * paper.folds)
    assert "COVID-19" in sizes.columns and "covid" not in sizes.columns
    assert values["init_pool"] == "700" and values["init_test"] == "689"
    assert values["fold_test"] == splits.fold_size_ranges(splits.split_sizes(
        real_comp, splits.cv_splits(real_comp, paper)))["test"]
    assert values["n_with_patient"] == f"{(real_comp['patient_id'] != '').sum():,}"


def test_fold_test_sizes_keep_one_row_per_split_of_its_test_side():
    comp = pd.DataFrame({"label": ["covid", "normal", "normal", "viral_pneumonia"]})
    split = splits.Split("fold-1", np.array([0, 1]), np.array([2]), np.array([3]))
    table = splits.fold_test_sizes(splits.split_sizes(comp, [split]))
    assert table.loc["fold-1"].tolist() == [0, 1, 0, 1]
    assert list(table.columns) == ["COVID-19", "viral pneumonia", "normal", "total"]
