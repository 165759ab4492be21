r"""Grey level co-occurrence matrix (GLCM) features, IBSI 1 section 3.6 (tags ``cm_*``).

The matrix :math:`P_{ij}` counts pairs of ROI voxels at offset :math:`\delta\,\mathbf{d}` (one
matrix per direction :math:`\mathbf{d}`: 4 in-plane for 2D/2.5D, 13 for 3D) whose grey levels
are :math:`i` and :math:`j`; symmetric matrices count each pair both ways. Matrices are
:math:`N_g \times N_g` even when levels are absent (``cm_inv_diff_norm`` and
``cm_inv_diff_mom_norm`` use :math:`N_g`).

Counting is one compiled raster pass (:func:`matrices`); the features are vectorised over any
stack of matrices (:func:`feature_values`). Aggregation variants and their tags: see
:mod:`ildrad.radiomics.texture_settings`.
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics import _texture_kernels as kernels
from ildrad.radiomics._texture_common import (
    DIMENSION_SUFFIX,
    DIRECTIONS_2D,
    DIRECTIONS_3D,
    aggregate_directional,
    checked_levels,
    nan_features,
    weighted_sum,
)
from ildrad.radiomics.texture_settings import TextureSettings

__all__ = ["FEATURES", "feature_values", "features", "matrices", "tags"]

#: IBSI names of the 25 GLCM features (tag = ``cm_<name>_<aggregation>``).
FEATURES = (
    "joint_max",
    "joint_avg",
    "joint_var",
    "joint_entr",
    "diff_avg",
    "diff_var",
    "diff_entr",
    "sum_avg",
    "sum_var",
    "sum_entr",
    "energy",
    "contrast",
    "dissimilarity",
    "inv_diff",
    "inv_diff_norm",
    "inv_diff_mom",
    "inv_diff_mom_norm",
    "inv_var",
    "corr",
    "auto_corr",
    "clust_tend",
    "clust_shade",
    "clust_prom",
    "info_corr1",
    "info_corr2",
)


def matrices(
    binned: np.ndarray,
    roi: np.ndarray,
    n_bins: int,
    dimension: str = "3D",
    *,
    distance: int = 1,
    symmetric: bool = True,
) -> np.ndarray:
    """Co-occurrence counts, int64 ``(slabs, directions, Ng, Ng)``.

    ``dimension`` "3D": one slab, the 13 directions of :data:`DIRECTIONS_3D`; "2D": one slab
    per slice (slices merged for 2.5D by the caller), the 4 in-plane directions of
    :data:`DIRECTIONS_2D`. Entry ``[s, d, i-1, j-1]`` counts voxels of level i whose neighbour
    at ``distance * direction d`` is in the ROI with level j (plus the reverse pairs when
    ``symmetric``).
    """
    levels, _ = checked_levels(binned, roi, n_bins, "GLCM")
    return _counts(levels, n_bins, dimension, distance, symmetric)


def _counts(levels: np.ndarray, n_bins: int, dimension: str, distance: int, symmetric: bool):
    in_plane = dimension != "3D"
    offsets = (DIRECTIONS_2D if in_plane else DIRECTIONS_3D) * distance
    counts = kernels.cooccurrence_counts(levels, offsets, n_bins, in_plane)
    if symmetric:
        counts = counts + counts.swapaxes(-1, -2)
    return counts


def _diagonal_sums(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`p_{x-y}(k)`, k = 0..Ng-1, and :math:`p_{x+y}(k)`, k = 2..2Ng, of (..., Ng, Ng)."""
    n_g = p.shape[-1]
    diff = np.stack(
        [np.diagonal(p, 0, -2, -1).sum(-1)]
        + [
            np.diagonal(p, k, -2, -1).sum(-1) + np.diagonal(p, -k, -2, -1).sum(-1)
            for k in range(1, n_g)
        ],
        axis=-1,
    )
    flipped = p[..., ::-1]  # anti-diagonal i + j = const becomes a diagonal
    total = np.stack(
        [np.diagonal(flipped, n_g - 1 - k, -2, -1).sum(-1) for k in range(2 * n_g - 1)], axis=-1
    )
    return diff, total


