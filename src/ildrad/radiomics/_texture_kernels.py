"""Compiled (numba, cached) kernels that count the IBSI texture matrices.

The kernels read ``binned``, an int32 (z, y, x) array of grey levels 1..Ng inside the ROI and
0 outside, and loop over it in raster order (zones are labelled by ``cc3d`` beforehand). All
are serial (no ``parallel=True``), so their results never depend on the number of threads;
float sums (NGTDM) are accumulated in raster order and are therefore reproducible bit for bit.

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
    "max_run_length",
    "run_length_counts",
    "warm_up",
    "zone_statistics",
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
def _inside(z, y, x, shape, reach):  # pragma: no cover - compiled
    """Whether every offset within ``reach`` (per axis) of (z, y, x) stays in the array."""
    return (
        reach[0] <= z < shape[0] - reach[0]
        and reach[1] <= y < shape[1] - reach[1]
        and reach[2] <= x < shape[2] - reach[2]
    )


@njit(cache=True, nogil=True)
def _neighbour(binned, z, y, x, offset):  # pragma: no cover - compiled
    """Grey level of the neighbour at ``offset`` (0 beyond the array)."""
    nz, ny, nx = binned.shape
    qz, qy, qx = z + offset[0], y + offset[1], x + offset[2]
    if 0 <= qz < nz and 0 <= qy < ny and 0 <= qx < nx:
        return binned[qz, qy, qx]
    return 0


@njit(cache=True, nogil=True)
def cooccurrence_counts(binned, offsets, n_bins, per_slice):  # pragma: no cover - compiled
    """Counts of (g(p), g(p + offset)) pairs with both voxels in the ROI (not symmetrised).

    Returns int64 ``(n_slabs, n_offsets, Ng, Ng)``, ``n_slabs`` = number of slices when
    ``per_slice`` else 1. Pairs whose neighbour lies outside the ROI are counted in a row and
    column 0 that are dropped at the end (no branch on the neighbour).
    """
    nz, ny, nx = binned.shape
    n_off = offsets.shape[0]
    reach = (np.abs(offsets[:, 0]).max(), np.abs(offsets[:, 1]).max(), np.abs(offsets[:, 2]).max())
    flat = binned.ravel()
    steps = (offsets[:, 0] * ny + offsets[:, 1]) * nx + offsets[:, 2]
    counts = np.zeros((nz if per_slice else 1, n_off, n_bins + 1, n_bins + 1), np.int64)
    for z in range(nz):
        slab = counts[z if per_slice else 0]
        for y in range(ny):
            for x in range(nx):
                a = binned[z, y, x]
                if a == 0:
                    continue
                if _inside(z, y, x, binned.shape, reach):
                    p = (z * ny + y) * nx + x
                    for d in range(n_off):
                        slab[d, a, flat[p + steps[d]]] += 1
                else:
                    for d in range(n_off):
                        slab[d, a, _neighbour(binned, z, y, x, offsets[d])] += 1
    return np.ascontiguousarray(counts[:, :, 1:, 1:])


@njit(cache=True, nogil=True)
def _running_lengths(binned, offsets, per_slice, hist):  # pragma: no cover - compiled
    """Length of the run so far at every ROI voxel, per direction; returns the longest run.

    Each direction points forward in raster order (dz >= 0, and dy >= 0 when dz = 0), so the
    predecessor ``p - d`` of a voxel is visited first: ``L(p) = L(p - d) + 1`` when it has the
    same grey level, else 1 (dynamic programming over two slices of lengths). When ``hist``
    has a length axis, it receives ``hist[x % 2, slab, d, g - 1, L(p)] += 1`` (two copies,
    alternating along x, so that consecutive increments rarely wait on each other): the number
    of voxels whose running length equals L is the number of runs of length >= L.
    """
    nz, ny, nx = binned.shape
    prev = np.zeros((ny, nx), np.int32)
    cur = np.zeros((ny, nx), np.int32)
    count = hist.shape[4] > 1
    longest = 0
    for d in range(offsets.shape[0]):
        dz, dy, dx = offsets[d, 0], offsets[d, 1], offsets[d, 2]
        for z in range(nz):
            slab = z if per_slice else 0
            src = prev if dz != 0 else cur
            for y in range(ny):
                py = y - dy
                row_ok = z - dz >= 0 and 0 <= py < ny
                for x in range(nx):
                    g = binned[z, y, x]
                    if g == 0:
                        continue  # stale entries are never read: a predecessor must match g
                    length = 1
                    px = x - dx
                    if row_ok and 0 <= px < nx:
                        length += src[py, px] * (binned[z - dz, py, px] == g)
                    cur[y, x] = length
                    if count:
                        hist[x & 1, slab, d, g - 1, length] += 1
                    elif length > longest:
                        longest = length
            if dz != 0:
                prev, cur = cur, prev
    return longest


@njit(cache=True, nogil=True)
def max_run_length(binned, offsets):  # pragma: no cover - compiled
    """Length of the longest run along any of ``offsets`` (0 for an empty ROI)."""
    return _running_lengths(binned, offsets, False, np.zeros((1, 1, 1, 1, 1), np.int64))


@njit(cache=True, nogil=True)
def run_length_counts(binned, offsets, n_bins, per_slice, max_length):  # pragma: no cover
    """Run-length counts, int64 ``(n_slabs, n_offsets, Ng, max_length)``; column j = length j+1.

    A run is a maximal line of ROI voxels of equal grey level along one direction.
    """
    nz = binned.shape[0]
    n_slabs = nz if per_slice else 1
    hist = np.zeros((2, n_slabs, offsets.shape[0], n_bins, max_length + 2), np.int64)
    _running_lengths(binned, offsets, per_slice, hist)
    at_least = hist[0] + hist[1]
    return at_least[..., 1:-1] - at_least[..., 2:]


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
def zone_statistics(labels, binned, distance, n_zones):  # pragma: no cover - compiled
    """Grey level, size, smallest ``distance`` and first slice of each labelled zone.

    ``labels``: uint32 zone labels 1..n_zones (0 outside the ROI), e.g. from
    ``cc3d.connected_components``; ``distance``: int32 map of the same shape (GLDZM) or an
    array of shape (1, 1, 1) when zone distances are not needed (they are then 0).
    Returns int64 arrays indexed by label - 1.
    """
    nz, ny, nx = labels.shape
    flat_labels = labels.ravel()
    flat_levels = binned.ravel()
    with_distance = distance.size == flat_labels.size
    flat_dist = distance.ravel()
    grey = np.zeros(n_zones, np.int64)
    size = np.zeros(n_zones, np.int64)
    min_dist = np.zeros(n_zones, np.int64)
    first_slice = np.zeros(n_zones, np.int64)
    plane = ny * nx
    for p in range(flat_labels.size):
        zone = np.int64(flat_labels[p]) - 1
        if zone < 0:
            continue
        if size[zone] == 0:
            grey[zone] = flat_levels[p]
            first_slice[zone] = p // plane
            min_dist[zone] = flat_dist[p] if with_distance else 0
        elif with_distance and flat_dist[p] < min_dist[zone]:
            min_dist[zone] = flat_dist[p]
        size[zone] += 1
    return grey, size, min_dist, first_slice


@njit(cache=True, nogil=True)
def grey_tone_differences(binned, offsets, n_bins, per_slice):  # pragma: no cover - compiled
    """NGTDM sums: ``s[g] = sum |g - mean of ROI neighbours|`` and ``n[g]`` voxel counts.

    Voxels whose neighbourhood holds no ROI voxel are left out (IBSI 1). The difference is
    computed as ``|g * n_nb - sum_nb| / n_nb`` from exact integer sums.
    Returns float64 ``s`` and int64 ``n``, both ``(n_slabs, Ng)``.
    """
    nz, ny, nx = binned.shape
    n_off = offsets.shape[0]
    reach = (np.abs(offsets[:, 0]).max(), np.abs(offsets[:, 1]).max(), np.abs(offsets[:, 2]).max())
    flat = binned.ravel()
    steps = (offsets[:, 0] * ny + offsets[:, 1]) * nx + offsets[:, 2]
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
                if _inside(z, y, x, binned.shape, reach):
                    p = (z * ny + y) * nx + x
                    for k in range(n_off):
                        h = flat[p + steps[k]]
                        total += h
                        count += h != 0
                else:
                    for k in range(n_off):
                        h = _neighbour(binned, z, y, x, offsets[k])
                        total += h
                        count += h != 0
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
    reach = (np.abs(offsets[:, 0]).max(), np.abs(offsets[:, 1]).max(), np.abs(offsets[:, 2]).max())
    flat = binned.ravel()
    steps = (offsets[:, 0] * ny + offsets[:, 1]) * nx + offsets[:, 2]
    counts = np.zeros((nz if per_slice else 1, n_bins, n_off + 1), np.int64)
    for z in range(nz):
        slab = z if per_slice else 0
        for y in range(ny):
            for x in range(nx):
                g = binned[z, y, x]
                if g == 0:
                    continue
                k = 0
                if _inside(z, y, x, binned.shape, reach):
                    p = (z * ny + y) * nx + x
                    for j in range(n_off):
                        h = flat[p + steps[j]]
                        k += (h != 0) & (abs(h - g) <= alpha)
                else:
                    for j in range(n_off):
                        h = _neighbour(binned, z, y, x, offsets[j])
                        k += (h != 0) & (abs(h - g) <= alpha)
                counts[slab, g - 1, k] += 1
    return counts


def warm_up() -> None:
    """Compile every kernel with the argument types the texture families pass (``make install``).

    Runs each family, in every dimension, on a tiny array, so that the cached signatures are
    exactly those of real use.
    """
    from ildrad.radiomics import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
    from ildrad.radiomics.texture_settings import TextureSettings

    binned = np.array([[[1, 2, 2], [0, 1, 3]], [[3, 3, 1], [2, 0, 1]]], np.int32)
    roi = binned > 0
    settings = TextureSettings(dimensions=("2D", "2.5D", "3D"))
    for module in (glcm, glrlm, glszm, ngtdm, ngldm):
        module.features(binned, roi, 3, settings)
    gldzm.features(binned, roi, 3, settings, morph_roi=np.ones_like(roi))
