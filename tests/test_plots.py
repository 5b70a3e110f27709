"""xraylib.plots: the ladder figures draw one mark per training and the reference lines asked for."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from xraylib import plots


@pytest.fixture
def members() -> pd.DataFrame:
    """Three rungs: 3 + 3 + 2 seeds, two of them collapsed (in rung 'b')."""
    return pd.DataFrame({
        "rung": ["a", "a", "a", "b", "b", "b", "c", "c"],
        "accuracy": [50.0, 55.0, 60.0, 40.0, 44.0, 80.0, 90.0, 92.0],
        "collapsed": [False, False, False, True, True, False, False, False]})


def _points(fig: plt.Figure, gid: str) -> np.ndarray:
    return np.concatenate([c.get_offsets().reshape(-1, 2) for c in fig.axes[0].collections
                           if c.get_gid() == gid] or [np.zeros((0, 2))])


def test_ladder_strip_draws_a_dot_per_seed_and_a_cross_per_collapsed_seed(members):
    fig = plots.ladder_strip(members, ["c", "a", "b"], paper=93.0, baseline=88.0)
    seeds, collapsed = _points(fig, "seeds"), _points(fig, "collapsed")
    assert len(seeds) == 6 and len(collapsed) == 2
    np.testing.assert_allclose(sorted(collapsed[:, 0]), [40.0, 44.0])
    assert np.all(np.abs(collapsed[:, 1] - 2) < 0.5)  # rung 'b' is the third row from the top
    plt.close(fig)


def test_ladder_strip_rows_follow_the_given_order_top_to_bottom(members):
    fig = plots.ladder_strip(members, ["c", "a", "b"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "a", "b"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # inverted: the first rung on top
    means = [line.get_xdata()[0] for line in ax.lines if line.get_gid() == "mean"]
    np.testing.assert_allclose(means, [91.0, 55.0, 54.666667], rtol=1e-5)
    plt.close(fig)


def test_ladder_strip_draws_only_the_reference_lines_given(members):
    fig = plots.ladder_strip(members, ["a", "b", "c"], paper=93.0, baseline=88.0, majority=43.5)
    refs = {line.get_gid(): line.get_xdata()[0] for line in fig.axes[0].lines
            if str(line.get_gid()).startswith("ref-")}
    assert refs == {"ref-paper": 93.0, "ref-baseline": 88.0, "ref-majority": 43.5}
    plt.close(fig)
    fig = plots.ladder_strip(members, ["a", "b", "c"], paper=93.0)
    assert [line.get_gid() for line in fig.axes[0].lines
            if str(line.get_gid()).startswith("ref-")] == ["ref-paper"]
    plt.close(fig)


def test_ladder_histories_draws_one_line_per_seed_in_both_panels():
    h = pd.DataFrame({"epoch": [1, 2, 3], "val_accuracy": [0.3, 0.5, 0.6], "lr": [1e-4, 1e-4, 5e-5]})
    fig = plots.ladder_histories({"paper": [h, h, h], "paper+rate": [h, h]})
    assert [len(ax.lines) for ax in fig.axes] == [5, 5]
    assert fig.axes[1].get_yscale() == "log"
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [30, 50, 60])
    plt.close(fig)


def _study(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    prob = rng.dirichlet([1, 1, 1], n)
    prob[np.arange(n), y] += 1
    return y, prob / prob.sum(1, keepdims=True)


def test_importing_plots_changes_no_global_style():
    import importlib

    before = dict(matplotlib.rcParams)
    importlib.reload(plots)
    assert dict(matplotlib.rcParams) == before


def test_a_figure_is_drawn_in_the_book_style_and_leaves_the_global_style_alone():
    before = matplotlib.rcParams["axes.facecolor"], matplotlib.rcParams["grid.color"]
    fig = plots.roc_panels({"a": _study()})
    assert any(line.get_visible() for line in fig.axes[0].get_xgridlines())  # whitegrid
    assert (matplotlib.rcParams["axes.facecolor"], matplotlib.rcParams["grid.color"]) == before
    plt.close(fig)


def test_the_protocol_panels_draw_one_panel_per_protocol_and_three_curves_each():
    studies = {"a": _study(seed=1), "b": _study(seed=2)}
    fig = plots.roc_panels(studies, baseline=_study(seed=3))
    assert len(fig.axes) == 2
    assert all(len(ax.lines) == 3 * 2 + 1 for ax in fig.axes)  # CNN + baseline per class, chance
    plt.close(fig)
    y, p = _study()
    fig = plots.confusion_panels({"a": (y, p.argmax(1)), "b": (y, y)})
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts[0] == "20\n100%" and len(texts) == 9
    plt.close(fig)


def test_the_reliability_panels_label_every_bin_with_its_count():
    table = pd.DataFrame({"confidence": [0.5, 0.7, 0.9], "accuracy": [0.4, 0.7, 0.95], "count": [5, 12, 40]})
    fig = plots.reliability_panels({"a": (table, 0.05)})
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["12", "40", "5"]
    plt.close(fig)


def test_learning_curves_have_whole_epochs_on_the_axis():
    h = pd.DataFrame({"epoch": [1, 2, 3], "accuracy": [0.5, 0.6, 0.7], "val_accuracy": [0.4, 0.5, 0.5],
                      "lr": [1e-3, 1e-3, 5e-4]})
    fig = plots.learning_curves({"a": h})
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))
    plt.close(fig)


def test_the_origin_figure_reads_numeric_estimates():
    from xraylib.metrics import Estimate

    table = pd.DataFrame({"accuracy": [Estimate(0.5, 0.3, 0.7), Estimate(0.05, 0.01, 0.2)],
                          "true class": ["COVID-19", "normal"], "images": [34, 60]}, index=["x", "y"])
    fig = plots.origin_accuracy(table, internal=0.9)
    xs = fig.axes[0].lines[0].get_xdata()
    np.testing.assert_allclose(xs, [50, 5])
    plt.close(fig)


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title])


def test_the_image_flow_draws_every_count_from_its_tables():
    main = pd.DataFrame({"label": ["covid"] * 5 + ["normal"] * 7 + ["viral_pneumonia"] * 3})
    comp = main.iloc[:9]
    sizes = pd.DataFrame({"split": ["initial"] * 3 + ["fold-1"] * 3 + ["fold-2"] * 3,
                          "side": ["train", "val", "test"] * 3, "total": [4, 1, 4, 5, 2, 2, 5, 2, 2]})
    external = pd.DataFrame({"dataset": ["nih-chestxray14-no-finding"] * 2 + ["x"], "label": ["normal"] * 3})
    fig = plots.image_flow(main, comp, sizes, external)
    text = _texts(fig)
    for needle in ("15 images", "9 images", "5 images", "training 4 / validation 1", "4 images", "2 folds",
                   "3 images", "adult normals (NIH ChestX-ray14)"):
        assert needle in text, needle
    plt.close(fig)


def test_saliency_rows_title_methods_with_their_readers_names():
    gray = np.zeros((1, 8, 8), np.uint8)
    fig = plots.saliency_rows(gray, {"gradcam": np.ones((1, 8, 8)), "integrated_gradients": np.ones((1, 8, 8))},
                              ["one"], lambda g, m: np.zeros((8, 8, 3), np.uint8))
    titles = [ax.get_title() for ax in fig.axes]
    assert "Grad-CAM" in titles and "Integrated Gradients" in titles and "gradcam" not in titles
    plt.close(fig)


def test_the_randomisation_curves_are_not_clipped_below():
    table = pd.DataFrame({"method": ["a"] * 3, "layers_randomized": [0, 1, 2], "layer": ["x", "y", "z"],
                          "spearman": [1.0, 0.2, -0.45]})
    fig = plots.sanity_curves(table)
    assert fig.axes[0].get_ylim()[0] < -0.45
    plt.close(fig)


def test_the_cv_schematic_legend_draws_the_training_part_as_pale_as_its_bars():
    sizes = pd.DataFrame({"split": ["fold-1"] * 3 + ["fold-2"] * 3, "side": ["train", "val", "test"] * 2,
                          "total": [6, 2, 2, 6, 2, 2]})
    fig = plots.cv_schematic(sizes)
    patches = fig.legends[0].get_patches()
    assert len(patches) == 2 and patches[1].get_facecolor()[3] < 0.5
    plt.close(fig)


def test_the_checklist_coverage_draws_one_bar_segment_per_count():
    table = pd.DataFrame({"answered in the book": [30, 36], "not applicable": [2, 0]}, index=["A", "B"])
    fig = plots.checklist_coverage(table)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["30", "36", "2"]
    plt.close(fig)


def test_the_cpu_gpu_figure_draws_each_fold_at_its_two_accuracies_and_the_diagonal():
    pairs = pd.DataFrame({"CPU run": ["new"] * 3 + ["CPU record: old"] * 2, "seed": [2020, 2020, 2021, 2020, 2020],
                          "fold": ["fold-1", "fold-2", "fold-1", "fold-1", "fold-2"],
                          "GPU": [50.0, 60.0, 40.0, 50.0, 60.0], "CPU": [52.0, 58.0, 41.0, 74.0, 61.0]})
    fig = plots.cpu_gpu_folds(pairs)
    drawn = np.concatenate([c.get_offsets().reshape(-1, 2) for c in fig.axes[0].collections])
    assert sorted(map(tuple, drawn)) == sorted(zip(pairs["GPU"], pairs["CPU"]))
    (line,) = fig.axes[0].get_lines()
    assert np.allclose(line.get_xdata(), line.get_ydata())  # the diagonal: equal on both machines
    assert len(fig.legends[0].get_texts()) == 4  # three runs by seed, and the diagonal
    plt.close(fig)
