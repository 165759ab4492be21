"""Right / left lung labels on the coarse grid, by patient side (LPS), even where lungs touch.

Touching lungs (thin anterior or posterior junction line) are separated by eroding the lung mask
until it falls into two large parts, then regrowing the parts inside the original mask by a
watershed on its distance map (they meet at the narrowest neck), the erosion-and-regrow split of
classical lung segmentation (Hu, Hoffman & Reinhardt 2001, IEEE TMI 20:490). A single remaining
part that straddles the midline is cut at the midline plane. Sides come from the physical
left-right (LPS x) coordinate, never from the array orientation.
"""

from __future__ import annotations

import logging

import cc3d
import numpy as np
from scipy import ndimage

from ildrad.image import Grid

__all__ = ["RIGHT", "LEFT", "split_left_right"]

log = logging.getLogger(__name__)

RIGHT = 1
LEFT = 2
_MAX_EROSIONS = 10
_MIN_PART_FRACTION = 0.08
#: The regrowing landscape is the depth of the mask closed over this many voxels (6-connected
#: steps), so the soft-tissue walls of honeycombing and reticulation do not make false necks.
_LANDSCAPE_CLOSING = 2


def split_left_right(mask: np.ndarray, grid: Grid, midline_x_mm: float | None) -> np.ndarray:
    """Label map (uint8, 1 right, 2 left) of a boolean lung mask on ``grid``.

    ``midline_x_mm`` is the patient's left-right midline (LPS x, mm), e.g. the trachea's; when
    None the mask's own centre is used.
    """
    out = np.zeros(mask.shape, dtype=np.uint8)
    if not mask.any():
        return out
    total = int(mask.sum())
    parts = _two_large_parts(mask, total)
    eroded = mask
    iterations = 0
    while parts is None and iterations < _MAX_EROSIONS:
        eroded = ndimage.binary_erosion(eroded, structure=ndimage.generate_binary_structure(3, 1))
        iterations += 1
        if not eroded.any():
            break
        parts = _two_large_parts(eroded, total)
    x_mm = _lps_x(grid, mask.shape)
    if parts is not None:
        first, second = parts
        seeds = np.zeros(mask.shape, dtype=np.uint8)
        seeds[first], seeds[second] = 1, 2
        if (seeds > 0).sum() < total:
            seeds = _regrow(seeds, mask, grid.spacing)
        first_x = float(x_mm[seeds == 1].mean())
        second_x = float(x_mm[seeds == 2].mean())
        # LPS: +x is the patient's left.
        right_code, left_code = (1, 2) if first_x < second_x else (2, 1)
        out[seeds == right_code] = RIGHT
        out[seeds == left_code] = LEFT
        log.debug("lungs split after %d erosions", iterations)
        return out
    midline = float(np.mean(x_mm[mask])) if midline_x_mm is None else midline_x_mm
    on_left = x_mm > midline
    left_fraction = float(on_left[mask].mean())
    if midline_x_mm is not None and 0.15 < left_fraction < 0.85:
        out[mask & ~on_left] = RIGHT
        out[mask & on_left] = LEFT
        log.info("lungs could not be separated by erosion; cut at the midline plane")
    else:
        out[mask] = LEFT if left_fraction >= 0.5 else RIGHT
        log.info("one lung found (%s)", "left" if left_fraction >= 0.5 else "right")
    return out


def _regrow(seeds: np.ndarray, mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Every voxel of ``mask`` labelled from the two eroded parts ``seeds`` (1, 2).

    The parts are regrown inside the mask by a watershed on its distance map (seeded flooding
    from the deep cores outwards), so the two lungs meet at the narrowest neck between them
    and a thin part of one lung (the lingula in front of the heart) goes to the lung it is
    attached to, not to the nearest core across the mediastinum (as a plain nearest-part
    assignment did). Voxels no path inside the mask reaches take the nearest part's label.

    The distance map is that of the mask closed over ``_LANDSCAPE_CLOSING`` voxels: in dense
    honeycombing the aerated mask is cut into cysts by walls a voxel or two thick, and on the
    open mask the way from a diseased anterior left lung to its own core looked narrower than
    the anterior junction where the lungs touch (small 60 % sharp-kernel phantom, seed 1:
    6 % of the left lung labelled right; about 1 % on the closed mask's depth). The flooding
    itself stays inside the mask.
    """
    from skimage.segmentation import watershed

    box = ndimage.find_objects(mask.view(np.uint8))[0]  # on the mask's box
    local_mask = mask[box]
    closed = ndimage.binary_closing(
        np.pad(local_mask, _LANDSCAPE_CLOSING), structure=ndimage.generate_binary_structure(3, 1),
        iterations=_LANDSCAPE_CLOSING,
    )[(slice(_LANDSCAPE_CLOSING, -_LANDSCAPE_CLOSING),) * 3]
    depth = ndimage.distance_transform_edt(closed, sampling=spacing)
    local = watershed(-depth, seeds[box].astype(np.int32), mask=local_mask).astype(np.uint8)
    unreached = local_mask & (local == 0)
    if unreached.any():
        nearest = ndimage.distance_transform_edt(
            local == 0, sampling=spacing, return_distances=False, return_indices=True
        )
        local[unreached] = local[tuple(nearest)][unreached]
    out = np.zeros_like(seeds)
    out[box] = local
    return out


def _two_large_parts(mask: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray] | None:
    labels = cc3d.connected_components(mask.view(np.uint8), connectivity=6)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    if sizes.size < 3:
        return None
    order = np.argsort(sizes)[::-1]
    if sizes[order[1]] < _MIN_PART_FRACTION * total:
        return None
    return labels == order[0], labels == order[1]


def _lps_x(grid: Grid, shape: tuple[int, int, int]) -> np.ndarray:
    """LPS x (mm) of every voxel, as a broadcastable array (linear in the indices)."""
    direction = grid.direction_matrix
    spacing = np.asarray(grid.spacing)
    out = np.full((1, 1, 1), grid.origin[0], dtype=np.float64)
    for axis in range(3):
        step = direction[0, axis] * spacing[axis]
        shape_axis = [1, 1, 1]
        shape_axis[axis] = shape[axis]
        out = out + (np.arange(shape[axis]) * step).reshape(shape_axis)
    return np.broadcast_to(out, shape)
