"""Figures for the chapters: each function returns a matplotlib Figure and computes nothing new.

Every figure is drawn inside the book's style (`styled`), so importing this module changes no
global matplotlib or seaborn setting.
"""
from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from .config import CLASS_NAMES, CLASSES

PRETTY = {c: name[0].upper() + name[1:] for c, name in CLASS_NAMES.items()}
"""Class names as figure labels start a line: 'COVID-19', 'Viral pneumonia', 'Normal'."""
COLORS = dict(zip(CLASSES, sns.color_palette("deep", 3)))


def styled(draw):
    """Draw a figure inside the book's style (seaborn whitegrid, notebook context), locally."""
    @functools.wraps(draw)
    def inner(*args, **kwargs):
        with sns.axes_style("whitegrid"), sns.plotting_context("notebook"):
            return draw(*args, **kwargs)
    return inner


@styled
def example_grid(gray: np.ndarray, labels: list[str], per_class: int = 4) -> plt.Figure:
    """Figure 1 equivalent: a row of example images per class (chapter 1)."""
    fig, axes = plt.subplots(len(CLASSES), per_class, figsize=(2.2 * per_class, 2.3 * len(CLASSES)))
    labels = np.asarray(labels)
    for r, cls in enumerate(CLASSES):
        idx = np.flatnonzero(labels == cls)[:per_class]
        for c in range(per_class):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(idx):
                ax.imshow(gray[idx[c]], cmap="gray", vmin=0, vmax=255)
        axes[r, 0].set_title(PRETTY[cls], loc="left", fontsize=11)
    fig.tight_layout()
    return fig


@styled
def intensity_histograms(gray: np.ndarray, labels: list[str]) -> plt.Figure:
    """Pixel-intensity distribution per class, and mean image brightness per class (chapter 1)."""
    labels = np.asarray(labels)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    bins = np.arange(0, 257, 4)
    for cls in CLASSES:
        pix = gray[labels == cls].ravel()
        hist, _ = np.histogram(pix, bins=bins, density=True)
        ax1.plot(bins[:-1] + 2, hist, label=PRETTY[cls], color=COLORS[cls])
        means = gray[labels == cls].reshape((labels == cls).sum(), -1).mean(1)
        sns.kdeplot(means, ax=ax2, label=PRETTY[cls], color=COLORS[cls], fill=True, alpha=0.2)
    ax1.set(xlabel="pixel intensity (0-255)", ylabel="density", title="All pixels")
    ax2.set(xlabel="mean intensity of an image", ylabel="density", title="Per image")
    ax1.legend()
    fig.tight_layout()
    return fig


@styled
def zoomed_crops(images: list[np.ndarray], titles: list[str], box: tuple[int, int, int] = (96, 96, 40)
                 ) -> plt.Figure:
    """Each image whole and a nearest-neighbour zoom of one box, to show JPEG blocks (chapter 1)."""
    y, x, s = box
    fig, axes = plt.subplots(2, len(images), figsize=(3.2 * len(images), 6.4))
    for i, (img, title) in enumerate(zip(images, titles)):
        axes[0, i].imshow(img, cmap="gray", vmin=0, vmax=255)
        axes[0, i].add_patch(plt.Rectangle((x, y), s, s, fill=False, color="red", lw=1.5))
        axes[0, i].set_title(title, fontsize=10)
        crop = img[y:y + s, x:x + s].astype(float)
        axes[1, i].imshow(crop, cmap="gray", interpolation="nearest",
                          vmin=crop.min(), vmax=max(crop.max(), crop.min() + 1))
        axes[1, i].set_title(f"zoom x{256 // s}, contrast stretched", fontsize=9)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.tight_layout()
    return fig


