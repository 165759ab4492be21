"""Compiled (numba, cached) kernels that count the IBSI texture matrices.

The kernels read ``binned``, an integer (z, y, x) array of grey levels 1..Ng inside the ROI and
0 outside (int32, or uint8 when the levels fit; zones are labelled by ``cc3d`` beforehand).
They visit only the runs of ROI voxels of each row (:func:`row_segments`), and the counting
kernels run in numba threads: over slabs of slices (co-occurrences, neighbourhoods; each slab
counts into its own tables, summed at the end) or over directions (run lengths). Every table
holds integers (the NGTDM's too: it sums ``|g c - S|`` per level and neighbour count and
divides at the end), so the sums are exact whatever the split, and every result is the same
bit for bit with any number of threads.

Neighbour offsets are (dz, dy, dx) rows of an int64 array. Voxels outside the array are outside
the ROI.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "border_distance",
    "check_levels",
    "cooccurrence_counts",
    "dependence_counts",
    "grey_tone_differences",
    "merge_zones_across",
    "row_segments",
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


@njit(cache=True, nogil=True, parallel=True)
def row_segments(binned):  # pragma: no cover - compiled
    """Runs of ROI voxels along x in every row (z, y), in raster order.

    Returns ``first`` (nz * ny + 1: the segments of row ``z * ny + y`` are
    ``first[r]:first[r + 1]``), ``start`` and ``stop`` (x range of each segment). The kernels
    loop over these, so voxels outside the ROI inside the bounding box cost nothing.
    """
    nz, ny, nx = binned.shape
    per_row = np.zeros(nz * ny, np.int64)
    for z in prange(nz):
        for y in range(ny):
            inside = False
            n = 0
            for x in range(nx):
                here = binned[z, y, x] != 0
                n += here and not inside
                inside = here
            per_row[z * ny + y] = n
    first = np.zeros(nz * ny + 1, np.int64)
    first[1:] = np.cumsum(per_row)
    start = np.empty(first[-1], np.int64)
    stop = np.empty(first[-1], np.int64)
    for z in prange(nz):
        for y in range(ny):
            k = first[z * ny + y]
            inside = False
            for x in range(nx):
                here = binned[z, y, x] != 0
                if here and not inside:
                    start[k] = x
                elif inside and not here:
                    stop[k] = x
                    k += 1
                inside = here
            if inside:
                stop[k] = nx
    return first, start, stop


#: Slabs counted side by side by the integer kernels: at most this many, and their matrices
#: together at most :data:`_PART_BYTES` (the split does not change integer sums).
_MAX_PARTS = 16
_PART_BYTES = 1 << 27


@njit(cache=True, nogil=True)
def _n_parts(nz, part_bytes, per_slice):  # pragma: no cover - compiled
    """Number of slabs of slices counted in parallel: one per slice (``per_slice``), else as
    many as :data:`_MAX_PARTS` and the memory budget allow (fixed by the data, not the threads)."""
    if per_slice:
        return nz
    return max(1, min(nz, _MAX_PARTS, _PART_BYTES // max(part_bytes, 1)))


@njit(cache=True, nogil=True)
def _slab_bounds(nz, n_slabs, slab):  # pragma: no cover - compiled
    """Slices ``[z0, z1)`` of slab ``slab`` of ``n_slabs`` equal consecutive slabs."""
    return slab * nz // n_slabs, (slab + 1) * nz // n_slabs


@njit(cache=True, nogil=True)
def _sum_parts(counts, per_slice):  # pragma: no cover - compiled
    """The counts of the parallel slabs summed into one (3D), or kept per slice (``per_slice``)."""
    if per_slice:
        return counts
    total = np.zeros((1,) + counts.shape[1:], counts.dtype)
    for part in range(counts.shape[0]):
        total[0] += counts[part]
    return total


@njit(cache=True, nogil=True, inline="always")  # called per row segment: no call overhead
def _count_pairs(first_table, second_table, levels, neighbours):  # pragma: no cover - compiled
    """Add the (level, neighbour level) pairs of a row segment, even and odd positions into
    two tables, so that consecutive increments of a uniform region never wait on each other."""
    n = levels.shape[0]
    i = 0
    while i + 1 < n:
        first_table[levels[i], neighbours[i]] += 1
        second_table[levels[i + 1], neighbours[i + 1]] += 1
        i += 2
    if i < n:
        first_table[levels[i], neighbours[i]] += 1


@njit(cache=True, nogil=True, parallel=True)
def cooccurrence_counts(binned, offsets, n_bins, per_slice):  # pragma: no cover - compiled
    """Counts of (g(p), g(p + offset)) pairs with both voxels in the ROI (not symmetrised).

    Returns int64 ``(n_slabs, n_offsets, Ng, Ng)``, ``n_slabs`` = number of slices when
    ``per_slice`` else 1. Each row segment is counted one offset after the other against the
    neighbour row, a slice of the array (pairs whose neighbour lies outside the ROI land in a
    row and column 0 that are dropped at the end; neighbours beyond the array are skipped).
    3D slabs count into two int32 tables each (:func:`_count_pairs`; int32 halves the cache
    they take); per slice, into one.
    """
    nz, ny, nx = binned.shape
    n_off = offsets.shape[0]
    first, start, stop = row_segments(binned)
    n_alt = 1 if per_slice else 2
    n_parts = _n_parts(nz, n_alt * n_off * (n_bins + 1) ** 2 * 4, per_slice)
    if binned.size >= 2**31:  # the int32 tables (half the cache of int64) could overflow
        raise ValueError("co-occurrences of over 2**31 voxels: split the volume")
    counts = np.zeros((n_parts, n_alt, n_off, n_bins + 1, n_bins + 1), np.int32)
    for part in prange(n_parts):
        tables = counts[part]
        z0, z1 = _slab_bounds(nz, n_parts, part)
        for z in range(z0, z1):
            for y in range(ny):
                r = z * ny + y
                row = binned[z, y]
                for seg in range(first[r], first[r + 1]):
                    a, b = start[seg], stop[seg]
                    for d in range(n_off):
                        qz, qy, dx = z + offsets[d, 0], y + offsets[d, 1], offsets[d, 2]
                        s, e = max(a, -dx), min(b, nx - dx)
                        if 0 <= qz < nz and 0 <= qy < ny and s < e:
                            _count_pairs(tables[0, d], tables[n_alt - 1, d], row[s:e],
                                         binned[qz, qy, s + dx:e + dx])
    totals = counts[:, 0].astype(np.int64)
    for part in range(n_parts):
        for alt in range(1, n_alt):
            totals[part] += counts[part, alt]
    return np.ascontiguousarray(_sum_parts(totals, per_slice)[:, :, 1:, 1:])


@njit(cache=True, nogil=True, inline="always")  # called per row segment: no call overhead
def _continue_runs(lengths, levels, before_levels, before_lengths):  # pragma: no cover
    """Running length of a row segment from its predecessors' (SIMD-friendly loop)."""
    for i in range(lengths.shape[0]):
        lengths[i] = (levels[i] == before_levels[i]) * before_lengths[i] + 1


