"""The patient's body on the coarse grid: outside air, FOV padding and the table removed.

Outside air is found slice by slice: a 2D air region (below ``TISSUE_HU``, padding left out)
that reaches the edge of the field of view (the slice border or the FOV padding) and is air
(median below ``OUTSIDE_AIR_MEDIAN_HU``; outside air near the body is often -950..-900 HU
from scatter). The table is detached from the patient with every region at that edge left out;
then an edge region with lung-like median density whose rim lies on the patient is a lung cut
by the field of view (a cropped reconstruction, or a reconstruction circle narrower than the
chest) and is kept, while a table's foam core, lying on the detached shells, is not. Air
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
    "parts_touching",
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
    """Boolean body mask of a coarse HU volume (z, y, x); ``padding`` marks FOV padding voxels
    (every coarse voxel holding any)."""
    not_tissue = (hu < TISSUE_HU) & ~padding
    labels, count = ndimage.label(not_tissue, structure=_SLICE_STRUCTURE)
    # regions reaching the edge of the field of view: the array border or the FOV padding
    edge = np.zeros(count + 1, dtype=bool)
    for face in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        edge[np.unique(face)] = True
    edge[np.unique(labels[ndimage.binary_dilation(padding, structure=_SLICE_STRUCTURE)])] = True
    edge[0] = False
    # median < threshold  <=>  more than half of the region's voxels are below it
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    below = np.bincount(labels.ravel(), weights=(hu < OUTSIDE_AIR_MEDIAN_HU).ravel(), minlength=count + 1)
    air = 2 * below > sizes
    # Detach the table and thin couch parts, keep the patient (largest 3D component), with every
    # region at the edge of the field of view left out for now.
    radius = max(1, int(round(4.0 / min(spacing[1:]))))
    inside = ~edge[labels] & ~padding
    opened = ndimage.binary_opening(inside, structure=_disk_structure(radius))
    if not opened.any():
        return opened
    largest = cc3d.largest_k(opened.view(np.uint8), k=1, connectivity=6) > 0
    patient = ndimage.binary_dilation(largest, structure=_disk_structure(radius)) & inside
    # A lung-like region at the edge is a lung cut by the field of view when its rim lies on the
    # patient (a table's foam core, also lung-like, lies on the detached table shells) and it is
    # thicker than a pocket of air under the patient (partial volume makes those lung-like too).
    reach = max(1, int(round(_POCKET_DEPTH_MM / min(spacing[1:]))))
    cut = _cut_lungs(labels, edge & ~air, patient, padding, reach)
    patient |= cut[labels]
    patient |= axial_holes(patient)
    # Air enclosed between the patient and the table (in front of a prone chest, behind the
    # neck) lies a table shell away from outside air; air inside the patient lies deeper. FOV
    # padding is not the skin: a field of view may cut through the chest wall.
    near_outside = ndimage.binary_dilation(~patient & ~padding, structure=_disk_structure(reach))
    pocket = np.zeros_like(edge)
    pocket[np.unique(labels[near_outside & not_tissue])] = True
    pocket &= ~cut
    pocket[0] = False
    return patient & ~pocket[labels]


def _cut_lungs(
    labels: np.ndarray, candidate: np.ndarray, patient: np.ndarray, padding: np.ndarray,
    reach: int,
) -> np.ndarray:
    """Per label: flagged in ``candidate``, thicker than ``reach`` (a core survives an in-slice
    erosion by a disk of that radius), and its in-slice rim (outside the padding) lies at least
    half on ``patient``."""
    if not candidate.any():
        return candidate
    region = candidate[labels]
    thick = np.zeros_like(candidate)
    core = ndimage.binary_erosion(region, structure=_disk_structure(reach))
    thick[np.unique(labels[core])] = True
    candidate = candidate & thick
    rim = ndimage.binary_dilation(region, structure=_SLICE_STRUCTURE) & ~region & ~padding
    rim_labels = ndimage.grey_dilation(labels * region, footprint=_SLICE_STRUCTURE)[rim]
    total = np.bincount(rim_labels, minlength=candidate.size)
    on_patient = np.bincount(rim_labels, weights=patient[rim], minlength=candidate.size)
    keep = candidate & (2 * on_patient >= total) & (total > 0)
    keep[0] = False
    return keep


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


def parts_touching(region: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Parts of ``region`` connected (6-neighbourhood, through ``region`` or ``seeds``) to
    ``seeds``."""
    if not region.any():
        return region
    components = cc3d.connected_components((region | seeds).view(np.uint8), connectivity=6)
    keep = np.zeros(int(components.max()) + 1, dtype=bool)
    keep[np.unique(components[seeds])] = True
    keep[0] = False
    return keep[components] & region