@styled
def architecture_diagram(table: pd.DataFrame) -> plt.Figure:
    """Figure 2 equivalent: one box per layer, coloured by kind, with its output shape."""
    colors = {"Conv2D": "#4c72b0", "Batch Normalization": "#dd8452", "MaxPooling2D": "#55a868",
              "Dropout": "#c44e52", "Flatten": "#8172b3", "Dense": "#937860",
              "Predictions (Dense)": "#da8bc3"}
    n = len(table)
    fig, ax = plt.subplots(figsize=(12, 4.6))
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(-1.6, 1.4)
    ax.axis("off")
    for i, row in enumerate(table.itertuples(index=False)):
        kind = row.layer
        ax.add_patch(FancyBboxPatch((i - 0.38, -0.6), 0.76, 1.6, boxstyle="round,pad=0.02",
                                    color=colors.get(kind, "grey"), alpha=0.85))
        ax.text(i, 0.2, kind.replace(" (Dense)", "\n(Dense)").replace("Batch Normalization", "BatchNorm"),
                rotation=90, ha="center", va="center", color="white", fontsize=8, weight="bold")
        shape = str(row._1).replace("(None, ", "").rstrip(")")
        ax.text(i, -0.75, shape, rotation=90, ha="center", va="top", fontsize=7)
        if i < n - 1:
            ax.annotate("", (i + 0.45, 0.2), (i + 0.38, 0.2), arrowprops=dict(arrowstyle="->", lw=0.8))
    ax.set_title("Input image -> five Conv / BatchNorm / MaxPool / Dropout blocks -> Dense 512 -> 3 classes",
                 fontsize=10)
    fig.tight_layout()
    return fig


def show(fig: plt.Figure) -> None:
    """Display a figure once and close it, whatever backend the kernel runs (nbval counts outputs)."""
    from IPython.display import display

    display(fig)
    plt.close(fig)


@styled
def cv_schematic(split_sizes: pd.DataFrame) -> plt.Figure:
    """Figure 3 equivalent: each fold's images as test / validation / training bars."""
    folds = [s for s in split_sizes["split"].unique() if s.startswith("fold")]
    colors = {"train": "#4c72b0", "val": "#dd8452", "test": "#c44e52"}
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.55 * len(folds)))
    total = split_sizes[split_sizes["split"] == folds[0]]["total"].sum()
    for i, fold in enumerate(folds):
        rows = split_sizes[split_sizes["split"] == fold].set_index("side")["total"]
        test_start = i * total / len(folds)
        ax.barh(i, rows["test"], left=test_start, color=colors["test"],
                label="test (20%)" if i == 0 else None)
        ax.barh(i, total, left=0, color=colors["train"], alpha=0.15, zorder=0)
        ax.text(test_start + rows["test"] / 2, i, f"test {rows['test']}", ha="center",
                va="center", color="white", fontsize=8)
        ax.text(total * 1.01, i, f"train {rows['train']} / val {rows['val']}", va="center",
                fontsize=8)
    # The legend's patch is drawn like the bars (pale), and says how the rest is split.
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=colors["test"], label="test: one fifth of the images"),
               Patch(facecolor=to_rgba(colors["train"], 0.15), edgecolor="#999999",
                     label="the other four fifths: 80% training, 20% validation")]
    ax.set_yticks(range(len(folds)), [f.replace("fold-", "Fold ") for f in folds])
    ax.invert_yaxis()
    ax.set_xlim(0, total * 1.25)
    ax.set_xlabel(f"the {total} images of the composition")
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False)
    ax.grid(False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


@styled
def fold_confusions(folds: list[tuple[np.ndarray, np.ndarray]], pooled: tuple[np.ndarray, np.ndarray]
                    ) -> plt.Figure:
    """Figure 6 equivalent: one confusion matrix per fold, and the pooled out-of-fold one."""
    names = ["COVID", "Viral", "Normal"]
    panels = list(folds) + [pooled]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels), 3.2))
    for i, (ax, (y_true, y_pred)) in enumerate(zip(axes, panels)):
        cm = confusion_matrix(y_true, y_pred, labels=range(len(CLASSES)))
        sns.heatmap(cm, annot=True, fmt="d", cmap="Blues" if i < len(folds) else "Greens",
                    cbar=False, ax=ax, xticklabels=names, yticklabels=names if i == 0 else False,
                    annot_kws={"fontsize": 8})
        ax.set_title(f"Fold {i + 1}" if i < len(folds) else "All folds (out-of-fold)", fontsize=10)
        ax.set_xlabel("predicted")
    axes[0].set_ylabel("true")
    fig.tight_layout()
    return fig


