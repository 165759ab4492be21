"""Cached numba kernels of the morphology and local-intensity families (profiled hot loops).

Parallel loops (``prange``) give every thread whole items (a centre, a slice) whose results are
integers or are summed in a fixed order, so results do not depend on the thread count.
``warm_up`` compiles them with the argument types of real use (run at ``make install``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "cube_configurations",
    "khachiyan",
    "max_squared_distance",
    "mesh_diameters",
    "mesh_vertex_lattice",
    "pair_sums",
    "plane_hulls",
    "sphere_sums",
    "warm_up",
]

#: Sentinel above any lattice coordinate (empty row in :func:`plane_hulls`).
_NO_ROW = np.int64(1 << 62)


@njit(cache=True, nogil=True)
def khachiyan(points: np.ndarray, tolerance: float, max_iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre and shape matrix ``A`` (``(x - c)^T A (x - c) <= 1``) of the minimum-volume
    enclosing ellipsoid of ``points`` (n x 3): Khachiyan's algorithm with Wolfe-Atwood away steps
    (Todd & Yildirim 2007), stopped when no weight change gains more than ``tolerance``."""
    n, d = points.shape
    size = d + 1
    lifted = np.ones((size, n))
    for k in range(d):
        lifted[k] = points[:, k]
    weights = np.full(n, 1.0 / n)
    m = np.empty(n)
    for _ in range(max_iterations):
        scatter = np.zeros((size, size))
        for p in range(n):
            for i in range(size):
                for j in range(size):
                    scatter[i, j] += weights[p] * lifted[i, p] * lifted[j, p]
        inverse = np.linalg.inv(scatter)
        up = 0
        down = -1
        for p in range(n):
            value = 0.0
            for i in range(size):
                for j in range(size):
                    value += inverse[i, j] * lifted[i, p] * lifted[j, p]
            m[p] = value
            if value > m[up]:
                up = p
            if weights[p] > 0 and (down < 0 or value < m[down]):
                down = p
        gain_up = m[up] / size - 1.0
        gain_down = 1.0 - m[down] / size
        if max(gain_up, gain_down) <= tolerance:
            break
        if gain_up > gain_down:
            step = (m[up] - size) / (size * (m[up] - 1.0))
            for p in range(n):
                weights[p] *= 1.0 - step
            weights[up] += step
        else:
            step = min((size - m[down]) / (size * (m[down] - 1.0)), weights[down] / (1.0 - weights[down]))
            for p in range(n):
                weights[p] *= 1.0 + step
            weights[down] = max(weights[down] - step, 0.0)
    centre = np.zeros(d)
    second = np.zeros((d, d))
    for p in range(n):
        for i in range(d):
            centre[i] += weights[p] * points[p, i]
            for j in range(d):
                second[i, j] += weights[p] * points[p, i] * points[p, j]
    for i in range(d):
        for j in range(d):
            second[i, j] -= centre[i] * centre[j]
    return centre, np.linalg.inv(second) / d


