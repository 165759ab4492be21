r"""Pieces shared by the six texture families: input checks, neighbour offsets, feature
aggregation (IBSI 1 "Feature aggregation") and the features of grey-level x size matrices.

GLRLM, GLSZM, GLDZM and NGLDM all reduce to a matrix :math:`M_{ij}` counting objects (runs,
zones, distance zones, neighbourhoods) of grey level :math:`i = 1..N_g` and size-like value
:math:`j` (run length, zone size, zone distance, dependence count). Their features are the same
sixteen formulas (plus energy for NGLDM, IBSI 1 sections 3.7-3.11), written once in
:func:`size_matrix_features`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import cc3d
import numpy as np

from ildrad.errors import InputError
from ildrad.radiomics import _texture_kernels as kernels
from ildrad.radiomics.filters.threads import filter_threads

__all__ = [
    "DIMENSION_SUFFIX",
    "DIRECTIONS_2D",
    "DIRECTIONS_3D",
    "SIZE_FEATURES",
    "SizeMatrix",
    "aggregate_directional",
    "checked_levels",
    "compact_size_matrix",
    "mean_of_nonempty",
    "nan_features",
    "per_slice_mean",
    "size_matrix_features",
    "weighted_sum",
    "zone_records",
]

#: The 4 in-plane directions (dz, dy, dx), one per pair of opposite neighbours (IBSI 1).
DIRECTIONS_2D = np.array([[0, 0, 1], [0, 1, 1], [0, 1, 0], [0, 1, -1]], np.int64)
#: The 13 volumetric directions: the 4 in-plane ones and the 9 towards the next slice.
DIRECTIONS_3D = np.vstack(
    [DIRECTIONS_2D, [[1, dy, dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]]
).astype(np.int64)

#: Suffix of the IBSI tags per spatial dimension (as in the IBSI reference tables).
DIMENSION_SUFFIX = {"2D": "2D", "2.5D": "2_5D", "3D": "3D"}

#: Generic keys of :func:`size_matrix_features`, in IBSI order.
SIZE_FEATURES = (
    "small_emph",
    "large_emph",
    "low_grey_emph",
    "high_grey_emph",
    "small_low_grey_emph",
    "small_high_grey_emph",
    "large_low_grey_emph",
    "large_high_grey_emph",
    "grey_nonuni",
    "grey_nonuni_norm",
    "size_nonuni",
    "size_nonuni_norm",
    "percentage",
    "grey_var",
    "size_var",
    "entropy",
    "energy",
)


def checked_levels(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, family: str
) -> tuple[np.ndarray, int]:
    """``binned`` as C-contiguous int32 and the number of ROI voxels, after checking the contract.

    Raises :class:`InputError` when the shapes differ, when ``binned > 0`` is not exactly the
    ROI, or when a grey level exceeds ``n_bins``.
    """
    if binned.ndim != 3 or binned.shape != roi.shape:
        raise InputError(
            f"{family}: binned image {binned.shape} and ROI {roi.shape} must be 3D arrays "
            "(z, y, x) of the same shape"
        )
    if n_bins < 1:
        raise InputError(f"{family}: the number of grey levels must be >= 1, got {n_bins}")
    if binned.size >= 2**31:
        raise InputError(f"{family}: ROI bounding box of {binned.size} voxels is too large")
    levels = np.ascontiguousarray(binned, dtype=np.int32)
    n_roi = int(kernels.check_levels(levels, np.ascontiguousarray(roi, dtype=bool), n_bins))
    if n_roi == -1:
        raise InputError(
            f"{family}: grey levels must be >= 1 exactly inside the ROI and 0 outside it"
        )
    if n_roi == -2:
        raise InputError(f"{family}: a grey level exceeds the number of grey levels {n_bins}")
    return levels, n_roi


class SizeMatrix(NamedTuple):
    """A grey-level x size matrix in compact form.

    ``counts[..., i - 1, c]`` counts objects of grey level ``i`` whose size-like value is
    ``values[c]`` (columns of absent values are left out; ``values`` is increasing).
    """

    counts: np.ndarray
    values: np.ndarray

    def dense(self) -> np.ndarray:
        """Counts with one column per value 1..max(values) (column j-1 holds value j)."""
        n_cols = int(self.values.max()) if self.values.size else 0
        out = np.zeros((*self.counts.shape[:-1], n_cols), self.counts.dtype)
        out[..., self.values - 1] = self.counts
        return out


def compact_size_matrix(grey: np.ndarray, size: np.ndarray, n_bins: int) -> SizeMatrix:
    """Count (grey, size) pairs into a :class:`SizeMatrix` without sorting (O(n + max size))."""
    if grey.size == 0:
        return SizeMatrix(np.zeros((n_bins, 0), np.int64), np.zeros(0, np.int64))
    present = np.bincount(size) > 0
    values = np.flatnonzero(present)
    column = np.cumsum(present) - 1
    flat = (grey - 1) * values.size + column[size]
    counts = np.bincount(flat, minlength=n_bins * values.size).reshape(n_bins, values.size)
    return SizeMatrix(counts, values)


def weighted_sum(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum(values * weights)`` over the last axis, by numpy's own summation.

    Used instead of ``@`` (BLAS), whose reduction order may depend on the number of BLAS
    threads: the features must be bit-for-bit identical whatever the thread count.
    """
    return (values * weights).sum(axis=-1)


