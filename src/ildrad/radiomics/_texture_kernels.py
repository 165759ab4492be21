"""Compiled (numba, cached) kernels that count the IBSI texture matrices.

Every kernel reads ``binned``, an int32 (z, y, x) array of grey levels 1..Ng inside the ROI and
0 outside, and loops once over it in raster order. All are serial (no ``parallel=True``), so
their results never depend on the number of threads; float sums (NGTDM) are accumulated in
raster order and are therefore reproducible bit for bit.

Neighbour offsets are (dz, dy, dx) rows of an int64 array. Voxels outside the array are outside
the ROI.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "border_distance",
    "check_levels",
    "cooccurrence_counts",
    "dependence_counts",
    "grey_tone_differences",
    "label_zones",
    "max_run_length",
    "run_length_counts",
    "warm_up",
]


@njit(cache=True, nogil=True)
def check_levels(binned, roi, n_bins):  # pragma: no cover - compiled
    """Number of ROI voxels; -1 when ``binned > 0`` and ``roi`` disagree; -2 when a level > Ng."""
    flat_g = binned.ravel()
    flat_r = roi.ravel()
    n_roi = 0
    for p in range(flat_g.size):
        g = flat_g[p]
        if flat_r[p]:
            if g <= 0:
                return -1
            if g > n_bins:
                return -2
            n_roi += 1
        elif g != 0:
            return -1
    return n_roi


@njit(cache=True, nogil=True)
def cooccurrence_counts(binned, offsets, n_bins, per_slice):  # pragma: no cover - compiled
    """Counts of (g(p), g(p + offset)) pairs with both voxels in the ROI (not symmetrised).

    Returns int64 ``(n_slabs, n_offsets, Ng, Ng)``, ``n_slabs`` = number of slices when
    ``per_slice`` else 1.
    """
    nz, ny, nx = binned.shape
    n_off = offsets.shape[0]
    counts = np.zeros((nz if per_slice else 1, n_off, n_bins, n_bins), np.int64)
    for z in range(nz):
        slab = z if per_slice else 0
        for d in range(n_off):
            dz, dy, dx = offsets[d, 0], offsets[d, 1], offsets[d, 2]
            z2 = z + dz
            if z2 < 0 or z2 >= nz:
                continue
            for y in range(max(0, -dy), min(ny, ny - dy)):
                for x in range(max(0, -dx), min(nx, nx - dx)):
                    a = binned[z, y, x]
                    if a == 0:
                        continue
                    b = binned[z2, y + dy, x + dx]
                    if b != 0:
                        counts[slab, d, a - 1, b - 1] += 1
    return counts


@njit(cache=True, nogil=True)
def _walk_runs(binned, offsets, n_bins, per_slice, counts, count):  # pragma: no cover
    """Visit every run (maximal line of equal grey level); count it or return the longest."""
    nz, ny, nx = binned.shape
    longest = 0
    for d in range(offsets.shape[0]):
        dz, dy, dx = offsets[d, 0], offsets[d, 1], offsets[d, 2]
        for z in range(nz):
            slab = z if per_slice else 0
            for y in range(ny):
                for x in range(nx):
                    g = binned[z, y, x]
                    if g == 0:
                        continue
                    pz, py, px = z - dz, y - dy, x - dx
                    if 0 <= pz < nz and 0 <= py < ny and 0 <= px < nx and binned[pz, py, px] == g:
                        continue  # not the first voxel of its run
                    length = 1
                    qz, qy, qx = z + dz, y + dy, x + dx
                    while 0 <= qz < nz and 0 <= qy < ny and 0 <= qx < nx and binned[qz, qy, qx] == g:
                        length += 1
                        qz += dz
                        qy += dy
                        qx += dx
                    if count:
                        counts[slab, d, g - 1, length - 1] += 1
                    elif length > longest:
                        longest = length
    return longest


@njit(cache=True, nogil=True)
def max_run_length(binned, offsets):  # pragma: no cover - compiled
    """Length of the longest run along any of ``offsets`` (0 for an empty ROI)."""
    dummy = np.zeros((1, 1, 1, 1), np.int64)
    return _walk_runs(binned, offsets, 1, False, dummy, False)


@njit(cache=True, nogil=True)
def run_length_counts(binned, offsets, n_bins, per_slice, max_length):  # pragma: no cover
    """Run-length counts, int64 ``(n_slabs, n_offsets, Ng, max_length)``; column j = length j+1."""
    nz = binned.shape[0]
    counts = np.zeros((nz if per_slice else 1, offsets.shape[0], n_bins, max_length), np.int64)
    _walk_runs(binned, offsets, n_bins, per_slice, counts, True)
    return counts


@njit(cache=True, nogil=True)
def border_distance(mask, in_plane):  # pragma: no cover - compiled
    """Taxicab distance of each mask voxel to the nearest voxel outside the mask (border = 1).

    Voxels beyond the array count as outside. ``in_plane``: 4-connected steps within each slice
    (2D); otherwise 6-connected steps (3D). Two raster passes (Rosenfeld-Pfaltz chamfer), exact
    for the taxicab metric. Outside voxels get 0.
    """
    nz, ny, nx = mask.shape
    big = nz + ny + nx + 1
    dist = np.zeros((nz, ny, nx), np.int32)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                v = big
                a = dist[z, y - 1, x] if y > 0 else 0
                v = min(v, a + 1)
                a = dist[z, y, x - 1] if x > 0 else 0
                v = min(v, a + 1)
                if not in_plane:
                    a = dist[z - 1, y, x] if z > 0 else 0
                    v = min(v, a + 1)
                dist[z, y, x] = v
    for z in range(nz - 1, -1, -1):
        for y in range(ny - 1, -1, -1):
            for x in range(nx - 1, -1, -1):
                if not mask[z, y, x]:
                    continue
                v = dist[z, y, x]
                a = dist[z, y + 1, x] if y < ny - 1 else 0
                v = min(v, a + 1)
                a = dist[z, y, x + 1] if x < nx - 1 else 0
                v = min(v, a + 1)
                if not in_plane:
                    a = dist[z + 1, y, x] if z < nz - 1 else 0
                    v = min(v, a + 1)
                dist[z, y, x] = v
    return dist


@njit(cache=True, nogil=True)
def _find(parent, p):  # pragma: no cover - compiled
    while parent[p] != p:
        parent[p] = parent[parent[p]]  # path halving
        p = parent[p]
    return p


@njit(cache=True, nogil=True)
def label_zones(binned, backward_offsets, distance, n_roi):  # pragma: no cover - compiled
    """Zones: connected groups of equal grey level (union-find in one raster pass).

    ``backward_offsets``: the neighbours preceding a voxel in raster order (13 for 26-connected
    3D zones, 4 for 8-connected in-plane zones). ``distance``: int32 map of the same shape
    (GLDZM) or an array of shape (1, 1, 1) when zone distances are not needed.

    Returns ``(grey, size, min_distance, first_slice)`` int64 arrays, one entry per zone, in the
    raster order of each zone's first voxel (so ``first_slice`` is non-decreasing).
    """
    nz, ny, nx = binned.shape
    flat = binned.ravel()
    n = flat.size
    parent = np.empty(n, np.int32)  # callers guarantee n < 2**31
    with_distance = distance.size == n
    flat_dist = distance.ravel()
    n_off = backward_offsets.shape[0]
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                p = (z * ny + y) * nx + x
                g = flat[p]
                if g == 0:
                    continue
                parent[p] = p
                for k in range(n_off):
                    qz = z + backward_offsets[k, 0]
                    qy = y + backward_offsets[k, 1]
                    qx = x + backward_offsets[k, 2]
                    if qz < 0 or qy < 0 or qx < 0 or qy >= ny or qx >= nx:
                        continue
                    q = (qz * ny + qy) * nx + qx
                    if flat[q] != g:
                        continue
                    rp = _find(parent, p)
                    rq = _find(parent, q)
                    if rp < rq:
                        parent[rq] = rp
                    elif rq < rp:
                        parent[rp] = rq
    # Roots are the first voxel of their zone in raster order; parent[p] <= p always holds.
    grey = np.zeros(n_roi, np.int64)
    size = np.zeros(n_roi, np.int64)
    min_dist = np.zeros(n_roi, np.int64)
    first_slice = np.zeros(n_roi, np.int64)
    n_zones = 0
    for p in range(n):
        g = flat[p]
        if g == 0:
            continue
        q = parent[p]
        if q == p:  # a root: open a new zone, stored as -(zone index + 1)
            zone = n_zones
            n_zones += 1
            parent[p] = -(zone + 1)
            grey[zone] = g
            first_slice[zone] = p // (ny * nx)
            min_dist[zone] = n
        else:
            r = q if parent[q] < 0 else parent[q]
            parent[p] = r
            zone = -parent[r] - 1
        size[zone] += 1
        if with_distance and flat_dist[p] < min_dist[zone]:
            min_dist[zone] = flat_dist[p]
    return grey[:n_zones], size[:n_zones], min_dist[:n_zones], first_slice[:n_zones]


@njit(cache=True, nogil=True)
def grey_tone_differences(binned, offsets, n_bins, per_slice):  # pragma: no cover - compiled
    """NGTDM sums: ``s[g] = sum |g - mean of ROI neighbours|`` and ``n[g]`` voxel counts.

    Voxels whose neighbourhood holds no ROI voxel are left out (IBSI 1). The difference is
    computed as ``|g * n_nb - sum_nb| / n_nb`` from exact integer sums.
    Returns float64 ``s`` and int64 ``n``, both ``(n_slabs, Ng)``.
    """
    nz, ny, nx = binned.shape
    n_off = offsets.shape[0]
    n_slabs = nz if per_slice else 1
    s = np.zeros((n_slabs, n_bins), np.float64)
    n = np.zeros((n_slabs, n_bins), np.int64)
    for z in range(nz):
        slab = z if per_slice else 0
        for y in range(ny):
            for x in range(nx):
                g = binned[z, y, x]
                if g == 0:
                    continue
                total = 0
                count = 0
                for k in range(n_off):
                    qz = z + offsets[k, 0]
                    qy = y + offsets[k, 1]
                    qx = x + offsets[k, 2]
                    if 0 <= qz < nz and 0 <= qy < ny and 0 <= qx < nx:
                        h = binned[qz, qy, qx]
                        if h != 0:
                            total += h
                            count += 1
                if count > 0:
                    s[slab, g - 1] += abs(g * count - total) / count
                    n[slab, g - 1] += 1
    return s, n


@njit(cache=True, nogil=True)
def dependence_counts(binned, offsets, n_bins, alpha, per_slice):  # pragma: no cover
    """NGLDM counts: voxels of level g with k = 1 + #(ROI neighbours with |h - g| <= alpha).

    Returns int64 ``(n_slabs, Ng, n_offsets + 1)``; column k-1 holds dependence k.
    """
    nz, ny, nx = binned.shape
    n_off = offsets.shape[0]
    counts = np.zeros((nz if per_slice else 1, n_bins, n_off + 1), np.int64)
    for z in range(nz):
        slab = z if per_slice else 0
        for y in range(ny):
            for x in range(nx):
                g = binned[z, y, x]
                if g == 0:
                    continue
                k = 0
                for j in range(n_off):
                    qz = z + offsets[j, 0]
                    qy = y + offsets[j, 1]
                    qx = x + offsets[j, 2]
                    if 0 <= qz < nz and 0 <= qy < ny and 0 <= qx < nx:
                        h = binned[qz, qy, qx]
                        if h != 0 and abs(h - g) <= alpha:
                            k += 1
                counts[slab, g - 1, k] += 1
    return counts


def warm_up() -> None:
    """Compile every kernel for the argument types ildrad uses (called at ``make install``)."""
    binned = np.ones((2, 2, 2), np.int32)
    roi = np.ones((2, 2, 2), bool)
    offsets = np.array([[0, 0, 1], [1, 1, 1]], np.int64)
    check_levels(binned, roi, 1)
    cooccurrence_counts(binned, offsets, 1, False)
    run_length_counts(binned, offsets, 1, True, max_run_length(binned, offsets))
    dist = border_distance(roi, False)
    label_zones(binned, -offsets, dist, 8)
    label_zones(binned, -offsets, np.zeros((1, 1, 1), np.int32), 8)
    grey_tone_differences(binned, offsets, 1, False)
    dependence_counts(binned, offsets, 1, 0, False)
