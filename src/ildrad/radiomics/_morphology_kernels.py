"""Cached numba kernels of the morphology and local-intensity families (profiled hot loops).

Single-threaded and in a fixed summation order, so results do not depend on the thread count.
``warm_up`` compiles them with the argument types of real use (run at ``make install``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["khachiyan", "pair_sums", "sphere_sums", "warm_up"]


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
