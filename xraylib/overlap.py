"""Near-duplicates between the evaluation folders (external, controls) and the training pool.

Why: an external film that is a copy of a training film (re-cropped, re-contrasted, re-saved)
makes external validation internal. Exact sha256 matches are not enough, since the pools were
re-encoded on their way to us, so films are compared by a 16x16 difference hash (the measure the
data folders' SOURCES.md used to de-duplicate them) and, for the closer pairs, by the correlation of
their histogram-equalised 64x64 thumbnails, which tells a copy from a film that merely looks alike.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

HASH_SIDE = 16
"""The difference hash compares neighbours on a 16 x (16 + 1) grid: 256 bits per film."""

CANDIDATE_BITS = 32
"""Pairs within this Hamming distance are looked at more closely (SOURCES.md's search radius)."""

COPY_CORRELATION = 0.90
"""Histogram-equalised 64x64 thumbnails of two adult films correlated at least this much, within
CANDIDATE_BITS: the same film (SOURCES.md's threshold)."""

PAEDIATRIC_COPY_CORRELATION = 0.95
"""The same for the paediatric Kermany films, where distinct films reach about 0.94 (SOURCES.md)."""

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def dhash(gray: np.ndarray, side: int = HASH_SIDE) -> np.ndarray:
    """(N, H, W) uint8 films -> (N, side*side/8) packed bits: is each pixel brighter than its right
    neighbour on a side x (side + 1) thumbnail."""
    bits = []
    for img in gray:
        small = np.asarray(Image.fromarray(img).resize((side + 1, side), Image.Resampling.LANCZOS),
                           np.int16)
        bits.append(np.packbits((small[:, 1:] > small[:, :-1]).ravel()))
    return np.stack(bits)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances (len(a), len(b)) between packed hashes."""
    out = np.empty((len(a), len(b)), np.int32)
    for i, row in enumerate(a):
        out[i] = _POPCOUNT[np.bitwise_xor(row[None, :], b)].sum(1)
    return out


def equalised_thumbnails(gray: np.ndarray, side: int = 64) -> np.ndarray:
    """(N, side*side) zero-mean unit-norm vectors of histogram-equalised thumbnails."""
    out = np.empty((len(gray), side * side), np.float64)
    for i, img in enumerate(gray):
        small = np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.LANCZOS))
        ranks = np.argsort(np.argsort(small.ravel(), kind="stable"), kind="stable")
        v = ranks - ranks.mean()
        out[i] = v / (np.linalg.norm(v) or 1.0)
    return out


def nearest_in_pool(query: np.ndarray, pool: np.ndarray) -> pd.DataFrame:
    """For each query film: its nearest pool film by hash, the distance, and (for candidates within
    CANDIDATE_BITS) the thumbnails' correlation with each candidate, the highest kept."""
    hq, hp = dhash(query), dhash(pool)
    dist = hamming(hq, hp)
    nearest = dist.argmin(1)
    tq, tp = equalised_thumbnails(query), equalised_thumbnails(pool)
    best_corr = np.full(len(query), np.nan)
    best_match = nearest.copy()
    for i in range(len(query)):
        candidates = np.flatnonzero(dist[i] <= CANDIDATE_BITS)
        if len(candidates):
            corr = tp[candidates] @ tq[i]
            best_corr[i] = corr.max()
            best_match[i] = candidates[corr.argmax()]
    return pd.DataFrame({"nearest": nearest, "hash_distance": dist[np.arange(len(query)), nearest],
                         "candidates": (dist <= CANDIDATE_BITS).sum(1), "best_match": best_match,
                         "correlation": best_corr})


def overlap_table(query: pd.DataFrame, query_gray: np.ndarray, pool: pd.DataFrame,
                  pool_gray: np.ndarray) -> pd.DataFrame:
    """Per query film: its origin (the manifests' dataset column), nearest pool film and distance,
    candidates within CANDIDATE_BITS, the best candidate's correlation, and whether it is a copy."""
    found = nearest_in_pool(query_gray, pool_gray)
    found["dataset"] = query["dataset"].to_numpy()
    found["label"] = query["label"].to_numpy()
    found["pool_file"] = pool["file"].to_numpy()[found["best_match"]]
    found["file"] = query["file"].to_numpy()
    paediatric = pool["dataset"].fillna("").str.startswith("kermany").to_numpy()[found["best_match"]]
    found["copy"] = found["correlation"].to_numpy() >= np.where(
        paediatric, PAEDIATRIC_COPY_CORRELATION, COPY_CORRELATION)
    return found


def overlap_summary(found: pd.DataFrame) -> pd.DataFrame:
    """One row per origin: films, smallest and median hash distance to the pool, films with a
    candidate within CANDIDATE_BITS, the highest thumbnail correlation, and copies found."""
    return found.groupby("dataset", sort=False).agg(
        films=("file", "size"), nearest_bits=("hash_distance", "min"),
        median_bits=("hash_distance", "median"), candidates=("candidates", lambda s: int((s > 0).sum())),
        highest_correlation=("correlation", "max"), copies=("copy", "sum"))


def book_overlap(data=None, external=None, controls=None) -> tuple[dict, pd.DataFrame]:
    """The Data chapter's check: every external and control film against the whole main set, as
    the numbers its prose quotes and one row per origin (reader-facing names)."""
    from . import data as xdata
    from .config import controls_dir, data_dir, external_dir

    pool = xdata.read_dataset(data_dir(data))
    query = pd.concat([xdata.read_dataset(external_dir(external)).assign(folder="external"),
                       xdata.read_dataset(controls_dir(controls)).assign(folder="controls")],
                      ignore_index=True)
    found = overlap_table(query, xdata.load_gray(list(query["path"]), 256, progress=False), pool,
                          xdata.load_gray(list(pool["path"]), 256, progress=False))
    summary = overlap_summary(found)
    copies = found[found["copy"]]
    values = {"ov_pool": f"{len(pool):,}", "ov_films": f"{len(query):,}", "ov_bits": str(CANDIDATE_BITS),
              "ov_corr": f"{COPY_CORRELATION:.2f}", "ov_corr_child": f"{PAEDIATRIC_COPY_CORRELATION:.2f}",
              "ov_copies": str(len(copies)),
              "ov_copy_files": ", ".join(f"{f.split('/')[-1]} ~ {p.split('/')[-1]} (r = {r:.3f})"
                                         for f, p, r in zip(copies["file"], copies["pool_file"],
                                                            copies["correlation"])) or "none",
              "ov_nearest": str(int(found["hash_distance"].min()))}
    shown = summary.rename(columns={"films": "films", "nearest_bits": "nearest (bits)",
                                    "median_bits": "median nearest (bits)",
                                    "candidates": f"films within {CANDIDATE_BITS} bits",
                                    "highest_correlation": "highest thumbnail correlation",
                                    "copies": "copies"})
    shown["highest thumbnail correlation"] = shown["highest thumbnail correlation"].map(
        lambda r: "" if pd.isna(r) else f"{r:.3f}")
    from .demographics import ORIGIN_LABELS

    shown.index = shown.index.map(lambda o: ORIGIN_LABELS.get(o, o))
    return values, shown.rename_axis("origin")
