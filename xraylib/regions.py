"""The regions of a frontal chest film that the book measures: one lung box, one border, corners.

One home, so the saliency chapter (where the maps' mass falls) and the shortcut chapter (blanking
the lungs, classifying from the border) measure the same regions.
"""
from __future__ import annotations

import numpy as np

LUNG_BOX: tuple[float, float, float, float] = (0.15, 0.85, 0.12, 0.88)
"""(top, bottom, left, right) fractions of a frontal film that hold most of both lungs."""

BORDER = 0.12
"""Width of the outer frame, as a fraction of the height (top, bottom) and width (left, right)."""

CORNER = 0.15
"""Side of each corner square, as a fraction of height and width (where L/R markers and text sit)."""


def box_slices(shape: tuple[int, int], box: tuple[float, float, float, float] = LUNG_BOX
               ) -> tuple[slice, slice]:
    """(rows, cols) slices of an H x W image for a (top, bottom, left, right) fraction box."""
    h, w = shape
    top, bottom, left, right = box
    if not (0 <= top < bottom <= 1 and 0 <= left < right <= 1):
        raise ValueError(f"box {box}: expected fractions 0 <= top < bottom <= 1 and "
                         f"0 <= left < right <= 1")
    return (slice(int(round(top * h)), int(round(bottom * h))),
            slice(int(round(left * w)), int(round(right * w))))


def lung_mask(shape: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W) mask of the lung box."""
    mask = np.zeros(shape, bool)
    mask[box_slices(shape)] = True
    return mask


def border_mask(shape: tuple[int, int], width: float = BORDER) -> np.ndarray:
    """Boolean (H, W) mask of the outer frame of `width` (a fraction of each side)."""
    if not 0 < width < 0.5:
        raise ValueError(f"border width {width}: expected a fraction of the side in (0, 0.5)")
    mask = np.ones(shape, bool)
    mask[box_slices(shape, (width, 1 - width, width, 1 - width))] = False
    return mask


def corner_mask(shape: tuple[int, int], side: float = CORNER) -> np.ndarray:
    """Boolean (H, W) mask of the four corner squares."""
    h, w = shape
    ch, cw = int(round(side * h)), int(round(side * w))
    mask = np.zeros(shape, bool)
    for rows in (slice(0, ch), slice(h - ch, h)):
        for cols in (slice(0, cw), slice(w - cw, w)):
            mask[rows, cols] = True
    return mask


def masks(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The three regions of an H x W image by name: 'lung', 'border', 'corner'."""
    return {"lung": lung_mask(shape), "border": border_mask(shape), "corner": corner_mask(shape)}