@styled
def saliency_rows(gray: np.ndarray, maps: dict[str, np.ndarray], titles: list[str],
                  overlay) -> plt.Figure:
    """One row per image: the image, then each method's map over it (Figures 7-9 and beyond).
    A method's program name (`gradcam`) is titled with its reader's name (Grad-CAM)."""
    from .saliency import METHOD_NAMES

    maps = {METHOD_NAMES.get(name, name): m for name, m in maps.items()}
    n, cols = len(gray), 1 + len(maps)
    side = min(2.6, 9.0 / cols)  # at most 9 inches wide, so titles stay readable on the page
    fig, axes = plt.subplots(n, cols, figsize=(side * cols, (side + 0.45) * n), squeeze=False)
    for i in range(n):
        axes[i, 0].imshow(gray[i], cmap="gray", vmin=0, vmax=255)
        axes[i, 0].set_title(titles[i], fontsize=10, loc="left")
        for j, (name, m) in enumerate(maps.items(), 1):
            axes[i, j].imshow(overlay(gray[i], m[i]))
            if i == 0:
                axes[i, j].set_title(name, fontsize=11)
        for ax in axes[i]:
            ax.axis("off")
    fig.tight_layout()
    return fig


def saliency_examples(examples, label: str | None = None) -> plt.Figure:
    """Chapter Saliency's figures from saliency.examples(): one class's films with the paper's
    vanilla gradient (Figures 7-9), or, with no class, every film with every method."""
    from .saliency import overlay

    if label is None:
        return saliency_rows(examples.gray, examples.maps, examples.titles, overlay)
    i = examples.of_class(label)
    return saliency_rows(examples.gray[i], {"vanilla gradient": examples.maps["vanilla"][i]},
                         [examples.titles[k] for k in i], overlay)