#: Running lengths below this are first counted in small per-direction tables that stay in
#: cache (two copies, alternating along x, so that consecutive increments rarely wait on each
#: other); longer ones go straight to the full table (rare in CT).
_SHORT_RUN = 16


@njit(cache=True, nogil=True)
def _direction_runs(binned, segments, offset, per_slice, hist):  # pragma: no cover - compiled
    """Running lengths along one direction; returns the longest run.

    The direction points forward in raster order (dz in {0, 1}, and dy >= 0 when dz = 0), so
    the predecessor ``p - d`` of a voxel is visited first: its running length
    ``L(p) = L(p - d) + 1`` when it has the same grey level, else 1 (dynamic programming over two
    slices of lengths). When ``hist`` (n_slabs, Ng + 1, L + 2) has room for the lengths, it
    receives the number of voxels of each slab, grey level and running length: the number of
    voxels whose running length is L is the number of runs of length >= L.
    """
    first, start, stop = segments
    nz, ny, nx = binned.shape
    dz, dy, dx = offset[0], offset[1], offset[2]
    counting = hist.shape[2] > 1
    lengths = np.zeros((2, ny, nx), np.int32)
    short = np.zeros((2, hist.shape[0] if counting else 1, hist.shape[1], _SHORT_RUN), np.int32)
    longest = 0
    for z in range(nz):
        slab = z if per_slice else 0
        now, before = lengths[z & 1], lengths[(z & 1) ^ 1]
        before_len = before if dz != 0 else now
        for y in range(ny):
            r = z * ny + y
            row, here = binned[z, y], now[y]
            py = y - dy
            has_before = z - dz >= 0 and 0 <= py < ny
            for seg in range(first[r], first[r + 1]):
                a, b = start[seg], stop[seg]
                here[a:b] = 1
                s, e = max(a, dx), min(b, nx + dx)
                if has_before and s < e:
                    _continue_runs(here[s:e], row[s:e], binned[z - dz, py, s - dx:e - dx],
                                   before_len[py, s - dx:e - dx])
                if not counting:
                    for x in range(a, b):
                        longest = max(longest, here[x])
                    continue
                for x in range(a, b):
                    length = here[x]
                    if length < _SHORT_RUN:
                        short[x & 1, slab, row[x], length] += 1
                    else:
                        hist[slab, row[x], length] += 1
                        longest = max(longest, length)
    if counting:
        width = min(_SHORT_RUN, hist.shape[2])
        hist[:, :, :width] += short[0, :, :, :width] + short[1, :, :, :width]
    return longest