def feature_values(counts: np.ndarray, n_voxels: np.ndarray | None = None) -> dict[str, np.ndarray]:
    r"""The 25 IBSI GLCM features of each matrix of a stack (..., Ng, Ng).

    With :math:`p_{ij} = P_{ij}/\sum P`, marginals :math:`p_{i.}, p_{.j}`, means
    :math:`\mu_x = \sum_i i\,p_{i.}`, :math:`\mu_y = \sum_j j\,p_{.j}`, standard deviations
    :math:`\sigma_x, \sigma_y`, diagonal sums :math:`p_{x-y}(k) = \sum_{|i-j|=k} p_{ij}`,
    :math:`p_{x+y}(k) = \sum_{i+j=k} p_{ij}` and :math:`\mu_{x-y}, \mu_{x+y}` their means:

    .. math::

        \text{joint\_max} &= \max p_{ij}, \quad \text{joint\_avg} = \sum_{ij} i\,p_{ij}, \quad
        \text{joint\_var} = \sum_{ij} (i - \mu)^2 p_{ij}, \quad
        \text{joint\_entr} = -\sum p_{ij}\log_2 p_{ij}, \\
        \text{diff\_avg} &= \sum_k k\,p_{x-y}(k), \quad
        \text{diff\_var} = \sum_k (k - \mu_{x-y})^2 p_{x-y}(k), \quad
        \text{diff\_entr} = -\sum_k p_{x-y}\log_2 p_{x-y}, \\
        \text{sum\_avg} &= \sum_k k\,p_{x+y}(k), \quad
        \text{sum\_var} = \sum_k (k - \mu_{x+y})^2 p_{x+y}(k), \quad
        \text{sum\_entr} = -\sum_k p_{x+y}\log_2 p_{x+y}, \\
        \text{energy} &= \sum p_{ij}^2, \quad \text{contrast} = \sum (i-j)^2 p_{ij}, \quad
        \text{dissimilarity} = \sum |i-j|\,p_{ij}, \\
        \text{inv\_diff} &= \sum \frac{p_{ij}}{1+|i-j|}, \quad
        \text{inv\_diff\_norm} = \sum \frac{p_{ij}}{1+|i-j|/N_g}, \quad
        \text{inv\_diff\_mom} = \sum \frac{p_{ij}}{1+(i-j)^2}, \quad
        \text{inv\_diff\_mom\_norm} = \sum \frac{p_{ij}}{1+(i-j)^2/N_g^2}, \\
        \text{inv\_var} &= \sum_{i \ne j} \frac{p_{ij}}{(i-j)^2}, \quad
        \text{corr} = \frac{\sum (i-\mu_x)(j-\mu_y) p_{ij}}{\sigma_x\sigma_y}, \quad
        \text{auto\_corr} = \sum i j\,p_{ij}, \\
        \text{clust\_tend, shade, prom} &= \sum (i + j - \mu_x - \mu_y)^{2,3,4} p_{ij}, \\
        \text{info\_corr1} &= \frac{HXY - HXY_1}{HX}, \quad
        \text{info\_corr2} = \sqrt{1 - e^{-2 (HXY_2 - HXY)}},

    with :math:`HXY` the joint entropy, :math:`HX = -\sum p_{i.}\log_2 p_{i.}`,
    :math:`HXY_1 = -\sum p_{ij}\log_2(p_{i.}p_{.j})`,
    :math:`HXY_2 = -\sum p_{i.}p_{.j}\log_2(p_{i.}p_{.j})`; both equal :math:`HX + HY`
    since the marginals sum to 1, and the features of :math:`|i-j|` and :math:`i+j` are
    computed from :math:`p_{x-y}` and :math:`p_{x+y}` (:math:`ij = ((i+j)^2 - (i-j)^2)/4`).

    Undefined values are NaN: an empty matrix gives NaN everywhere; a single grey level
    (:math:`\sigma = 0`, :math:`HX = 0`) makes ``corr`` and ``info_corr1`` 0/0, hence NaN
    (mirp and PyRadiomics report 1 by convention). ``inv_var`` with no off-diagonal pair is the
    empty sum, 0. ``n_voxels`` is accepted for a uniform call signature and unused.
    """
    del n_voxels
    m = np.asarray(counts, dtype=np.float64)
    n_g = m.shape[-1]
    g = np.arange(1, n_g + 1, dtype=np.float64)
    k_diff = np.arange(n_g, dtype=np.float64)  # |i - j|
    k_sum = np.arange(2, 2 * n_g + 1, dtype=np.float64)  # i + j
    with np.errstate(divide="ignore", invalid="ignore"):
        p = m / m.sum(axis=(-2, -1))[..., None, None]
        p_i, p_j = p.sum(axis=-1), p.sum(axis=-2)
        mu_i, mu_j = weighted_sum(p_i, g), weighted_sum(p_j, g)
        var_i = weighted_sum(p_i, (g - mu_i[..., None]) ** 2)
        var_j = weighted_sum(p_j, (g - mu_j[..., None]) ** 2)
        p_diff, p_sum = _diagonal_sums(p)
        mu_diff, mu_sum = weighted_sum(p_diff, k_diff), weighted_sum(p_sum, k_sum)
        hxy = _entropy(p.reshape(*p.shape[:-2], -1))
        hx, hy = _entropy(p_i), _entropy(p_j)
        # Every feature of |i - j| or i + j is a sum over p_{x-y} or p_{x+y}; i j is
        # ((i + j)^2 - (i - j)^2) / 4; HXY1 = HXY2 = HX + HY because the marginals sum to 1.
        auto_corr = (weighted_sum(p_sum, k_sum**2) - weighted_sum(p_diff, k_diff**2)) / 4
        centred = k_sum - (mu_i + mu_j)[..., None]
        return {
            "joint_max": p.max(axis=(-2, -1)),
            "joint_avg": mu_i,
            "joint_var": var_i,
            "joint_entr": hxy,
            "diff_avg": mu_diff,
            "diff_var": weighted_sum(p_diff, (k_diff - mu_diff[..., None]) ** 2),
            "diff_entr": _entropy(p_diff),
            "sum_avg": mu_sum,
            "sum_var": weighted_sum(p_sum, (k_sum - mu_sum[..., None]) ** 2),
            "sum_entr": _entropy(p_sum),
            "energy": (p**2).sum(axis=(-2, -1)),
            "contrast": weighted_sum(p_diff, k_diff**2),
            "dissimilarity": mu_diff,
            "inv_diff": weighted_sum(p_diff, 1.0 / (1.0 + k_diff)),
            "inv_diff_norm": weighted_sum(p_diff, 1.0 / (1.0 + k_diff / n_g)),
            "inv_diff_mom": weighted_sum(p_diff, 1.0 / (1.0 + k_diff**2)),
            "inv_diff_mom_norm": weighted_sum(p_diff, 1.0 / (1.0 + k_diff**2 / n_g**2)),
            "inv_var": weighted_sum(p_diff[..., 1:], 1.0 / k_diff[1:] ** 2),
            "corr": (auto_corr - mu_i * mu_j) / np.sqrt(var_i * var_j),
            "auto_corr": auto_corr,
            "clust_tend": weighted_sum(p_sum, centred**2),
            "clust_shade": weighted_sum(p_sum, centred**3),
            "clust_prom": weighted_sum(p_sum, centred**4),
            "info_corr1": (hxy - (hx + hy)) / hx,
            "info_corr2": np.sqrt(1.0 - np.exp(-2.0 * np.maximum(hx + hy - hxy, 0.0))),
        }


