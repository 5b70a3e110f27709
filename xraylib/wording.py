"""Counts and spreads in words for the chapters' prose, true by construction ('two of five',
'inside the range of the five seeds (48.2-60.1%)').
"""
from __future__ import annotations

import numpy as np

from . import ladder_tables

_NUMBERS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def count_word(n: int) -> str:
    """'five' for 5, '15' for 15: a count in prose (words only for small counts)."""
    return _NUMBERS[n] if n < len(_NUMBERS) else str(n)


def position(value: float, seeds) -> str:
    """'inside', 'above' or 'below': where one number (%) falls against the seeds' range, compared as
    printed (one decimal), so a run that is one of the seeds is inside, not a hair below."""
    lo, hi, value = (round(float(v), 1) for v in (np.min(seeds), np.max(seeds), value))
    return "inside" if lo <= value <= hi else ("above" if value > hi else "below")


def seeds_phrase(k: int, n: int) -> str:
    """'all five', 'none of the five', 'two of five', '8 of 15': a count for prose, true by construction."""
    word = (lambda i: _NUMBERS[i]) if n < len(_NUMBERS) else str  # words only for small counts
    if k == n:
        return f"all {word(n)}"
    return f"none of the {word(n)}" if k == 0 else f"{word(k)} of {word(n)}"


def beside_seeds(value: float, seeds, what: str = "GPU seeds") -> str:
    """Where one number (%) falls among several seeds' numbers, in words true by construction."""
    lo, hi, shown = (round(float(v), 1) for v in (np.min(seeds), np.max(seeds), value))
    count = count_word(len(seeds))
    if lo < hi and shown in (lo, hi):  # a run that is the lowest seed is not 'inside' their range
        return f"{'the lowest' if shown == lo else 'the highest'} of the {count} {what} ({lo:.1f}-{hi:.1f}%)"
    return f"{position(value, seeds)} the range of the {count} {what} ({lo:.1f}-{hi:.1f}%)"


def spread_phrase(value: float, profile_name: str, measure: str = "initial") -> str:
    """One run's accuracy (%) beside its profile's recorded seeds, in words true by construction."""
    seeds = ladder_tables.seed_accuracies(profile_name, measure)
    if seeds is None or len(seeds) < 2:
        return f"no seed record exists for profile '{profile_name}', so this is one run"
    count = count_word(len(seeds))
    where = {"quick-seeds.json": "recorded on a CPU in records/quick-seeds.json",
             "ladder.json": "recorded on a GPU in records/ladder.json"}[ladder_tables.SEED_RECORDS[profile_name][0]]
    return (f"over {count} training seeds ({where}) this profile averages {seeds.mean():.1f}% "
            f"(SD {seeds.std(ddof=1):.1f}); this run is "
            + beside_seeds(value, seeds.to_numpy(), what="seeds"))


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c': a list in prose."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