@njit(cache=True, nogil=True, parallel=True)
def max_run_length(binned, offsets):  # pragma: no cover - compiled
    """Length of the longest run along any of ``offsets`` (0 for an empty ROI)."""
    segments = row_segments(binned)
    longest = np.zeros(offsets.shape[0], np.int64)
    none = np.zeros((1, 1, 1), np.int64)
    for d in prange(offsets.shape[0]):
        longest[d] = _direction_runs(binned, segments, offsets[d], False, none)
    return longest.max()


@njit(cache=True, nogil=True, parallel=True)
def run_length_counts(binned, offsets, n_bins, per_slice, max_length):  # pragma: no cover
    """Run-length counts, int64 ``(n_slabs, n_offsets, Ng, max_length)``; column j = length
    j + 1. A run is a maximal line of ROI voxels of equal grey level along one direction; the
    directions are counted in parallel (:func:`_direction_runs`)."""
    segments = row_segments(binned)
    n_slabs = binned.shape[0] if per_slice else 1
    hist = np.zeros((offsets.shape[0], n_slabs, n_bins + 1, max_length + 2), np.int64)
    for d in prange(offsets.shape[0]):
        _direction_runs(binned, segments, offsets[d], per_slice, hist[d])
    at_least = hist[:, :, 1:]
    runs = at_least[..., 1:-1] - at_least[..., 2:]
    return np.ascontiguousarray(runs.transpose(1, 0, 2, 3))


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
def zone_statistics(labels, binned, distance, n_zones, z_offset):  # pragma: no cover - compiled
    """Grey level, size, smallest ``distance`` and raster index of the first voxel of each
    labelled zone of a slab.

    ``labels``: uint32 zone labels 1..n_zones (0 outside the ROI) of the slab ``binned``, e.g.
    from ``cc3d.connected_components``; ``distance``: int32 map of the same shape (GLDZM) or an
    array of shape (1, 1, 1) when zone distances are not needed (they are then 0). The slab
    starts at slice ``z_offset`` of the volume (for the raster index). Returns int64 arrays
    indexed by label - 1.
    """
    nz, ny, nx = labels.shape
    flat_labels = labels.ravel()
    flat_levels = binned.ravel()
    with_distance = distance.size == flat_labels.size
    flat_dist = distance.ravel()
    grey = np.zeros(n_zones, np.int64)
    size = np.zeros(n_zones, np.int64)
    min_dist = np.zeros(n_zones, np.int64)
    first_index = np.zeros(n_zones, np.int64)
    offset = z_offset * ny * nx
    for p in range(flat_labels.size):
        zone = np.int64(flat_labels[p]) - 1
        if zone < 0:
            continue
        if size[zone] == 0:
            grey[zone] = flat_levels[p]
            first_index[zone] = p + offset
            min_dist[zone] = flat_dist[p] if with_distance else 0
        elif with_distance and flat_dist[p] < min_dist[zone]:
            min_dist[zone] = flat_dist[p]
        size[zone] += 1
    return grey, size, min_dist, first_index