def size_matrix_features(
    counts: np.ndarray, values: np.ndarray, n_voxels: np.ndarray | float
) -> dict[str, np.ndarray]:
    r"""The features of a grey-level x size matrix (IBSI 1, sections 3.7 to 3.11).

    ``counts``: (..., Ng, Nc) counts :math:`M_{ij}`; ``values``: the Nc size-like values
    :math:`j`; ``n_voxels``: :math:`N_v`, broadcastable to the leading shape. With
    :math:`N_s = \sum_{ij} M_{ij}`, :math:`p_{ij} = M_{ij}/N_s`, marginals
    :math:`m_i = \sum_j M_{ij}`, :math:`m_j = \sum_i M_{ij}`:

    .. math::

        \text{small\_emph} &= \tfrac{1}{N_s}\sum_j m_j / j^2, \quad
        \text{large\_emph} = \tfrac{1}{N_s}\sum_j m_j j^2, \\
        \text{low\_grey\_emph} &= \tfrac{1}{N_s}\sum_i m_i / i^2, \quad
        \text{high\_grey\_emph} = \tfrac{1}{N_s}\sum_i m_i i^2, \\
        \text{small\_low\_grey\_emph} &= \tfrac{1}{N_s}\sum_{ij} M_{ij}/(i^2 j^2), \quad
        \text{small\_high\_grey\_emph} = \tfrac{1}{N_s}\sum_{ij} M_{ij} i^2/j^2, \\
        \text{large\_low\_grey\_emph} &= \tfrac{1}{N_s}\sum_{ij} M_{ij} j^2/i^2, \quad
        \text{large\_high\_grey\_emph} = \tfrac{1}{N_s}\sum_{ij} M_{ij} i^2 j^2, \\
        \text{grey\_nonuni} &= \tfrac{1}{N_s}\sum_i m_i^2, \quad
        \text{grey\_nonuni\_norm} = \tfrac{1}{N_s^2}\sum_i m_i^2, \\
        \text{size\_nonuni} &= \tfrac{1}{N_s}\sum_j m_j^2, \quad
        \text{size\_nonuni\_norm} = \tfrac{1}{N_s^2}\sum_j m_j^2, \quad
        \text{percentage} = N_s / N_v, \\
        \text{grey\_var} &= \sum_{ij} (i - \mu_i)^2 p_{ij},\ \mu_i = \sum_{ij} i\,p_{ij}, \quad
        \text{size\_var} = \sum_{ij} (j - \mu_j)^2 p_{ij},\ \mu_j = \sum_{ij} j\,p_{ij}, \\
        \text{entropy} &= -\sum_{ij} p_{ij} \log_2 p_{ij}, \quad
        \text{energy} = \sum_{ij} p_{ij}^2.

    An empty matrix (:math:`N_s = 0`) gives NaN for every feature.
    """
    m = np.asarray(counts, dtype=np.float64)
    i = np.arange(1, m.shape[-2] + 1, dtype=np.float64)
    dot = weighted_sum
    j = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_s = m.sum(axis=(-2, -1))
        m_i = m.sum(axis=-1)
        m_j = m.sum(axis=-2)
        by_j_inv, by_j_sq = dot(m, 1.0 / j**2), dot(m, j**2)  # (..., Ng)
        p_i, p_j = m_i / n_s[..., None], m_j / n_s[..., None]
        mu_i, mu_j = dot(p_i, i), dot(p_j, j)
        p = m / n_s[..., None, None]
        logs = np.log2(np.where(p > 0, p, 1.0))
        return {
            "small_emph": dot(m_j, 1.0 / j**2) / n_s,
            "large_emph": dot(m_j, j**2) / n_s,
            "low_grey_emph": dot(m_i, 1.0 / i**2) / n_s,
            "high_grey_emph": dot(m_i, i**2) / n_s,
            "small_low_grey_emph": dot(by_j_inv, 1.0 / i**2) / n_s,
            "small_high_grey_emph": dot(by_j_inv, i**2) / n_s,
            "large_low_grey_emph": dot(by_j_sq, 1.0 / i**2) / n_s,
            "large_high_grey_emph": dot(by_j_sq, i**2) / n_s,
            "grey_nonuni": (m_i**2).sum(axis=-1) / n_s,
            "grey_nonuni_norm": (m_i**2).sum(axis=-1) / n_s**2,
            "size_nonuni": (m_j**2).sum(axis=-1) / n_s,
            "size_nonuni_norm": (m_j**2).sum(axis=-1) / n_s**2,
            "percentage": n_s / n_voxels,
            "grey_var": (p_i * (i - mu_i[..., None]) ** 2).sum(axis=-1),
            "size_var": (p_j * (j - mu_j[..., None]) ** 2).sum(axis=-1),
            "entropy": -(p * logs).sum(axis=(-2, -1)),
            "energy": (p**2).sum(axis=(-2, -1)),
        }


