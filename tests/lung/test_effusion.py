"""An effusion followed at full resolution from its coarse body (``segmentation._effusion_fine``)."""

from __future__ import annotations

import numpy as np

from ildrad.lung.segmentation import _EFFUSION_WATER_HU, _effusion_fine


def test_the_meniscus_is_followed_and_consolidation_is_not() -> None:
    """Constructed slab: lung (-850 HU) left of x = 18, a bulk effusion (10 HU) in the lowest 8
    slices, and above it a meniscus one voxel thick (x = 20) between the lung and consolidation
    (50 HU). Between lung and meniscus lie a partial-volume voxel of -300 HU (more water than
    lung: effusion) and one of -500 HU (more lung: not). A water pocket enclosed in the
    consolidation is not connected to the effusion and stays out."""
    hu = np.full((20, 30, 40), 50.0, dtype=np.float32)
    hu[:, :, :18] = -850.0
    hu[:8, :, 18:] = 10.0  # bulk effusion
    hu[8:, :, 18] = -500.0
    hu[8:, :, 19] = -300.0
    hu[8:16, :, 20] = 10.0  # meniscus up to slice 15
    hu[10:13, 10:13, 30:33] = 5.0  # enclosed water pocket
    seeds = np.zeros(hu.shape, dtype=bool)
    seeds[:3, :, 25:] = True
    found = _effusion_fine(hu, seeds, -400.0)
    assert found[:8, :, 18:].all()
    assert found[8:16, :, 20].all() and not found[16:, :, 20].any()
    assert found[8:16, :, 19].all()  # the -300 HU rim of the meniscus
    assert not found[:, :, :19][hu[:, :, :19] < -400].any()  # lung and the -500 HU voxels
    assert not found[hu > _EFFUSION_WATER_HU[1] + 20].any()  # consolidation
    assert not found[10:13, 10:13, 30:33].any()


def test_no_seed_no_effusion() -> None:
    hu = np.full((4, 5, 6), 10.0, dtype=np.float32)
    assert not _effusion_fine(hu, np.zeros(hu.shape, dtype=bool), -400.0).any()
