"""Recover dense basal disease above the diaphragm (coarse grid).

Basal consolidation and fibrosis lie on the diaphragm with the density of the liver, spleen and
diaphragm muscle below it, so no intensity edge marks the lung base there and a threshold
segmentation stops at the aerated lung, leaving a bump of "abdomen" reaching up into the lung.
The diaphragm itself is a smooth dome (radius of curvature several centimetres or more in
adults); the missing boundary is therefore estimated as a smooth surface under the lung's base:

1. Per lung, the *base height map*: for each axial column (y, x) of the lung's footprint the
   height (mm, superior positive) of its lowest lung voxel.
2. A ball of radius ``_BALL_MM`` is rolled underneath that height map (grey-scale opening
   with a spherical cap): narrow upward bumps, where the ball cannot follow, are lowered to
   the surface the ball traces, while the broad domes of the liver and spleen and the heart's
   rounded top, which the ball fits under, are kept. Where the ball does not touch the base,
   the surface is also continued smoothly (biharmonic inpainting) from the columns where it
   does, and the deeper estimate is taken: the ball's own cap stays above the diaphragm under
   bumps nearly as wide as the ball.
3. In columns whose base was lowered by at least ``_MIN_EXCESS_MM`` (and one slice) and whose
   lowest lung looks diseased (mean above ``_DISEASED_HU`` just above the base; a healthy base
   reads -850 HU), the soft-tissue voxels between the lowered surface and the base become lung,
   at most ``_MAX_DEPTH_MM`` (and ``band_max_mm``) deep: the ball also rounds off the convex
   corner where the liver or spleen meets the deep costophrenic recess, and a deep lowering
   there is organ (except in the interior of the right lung's footprint, over the broad liver
   dome, where the limit is ``band_max_mm``). Never bone, gas, airways, fat, pleural fluid
   (the caller leaves them out of ``allowed``) or the other lung, and only inside the lung's
   footprint eroded by ``_EDGE_MM`` (the lateral chest wall, where the footprint ends, is not
   filled); added voxels must touch the lung.

This is the diaphragm-surface counterpart of the rib-cage envelope of
:mod:`ildrad.lung.periphery`: a rolling-ball correction of the lung border (as used on axial
lung contours by Armato and Sensakovic 2004, Acad Radiol 11:1011) applied to the base height
map, implemented from that description.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from ildrad.lung.body import parts_touching

__all__ = ["recover_dense_base"]

log = logging.getLogger(__name__)

_BALL_MM = 40.0
#: The ball cannot reach the bottom of a bump: under one 1-2 cm wide it stays about 1 mm up,
#: so voxel centres up to this far below the traced surface are taken with the bump.
_LIFT_MM = 1.0
_MAX_DEPTH_MM = 10.0  # deeper lowering is an organ's corner (liver, spleen) rounded off by the ball
_DEEP_INNER_MM = 20.0  # ... but not under the right lung this far inside its footprint
_RIGHT = 1  # label of the right lung (DESIGN.md)
_MIN_EXCESS_MM = 3.0
_DISEASED_HU = -600.0
_EDGE_MM = 4.0
_BASE_PROBE_MM = 6.0  # lung just above the base that must look diseased
_MAP_MM = 4.0  # the ball is rolled on a map of about this pixel size
_SUPPORT_MM = 0.5  # the ball touches the base where its trace is this close to it


def recover_dense_base(
    labels: np.ndarray,
    hu: np.ndarray,
    allowed: np.ndarray,
    spacing: tuple[float, float, float],
    band_max_mm: float,
    superior_first: bool,
) -> np.ndarray:
    """``labels`` (1 right, 2 left) with dense basal disease above the diaphragm added.

    ``allowed`` marks coarse voxels that may become lung (body, not bone, gas, airways, fat or
    pleural fluid).
    """
    out = labels.copy()
    if band_max_mm <= 0:
        return out
    flip = slice(None, None, -1) if superior_first else slice(None)
    up_labels = out[flip]  # view: index increases superiorly
    up_hu = hu[flip]
    up_allowed = allowed[flip]
    sz = spacing[0]
    total = 0
    for label in (1, 2):
        lung = up_labels == label
        footprint = lung.any(axis=0)
        if footprint.sum() < 20:
            continue
        base = np.argmax(lung, axis=0)
        height = np.where(footprint, base * sz, lung.shape[0] * sz).astype(np.float32)
        lowered = _roll_ball_under(height, footprint, spacing[1:])
        excess = height - lowered
        probe = max(1, int(round(_BASE_PROBE_MM / sz)))
        base_hu = _mean_above(up_hu, lung, base, probe)
        edge = max(1, int(round(_EDGE_MM / min(spacing[1:]))))
        interior = ndimage.binary_erosion(footprint, iterations=edge)
        columns = interior & (excess >= max(_MIN_EXCESS_MM, sz)) & (base_hu > _DISEASED_HU)
        if not columns.any():
            continue
        depth = np.minimum(excess, _depth_limit(footprint, label, spacing[1:], band_max_mm))
        z = np.arange(lung.shape[0], dtype=np.float32)[:, None, None] * sz
        new = (columns[None] & (z < height[None]) & (z >= (height - depth - _LIFT_MM)[None])
               & up_allowed & (up_labels == 0))
        new = parts_touching(new, lung)
        up_labels[new] = label
        total += int(new.sum())
    log.debug("dense base: %d voxels added", total)
    return out


def _depth_limit(
    footprint: np.ndarray, label: int, spacing_yx, band_max_mm: float
) -> np.ndarray | float:
    """Deepest lowering (mm) taken per column: ``_MAX_DEPTH_MM``, or ``band_max_mm`` under the
    right lung at least ``_DEEP_INNER_MM`` inside its footprint.

    Under the right lung lies the liver, whose dome is broad (it fits the ball), so a deep
    lowering in the interior of the footprint is a tall patch of consolidation on the dome. Under
    the left lung the spleen's tip, the gastric fundus and the heart's apex are narrower than the
    ball and near the footprint's edge the ball rounds off the corner of the costophrenic
    recess: there a deep lowering is an organ and the limit stays ``_MAX_DEPTH_MM``.
    """
    shallow = min(band_max_mm, _MAX_DEPTH_MM)
    if label != _RIGHT or band_max_mm <= shallow:
        return shallow
    inner_mm = ndimage.distance_transform_edt(footprint, sampling=spacing_yx)
    return np.where(inner_mm >= _DEEP_INNER_MM, band_max_mm, shallow)


def _roll_ball_under(height: np.ndarray, footprint: np.ndarray, spacing_yx) -> np.ndarray:
    """Grey-scale opening of ``height`` by a spherical cap of radius ``_BALL_MM`` (mm map).

    The map is rolled on a grid of about ``_MAP_MM`` (block minimum, so the ball stays under
    the surface) and read back by nearest neighbour; outside the footprint the map is high (no
    lung there constrains nothing).
    """
    step = tuple(max(1, int(round(_MAP_MM / s))) for s in spacing_yx)
    ny, nx = height.shape
    py, px = -ny % step[0], -nx % step[1]
    padded = np.pad(height, ((0, py), (0, px)), mode="edge")
    blocks = (padded.shape[0] // step[0], step[0], padded.shape[1] // step[1], step[1])
    small = padded.reshape(blocks).min(axis=(1, 3))
    dy, dx = spacing_yx[0] * step[0], spacing_yx[1] * step[1]
    ry, rx = int(_BALL_MM // dy), int(_BALL_MM // dx)
    yy, xx = np.mgrid[-ry: ry + 1, -rx: rx + 1]
    r2 = (yy * dy) ** 2 + (xx * dx) ** 2
    inside = r2 <= _BALL_MM**2
    cap = np.where(inside, np.sqrt(np.maximum(_BALL_MM**2 - r2, 0.0)) - _BALL_MM, 0.0)
    # erosion then dilation with the non-flat cap (scipy subtracts / adds ``structure``)
    top = float(small.max())
    opened = ndimage.grey_opening(small, footprint=inside, structure=cap, mode="constant", cval=top)
    opened = _continue_under_bumps(small, opened, small < top)
    full = np.repeat(np.repeat(opened, step[0], axis=0), step[1], axis=1)[:ny, :nx]
    return np.where(footprint, np.minimum(full, height), height)


def _continue_under_bumps(height: np.ndarray, traced: np.ndarray, lung: np.ndarray) -> np.ndarray:
    """The ball's trace, deepened where the ball does not touch the base.

    Under a bump the ball stays on its own cap, above the diaphragm unless the bump is much
    wider than the ball. There the surface is continued from the columns where the ball does
    touch the base (within ``_SUPPORT_MM``), by biharmonic inpainting (smooth in slope and
    curvature, so a bump on the sloping side of the dome is bridged along the slope), and the
    deeper of the trace and the continuation is taken. Outside the lung the map is unknown.
    """
    unsupported = lung & (height - traced > _SUPPORT_MM)
    if not unsupported.any() or unsupported.all():
        return traced
    from skimage.restoration import inpaint_biharmonic

    unknown = unsupported | ~lung
    continued = inpaint_biharmonic(np.where(lung, height, 0.0), unknown, split_into_regions=True)
    return np.where(unsupported, np.minimum(traced, continued), traced)


def _mean_above(hu: np.ndarray, lung: np.ndarray, base: np.ndarray, probe: int) -> np.ndarray:
    """Mean HU of the lung voxels 1..``probe`` above each column's base (the base voxel itself is
    partial volume with the diaphragm)."""
    total = np.zeros(base.shape, np.float32)
    count = np.zeros(base.shape, np.float32)
    rows, cols = np.indices(base.shape)
    for offset in range(1, probe + 1):
        k = np.minimum(base + offset, lung.shape[0] - 1)
        inside = lung[k, rows, cols]
        total += np.where(inside, hu[k, rows, cols], 0.0)
        count += inside
    return np.where(count > 0, total / np.maximum(count, 1), -1000.0)
