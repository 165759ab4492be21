"""Pulmonary vessel trees that branch from the hila and taper toward the pleura.

Each tree is grown by recursive territory splitting: points sampled uniformly inside one lung
are the territory of the root; a branch runs from its parent node part of the way toward the
centroid of its territory, the territory is split in two along its longest axis, and each half
continues from the branch end. Radii follow Murray's law, r proportional to (territory
size)^(1/3), so vessels taper from about 7 mm at the hilum to sub-millimetre near the pleura.
The tree lives in millimetres (seeded), so every grid of a patient shows the same vessels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ildrad.synth.anatomy import BodyParameters, lung_label

__all__ = ["VesselSegment", "grow_vessel_trees", "render_vessels"]

#: Segments thinner than this fraction of the in-plane voxel are not rendered (invisible).
_MIN_RADIUS_VOXELS = 0.3
#: Segments whose bounding box fits in this many voxels per axis are rendered in one batch.
_BATCH_BOX = 6


@dataclasses.dataclass(frozen=True)
class VesselSegment:
    """One cylindrical vessel segment (mm, LPS)."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]
    radius: float


def _sample_lung_points(
    rng: np.random.Generator, bp: BodyParameters, side: int, n: int
) -> np.ndarray:
    lo = np.array([-150.0 if side == 1 else 0.0, -110.0, -20.0]) * [bp.scale, bp.scale, 1.0]
    hi = np.array([0.0 if side == 1 else 150.0, 110.0, bp.apex_z]) * [bp.scale, bp.scale, 1.0]
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        p = rng.uniform(lo, hi, size=(4 * n, 3)).astype(np.float32)
        keep = p[lung_label(p[:, 0], p[:, 1], p[:, 2], bp) == side]
        found.append(keep)
        count += len(keep)
    return np.concatenate(found)[:n]


def _grow(
    node: np.ndarray,
    points: np.ndarray,
    root_radius: float,
    total: int,
    out: list[VesselSegment],
) -> None:
    stack = [(node, points)]
    while stack:
        start, territory = stack.pop()
        n = len(territory)
        radius = root_radius * (n / total) ** (1.0 / 3.0)
        centroid = territory.sum(axis=0) / n
        if n <= 2:
            end = centroid
        else:
            end = start + 0.45 * (centroid - start)
        out.append(VesselSegment(tuple(start.tolist()), tuple(end.tolist()), float(radius)))
        if n <= 2:
            continue
        axis = int(np.argmax(territory.max(axis=0) - territory.min(axis=0)))
        order = np.argsort(territory[:, axis], kind="stable")
        half = n // 2
        stack.append((end, territory[order[:half]]))
        stack.append((end, territory[order[half:]]))


def grow_vessel_trees(
    rng: np.random.Generator, bp: BodyParameters, points_per_tree: int = 1000
) -> list[VesselSegment]:
    """Arterial and venous trees of both lungs (segments in mm)."""
    s = bp.scale
    roots = [
        (1, (-50.0 * s, 6.0 * s, 167.0), 7.0),  # right pulmonary artery at the hilum
        (2, (50.0 * s, 10.0 * s, 171.0), 7.0),  # left pulmonary artery
        (1, (-38.0 * s, 12.0 * s, 128.0 + 0.5 * bp.diaphragm_shift), 6.0),  # right pulmonary veins
        (2, (40.0 * s, 14.0 * s, 132.0 + 0.5 * bp.diaphragm_shift), 6.0),  # left pulmonary veins
    ]
    segments: list[VesselSegment] = []
    for side, root, radius in roots:
        points = _sample_lung_points(rng, bp, side, points_per_tree)
        _grow(np.asarray(root, np.float64), points.astype(np.float64), radius, len(points), segments)
    return segments