def _entropy(q: np.ndarray) -> np.ndarray:
    r""":math:`-\sum q \log_2 q` over the last axis (0 log 0 = 0)."""
    return -(q * np.log2(np.where(q > 0, q, 1.0))).sum(axis=-1)


def tags(settings: TextureSettings) -> list[str]:
    """The IBSI tags :func:`features` returns for ``settings``."""
    return [
        f"cm_{name}_{DIMENSION_SUFFIX[dim]}_{method}"
        for dim in settings.dimensions
        for method in settings.direction_aggregation
        for name in FEATURES
    ]


def features(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, settings: TextureSettings
) -> dict[str, float]:
    """IBSI GLCM features of a discretised ROI, for every dimension and aggregation in settings.

    ``binned``: int32 (z, y, x) grey levels 1..``n_bins`` inside ``roi``, 0 outside.
    An empty ROI gives NaN for every tag.
    """
    levels, n_roi = checked_levels(binned, roi, n_bins, "GLCM")
    if n_roi == 0:
        return nan_features(tags(settings))
    out: dict[str, float] = {}
    per_slice = None
    for dim in settings.dimensions:
        if dim == "3D":
            counts = _counts(levels, n_bins, "3D", settings.glcm_distance, settings.glcm_symmetric)
        else:
            if per_slice is None:
                per_slice = _counts(
                    levels, n_bins, "2D", settings.glcm_distance, settings.glcm_symmetric
                )
            counts = per_slice if dim == "2D" else per_slice.sum(axis=0, keepdims=True)
        n_voxels = np.zeros(counts.shape[:2])
        by_method = aggregate_directional(
            counts, n_voxels, feature_values, settings.direction_aggregation
        )
        for method, values in by_method.items():
            suffix = f"{DIMENSION_SUFFIX[dim]}_{method}"
            out.update({f"cm_{name}_{suffix}": values[name] for name in FEATURES})
    return out
