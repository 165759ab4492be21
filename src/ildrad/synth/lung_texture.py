"""HU of the lung parenchyma for each pattern, with the textures that tell the patterns apart.

* normal lung: -850 HU at inspiration (-720 at expiration), +45 HU toward the dependent side;
* ground glass: a hazy, smooth increase to ``ground_glass_hu`` (default -550 HU);
* reticulation: a network of fine lines (Voronoi cell walls, cells ~5 mm, lines ~0.8 mm,
  -40 HU) over -720 HU lung;
* honeycombing: clustered air cysts (Voronoi cells, ~3-10 mm, -960 HU) with thick walls at
  soft-tissue density (+30 HU); ``wall_fraction`` of its volume is wall;
* consolidation / fibrosis: +50 HU, the density of the chest-wall muscle, so it meets the
  chest wall with no intensity edge;
* emphysema: -975 HU.

Walls and lines are rendered with partial volume: their occupancy ramps over one voxel, so thin
walls on coarse grids become fainter instead of disappearing, keeping the mean density.
Cyst and line seeds are drawn in millimetres from the seed, so all grids show the same cells.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["lung_hu"]

_BOX_LO = np.array([-170.0, -130.0, -60.0])
_BOX_HI = np.array([170.0, 130.0, 300.0])

HONEYCOMB_CELL_MM = 9.0
RETICULATION_CELL_MM = 5.0
RETICULATION_LINE_MM = 0.8
CONSOLIDATION_HU = 50.0
HONEYCOMB_WALL_HU = 30.0
CYST_HU = -960.0
RETICULATION_LINE_HU = -40.0
RETICULATION_BACKGROUND_HU = -720.0
EMPHYSEMA_HU = -975.0


def _voronoi_wall_occupancy(
    seeds: np.ndarray, points: np.ndarray, wall_mm: float, voxel_mm: float
) -> np.ndarray:
    """Partial-volume occupancy of Voronoi cell walls of thickness ``wall_mm`` at points."""
    if len(points) == 0:
        return np.zeros(0, np.float32)
    margin = 4.0 * np.cbrt(np.prod(_BOX_HI - _BOX_LO) / len(seeds))
    near = np.all((seeds >= points.min(axis=0) - margin) & (seeds <= points.max(axis=0) + margin), axis=1)
    kept = seeds[near]
    tree = cKDTree(kept)
    dist, index = tree.query(points, k=2, workers=1)
    # exact distance to the bisector plane of the two nearest seeds: (d2^2 - d1^2) / (2 |s2 - s1|)
    separation = np.linalg.norm(kept[index[:, 1]] - kept[index[:, 0]], axis=1)
    to_bisector = (dist[:, 1] ** 2 - dist[:, 0] ** 2) / (2.0 * np.maximum(separation, 1e-6))
    return np.clip(0.5 + (0.5 * wall_mm - to_bisector) / voxel_mm, 0.0, 1.0).astype(np.float32)


def _poisson_seeds(rng: np.random.Generator, cell_mm: float) -> np.ndarray:
    volume = float(np.prod(_BOX_HI - _BOX_LO))
    n = int(volume / cell_mm**3)
    return rng.uniform(_BOX_LO, _BOX_HI, size=(n, 3))


def lung_hu(
    codes: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    dependency: np.ndarray,
    smooth: np.ndarray,
    rng: np.random.Generator,
    *,
    expiratory: bool,
    ground_glass_hu: float,
    wall_fraction: float,
    voxel_mm: float,
) -> np.ndarray:
    """HU (float32) of lung voxels at points (px, py, pz) mm with pattern ``codes``.

    ``dependency`` (0..1, toward the table) and ``smooth`` (a unit-SD smooth random field) are
    given at the same points."""
    honeycomb_seeds = _poisson_seeds(rng, HONEYCOMB_CELL_MM)
    reticulation_seeds = _poisson_seeds(rng, RETICULATION_CELL_MM)
    base = (-720.0 if expiratory else -850.0) + 45.0 * dependency + 10.0 * smooth
    hu = base.astype(np.float32)

    ggo = codes == 1
    hu[ggo] = ground_glass_hu + 30.0 * dependency[ggo] + 30.0 * smooth[ggo]

    ret = codes == 2
    pts = np.stack([px[ret], py[ret], pz[ret]], axis=1)
    occ = _voronoi_wall_occupancy(reticulation_seeds, pts, RETICULATION_LINE_MM, voxel_mm)
    hu[ret] = occ * RETICULATION_LINE_HU + (1.0 - occ) * (RETICULATION_BACKGROUND_HU + 20.0 * smooth[ret])

    hc = codes == 3
    pts = np.stack([px[hc], py[hc], pz[hc]], axis=1)
    # Voronoi walls: wall volume fraction ~ 3 * thickness / cell size
    wall_mm = wall_fraction * HONEYCOMB_CELL_MM / 3.0
    occ = _voronoi_wall_occupancy(honeycomb_seeds, pts, wall_mm, voxel_mm)
    hu[hc] = occ * HONEYCOMB_WALL_HU + (1.0 - occ) * CYST_HU

    cons = codes == 4
    hu[cons] = CONSOLIDATION_HU + 6.0 * smooth[cons]

    emph = codes == 5
    hu[emph] = EMPHYSEMA_HU + 8.0 * smooth[emph]
    return hu
