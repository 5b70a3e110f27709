"""Shortcut cues: what other than disease separates the classes (age, hospital, file format).

Chapter 'Does the model see COVID-19?' uses these to ask what the CNN could have learned without
looking at the lungs: it blanks the lungs (Maguolo and Nanni 2020), keeps only the film's border,
measures the JPEG history of each image, fits a small classifier on each cue in the CNN's own folds,
and re-compresses every class to take the file-format cue away.

NumPy, PIL and scikit-learn only: no Keras. The experiments that train networks on these cues
(lungs blanked, JPEG for everyone) are xraylib.audit.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from . import data as xdata
from . import regions
from .baseline import linear_cv
from .splits import Split

JPEG_GRID = 224
"""Size at which normal and viral pneumonia were saved as JPEG (8 x 8 blocks on this grid)."""

JPEG_FEATURES: tuple[str, ...] = ("boundary_h", "boundary_v", "lattice")
"""Column names of jpeg_features."""

# Low-frequency AC coefficients of the 8 x 8 DCT: they carry most of an X-ray's energy, so their
# quantisation survives the 224 -> 256 -> 224 round trip. The DC term is left out: a flat block of
# any integer grey level already sits on the DC lattice, with or without JPEG.
_LATTICE_COEFS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (2, 2))
_LATTICE_STEPS = np.arange(4, 41)  # JPEG quality ~15..90 puts these coefficients' steps in here
_MIN_COEFS = 32  # fewer usable coefficients than this shrink the lattice score toward 0


def _dct_matrix(n: int = 8) -> np.ndarray:
    """Orthonormal DCT-II matrix: the transform JPEG applies to each 8 x 8 block."""
    k = np.arange(n)
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d


def _check_batch(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected an image batch (N, H, W) or (N, H, W, C), "
                         f"got shape {x.shape}; add a leading axis for a single image")
    return x


def _fill_value(x: np.ndarray, value: float):
    """value in x's dtype, refusing what uint8 cannot hold rather than wrapping it."""
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        if value != int(value) or not info.min <= value <= info.max:
            raise ValueError(f"value {value} cannot be stored in a {x.dtype} image "
                             f"(use an integer in {info.min}..{info.max}, or convert to float)")
    return np.asarray(value).astype(x.dtype)


