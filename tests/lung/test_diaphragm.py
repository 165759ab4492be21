"""Dense basal disease above the diaphragm (ildrad.lung.diaphragm) on constructed volumes.

Coarse grids of 2 mm voxels, superior last (index 0 is the feet): a lung block over a soft-tissue
abdomen whose top is the diaphragm. Expected masks are drawn by hand: a narrow bump of
consolidation on a flat base is lung, a broad dome is the liver.
"""

from __future__ import annotations

import numpy as np

from ildrad.lung.diaphragm import recover_dense_base

_SPACING = (2.0, 2.0, 2.0)
_SHAPE = (40, 60, 60)


def _volume(lung_hu: float, dome_radius_mm: float | None = None):
    """Labels and HU: lung (label 1) above z = 10 (20 mm), abdomen (+50 HU) below it and in
    a 12 mm wide, 8 mm high bump of consolidation at the centre of the base (not labelled), or
    under a spherical dome of ``dome_radius_mm`` instead of the bump."""
    z, y, x = np.indices(_SHAPE)
    hu = np.full(_SHAPE, 50.0, dtype=np.float32)
    lung = (z >= 10) & (y >= 5) & (y < 55) & (x >= 5) & (x < 55)
    r_mm = 2.0 * np.hypot(y - 30, x - 30)
    if dome_radius_mm is None:
        bump = lung & (r_mm <= 6.0) & (z < 14)
    else:
        top = 10 + (np.sqrt(np.maximum(dome_radius_mm**2 - r_mm**2, 0.0)) - dome_radius_mm + 16.0) / 2.0
        bump = lung & (z < top)
    hu[lung & ~bump] = lung_hu
    labels = (lung & ~bump).astype(np.uint8)
    return labels, hu, bump


def test_a_narrow_bump_of_consolidation_on_the_base_becomes_lung() -> None:
    labels, hu, bump = _volume(lung_hu=-500.0)
    out = recover_dense_base(labels, hu, np.ones(_SHAPE, bool), _SPACING, 20.0, superior_first=False)
    added = (out == 1) & (labels == 0)
    assert added[bump].mean() > 0.9, f"{added[bump].mean():.2f} of the bump recovered"
    assert not added[:10].any(), "the abdomen below the flat diaphragm was taken"


def test_healthy_base_and_broad_dome_are_left_alone() -> None:
    labels, hu, _ = _volume(lung_hu=-850.0)
    out = recover_dense_base(labels, hu, np.ones(_SHAPE, bool), _SPACING, 20.0, superior_first=False)
    assert np.array_equal(out, labels), "a healthy lung base (-850 HU) was changed"
    labels, hu, dome = _volume(lung_hu=-500.0, dome_radius_mm=80.0)
    out = recover_dense_base(labels, hu, np.ones(_SHAPE, bool), _SPACING, 20.0, superior_first=False)
    added = (out == 1) & dome
    assert added.sum() <= 0.02 * dome.sum(), f"{added.sum()} voxels of an 80 mm dome (liver) taken"


def test_head_first_array_order_gives_the_same_result() -> None:
    labels, hu, _ = _volume(lung_hu=-500.0)
    out = recover_dense_base(labels, hu, np.ones(_SHAPE, bool), _SPACING, 20.0, superior_first=False)
    flipped = recover_dense_base(labels[::-1].copy(), hu[::-1].copy(), np.ones(_SHAPE, bool), _SPACING, 20.0,
                                 superior_first=True)
    assert np.array_equal(flipped[::-1], out)


def test_a_bump_nearly_as_wide_as_the_ball_on_a_sloping_base_becomes_lung() -> None:
    """A 40 mm wide, 6 mm high patch of consolidation on a base sloping 1 in 4: the ball alone
    stays on its own cap over much of it (61 % recovered); the surface continued from
    where the ball touches the base recovers it, and nothing under the slope is taken."""
    shape = (50, 80, 80)
    z, y, x = np.indices(shape)
    base = 10.0 + 0.25 * x  # slice index of the diaphragm (2 mm voxels): 0.5 mm per mm
    r_mm = 2.0 * np.hypot(y - 40, x - 40)
    lung = (z >= base) & (y >= 5) & (y < 75) & (x >= 5) & (x < 75)
    patch = lung & (r_mm <= 20.0) & (z < base + 3)
    hu = np.full(shape, 50.0, dtype=np.float32)
    hu[lung & ~patch] = -500.0
    labels = (lung & ~patch).astype(np.uint8)
    out = recover_dense_base(labels, hu, np.ones(shape, bool), _SPACING, 20.0, superior_first=False)
    added = (out == 1) & (labels == 0)
    assert added[patch].mean() > 0.8, f"{added[patch].mean():.2f} of the patch recovered"
    # the staircase of a sloped surface: voxel centres within half a voxel (1 mm) below it count
    assert not (added & (z < base - 0.5)).any(), "tissue under the sloping diaphragm was taken"
