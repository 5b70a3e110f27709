"""Figures for the chapters: each function returns a matplotlib Figure and computes nothing new.

Importing this module sets the plot style (the one import-time side effect STYLE.md allows).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() in ("", "agg") else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from .config import CLASSES  # noqa: E402

sns.set_theme(context="notebook", style="whitegrid")
PRETTY = {"covid": "COVID-19", "viral_pneumonia": "Viral pneumonia", "normal": "Normal"}
COLORS = dict(zip(CLASSES, sns.color_palette("deep", 3)))


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


def class_bars(table: pd.DataFrame, title: str) -> plt.Figure:
    """Horizontal stacked bars of counts (rows: groups, columns: classes)."""
    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.45 * len(table)))
    table[[c for c in CLASSES if c in table.columns]].rename(columns=PRETTY).plot.barh(
        stacked=True, ax=ax, color=[COLORS[c] for c in CLASSES if c in table.columns])
    ax.set(xlabel="images", ylabel="", title=title)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame, title: str = "") -> plt.Figure:
    """Figure 4 equivalent: accuracy and loss, training vs validation, with LR drops marked."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    drops = history["epoch"][history["lr"].diff() < 0].to_numpy() if "lr" in history else []
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(history["epoch"], history[metric], "o-", label="training", ms=3)
        ax.plot(history["epoch"], history[f"val_{metric}"], "s-", label="validation", ms=3)
        for i, e in enumerate(drops):
            ax.axvline(e, color="grey", ls=":", lw=1, label="learning rate halved" if i == 0 else None)
        ax.set(xlabel="epoch", ylabel=metric)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrices(y_true: np.ndarray, y_pred: np.ndarray, title: str = "") -> plt.Figure:
    """Figure 5 equivalent: counts and row-normalised rates side by side."""
    cm = confusion_matrix(y_true, y_pred, labels=range(len(CLASSES)))
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    names = [PRETTY[c] for c in CLASSES]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    sns.heatmap(cm, annot=True, fmt="d", cmap="Blues", cbar=False, ax=axes[0],
                xticklabels=names, yticklabels=names)
    sns.heatmap(rates, annot=True, fmt=".2f", cmap="Blues", cbar=False, vmin=0, vmax=1, ax=axes[1],
                xticklabels=names, yticklabels=names)
    axes[0].set(title="counts", xlabel="predicted", ylabel="true")
    axes[1].set(title="share of each true class", xlabel="predicted", ylabel="true")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
