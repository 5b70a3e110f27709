"""Near-duplicates: a re-saved or re-contrasted copy is found, a different film is not."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from xraylib import overlap


def _film(seed: int, side: int = 256) -> np.ndarray:
    """A smooth random 'film' (low-frequency noise), so its hash is stable under small changes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8)).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC))


def _jpeg(img: np.ndarray, quality: int = 60) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf))


def test_hamming_counts_differing_bits():
    a = np.array([[0b10110000, 0]], np.uint8)
    b = np.array([[0b00110001, 255], [0b10110000, 0]], np.uint8)
    assert overlap.hamming(a, b).tolist() == [[2 + 8, 0]]


def test_a_film_has_256_hash_bits_and_distance_zero_to_itself():
    film = _film(1)[None]
    h = overlap.dhash(film)
    assert h.shape == (1, 32) and overlap.hamming(h, h)[0, 0] == 0


def test_a_recompressed_brighter_copy_is_a_copy_and_other_films_are_not():
    pool_gray = np.stack([_film(s) for s in range(6)])
    copy = np.clip(_jpeg(pool_gray[3]).astype(int) + 12, 0, 255).astype(np.uint8)
    query_gray = np.stack([copy, _film(100)])
    pool = pd.DataFrame({"file": [f"p{i}.png" for i in range(6)], "dataset": "adult-pool"})
    query = pd.DataFrame({"file": ["copy.png", "other.png"], "dataset": "ext", "label": "normal"})
    found = overlap.overlap_table(query, query_gray, pool, pool_gray)
    assert found["copy"].tolist() == [True, False]
    assert found.loc[0, "pool_file"] == "p3.png" and found.loc[0, "hash_distance"] <= 8
    assert found.loc[1, "hash_distance"] > overlap.CANDIDATE_BITS
    summary = overlap.overlap_summary(found)
    assert summary.loc["ext", "films"] == 2 and summary.loc["ext", "copies"] == 1


def test_paediatric_pool_films_need_the_higher_correlation():
    pool_gray = _film(7)[None]
    near = (0.7 * pool_gray[0] + 0.3 * _film(8)).astype(np.uint8)[None]  # a look-alike, not a copy
    query = pd.DataFrame({"file": ["q.png"], "dataset": "ext", "label": "normal"})
    corr = overlap.nearest_in_pool(near, pool_gray)["correlation"].iloc[0]
    assert overlap.COPY_CORRELATION <= corr < overlap.PAEDIATRIC_COPY_CORRELATION
    for dataset, copy in (("adult-pool", True), ("kermany-cxr-pneumonia-train", False)):
        pool = pd.DataFrame({"file": ["p.png"], "dataset": dataset})
        assert overlap.overlap_table(query, near, pool, pool_gray)["copy"].iloc[0] == copy
