"""Automatic PET reference regions from the CT and the lung mask: blood pool and liver.

PERCIST (Wahl 2009) reference regions, found on the CT of the PET/CT (same grid as the lungs):

* **blood pool**: a cylinder 1 cm in diameter and 2 cm long in the descending thoracic aorta.
  At mid-thoracic levels (40–70 % of the lung height from the base) the vertebral body is the
  largest solid disc denser than 120 HU centred within 10 mm of the midline behind the lungs'
  centre; the descending aorta is the soft-tissue disc (-50..450 HU, with or without contrast)
  beside it on the patient's left (5–50 mm left of the vertebral centre, from 25 mm in front of
  the vertebral body to its centre level). Per slice its centre is the point of that window
  farthest from any other tissue (largest inscribed circle); the cylinder axis is the median of
  the per-slice centres.
* **liver**: a sphere 3 cm in diameter in the right lobe, centred 3 cm below the right
  hemidiaphragm dome under the centre of the right lung, moved to the nearest position (within
  3 cm) whose sphere holds only soft tissue (-100..250 HU) outside the lungs.

Both masks are returned on the CT grid and saved for checking; when a region cannot be found,
an :class:`~ildrad.errors.InputError` says why (the caller may continue without the ratio).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from ildrad.errors import InputError
from ildrad.image import Image, Mask, Unit, assert_same_grid, require_unit
from ildrad.lung.zones import slice_superior_mm

__all__ = [
    "ReferenceRegions",
    "find_blood_pool",
    "find_liver",
    "find_reference_regions",
    "in_plane_lps_xy",
]

_SOFT_TISSUE_HU = (-50.0, 450.0)
_LIVER_HU = (-100.0, 250.0)
#: Vertebral marrow and cortex are denser than this; unenhanced blood and muscle are not.
_MARROW_HU = 120.0


@dataclasses.dataclass(frozen=True)
class ReferenceRegions:
    """Blood-pool and liver masks on the CT grid (None when not found, with the reason)."""

    blood_pool: Mask | None
    liver: Mask | None
    problems: dict[str, str]


def in_plane_lps_xy(ct: Image) -> tuple[np.ndarray, np.ndarray]:
    """LPS x (patient left +) and y (posterior +) of every in-plane voxel, arrays of shape (y, x)."""
    grid = ct.grid
    rows, columns = np.meshgrid(np.arange(grid.shape[1]), np.arange(grid.shape[2]), indexing="ij")
    index = np.stack([np.zeros_like(rows), rows, columns], axis=-1)
    points = grid.index_to_physical(index)
    return points[..., 0], points[..., 1]


def _check(ct: Image, lungs: Mask) -> None:
    require_unit(ct, Unit.HU, purpose="reference regions from CT")
    assert_same_grid(lungs, ct, "lung mask and CT")
    if not (lungs.array == 1).any() or not (lungs.array == 2).any():
        raise InputError("reference regions need both lungs (labels 1 right, 2 left) in the lung mask")


def _slices_between(ct: Image, lungs: Mask, low: float, high: float) -> np.ndarray:
    superior = slice_superior_mm(ct.grid)
    lung_slices = np.flatnonzero(lungs.array.any(axis=(1, 2)))
    z = superior[lung_slices]
    bottom, top = z.min(), z.max()
    wanted = (superior >= bottom + low * (top - bottom)) & (superior <= bottom + high * (top - bottom))
    return np.flatnonzero(wanted & lungs.array.any(axis=(1, 2)))


def find_blood_pool(ct: Image, lungs: Mask) -> Mask:
    """Descending-aorta blood-pool cylinder (1 cm x 2 cm) on the CT grid (module docstring)."""
    _check(ct, lungs)
    x_mm, y_mm = in_plane_lps_xy(ct)
    spacing_yx = ct.grid.spacing[1:]
    centres = []
    for k in _slices_between(ct, lungs, 0.40, 0.70):
        hu, lung = ct.array[k], lungs.array[k] > 0
        lung_x = x_mm[lung]
        midline = 0.5 * (np.percentile(lung_x, 2) + np.percentile(lung_x, 98))
        # vertebral body: the largest solid disc of bone-or-marrow density (> 120 HU) centred
        # within 10 mm of the midline, behind the lungs' centre
        dense = ndimage.distance_transform_edt(hu > _MARROW_HU, sampling=spacing_yx)
        dense[(np.abs(x_mm - midline) > 10.0) | (y_mm < np.median(y_mm[lung]))] = 0.0
        if dense.max() < 5.0:
            continue
        vj, vi = np.unravel_index(np.argmax(dense), dense.shape)
        body_x, body_y, body_radius = x_mm[vj, vi], y_mm[vj, vi], float(dense.max())
        vertebra = (x_mm - body_x) ** 2 + (y_mm - body_y) ** 2 <= (body_radius + 4.0) ** 2
        soft = (hu >= _SOFT_TISSUE_HU[0]) & (hu <= _SOFT_TISSUE_HU[1]) & ~lung & ~vertebra
        window = ((x_mm > body_x + 5.0) & (x_mm < body_x + 50.0)
                  & (y_mm > body_y - body_radius - 25.0) & (y_mm < body_y + body_radius))
        inscribed = ndimage.distance_transform_edt(soft & window, sampling=spacing_yx)
        if inscribed.max() < 5.0:  # no disc of 10 mm diameter: not an aorta
            continue
        j, i = np.unravel_index(np.argmax(inscribed), inscribed.shape)
        centres.append((k, x_mm[j, i], y_mm[j, i]))
    if not centres:
        raise InputError("no descending aorta found beside the spine at mid-thoracic levels")
    centres = np.asarray(centres)
    axis_x, axis_y = np.median(centres[:, 1]), np.median(centres[:, 2])
    superior = slice_superior_mm(ct.grid)
    middle = superior[int(np.median(centres[:, 0]))]
    in_plane = (x_mm - axis_x) ** 2 + (y_mm - axis_y) ** 2 <= 5.0**2
    along = np.abs(superior - middle) <= 10.0
    cylinder = along[:, None, None] & in_plane[None]
    if not cylinder.any():
        raise InputError("the blood-pool cylinder holds no voxel (CT too coarse)")
    return Mask(cylinder.astype(np.uint8), ct.grid, {1: "blood_pool"})


def find_liver(ct: Image, lungs: Mask, radius_mm: float = 15.0) -> Mask:
    """Liver reference sphere (3 cm diameter) under the right hemidiaphragm (module docstring)."""
    _check(ct, lungs)
    grid = ct.grid
    right = lungs.array == 1
    rows, columns = np.nonzero(right.any(axis=0))
    centre_row, centre_column = int(np.median(rows)), int(np.median(columns))
    column_slices = np.flatnonzero(right[:, centre_row, centre_column])
    if column_slices.size == 0:
        raise InputError("right lung footprint has no centre column")
    superior = slice_superior_mm(ct.grid)
    centre = grid.index_to_physical(np.array([0.0, centre_row, centre_column]))
    centre[2] = superior[column_slices].min() - 2 * radius_mm
    # search box: 3 cm around the first guess plus the sphere, in voxels
    reach = 30.0 + radius_mm
    corners = grid.physical_to_index(centre + np.array([[sx, sy, sz] for sx in (-reach, reach)
                                                        for sy in (-reach, reach) for sz in (-reach, reach)]))
    low = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, np.asarray(grid.shape) - 1)
    high = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 1, np.asarray(grid.shape))
    box = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
    index = np.stack(np.meshgrid(*(np.arange(a, b) for a, b in zip(low, high, strict=True)), indexing="ij"), -1)
    points = grid.index_to_physical(index.astype(float))
    soft = (ct.array[box] >= _LIVER_HU[0]) & (ct.array[box] <= _LIVER_HU[1]) & (lungs.array[box] == 0)
    best, best_score, best_offset = None, -1.0, np.inf
    for dz in (0.0, -10.0, -20.0, -30.0):
        for dx in (0.0, -10.0, 10.0, -20.0, 20.0, -30.0, 30.0):
            for dy in (0.0, -10.0, 10.0, -20.0, 20.0):
                sphere = np.linalg.norm(points - (centre + np.array([dx, dy, dz])), axis=-1) <= radius_mm
                if sphere.sum() < 4:
                    continue
                score, offset = soft[sphere].mean(), abs(dx) + abs(dy) + abs(dz)
                if score > best_score + 1e-9 or (abs(score - best_score) <= 1e-9 and offset < best_offset):
                    best, best_score, best_offset = sphere, score, offset
    if best is None or best_score < 0.9:
        raise InputError(f"no liver position of soft tissue under the right dome "
                         f"(best soft-tissue fraction {max(best_score, 0.0):.2f})")
    liver = np.zeros(grid.shape, np.uint8)
    liver[box] = best
    return Mask(liver, grid, {1: "liver"})


def find_reference_regions(ct: Image, lungs: Mask) -> ReferenceRegions:
    """Both reference regions; a region not found is None with its reason in ``problems``."""
    found: dict[str, Mask | None] = {}
    problems: dict[str, str] = {}
    for name, finder in (("blood_pool", find_blood_pool), ("liver", find_liver)):
        try:
            found[name] = finder(ct, lungs)
        except InputError as err:
            found[name], problems[name] = None, str(err)
    return ReferenceRegions(found["blood_pool"], found["liver"], problems)