@styled
def sanity_curves(table: pd.DataFrame) -> plt.Figure:
    """Rank correlation with the original maps as layers are randomised from the top."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for method, part in table.groupby("method", sort=False):
        ax.plot(part["layers_randomized"], part["spearman"], "o-", label=method)
    first = table[table["method"] == table["method"].iloc[0]]
    ax.set_xticks(first["layers_randomized"], first["layer"], rotation=45, ha="right")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(xlabel="randomised down to layer (cascading from the top)",
           ylabel="Spearman rank correlation\nwith the trained model's maps",
           ylim=(min(-0.2, float(table["spearman"].min()) - 0.05), 1.05))  # no curve clipped
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@styled
def origin_accuracy(table: pd.DataFrame, internal: float) -> plt.Figure:
    """Accuracy per external origin with its 95% interval (FolderResult.origins), against the internal one."""
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.55 * len(table)))
    est = table["accuracy"]
    acc = np.array([100 * e.value for e in est])
    lo, hi = np.array([100 * e.low for e in est]), np.array([100 * e.high for e in est])
    ax.errorbar(acc, range(len(table)), xerr=[acc - lo, hi - acc], fmt="o", capsize=4)
    ax.axvline(100 * internal, color="grey", ls="--", label=f"internal test accuracy ({100 * internal:.1f}%)")
    ax.set_yticks(range(len(table)), [f"{o}\n(true: {c}, {n} images)" for o, c, n in
                                      zip(table.index, table["true class"], table["images"])])
    ax.set(xlim=(-2, 102), xlabel="accuracy on that origin (%), 95% interval")
    ax.invert_yaxis()
    fig.legend(loc="lower center", ncol=1, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled
def throughput_bars(table: pd.DataFrame) -> plt.Figure:
    """Training images/s of the naive path, ours and the compute limit (Performance appendix)."""
    train = table.drop(index="inference")
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.barh(train.index[::-1], train["images/s"][::-1], color=sns.color_palette("deep", 3)[::-1])
    for y, v in enumerate(train["images/s"][::-1]):
        ax.text(v, y, f" {v:.1f}", va="center")
    ax.set_xlabel("training images per second (higher is faster)")
    ax.set_xlim(0, 1.2 * train["images/s"].max())
    fig.tight_layout()
    return fig


@styled
def profile_bars(table: pd.DataFrame) -> plt.Figure:
    """Where a training step's op time goes, by kind of work, with Keras' batch norm and the fused
    one (Performance appendix): grouped horizontal bars, seconds per profiled epoch."""
    rows = table.index[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.38 * len(rows)))
    height = 0.4
    for k, (name, color) in enumerate(zip(table.columns, sns.color_palette("deep", 2))):
        ax.barh([i + (0.5 - k) * height for i in range(len(rows))], table.loc[rows, name], height,
                label=name, color=color)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("op time over one epoch, seconds summed over both threads (shorter is better)")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


@styled
def ladder_strip(members: pd.DataFrame, order: list[str], paper: float | None = None,
                 baseline: float | None = None, majority: float | None = None,
                 split_after: str | None = None, title: str = "") -> plt.Figure:
    """The ablation ladder at a glance: one row per rung (top to bottom in `order`), a dot per seed
    (a cross where the seed collapsed), the mean with its SD over seeds, and reference lines.

    members: one row per training with columns rung, accuracy (%) and collapsed (bool).
    split_after: a rung after which a horizontal line separates two families of rungs.
    """
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.42 * len(order)))
    labelled = set()

    def once(label: str) -> str | None:
        if label in labelled:
            return None
        labelled.add(label)
        return label

    for i, rung in enumerate(order):
        part = members[members["rung"] == rung]
        acc, bad = part["accuracy"].to_numpy(float), part["collapsed"].to_numpy(bool)
        y = i + (np.linspace(-0.18, 0.18, len(acc)) if len(acc) > 1 else np.zeros(len(acc)))
        ax.scatter(acc[~bad], y[~bad], s=22, color="#4c72b0", alpha=0.8, zorder=3, gid="seeds",
                   label=once("one seed"))
        ax.scatter(acc[bad], y[bad], s=30, marker="x", color="#c44e52", zorder=3, gid="collapsed",
                   label=once("one seed, collapsed (a class recall < 10%)"))
        if len(acc):
            sd = acc.std(ddof=1) if len(acc) > 1 else 0.0
            bar = ax.errorbar(acc.mean(), i, xerr=sd, fmt="D", ms=6, color="black", capsize=3,
                              lw=1.2, zorder=4, label=once("mean ± SD over seeds"))
            bar.lines[0].set_gid("mean")
    for value, style, color, text, gid in (
            (paper, "--", "black", "the paper (initial test)", "ref-paper"),
            (baseline, "-.", "#55a868", "logistic regression on 32x32 thumbnails", "ref-baseline"),
            (majority, ":", "grey", "always the most common class", "ref-majority")):
        if value is not None:
            ax.axvline(value, color=color, ls=style, lw=1.3, gid=gid, label=f"{text} ({value:.1f}%)")
    if split_after in order:
        ax.axhline(order.index(split_after) + 0.5, color="black", lw=0.8, gid="split")
    ax.set_yticks(range(len(order)), order)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set(xlabel="test accuracy on the initial split (%)", xlim=(30, 100))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


@styled
def ladder_histories(histories: dict[str, list[pd.DataFrame]]) -> plt.Figure:
    """Validation accuracy and learning rate per epoch, one thin line per seed, a colour per rung."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    palette = sns.color_palette("deep", max(len(histories), 3))
    for color, (rung, runs) in zip(palette, histories.items()):
        for k, h in enumerate(runs):
            label = f"{rung} ({len(runs)} seeds)" if k == 0 else None
            ax1.plot(h["epoch"], 100 * h["val_accuracy"], color=color, lw=1, alpha=0.8, label=label)
            ax2.plot(h["epoch"], h["lr"], color=color, lw=1, alpha=0.8, label=label)
    ax1.set(xlabel="epoch", ylabel="validation accuracy (%)", ylim=(0, 100))
    ax2.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*ax1.get_legend_handles_labels(), loc="lower center", ncol=len(histories), fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


