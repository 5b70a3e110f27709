"""xraylib.regions: one lung box, one border and the corners, as masks of any image size."""
from __future__ import annotations

import numpy as np
import pytest

from xraylib import regions


def test_the_lung_box_mask_covers_exactly_its_fractions_of_the_image():
    mask = regions.lung_mask((100, 100))
    expected = np.zeros((100, 100), bool)
    expected[15:85, 12:88] = True  # LUNG_BOX (0.15, 0.85, 0.12, 0.88) of 100 px
    np.testing.assert_array_equal(mask, expected)


def test_the_border_mask_is_the_frame_outside_the_inner_box():
    mask = regions.border_mask((100, 100), width=0.12)
    assert not mask[12:88, 12:88].any()
    assert mask[:12].all() and mask[88:].all() and mask[:, :12].all() and mask[:, 88:].all()


def test_the_border_refuses_a_width_that_leaves_no_inside():
    with pytest.raises(ValueError, match="border width 0.5"):
        regions.border_mask((10, 10), width=0.5)


def test_the_corners_are_four_squares_inside_the_border():
    corner = regions.corner_mask((100, 100))
    assert corner.sum() == 4 * 15 * 15
    assert not (corner & ~regions.border_mask((100, 100), width=0.15)).any()


def test_box_slices_refuse_a_box_that_is_not_fractions_in_order():
    with pytest.raises(ValueError, match="expected fractions"):
        regions.box_slices((10, 10), (0.8, 0.2, 0.1, 0.9))


def test_masks_name_the_three_regions_at_the_shape_asked_for():
    out = regions.masks((30, 40))
    assert set(out) == {"lung", "border", "corner"}
    assert all(m.shape == (30, 40) and m.dtype == bool for m in out.values())