def render_vessels(
    segments: list[VesselSegment],
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    spacing: tuple[float, float, float],
    shape: tuple[int, int, int],
) -> np.ndarray:
    """Partial-volume occupancy (0..1, float32) of the vessels on a grid.

    ``x``, ``y``, ``z`` are the 1-D coordinate vectors of the grid axes (any sign of step).
    Occupancy ramps linearly over one in-plane voxel across the vessel wall, so vessels
    thinner than a voxel keep their volume as a fainter line.
    """
    occupancy = np.zeros(shape, np.float32)
    h = float(min(spacing[1], spacing[2]))
    axes = [np.asarray(v, np.float64).ravel() for v in (z, y, x)]
    ascending = [bool(a[-1] >= a[0]) for a in axes]
    sorted_axes = [a if asc else a[::-1] for a, asc in zip(axes, ascending, strict=True)]
    starts = np.array([seg.start for seg in segments], np.float64)
    ends = np.array([seg.end for seg in segments], np.float64)
    radii = np.array([seg.radius for seg in segments], np.float64)
    keep = radii >= _MIN_RADIUS_VOXELS * h
    pad = (radii + h)[:, None]
    lo = np.minimum(starts, ends) - pad
    hi = np.maximum(starts, ends) + pad
    lo[:, 2] -= spacing[0]
    hi[:, 2] += spacing[0]
    ranges = []
    for axis_index, dim in ((2, 0), (1, 1), (0, 2)):  # (z, y, x) array axes from (x, y, z) points
        a = sorted_axes[dim]
        i0 = np.searchsorted(a, lo[:, axis_index], side="left")
        i1 = np.searchsorted(a, hi[:, axis_index], side="right")
        if not ascending[dim]:
            i0, i1 = len(a) - i1, len(a) - i0
        ranges.append((i0, i1))
    (k0, k1), (j0, j1), (i0, i1) = ranges
    sizes = np.stack([k1 - k0, j1 - j0, i1 - i0], axis=1)
    visible = keep & np.all(sizes > 0, axis=1)
    small = visible & np.all(sizes <= _BATCH_BOX, axis=1)
    _render_batch(occupancy, axes, starts[small], ends[small], radii[small], k0[small], j0[small], i0[small], h)
    for n in np.nonzero(visible & ~small)[0]:
        p0 = starts[n].astype(np.float32)
        d = (ends[n] - starts[n]).astype(np.float32)
        length2 = float(d @ d) or 1e-9
        px = (axes[2][i0[n] : i1[n]].astype(np.float32) - p0[0])[None, None, :]
        py = (axes[1][j0[n] : j1[n]].astype(np.float32) - p0[1])[None, :, None]
        pz = (axes[0][k0[n] : k1[n]].astype(np.float32) - p0[2])[:, None, None]
        t = (px * d[0] + py * d[1] + pz * d[2]) * np.float32(1.0 / length2)
        np.clip(t, 0.0, 1.0, out=t)
        dist2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2 + (pz - t * d[2]) ** 2
        occ = np.float32(0.5 + radii[n] / h) - np.sqrt(dist2) * np.float32(1.0 / h)
        view = occupancy[k0[n] : k1[n], j0[n] : j1[n], i0[n] : i1[n]]
        np.maximum(view, occ, out=view)
    np.clip(occupancy, 0.0, 1.0, out=occupancy)
    return occupancy


def _render_batch(
    occupancy: np.ndarray,
    axes: list[np.ndarray],
    starts: np.ndarray,
    ends: np.ndarray,
    radii: np.ndarray,
    k0: np.ndarray,
    j0: np.ndarray,
    i0: np.ndarray,
    h: float,
) -> None:
    """Render many small segments at once in fixed boxes of _BATCH_BOX voxels per axis."""
    if len(radii) == 0:
        return
    offsets = np.arange(_BATCH_BOX)
    shape = occupancy.shape
    kk = np.minimum(k0[:, None] + offsets, shape[0] - 1)  # (n, B)
    jj = np.minimum(j0[:, None] + offsets, shape[1] - 1)
    ii = np.minimum(i0[:, None] + offsets, shape[2] - 1)
    pz = (axes[0][kk] - starts[:, 2:3])[:, :, None, None]
    py = (axes[1][jj] - starts[:, 1:2])[:, None, :, None]
    px = (axes[2][ii] - starts[:, 0:1])[:, None, None, :]
    d = ends - starts
    dx, dy, dz = (d[:, c][:, None, None, None] for c in range(3))
    inv_len2 = (1.0 / np.maximum((d**2).sum(axis=1), 1e-9))[:, None, None, None]
    t = np.clip((px * dx + py * dy + pz * dz) * inv_len2, 0.0, 1.0)
    dist = np.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2 + (pz - t * dz) ** 2)
    occ = (0.5 + radii[:, None, None, None] / h - dist / h).astype(np.float32)
    index = (
        np.broadcast_to(kk[:, :, None, None], occ.shape),
        np.broadcast_to(jj[:, None, :, None], occ.shape),
        np.broadcast_to(ii[:, None, None, :], occ.shape),
    )
    np.maximum.at(occupancy, index, occ)