@styled
def roc_panels(panels: dict[str, tuple[np.ndarray, np.ndarray]],
               baseline: tuple[np.ndarray, np.ndarray] | None = None) -> plt.Figure:
    """One-vs-rest ROC curves, one panel per protocol (solid), the thumbnail baseline dashed."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.1), squeeze=False)
    for ax, (title, (y, prob)) in zip(axes[0], panels.items()):
        for k, cls in enumerate(CLASSES):
            fpr, tpr, _ = roc_curve(y == k, prob[:, k])
            ax.plot(fpr, tpr, color=COLORS[cls], label=f"{PRETTY[cls]} ({roc_auc_score(y == k, prob[:, k]):.3f})")
            if baseline is not None:
                bfpr, btpr, _ = roc_curve(baseline[0] == k, baseline[1][:, k])
                ax.plot(bfpr, btpr, "--", color=COLORS[cls], lw=1)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        ax.set(title=title, xlabel="false-positive rate", aspect="equal")
        ax.legend(title="class (AUC)", fontsize=8, title_fontsize=8, loc="lower right")
    axes[0, 0].set_ylabel("sensitivity")
    fig.tight_layout()
    return fig


@styled
def reliability_panels(panels: dict[str, tuple[pd.DataFrame, float]]) -> plt.Figure:
    """Accuracy against confidence per bin, one panel per protocol, each bin labelled with its count."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.1), squeeze=False)
    for ax, (title, (table, ece)) in zip(axes[0], panels.items()):
        ax.plot([0, 1], [0, 1], color="grey", ls=":")
        ax.plot(table["confidence"], table["accuracy"], "o-", ms=4)
        for _, row in table.iterrows():
            ax.annotate(str(int(row["count"])), (row["confidence"], row["accuracy"]), fontsize=7,
                        xytext=(3, -9), textcoords="offset points")
        ax.set(title=f"{title}\nECE {ece:.3f}", xlabel="confidence of the predicted class",
               xlim=(0.3, 1.02), ylim=(0, 1.02), aspect="equal")
    axes[0, 0].set_ylabel("accuracy in the bin")
    fig.tight_layout()
    return fig


@styled
def confusion_panels(panels: dict[str, tuple[np.ndarray, np.ndarray]]) -> plt.Figure:
    """Row-normalised confusion matrices, one per protocol, each cell its count and share."""
    names = [PRETTY[c].replace(" ", "\n") for c in CLASSES]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.9), squeeze=False)
    for i, (ax, (title, (y, pred))) in enumerate(zip(axes[0], panels.items())):
        cm = confusion_matrix(y, pred, labels=range(len(CLASSES)))
        share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        text = np.array([[f"{n}\n{100 * r:.0f}%" for n, r in zip(cr, rr)] for cr, rr in zip(cm, share)])
        sns.heatmap(share, annot=text, fmt="", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=ax,
                    xticklabels=names, yticklabels=names if i == 0 else False, annot_kws={"fontsize": 9})
        ax.set(title=title, xlabel="predicted")
        ax.tick_params(axis="y", labelrotation=0)
    axes[0, 0].set_ylabel("true")
    fig.tight_layout()
    return fig


