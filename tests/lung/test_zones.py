"""Zones, rind/core and slice-reduced masks on constructed lungs with known geometry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ildrad.image import Grid, Mask
from ildrad.lung.zones import (
    CORE,
    RIND,
    lung_zones,
    nine_level_positions,
    rind_core,
    slice_reduced_mask,
)

AXIAL_SUPERIOR_LAST = ((0, 0, 1), (0, 1, 0), (1, 0, 0))  # array axis 0 runs feet -> head


def _box_lungs(shape=(30, 40, 60), spacing=(2.0, 1.0, 1.0)) -> Mask:
    lungs = np.zeros(shape, dtype=np.uint8)
    lungs[:, 5:35, 5:28] = 1
    lungs[3:, 5:35, 32:55] = 2  # left lung starts 3 slices higher (shorter)
    return Mask(lungs, Grid(shape, spacing, (0, 0, 0), AXIAL_SUPERIOR_LAST))


def test_zones_are_thirds_of_each_lung_height_with_upper_at_the_head() -> None:
    zones = lung_zones(_box_lungs()).array
    # right lung slices 0..29 (array 29 is the most superior): 10 slices per third
    assert set(np.unique(zones[20:30, 10, 10])) == {11}
    assert set(np.unique(zones[10:20, 10, 10])) == {12}
    assert set(np.unique(zones[0:10, 10, 10])) == {13}
    # left lung slices 3..29: 27 slices, 9 per third
    assert set(np.unique(zones[21:30, 10, 40])) == {21}
    assert set(np.unique(zones[3:12, 10, 40])) == {23}
    assert zones[0, 10, 40] == 0


def test_rind_is_within_10_mm_of_the_surface() -> None:
    lungs = _box_lungs(shape=(40, 60, 60), spacing=(1.0, 1.0, 1.0))
    rind = rind_core(lungs, 10.0).array
    inside = lungs.array > 0
    assert set(np.unique(rind[inside])) == {RIND, CORE}
    assert not rind[~inside].any()
    # brute force: distance to the nearest non-lung voxel (volume edges along z are not pleura)
    padded = np.pad(inside, ((1, 1), (0, 0), (0, 0)), mode="edge")
    padded = np.pad(padded, ((0, 0), (1, 1), (1, 1)))
    distance = ndimage.distance_transform_edt(padded)[1:-1, 1:-1, 1:-1]
    expected_rind = inside & (distance <= 10.0)
    agreement = np.mean((rind[inside] == RIND) == expected_rind[inside])
    assert agreement > 0.98  # distances on a 1.5-2 mm grid, interpolated back


def test_nine_levels_span_the_lungs_and_slice_reduction_keeps_only_them() -> None:
    lungs = _box_lungs()
    levels = nine_level_positions(lungs)
    assert len(levels) == 9 and len(set(levels)) == 9
    reduced, kept = slice_reduced_mask(lungs, lungs, "nine_levels")
    assert set(np.flatnonzero(reduced.array.any(axis=(1, 2)))) == set(kept)
    every, kept_every = slice_reduced_mask(lungs, lungs, "every_nth", step_mm=10.0)
    assert np.all(np.diff(np.sort(kept_every)) == 5)  # 10 mm / 2 mm slices
    assert kept_every.max() == 29  # starts at the apex (most superior slice)
    assert every.array[kept_every].any()


def test_empty_lung_mask_is_an_error() -> None:
    from ildrad.errors import EmptyMaskError

    empty = Mask(np.zeros((3, 3, 3), np.uint8), Grid((3, 3, 3)))
    with pytest.raises(EmptyMaskError):
        rind_core(empty, 10.0)
