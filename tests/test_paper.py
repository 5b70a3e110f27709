"""xraylib.paper: the paper's numbers agree with each other where the paper's own arithmetic allows."""
from __future__ import annotations

import pytest

from xraylib import paper


def test_table1_parameters_add_up_to_the_stated_total():
    assert sum(params for _, _, params in paper.TABLE1) == paper.PARAMS


def test_the_composition_adds_up_to_the_1389_images_the_splits_use():
    n = sum(paper.COMPOSITION.values())
    assert n == 1389
    assert sum(paper.CV_SIZES.values()) == n
    assert sum(paper.INITIAL_SIZES.values()) == sum(paper.INITIAL_TRAIN_POOL.values())


def test_table2_fold_accuracies_average_to_the_stated_mean():
    assert paper.TABLE2["accuracy"].mean() == pytest.approx(paper.CV_MEAN_ACCURACY, abs=0.005)


def test_the_stated_initial_test_set_is_100_images_short_of_the_remainder():
    left = {c: paper.COMPOSITION[c] - paper.INITIAL_TRAIN_POOL[c] for c in paper.COMPOSITION}
    assert sum(left.values()) - sum(paper.INITIAL_TEST_STATED.values()) == 100


def test_the_authors_logged_confusion_matrix_gives_their_logged_accuracy():
    cm = paper.AUTHORS_LOGGED_CONFUSION.to_numpy()
    assert cm.sum() == 689
    assert 100 * cm.trace() / cm.sum() == pytest.approx(paper.AUTHORS_LOGGED_ACCURACY, abs=0.005)