@njit(cache=True, nogil=True)
def pair_sums(points: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """(sum w_ij, sum w_ij y_i y_j, sum w_ij (y_i - y_j)^2) over ordered pairs i != j of
    ``points`` (n x 3, mm) with ``w = 1 / distance``."""
    n = points.shape[0]
    total = 0.0
    cross = 0.0
    geary = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dz = points[i, 0] - points[j, 0]
            dy = points[i, 1] - points[j, 1]
            dx = points[i, 2] - points[j, 2]
            distance = np.sqrt(dz * dz + dy * dy + dx * dx)
            if distance > 0:
                w = 1.0 / distance
                total += w
                cross += w * values[i] * values[j]
                diff = values[i] - values[j]
                geary += w * diff * diff
    return 2.0 * total, 2.0 * cross, 2.0 * geary


@njit(cache=True, nogil=True, parallel=True)
def sphere_sums(
    row_cumsum: np.ndarray, zs: np.ndarray, ys: np.ndarray, xs: np.ndarray, runs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sums and voxel counts over a sphere around each centre ``(zs[c], ys[c], xs[c])``.

    The sphere is the union of x-runs ``runs`` (rows ``dz, dy, half_length``);
    ``row_cumsum[z, y, k]`` is the sum of the first ``k`` voxels of row (z, y), so each run costs
    two look-ups. Voxels beyond the block are absent. Each centre is summed by one thread in a
    fixed order, so the parallel loop gives the same bits whatever the thread count.
    """
    nz, ny, nx1 = row_cumsum.shape
    nx = nx1 - 1
    m = zs.shape[0]
    sums = np.zeros(m)
    counts = np.zeros(m, np.int64)
    for c in prange(m):
        z0 = zs[c]
        y0 = ys[c]
        x0 = xs[c]
        total = 0.0
        count = 0
        for r in range(runs.shape[0]):
            z = z0 + runs[r, 0]
            y = y0 + runs[r, 1]
            if z < 0 or z >= nz or y < 0 or y >= ny:
                continue
            lo = max(x0 - runs[r, 2], 0)
            hi = min(x0 + runs[r, 2] + 1, nx)
            total += row_cumsum[z, y, hi] - row_cumsum[z, y, lo]
            count += hi - lo
        sums[c] = total
        counts[c] = count
    return sums, counts


@njit(cache=True, nogil=True)
def _slice_vertices(padded, z, out, k):  # pragma: no cover - compiled
    """Mesh vertices of slice ``z`` (see :func:`mesh_vertex_lattice`) written to ``out`` from row
    ``k`` on, or only counted when ``out`` has no rows; returns the number of vertices."""
    nz, ny, nx = padded.shape
    write = out.shape[0] > 0
    start = k
    for y in range(ny):
        for x in range(nx):
            value = padded[z, y, x]
            if z + 1 < nz and padded[z + 1, y, x] != value:
                if write:
                    out[k, 0], out[k, 1], out[k, 2] = 2 * z + 1, 2 * y, 2 * x
                k += 1
            if y + 1 < ny and padded[z, y + 1, x] != value:
                if write:
                    out[k, 0], out[k, 1], out[k, 2] = 2 * z, 2 * y + 1, 2 * x
                k += 1
            if x + 1 < nx and padded[z, y, x + 1] != value:
                if write:
                    out[k, 0], out[k, 1], out[k, 2] = 2 * z, 2 * y, 2 * x + 1
                k += 1
    return k - start


@njit(cache=True, nogil=True, parallel=True)
def mesh_vertex_lattice(padded: np.ndarray) -> np.ndarray:
    """Mesh vertices of a boolean mask padded by one empty voxel, as doubled lattice coordinates
    (int32 rows ``2z, 2y, 2x``; the coordinate along which the vertex crosses is odd): the
    midpoints between each voxel and its +z/+y/+x neighbour when exactly one of them is in the
    mask, i.e. the vertices of the marching-cubes mesh at level 0.5 (PyRadiomics' and IBSI's).
    Raster order; slices counted, then written, in parallel."""
    nz = padded.shape[0]
    none = np.empty((0, 3), np.int32)
    per_slice = np.zeros(nz + 1, np.int64)
    for z in prange(nz):
        per_slice[z + 1] = _slice_vertices(padded, z, none, 0)
    first = np.cumsum(per_slice)
    out = np.empty((first[-1], 3), np.int32)
    for z in prange(nz):
        _slice_vertices(padded, z, out, first[z])
    return out


#: Cube corners (dz, dy, dx) in the bit order of PyRadiomics' cube index (``cshape.c``).
CUBE_CORNERS = np.array(
    [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 0, 0], [1, 0, 1], [1, 1, 1], [1, 1, 0]]
)


@njit(cache=True, nogil=True, parallel=True)
def cube_configurations(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marching-cubes tallies of a padded boolean mask, for the mesh's area and volume.

    Each 2 x 2 x 2 cube (origin ``(z, y, x)``) has a corner configuration (bits in
    :data:`CUBE_CORNERS` order); a configuration above 127 is counted as its complement with
    sign -1. Returns int64 ``count[c]`` (cubes per configuration 1..127), ``signed[c]`` (sum of
    the signs) and ``weighted[axis, c]`` (sum of sign x cube coordinate): integers, so the
    parallel sum over slices is exact.
    """
    nz, ny, nx = padded.shape
    count = np.zeros((nz, 128), np.int64)
    signed = np.zeros((nz, 128), np.int64)
    weighted = np.zeros((nz, 3, 128), np.int64)
    for z in prange(nz - 1):
        for y in range(ny - 1):
            for x in range(nx - 1):
                config = 0
                for bit in range(8):
                    corner = CUBE_CORNERS[bit]
                    config |= np.int64(padded[z + corner[0], y + corner[1], x + corner[2]]) << bit
                if config == 0 or config == 255:
                    continue
                sign = 1
                if config >= 128:
                    sign, config = -1, config ^ 255
                count[z, config] += 1
                signed[z, config] += sign
                weighted[z, 0, config] += sign * z
                weighted[z, 1, config] += sign * y
                weighted[z, 2, config] += sign * x
    return count.sum(axis=0), signed.sum(axis=0), weighted.sum(axis=0)


@njit(cache=True, nogil=True)
def _turns_left(us, vs, a, b, c):  # pragma: no cover - compiled
    """Whether points a, b, c (indices into ``us``, ``vs``) make a strict left turn (exact)."""
    return (us[b] - us[a]) * (vs[c] - vs[a]) - (vs[b] - vs[a]) * (us[c] - us[a]) > 0


@njit(cache=True, nogil=True)
def plane_hulls(lattice: np.ndarray, axis: int, spacing: np.ndarray) -> tuple[np.ndarray, float]:
    """2D convex hulls of the ``lattice`` points (doubled coordinates, see
    :func:`mesh_vertex_lattice`) of each plane normal to ``axis``.

    Returns the hull vertices of every plane (rows of ``lattice``'s coordinates) and the largest
    squared distance (mm^2, ``spacing`` (z, y, x) mm per voxel) between two points of one
    plane. Only the lowest and highest point of each row of a plane can be a hull vertex; rows
    are visited in order, so the candidates come sorted for Andrew's monotone chain, which runs
    on exact integer cross products (points on a hull edge are not vertices). The largest
    distance in a plane is between two of its hull vertices.
    """
    u_axis = 1 if axis == 0 else 0
    v_axis = 1 if axis == 2 else 2
    n = lattice.shape[0]
    n_planes = 0
    n_rows = 0
    for i in range(n):
        n_planes = max(n_planes, lattice[i, axis] + 1)
        n_rows = max(n_rows, lattice[i, u_axis] + 1)
    lowest = np.full(n_planes * n_rows, _NO_ROW)
    highest = np.full(n_planes * n_rows, -1)
    for i in range(n):
        key = lattice[i, axis] * n_rows + lattice[i, u_axis]
        v = lattice[i, v_axis]
        lowest[key] = min(lowest[key], v)
        highest[key] = max(highest[key], v)
    half_u = 0.5 * spacing[u_axis]
    half_v = 0.5 * spacing[v_axis]
    us = np.empty(2 * n_rows, np.int64)
    vs = np.empty(2 * n_rows, np.int64)
    chain = np.empty(4 * n_rows + 1, np.int64)
    out = np.empty((min(n, 2 * n_planes * n_rows), 3), np.int32)
    m = 0
    best = 0.0
    for plane in range(n_planes):
        c = 0
        for u in range(n_rows):
            key = plane * n_rows + u
            if highest[key] < 0:
                continue
            us[c], vs[c] = u, lowest[key]
            c += 1
            if highest[key] != lowest[key]:
                us[c], vs[c] = u, highest[key]
                c += 1
        if c == 0:
            continue
        h = 0
        if c < 3:
            for i in range(c):
                chain[h] = i
                h += 1
        else:
            for i in range(c):  # lower hull
                while h >= 2 and not _turns_left(us, vs, chain[h - 2], chain[h - 1], i):
                    h -= 1
                chain[h] = i
                h += 1
            lower = h + 1
            for i in range(c - 2, -1, -1):  # upper hull
                while h >= lower and not _turns_left(us, vs, chain[h - 2], chain[h - 1], i):
                    h -= 1
                chain[h] = i
                h += 1
            h -= 1  # the last point is the first
        for a in range(h):
            i = chain[a]
            out[m, axis], out[m, u_axis], out[m, v_axis] = plane, us[i], vs[i]
            m += 1
            for b in range(a + 1, h):
                j = chain[b]
                du = (us[i] - us[j]) * half_u
                dv = (vs[i] - vs[j]) * half_v
                best = max(best, du * du + dv * dv)
    return out[:m], best


@njit(cache=True, nogil=True)
def max_squared_distance(lattice: np.ndarray, spacing: np.ndarray) -> float:
    """Largest squared distance (mm^2) between two ``lattice`` points (doubled coordinates).

    With ``c`` the centre of the bounding box, ``R`` the largest ``|p - c|`` and ``L`` the
    distance from the point farthest from ``c`` to its own farthest point (a lower bound of the
    diameter), both ends of a diametral pair lie at least ``L - R`` from ``c``; only those
    points are compared pairwise.
    """
    n = lattice.shape[0]
    if n < 2:
        return 0.0
    points = np.empty((n, 3))
    for i in range(n):
        for a in range(3):
            points[i, a] = lattice[i, a] * 0.5 * spacing[a]
    centre = np.empty(3)
    for a in range(3):
        centre[a] = 0.5 * (points[:, a].min() + points[:, a].max())
    radius = np.empty(n)
    far = 0
    for i in range(n):
        d2 = 0.0
        for a in range(3):
            d2 += (points[i, a] - centre[a]) ** 2
        radius[i] = np.sqrt(d2)
        if radius[i] > radius[far]:
            far = i
    best = 0.0
    for j in range(n):
        d2 = 0.0
        for a in range(3):
            d2 += (points[far, a] - points[j, a]) ** 2
        best = max(best, d2)
    threshold = np.sqrt(best) - radius[far] - 1e-9
    keep = np.flatnonzero(radius >= threshold)
    for ii in range(keep.size):
        i = keep[ii]
        for jj in range(ii + 1, keep.size):
            j = keep[jj]
            d2 = 0.0
            for a in range(3):
                d2 += (points[i, a] - points[j, a]) ** 2
            best = max(best, d2)
    return best


def mesh_diameters(padded: np.ndarray, spacing: np.ndarray) -> tuple[float, float, float, float]:
    """Largest distances (mm) between mesh vertices of a padded boolean mask sharing their z
    (slice), y (column) or x (row) coordinate, and between any two (3D): PyRadiomics'
    ``Maximum2DDiameterSlice/Column/Row`` and ``Maximum3DDiameter``, IBSI's ``morph_diam``.

    Every plane's 2D hull comes from :func:`plane_hulls`; a vertex of the 3D hull is a vertex
    of the 2D hull of each of its three planes, so the 3D diameter is searched among the
    vertices found in all three.
    """
    spacing = np.ascontiguousarray(spacing, dtype=np.float64)
    lattice = mesh_vertex_lattice(np.ascontiguousarray(padded, dtype=np.bool_))
    if lattice.shape[0] == 0:
        return 0.0, 0.0, 0.0, 0.0
    extent = lattice.max(axis=0).astype(np.int64) + 1
    planar = []
    common = None
    for axis in range(3):
        hull, best = plane_hulls(lattice, axis, spacing)
        planar.append(float(np.sqrt(best)))
        keys = np.ravel_multi_index(tuple(hull.T.astype(np.int64)), tuple(extent))
        common = keys if common is None else np.intersect1d(common, keys, assume_unique=True)
    candidates = np.stack(np.unravel_index(common, tuple(extent)), axis=1).astype(np.int32)
    return planar[0], planar[1], planar[2], float(np.sqrt(max_squared_distance(candidates, spacing)))


def warm_up() -> None:
    """Compile every kernel with the argument types of real use."""
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 3))
    khachiyan(points, 1e-3, 100)
    pair_sums(points, rng.normal(size=20))
    block = rng.normal(size=(3, 4, 5))
    cumsum = np.zeros((3, 4, 6))
    cumsum[:, :, 1:] = np.cumsum(block, axis=2)
    index = np.array([1], np.int64)
    sphere_sums(cumsum, index, index, index, np.array([[0, 0, 1]], np.int64))
    mesh_diameters(np.pad(block > 0, 1), np.ones(3))
    cube_configurations(np.pad(block > 0, 1))