@njit(cache=True, nogil=True)
def _root(parent, i):  # pragma: no cover - compiled
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def merge_zones_across(binned, seams, cuts, grey, size, min_dist, first_index):  # pragma: no cover
    """Join the zones of slabs labelled separately that touch across the slab boundaries: at
    cut ``cuts[c] = z``, voxels of slices ``z - 1`` and ``z`` with the same grey level and
    26-adjacent. ``seams[c]`` holds the zone numbers (1..n, volume-wide; 0 outside the ROI) of
    those two slices. Returns the merged (grey, size, min_dist, first_index)."""
    nz, ny, nx = binned.shape
    n = grey.size
    parent = np.arange(n)
    for c in range(cuts.size):
        z = cuts[c]
        for y in range(ny):
            for x in range(nx):
                g = binned[z, y, x]
                if g == 0:
                    continue
                a = _root(parent, np.int64(seams[c, 1, y, x]) - 1)
                for qy in range(max(y - 1, 0), min(y + 2, ny)):
                    for qx in range(max(x - 1, 0), min(x + 2, nx)):
                        if binned[z - 1, qy, qx] == g:
                            b = _root(parent, np.int64(seams[c, 0, qy, qx]) - 1)
                            if a != b:
                                parent[b] = a
    for i in range(n):
        r = _root(parent, i)
        if r != i:
            size[r] += size[i]
            min_dist[r] = min(min_dist[r], min_dist[i])
            first_index[r] = min(first_index[r], first_index[i])
    keep = np.array([_root(parent, i) == i for i in range(n)])
    return grey[keep], size[keep], min_dist[keep], first_index[keep]


@njit(cache=True, nogil=True, inline="always")  # called per row segment: no call overhead
def _add_window_sums(total, count, row, width):  # pragma: no cover - compiled
    """Add the level sum and the number of ROI voxels of the ``width`` voxels of ``row`` from
    position i on to ``total[i]`` and ``count[i]`` (SIMD over i)."""
    if width == 3:
        for i in range(total.shape[0]):
            h0, h1, h2 = np.int32(row[i]), np.int32(row[i + 1]), np.int32(row[i + 2])
            total[i] += h0 + h1 + h2
            count[i] += np.int32(h0 != 0) + np.int32(h1 != 0) + np.int32(h2 != 0)
        return
    for i in range(total.shape[0]):
        for k in range(width):
            h = np.int32(row[i + k])
            total[i] += h
            count[i] += h != 0


@njit(cache=True, nogil=True, inline="always")  # called per row segment: no call overhead
def _add_window_dependent(dependence, levels, row, width, alpha):  # pragma: no cover - compiled
    """Add the number of ROI voxels with ``|h - g| <= alpha`` among the ``width`` voxels of
    ``row`` from position i on to ``dependence[i]`` (``g = levels[i] > 0``)."""
    if width == 3 and alpha == 0:
        for i in range(dependence.shape[0]):
            g = levels[i]
            dependence[i] += np.int32(row[i] == g) + np.int32(row[i + 1] == g) + np.int32(row[i + 2] == g)
        return
    for i in range(dependence.shape[0]):
        g = np.int64(levels[i])
        for k in range(width):
            h = np.int64(row[i + k])  # signed: uint8 levels would wrap
            dependence[i] += (h != 0) & (h - g <= alpha) & (g - h <= alpha)


@njit(cache=True, nogil=True)
def _neighbourhood_rows(  # pragma: no cover - compiled
    binned, z, y, a, b, distance, per_slice, padded, total, count, alpha
):
    """Accumulate over the neighbourhood (Chebyshev ``distance``, in the slice when
    ``per_slice``) of the row segment ``[a, b)`` of row (z, y), one pass per neighbour row over
    windows of ``2 distance + 1`` voxels: level sums into ``total`` and ROI counts into
    ``count`` (NGTDM, ``alpha < 0``), or dependences into ``total`` (NGLDM). The voxel itself
    is included (the caller takes it out). ``padded``: scratch for rows that meet the array
    edge (zeros beyond it).
    """
    nz, ny, nx = binned.shape
    width = 2 * distance + 1
    n = b - a
    lo, hi = a - distance, b + distance
    reach_z = 0 if per_slice else distance
    for qz in range(max(z - reach_z, 0), min(z + reach_z + 1, nz)):
        for qy in range(max(y - distance, 0), min(y + distance + 1, ny)):
            if lo >= 0 and hi <= nx:
                row = binned[qz, qy, lo:hi]
            else:
                row = padded[:n + 2 * distance]
                row[:] = 0
                row[max(-lo, 0):min(hi, nx) - lo] = binned[qz, qy, max(lo, 0):min(hi, nx)]
            if alpha < 0:
                _add_window_sums(total[a:b], count[a:b], row, width)
            else:
                _add_window_dependent(total[a:b], binned[z, y, a:b], row, width, alpha)


