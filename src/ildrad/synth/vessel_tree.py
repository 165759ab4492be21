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
        centroid = territory.mean(axis=0)
        if n <= 2:
            end = centroid
        else:
            end = start + 0.45 * (centroid - start)
        out.append(VesselSegment(tuple(start.tolist()), tuple(end.tolist()), float(radius)))
        if n <= 2:
            continue
        axis = int(np.argmax(territory.var(axis=0)))
        order = np.argsort(territory[:, axis], kind="stable")
        half = n // 2
        stack.append((end, territory[order[:half]]))
        stack.append((end, territory[order[half:]]))


def grow_vessel_trees(
    rng: np.random.Generator, bp: BodyParameters, points_per_tree: int = 1200
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
    xs, ys, zs = (np.asarray(v, np.float64).ravel() for v in (x, y, z))

    def _index_range(axis: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
        inside = np.nonzero((axis >= lo) & (axis <= hi))[0]
        if len(inside) == 0:
            return 0, 0
        return int(inside[0]), int(inside[-1]) + 1

    for seg in segments:
        p0 = np.asarray(seg.start)
        p1 = np.asarray(seg.end)
        pad = seg.radius + h
        lo = np.minimum(p0, p1) - pad
        hi = np.maximum(p0, p1) + pad
        i0, i1 = _index_range(xs, lo[0], hi[0])
        j0, j1 = _index_range(ys, lo[1], hi[1])
        k0, k1 = _index_range(zs, lo[2] - spacing[0], hi[2] + spacing[0])
        if i1 <= i0 or j1 <= j0 or k1 <= k0:
            continue
        px = xs[i0:i1][None, None, :]
        py = ys[j0:j1][None, :, None]
        pz = zs[k0:k1][:, None, None]
        d = p1 - p0
        length2 = float(d @ d) or 1e-9
        t = np.clip(((px - p0[0]) * d[0] + (py - p0[1]) * d[1] + (pz - p0[2]) * d[2]) / length2, 0.0, 1.0)
        dist = np.sqrt((px - p0[0] - t * d[0]) ** 2 + (py - p0[1] - t * d[1]) ** 2 + (pz - p0[2] - t * d[2]) ** 2)
        occ = np.clip(0.5 + (seg.radius - dist) / h, 0.0, 1.0).astype(np.float32)
        view = occupancy[k0:k1, j0:j1, i0:i1]
        np.maximum(view, occ, out=view)
    return occupancy