def mean_of_nonempty(values: Mapping[str, np.ndarray], nonempty: np.ndarray) -> dict[str, float]:
    """Average each feature over the matrices that hold at least one count (NaN if none)."""
    keep = np.asarray(nonempty, dtype=bool)
    if not keep.any():
        return {name: float("nan") for name in values}
    return {name: float(np.mean(np.asarray(v)[keep])) for name, v in values.items()}


FeatureFunction = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def aggregate_directional(
    counts: np.ndarray,
    n_voxels: np.ndarray,
    feature_fn: FeatureFunction,
    methods: Iterable[str],
) -> dict[str, dict[str, float]]:
    """GLCM/GLRLM aggregation of ``counts`` (slabs, directions, Ng, ...) per IBSI 1.

    ``avg``: features of every (slab, direction) matrix, averaged. ``comb``: directions merged
    per slab (their :math:`N_v` added), features averaged over slabs. Slabs are the slices in
    2D; the caller merges the slices first for 2.5D, and passes one slab for 3D. Matrices
    without any count (e.g. a slice too small for a direction) are left out of the averages.
    """
    out: dict[str, dict[str, float]] = {}
    for method in methods:
        if method == "avg":
            batch, nv = counts, n_voxels
        else:
            batch, nv = counts.sum(axis=1), n_voxels.sum(axis=1)
        nonempty = batch.sum(axis=(-2, -1)) > 0
        out[method] = mean_of_nonempty(feature_fn(batch, nv), nonempty)
    return out


def nan_features(tags: Iterable[str]) -> dict[str, float]:
    """Every tag set to NaN (an empty ROI has no texture)."""
    return {tag: float("nan") for tag in tags}