@njit(cache=True, nogil=True, parallel=True)
def grey_tone_differences(binned, distance, n_bins, per_slice):  # pragma: no cover - compiled
    """NGTDM sums: ``s[g] = sum |g - mean of ROI neighbours|`` and ``n[g]`` voxel counts, over the
    neighbours within Chebyshev ``distance`` (in the slice when ``per_slice``).

    Voxels whose neighbourhood holds no ROI voxel are left out (IBSI 1). A voxel of level g
    with ``c`` ROI neighbours of level sum ``S`` adds the integer ``|g c - S|`` to cell (g, c)
    of a table; ``s[g] = sum_c table[g, c] / c`` at the end. The sums are exact integers, so
    the result does not depend on the split into slabs or threads. Returns float64 ``s`` and
    int64 ``n``, both ``(n_slabs, Ng)``, one slab per slice when ``per_slice``.
    """
    nz, ny, nx = binned.shape
    first, start, stop = row_segments(binned)
    side = 2 * distance + 1
    n_neighbours = (side if per_slice else side * side) * side - 1
    n_parts = _n_parts(nz, n_bins * (n_neighbours + 2) * 8, per_slice)
    differences = np.zeros((n_parts, n_bins, n_neighbours + 1), np.int64)
    n = np.zeros((n_parts, n_bins), np.int64)
    for part in prange(n_parts):
        total = np.zeros(nx, np.int32)
        count = np.zeros(nx, np.int32)
        padded = np.zeros(nx + 2 * distance, binned.dtype)
        z0, z1 = _slab_bounds(nz, n_parts, part)
        for z in range(z0, z1):
            for y in range(ny):
                r = z * ny + y
                for seg in range(first[r], first[r + 1]):
                    a, b = start[seg], stop[seg]
                    total[a:b] = 0
                    count[a:b] = 0
                    _neighbourhood_rows(binned, z, y, a, b, distance, per_slice, padded, total,
                                        count, -1)
                    for x in range(a, b):
                        g = np.int64(binned[z, y, x])
                        c = count[x] - 1  # the voxel itself was counted
                        differences[part, g - 1, c] += abs(g * c - (total[x] - g))
                        n[part, g - 1] += c > 0
    differences = _sum_parts(differences, per_slice)
    s = np.zeros(differences.shape[:2], np.float64)
    for c in range(1, n_neighbours + 1):
        s += differences[:, :, c] / c
    return s, _sum_parts(n, per_slice)


@njit(cache=True, nogil=True, parallel=True)
def dependence_counts(binned, distance, n_bins, alpha, per_slice):  # pragma: no cover
    """NGLDM counts: voxels of level g with k = 1 + #(ROI neighbours within Chebyshev
    ``distance``, in the slice when ``per_slice``, with ``|h - g| <= alpha``).

    Returns int64 ``(n_slabs, Ng, n_neighbours + 1)``; column k-1 holds dependence k.
    """
    nz, ny, nx = binned.shape
    first, start, stop = row_segments(binned)
    side = 2 * distance + 1
    n_neighbours = (side if per_slice else side * side) * side - 1
    n_parts = _n_parts(nz, n_bins * (n_neighbours + 1) * 8, per_slice)
    counts = np.zeros((n_parts, n_bins, n_neighbours + 1), np.int64)
    for part in prange(n_parts):
        dependence = np.zeros(nx, np.int32)
        padded = np.zeros(nx + 2 * distance, binned.dtype)
        z0, z1 = _slab_bounds(nz, n_parts, part)
        for z in range(z0, z1):
            for y in range(ny):
                r = z * ny + y
                row = binned[z, y]
                for seg in range(first[r], first[r + 1]):
                    a, b = start[seg], stop[seg]
                    dependence[a:b] = 0
                    _neighbourhood_rows(binned, z, y, a, b, distance, per_slice, padded,
                                        dependence, dependence, alpha)
                    for x in range(a, b):  # the voxel itself counted once: dependence k - 1
                        counts[part, row[x] - 1, dependence[x] - 1] += 1
    return _sum_parts(counts, per_slice)


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
    max_run_length(binned, glrlm.DIRECTIONS_3D)  # called by GLRLM on large ROIs only
