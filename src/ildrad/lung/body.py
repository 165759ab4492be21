"""The patient's body on the coarse grid: outside air, FOV padding and the table removed.

Outside air is found slice by slice: a 2D air region that touches the slice border and is
air (median below ``OUTSIDE_AIR_MEDIAN_HU``; outside air near the body is often
-950..-900 HU from scatter) or holds FOV padding. A border-touching
region with lung-like median density is kept inside the body, so that a scan whose field of view
cuts through a lung (a cropped reconstruction) keeps that lung. The table is detached, and air
enclosed between the patient and the table (within ``_POCKET_DEPTH_MM`` of outside air) is
outside too.
"""

from __future__ import annotations

import logging

import cc3d
import numpy as np
from scipy import ndimage

__all__ = [
    "FAT_HU",
    "OUTSIDE_AIR_MEDIAN_HU",
    "PADDING_HU",
    "axial_holes",
    "body_mask",
    "bone_mask",
    "fat_mask",
    "pleural_fluid_mask",
]

log = logging.getLogger(__name__)

#: Median HU below which a border-touching air region is outside air (lung is about -850 HU).
OUTSIDE_AIR_MEDIAN_HU = -900.0
#: Values below this are FOV padding (scanners store -2048 or -3024 outside the FOV).
PADDING_HU = -1100.0
#: Tissue threshold (HU) that separates the body from outside air.
TISSUE_HU = -500.0
#: Bone on the coarse grid (HU): rib cortex and marrow averaged over 2 mm blocks.
BONE_HU = 180.0
#: Fat (HU, open interval): extrapleural, chest-wall and pericardial fat.
FAT_HU = (-200.0, -40.0)
#: Free pleural fluid (HU, closed interval, after smoothing): transudates read 0-20 HU, while
#: consolidation and collapsed lung read 30-50 HU unenhanced and more with contrast.
PLEURAL_FLUID_HU = (-20.0, 25.0)
_FLUID_SMOOTHING_MM = 2.0
#: Air this close to outside air (mm) is not inside the patient: the chest wall and the neck are
#: thicker.
_POCKET_DEPTH_MM = 6.0

_SLICE_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_SLICE_STRUCTURE[1] = ndimage.generate_binary_structure(2, 1)


def body_mask(hu: np.ndarray, padding: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Boolean body mask of a coarse HU volume (z, y, x); ``padding`` marks FOV padding voxels."""
    not_tissue = hu < TISSUE_HU
    labels, count = ndimage.label(not_tissue, structure=_SLICE_STRUCTURE)
    border = np.zeros(count + 1, dtype=bool)
    for face in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        border[np.unique(face)] = True
    border[0] = False
    # median < threshold  <=>  more than half of the region's voxels are below it
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    below = np.bincount(labels.ravel(), weights=(hu < OUTSIDE_AIR_MEDIAN_HU).ravel(), minlength=count + 1)
    padded = np.bincount(labels.ravel(), weights=padding.ravel(), minlength=count + 1)
    outside = border & ((2 * below > sizes) | (padded > 0))
    body = ~outside[labels]
    # Detach the table and thin couch parts, keep the patient (largest 3D component).
    radius = max(1, int(round(4.0 / min(spacing[1:]))))
    opened = ndimage.binary_opening(body, structure=_disk_structure(radius))
    if not opened.any():
        return opened
    largest = cc3d.largest_k(opened.view(np.uint8), k=1, connectivity=6) > 0
    patient = ndimage.binary_dilation(largest, structure=_disk_structure(radius)) & body
    patient |= axial_holes(patient)
    # Air enclosed between the patient and the table (in front of a prone chest, behind the
    # neck) lies a table shell away from outside air; air inside the patient lies deeper.
    reach = max(1, int(round(_POCKET_DEPTH_MM / min(spacing[1:]))))
    near_outside = ndimage.binary_dilation(~patient, structure=_disk_structure(reach))
    pocket = np.zeros_like(border)
    pocket[np.unique(labels[near_outside & not_tissue])] = True
    pocket &= ~border
    pocket[0] = False
    return patient & ~pocket[labels]


def bone_mask(hu: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Bone (ribs, spine, sternum, scapulae) inside the body on the coarse grid."""
    return body & (hu > BONE_HU)


def fat_mask(hu: np.ndarray) -> np.ndarray:
    """Fat (:data:`FAT_HU`): it lies between the pleura and the ribs and against the heart, and is
    never lung (consolidation and fibrosis are soft tissue, ground glass is below this range)."""
    return (hu > FAT_HU[0]) & (hu < FAT_HU[1])


def pleural_fluid_mask(
    hu: np.ndarray, body: np.ndarray, spacing: tuple[float, float, float]
) -> np.ndarray:
    """Bulk water-density fluid (:data:`PLEURAL_FLUID_HU`) inside the body on the coarse grid.

    The HU are smoothed (Gaussian, ``_FLUID_SMOOTHING_MM``) so that noise does not decide, and
    the mask is opened once: the partial-volume rim where aerated lung meets consolidation, or
    fat meets muscle, passes through this range too, but only a voxel or two thick. Of what
    remains, only bodies with a core that survives a second, two-voxel opening are kept (an
    effusion, with its thin upper parts): noise in consolidation leaves small islands in the
    range. The kept fluid is then grown by one voxel into the partial-volume rim between it and
    the aerated lung.
    """
    sigma = [_FLUID_SMOOTHING_MM / s for s in spacing]
    smooth = ndimage.gaussian_filter(hu.astype(np.float32, copy=False), sigma, mode="nearest")
    fluid = body & (smooth >= PLEURAL_FLUID_HU[0]) & (smooth <= PLEURAL_FLUID_HU[1])
    bulk = ndimage.binary_opening(fluid)
    bodies = cc3d.connected_components(bulk.view(np.uint8), connectivity=6)
    cored = np.unique(bodies[ndimage.binary_opening(bulk, iterations=2)])
    bulk = np.isin(bodies, cored[cored > 0])
    rim = body & (smooth > TISSUE_HU) & (smooth <= PLEURAL_FLUID_HU[1])
    return bulk | (ndimage.binary_dilation(bulk) & rim)


def _disk_structure(radius: int) -> np.ndarray:
    span = np.arange(-radius, radius + 1)
    disk = (span[:, None] ** 2 + span[None, :] ** 2) <= radius * radius
    structure = np.zeros((1, 2 * radius + 1, 2 * radius + 1), dtype=bool)
    structure[0] = disk
    return structure


_AXIAL_4 = np.zeros((3, 3, 3), dtype=bool)
_AXIAL_4[1] = ndimage.generate_binary_structure(2, 1)


def axial_holes(mask: np.ndarray) -> np.ndarray:
    """Voxels outside ``mask`` that are enclosed by it in their axial slice (4-connected holes).

    One labelling of the whole volume with in-slice connectivity replaces a per-slice
    ``binary_fill_holes`` loop (same result, many times faster).
    """
    labels, count = ndimage.label(~mask, structure=_AXIAL_4)
    border = np.zeros(count + 1, dtype=bool)
    for face in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        border[np.unique(face)] = True
    border[0] = True
    return ~border[labels]
