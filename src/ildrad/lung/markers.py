"""SSc markers on the chest CT: the air-filled oesophagus (diameter, volume).

A patulous, air-filled oesophagus is common in SSc (oesophageal dysmotility). The oesophageal
lumen is the air column in the posterior mediastinum: air (below -500 HU) inside the body, outside
the lungs and the central airways (each with a 2 mm margin), whose centroid lies between the two
lungs and that runs at least 20 mm head to foot over the slices holding lung. Stomach gas is
excluded because only slices above the lowest 30 % of the lungs' height count, and the column
must be a tube (head-foot length at least 1.5 times its widest axial extent; the longest such
tube is taken) lying at least 10 mm from outside the body (air at the skin is not the
oesophagus). The maximal axial diameter is the largest Feret (caliper) diameter of the lumen in
any axial slice; that slice is the measurement plane kept for QC.
"""

from __future__ import annotations

import dataclasses
import logging

import cc3d
import numpy as np
from scipy import ndimage
from scipy.spatial.distance import pdist

from ildrad.image import Image, Mask
from ildrad.lung.counts import mean_position
from ildrad.lung.zones import slice_superior_mm

__all__ = ["OesophagusMeasure", "measure_oesophagus"]

log = logging.getLogger(__name__)

_AIR_HU = -500.0
_MIN_LENGTH_MM = 20.0
_MIN_VOLUME_ML = 0.5
_LOW_CUT = 0.3  # slices in the lowest 30 % of the lungs' height (stomach under the domes) are left out
_MIN_ELONGATION = 1.5  # a tube: head-foot length at least 1.5 x its widest axial extent
#: The oesophagus lies centimetres deep; air this close (mm) to outside the body is at the skin
#: (the partial-volume rim of the body mask, a skin fold).
_SKIN_MM = 10.0


@dataclasses.dataclass(frozen=True)
class OesophagusMeasure:
    """Air-filled oesophageal lumen: mask, volume, maximal axial diameter and its slice."""

    lumen: Mask
    volume_ml: float
    max_diameter_mm: float
    measurement_slice: int | None


def measure_oesophagus(ct: Image, lungs: Mask, body: Mask, airways: Mask) -> OesophagusMeasure:
    """Find and measure the air-filled oesophagus (empty result when no air column is found)."""
    grid = ct.grid
    empty = OesophagusMeasure(Mask(np.zeros(grid.shape, np.uint8), grid, {1: "oesophagus"}), 0.0, 0.0, None)
    right, left = lungs.array == 1, lungs.array == 2
    if not right.any() or not left.any():
        return empty
    superior = slice_superior_mm(grid)
    lung_slices = np.flatnonzero((lungs.array > 0).any(axis=(1, 2)))
    top, bottom = superior[lung_slices].max(), superior[lung_slices].min()
    keep_slice = (superior >= bottom + _LOW_CUT * (top - bottom)) & (superior <= top)
    margin = max(1, int(round(2.0 / min(grid.spacing[1:]))))
    air = (ct.array < _AIR_HU) & (body.array > 0) & (lungs.array == 0) & (airways.array == 0)
    air &= keep_slice[:, None, None]
    if air.any():  # the 2 mm margin from lungs and airways, on the air's bounding box only
        box = ndimage.find_objects(air.view(np.uint8))[0]
        # an in-plane square dilation, as separable maximum filters
        near = ndimage.maximum_filter((lungs.array[box] > 0) | (airways.array[box] > 0),
                                      size=(1, 2 * margin + 1, 2 * margin + 1), mode="constant")
        air[box] &= ~near
    labels = cc3d.connected_components(air.view(np.uint8), connectivity=26)
    if labels.max() == 0:
        return empty
    lr_axis = 2 if abs(grid.direction_matrix[0, 2]) >= abs(grid.direction_matrix[0, 1]) else 1
    low, high = sorted((mean_position(right, lr_axis), mean_position(left, lr_axis)))
    voxel_ml = grid.voxel_volume_mm3 / 1000.0
    inside_body = body.array > 0
    best, best_ml, best_length = 0, 0.0, 0.0
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        region = labels[box] == index
        volume_ml = float(region.sum()) * voxel_ml
        length_mm = (box[0].stop - box[0].start) * grid.spacing[0]
        centre = np.argwhere(region).mean(axis=0) + [b.start for b in box]
        width_mm = max((box[1].stop - box[1].start) * grid.spacing[1], (box[2].stop - box[2].start) * grid.spacing[2])
        tube = length_mm >= _MIN_LENGTH_MM and length_mm >= _MIN_ELONGATION * width_mm
        candidate = volume_ml >= _MIN_VOLUME_ML and tube and low < centre[lr_axis] < high
        if not candidate or _near_skin(region, box, inside_body, grid.spacing):
            continue
        if length_mm > best_length:
            best, best_ml, best_length = index, volume_ml, length_mm
    if best == 0:
        return empty
    lumen = labels == best
    diameter, plane = 0.0, None
    pixel = np.asarray(grid.spacing[1:])
    # each slice on the lumen's in-plane box plus one voxel (erosion sees the same neighbours)
    box = ndimage.find_objects(lumen.view(np.uint8))[0]
    rows, cols = (slice(max(b.start - 1, 0), b.stop + 1) for b in box[1:])
    for k in range(box[0].start, box[0].stop):
        section = lumen[k, rows, cols]
        edge = section & ~ndimage.binary_erosion(section)
        points = np.argwhere(edge) * pixel
        if len(points) < 2:
            continue
        width = float(pdist(points).max()) + float(pixel.mean())  # edge centres + one voxel
        if width > diameter:
            diameter, plane = width, int(k)
    log.debug("oesophagus: %.1f mL, max diameter %.1f mm at slice %s", best_ml, diameter, plane)
    return OesophagusMeasure(Mask(lumen.astype(np.uint8), grid, {1: "oesophagus"}), best_ml, diameter, plane)


def _near_skin(
    region: np.ndarray, box: tuple[slice, ...], body: np.ndarray, spacing: tuple[float, ...]
) -> bool:
    """Whether the air component ``region`` (on ``box``) comes within ``_SKIN_MM`` in-plane of a
    voxel outside ``body``."""
    reach = [int(np.ceil(_SKIN_MM / s)) for s in spacing[1:]]
    grown = (box[0],) + tuple(
        slice(max(b.start - r, 0), min(b.stop + r, n))
        for b, r, n in zip(box[1:], reach, body.shape[1:], strict=True)
    )
    outside = ~body[grown]
    if not outside.any():
        return False
    local = np.zeros(outside.shape, dtype=bool)
    inner = tuple(slice(b.start - g.start, b.stop - g.start)
                  for b, g in zip(box[1:], grown[1:], strict=True))
    local[(slice(None), *inner)] = region
    for k in np.flatnonzero(local.any(axis=(1, 2)) & outside.any(axis=(1, 2))):
        # in-plane distance (mm) of every voxel to the nearest voxel outside the body
        distance = ndimage.distance_transform_edt(~outside[k], sampling=spacing[1:])
        if (distance[local[k]] <= _SKIN_MM).any():
            return True
    return False