def blank_lungs(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    """A copy with the lung box set to value: what is left to classify is not the lungs."""
    x = _check_batch(x, "blank_lungs")
    rows, cols = regions.box_slices(x.shape[1:3], regions.LUNG_BOX)
    out = x.copy()
    out[:, rows, cols] = _fill_value(x, value)
    return out


def border_features(gray: np.ndarray, size: int = 32) -> np.ndarray:
    """(N, F) frame pixels of a size x size thumbnail in [0, 1]: markers, collimation, body size."""
    gray = _check_batch(gray, "border_features")
    if gray.ndim == 4:
        gray = gray[..., 0]
    mask = regions.border_mask((size, size))
    out = np.empty((len(gray), int(mask.sum())), np.float32)
    for i, img in enumerate(gray):
        thumb = Image.fromarray(np.asarray(img, np.float32), mode="F").resize(
            (size, size), Image.Resampling.BILINEAR)
        out[i] = np.asarray(thumb)[mask]
    scale = 255.0 if np.issubdtype(gray.dtype, np.integer) else 1.0
    return out / scale


def to_jpeg_grid(gray256: np.ndarray, grid: int = JPEG_GRID) -> np.ndarray:
    """(N, grid, grid) float32: undo the 224 -> 256 upsampling, so JPEG blocks sit on 8 px."""
    gray256 = _check_batch(gray256, "to_jpeg_grid")
    if gray256.ndim == 4:
        gray256 = gray256[..., 0]
    if grid % 8:
        raise ValueError(f"grid {grid}: JPEG blocks are 8 x 8, so the grid must be a multiple of 8")
    return np.stack([np.asarray(Image.fromarray(np.asarray(img, np.float32), mode="F").resize(
        (grid, grid), Image.Resampling.LANCZOS)) for img in gray256]).astype(np.float32)


def _boundary_ratios(x: np.ndarray) -> np.ndarray:
    """log(mean |step| across 8-px block edges / inside blocks), horizontal and vertical."""
    dh = np.abs(np.diff(x, axis=2))  # step j is between columns j and j + 1
    dv = np.abs(np.diff(x, axis=1))
    col_edge = np.arange(x.shape[2] - 1) % 8 == 7  # between column 8k - 1 and 8k
    row_edge = np.arange(x.shape[1] - 1) % 8 == 7
    eps = 1e-6
    h = (dh[:, :, col_edge].mean(axis=(1, 2)) + eps) / (dh[:, :, ~col_edge].mean(axis=(1, 2)) + eps)
    v = (dv[:, row_edge].mean(axis=(1, 2)) + eps) / (dv[:, ~row_edge].mean(axis=(1, 2)) + eps)
    return np.log(np.stack([h, v], axis=1))


def _lattice_score(x: np.ndarray) -> np.ndarray:
    """How tightly low-frequency 8 x 8 DCT coefficients sit on a quantisation lattice (~0 if none).

    For each coefficient, the mean of cos(2 pi c / Q) over blocks with |c| >= Q / 2 (smaller ones
    quantise to 0 and carry no lattice), maximised over the step Q: about 0.8 for a q75 JPEG after
    the 256 px round trip, near 0 for a lossless image. Averaged over the coefficients.
    """
    n, h, w = x.shape
    d = _dct_matrix()[:3].astype(np.float32)
    blocks = x.reshape(n, h // 8, 8, w // 8, 8).transpose(0, 1, 3, 2, 4) - np.float32(128)
    coefs = (d @ blocks @ d.T).reshape(n, -1, 3, 3)  # (N, blocks, u, v)
    scores = np.zeros(n)
    for u, v in _LATTICE_COEFS:
        c = coefs[:, :, u, v]
        best = np.full(n, -1.0)
        for step in _LATTICE_STEPS:
            used = np.abs(c) >= step / 2
            total = (np.cos(c * np.float32(2 * np.pi / step)) * used).sum(axis=1)
            best = np.maximum(best, total / np.maximum(used.sum(axis=1), _MIN_COEFS))
        scores += best
    return scores / len(_LATTICE_COEFS)


def jpeg_features(gray256: np.ndarray, grid: int = JPEG_GRID) -> np.ndarray:
    """(N, 3) JPEG history on the 224 grid (JPEG_FEATURES): the file-format cue, in numbers.

    boundary_h / boundary_v: the classic blockiness ratio (log; 0 = no block edges);
    lattice: quantisation-lattice fit of the DCT coefficients (0 = lossless, ~0.8 = q75 JPEG).
    """
    x = to_jpeg_grid(gray256, grid)
    return np.column_stack([_boundary_ratios(x), _lattice_score(x)])


def blockiness(gray256: np.ndarray, grid: int = JPEG_GRID) -> np.ndarray:
    """(N,) one number per image: the DCT lattice score, the JPEG statistic that separates best."""
    return _lattice_score(to_jpeg_grid(gray256, grid))


def cue_classifier_cv(features: np.ndarray, y: np.ndarray, splits: list[Split], seed: int = 0,
                      C: float = 0.1) -> np.ndarray:
    """Out-of-fold (N, 3) probabilities of a cue-only classifier trained in the CNN's own folds.

    C = 0.1 (L2) keeps hundreds of border pixels from overfitting ~1,100 images and barely
    constrains the three JPEG numbers; the classifier itself is `baseline.linear_cv`.
    """
    return linear_cv(features, y, splits, C=C, seed=seed)


def _jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img, mode="L").save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as decoded:
        return np.asarray(decoded.convert("L"))


def jpeg_recompress(gray: np.ndarray, quality: int | tuple[int, int] = 75, seed: int | None = None,
                    grid: int | None = None) -> np.ndarray:
    """uint8 batch re-encoded as JPEG: put the normal/viral file-format cue into every class.

    quality: one PIL quality, or a (lo, hi) range drawn per image from seed (None means 0), so the
    result is reproducible. grid: encode at grid x grid (Lanczos there and back); grid=JPEG_GRID
    repeats the normal/viral pipeline exactly, so the 224-grid lattice is in all classes.
    """
    gray = _check_batch(gray, "jpeg_recompress")
    if gray.ndim == 4:
        gray = gray[..., 0]
    if gray.dtype != np.uint8:
        raise ValueError(f"jpeg_recompress: expected uint8 gray images, got {gray.dtype}")
    if isinstance(quality, tuple):
        lo, hi = quality
        rng = np.random.default_rng(0 if seed is None else seed)
        qualities = rng.integers(lo, hi + 1, len(gray))
    else:
        qualities = np.full(len(gray), quality)
    if not np.all((1 <= qualities) & (qualities <= 95)):
        raise ValueError(f"quality {quality}: PIL JPEG quality must lie in 1..95")
    out = np.empty_like(gray)
    for i, (img, q) in enumerate(zip(gray, qualities)):
        if grid is None:
            out[i] = _jpeg_roundtrip(img, q)
        else:
            h, w = img.shape
            small = Image.fromarray(img).resize((grid, grid), Image.Resampling.LANCZOS)
            coded = _jpeg_roundtrip(np.asarray(small), q)
            out[i] = np.asarray(Image.fromarray(coded).resize((w, h), Image.Resampling.LANCZOS))
    return out


def image_level_groups(comp: pd.DataFrame) -> np.ndarray:
    """One group per image (file:<file>): patient-blind splits, to compare with grouped ones."""
    return np.asarray([f"file:{f}" for f in comp["file"]], dtype=object)


CUES = ("border only (32x32 frame)", "JPEG block statistics")
"""The two cue-only classifiers of the shortcut chapter: no lungs, no anatomy, only a cue."""


def cue_predictions(comp: pd.DataFrame, splits: list[Split]) -> dict[str, np.ndarray]:
    """Out-of-fold probabilities of each cue-only classifier (CUES) in the CNN's own folds."""
    gray256 = xdata.load_gray(list(comp["path"]), 256)
    y = xdata.labels_of(comp)
    features = dict(zip(CUES, (border_features(gray256), jpeg_features(gray256))))
    return {name: cue_classifier_cv(f, y, splits) for name, f in features.items()}


BRIGHT_MARK_LEVEL = 245
"""Grey level from which a border pixel counts as a burnt-in mark (text, lead markers, labels)."""


def bright_marks(gray: np.ndarray, level: int = BRIGHT_MARK_LEVEL) -> np.ndarray:
    """(N,) share of the border frame (regions.BORDER) at or above `level`: a crude measure of
    burnt-in text and markers, which are drawn near-white on the film's edge. A heuristic, not a
    text detector: bright bone or over-exposed film at the edge counts too."""
    mask = regions.border_mask(gray.shape[1:])
    return (np.asarray(gray)[:, mask] >= level).mean(axis=1)