@styled
def learning_curves(histories: dict[str, pd.DataFrame]) -> plt.Figure:
    """Paper Figure 4 for several protocols: training and validation accuracy per epoch, and the rate."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    palette = sns.color_palette("deep", max(len(histories), 3))
    for color, (title, h) in zip(palette, histories.items()):
        axes[0].plot(h["epoch"], 100 * h["accuracy"], "-", color=color, lw=1.2, label=f"{title}: training")
        axes[0].plot(h["epoch"], 100 * h["val_accuracy"], "--", color=color, lw=1.2,
                     label=f"{title}: validation")
        axes[1].plot(h["epoch"], h["lr"], "-", color=color, lw=1.2)
    axes[0].set(xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 100))
    axes[1].set(xlabel="epoch", ylabel="learning rate", yscale="log")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig


@styled
def image_flow(main: pd.DataFrame, comp: pd.DataFrame, sizes: pd.DataFrame,
               external: pd.DataFrame) -> plt.Figure:
    """Where every image goes (a reporting guideline's flow diagram): the pools, the paper's
    composition, the initial procedure's training pool and test set, the five folds, and the
    external set kept apart. Counts come from the tables, so the boxes cannot disagree with them."""
    from .data import DATASET_NAMES

    def per_class(frame: pd.DataFrame) -> str:
        counts = frame["label"].value_counts()
        return " / ".join(f"{int(counts.get(c, 0)):,}" for c in CLASSES)

    init = sizes[sizes["split"] == "initial"].set_index("side")["total"]
    folds = sizes[sizes["split"].str.startswith("fold-")]
    n_folds = folds["split"].nunique()
    fold_test = folds.loc[folds["side"] == "test", "total"]
    pool = (f"{int(init['train']) + int(init['val']):,} images\ntraining {int(init['train']):,}"
            f" / validation {int(init['val']):,}")
    boxes = {
        "pools": (0.5, 0.9, f"image pools: {len(main):,} images\n"
                            f"(COVID-19 / viral pneumonia / normal: {per_class(main)})"),
        "comp": (0.5, 0.66, f"the paper's composition: {len(comp):,} images\n({per_class(comp)})"),
        "train": (0.2, 0.38, f"initial procedure, training pool\n{pool}"),
        "test": (0.5, 0.38, f"initial procedure, test set\n{int(init['test']):,} images"),
        "folds": (0.8, 0.38, f"cross-validation: {n_folds} folds\nall {len(comp):,} images, each tested once\n"
                             f"({fold_test.min()}-{fold_test.max()} test images per fold)"),
        "external": (0.5, 0.1, f"external set, never trained on: {len(external):,} images\n"
                               + "\n".join(f"{n} {DATASET_NAMES.get(name, name)}"
                                           for name, n in external["dataset"].value_counts().items())),
    }
    fig, ax = plt.subplots(figsize=(10, 6.2))
    ax.set_axis_off()
    ax.set(xlim=(0, 1), ylim=(-0.05, 1))
    for x, y, text in boxes.values():
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.5", facecolor="#eef2f7", edgecolor="#4c72b0"))
    arrow = dict(arrowstyle="->", color="#555555")
    for src, dst in (("pools", "comp"), ("comp", "train"), ("comp", "test"), ("comp", "folds")):
        ax.annotate("", xy=(boxes[dst][0], boxes[dst][1] + 0.07), xytext=(boxes[src][0], boxes[src][1] - 0.07),
                    arrowprops=arrow)
    ax.text(0.5, 0.24, "other hospitals and the same hospital's held-out children:", ha="center",
            fontsize=8.5, style="italic", color="#555555")
    fig.tight_layout()
    return fig


@styled
def checklist_coverage(table: pd.DataFrame) -> plt.Figure:
    """Stacked bars per reporting checklist: items answered on a page of the book, items that do
    not apply (xraylib.checklist.coverage)."""
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.6 * len(table)))
    left = np.zeros(len(table))
    for column, color in zip(table.columns, ("#4c72b0", "#bbbbbb")):
        ax.barh(table.index, table[column], left=left, color=color, label=column)
        for y, (x0, w) in enumerate(zip(left, table[column])):
            if w:
                ax.text(x0 + w / 2, y, str(int(w)), ha="center", va="center", fontsize=9)
        left = left + table[column].to_numpy()
    ax.invert_yaxis()
    ax.set_xlabel("checklist items")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=9)
    ax.grid(False)
    fig.tight_layout()
    return fig


@styled
def cpu_gpu_folds(pairs: pd.DataFrame) -> plt.Figure:
    """Each fold trained with one seed on both machines (ablation.fold_pairs): GPU accuracy
    across, CPU accuracy up; on the diagonal the two agree."""
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    markers = dict(zip(pairs["CPU run"].unique(), ("o", "s", "^")))
    seeds = sorted(pairs["seed"].unique())
    colors = dict(zip(seeds, sns.color_palette("deep", len(seeds))))
    for (run, seed), part in pairs.groupby(["CPU run", "seed"], sort=False):
        filled = not run.startswith("CPU record")
        ax.scatter(part["GPU"], part["CPU"], marker=markers[run], s=55, label=f"{run}, seed {seed}",
                   facecolors=colors[seed] if filled else "none", edgecolors=colors[seed], linewidths=1.5)
    lo = min(30.0, pairs[["GPU", "CPU"]].min().min() - 3)
    hi = max(90.0, pairs[["GPU", "CPU"]].max().max() + 3)
    ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1, label="same accuracy on both")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xlabel="GPU grid: fold test accuracy (%)",
           ylabel="CPU: fold test accuracy (%)")
    fig.legend(loc="lower center", ncol=1, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.03 + 0.034 * (pairs.groupby(["CPU run", "seed"]).ngroups + 1), 1, 1))
    return fig