def zone_records(
    levels: np.ndarray, in_plane: bool, distance_map: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zones of equal grey level linked at Chebyshev distance 1, one record per zone.

    In-plane zones are 8-connected within a slice (2D/2.5D); volumetric zones 26-connected (3D).
    Labelling is ``cc3d.connected_components`` on the multi-level array (all grey levels in one
    pass); a volume is labelled in slabs of slices side by side (threads: ``filter_threads``),
    whose zones touching across the slab boundaries are then joined
    (:func:`~ildrad.radiomics._texture_kernels.merge_zones_across`). Returns int64 arrays
    ``(grey, size, min_distance, slice)`` in the order of the zones' first voxels (raster
    order, whatever the number of slabs). ``min_distance`` is the smallest value of
    ``distance_map`` over the zone (0 when no map is given).
    """
    nz, ny, nx = levels.shape
    dist = np.zeros((1, 1, 1), np.int32) if distance_map is None else distance_map
    if in_plane:
        bounds = [(z, z + 1) for z in range(nz)]
    else:
        n_slabs = max(1, min(filter_threads(), nz // _MIN_SLAB_SLICES))
        cuts = [slab * nz // n_slabs for slab in range(n_slabs + 1)]
        bounds = list(zip(cuts[:-1], cuts[1:], strict=True))

    def label(bound: tuple[int, int]) -> tuple[tuple[np.ndarray, np.ndarray], int, tuple[np.ndarray, ...]]:
        """Zone labels of the slab's first and last slices, number of zones, zone records."""
        z0, z1 = bound
        part = levels[z0:z1]
        connectivity = 8 if in_plane else 26
        picture = part[0] if in_plane else part
        labels, n = cc3d.connected_components(
            picture, connectivity=connectivity, return_N=True, out_dtype=np.uint32
        )
        labels = labels.reshape(part.shape)
        part_dist = dist if dist.size == 1 else dist[z0:z1]
        record = kernels.zone_statistics(labels, part, part_dist, int(n), z0)
        return (labels[0].copy(), labels[-1].copy()), int(n), record

    with ThreadPoolExecutor(min(len(bounds), filter_threads())) as pool:
        labelled = list(pool.map(label, bounds))
    records, firsts, n_zones = [], [], 0
    for _, n, record in labelled:
        records.append(record)
        firsts.append(n_zones)
        n_zones += n
    grey, size, min_dist, first = (np.concatenate(column) for column in zip(*records, strict=True))
    if not in_plane and len(bounds) > 1:  # global labels of the two slices at each cut
        seams = np.stack([
            np.stack([labelled[k - 1][0][1] + np.uint32(firsts[k - 1]), labelled[k][0][0] + np.uint32(firsts[k])])
            for k in range(1, len(bounds))
        ])
        cuts = np.array([z0 for z0, _ in bounds[1:]], np.int64)
        grey, size, min_dist, first = kernels.merge_zones_across(
            levels, seams, cuts, grey, size, min_dist, first
        )
    order = np.argsort(first, kind="stable")
    return grey[order], size[order], min_dist[order], first[order] // (ny * nx)


#: Slabs labelled side by side have at least this many slices.
_MIN_SLAB_SLICES = 16


def per_slice_mean(
    grey: np.ndarray,
    value: np.ndarray,
    slices: np.ndarray,
    voxels_per_slice: np.ndarray,
    n_bins: int,
    feature_fn: Callable[[np.ndarray, np.ndarray, float], dict[str, np.ndarray]],
) -> dict[str, float]:
    """2D aggregation of zone-like records: features of each slice's matrix, averaged.

    ``slices`` must be non-decreasing; slices without any record are left out.
    """
    bounds = np.searchsorted(slices, np.arange(len(voxels_per_slice) + 1))
    rows = []
    for z in range(len(voxels_per_slice)):
        lo, hi = bounds[z], bounds[z + 1]
        if hi > lo:
            matrix = compact_size_matrix(grey[lo:hi], value[lo:hi], n_bins)
            rows.append(feature_fn(matrix.counts, matrix.values, float(voxels_per_slice[z])))
    if not rows:
        return {}
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
