r"""Neighbourhood grey tone difference matrix (NGTDM) features, IBSI 1 section 3.10
(tags ``ngt_*``).

For every ROI voxel of level :math:`i`, :math:`\bar{A}` is the mean level of the ROI voxels
within Chebyshev distance :math:`\delta` (the voxel itself excluded; in-plane neighbours only
for 2D/2.5D). Voxels with no ROI neighbour are left out. :math:`n_i` counts the remaining
voxels of level :math:`i` and :math:`s_i = \sum |i - \bar{A}|` over them; :math:`N_{v,c} =
\sum_i n_i`, :math:`p_i = n_i / N_{v,c}` and :math:`N_{g,p}` is the number of levels with
:math:`p_i > 0`. ``_2D`` averages the features of each slice, ``_2_5D`` adds the slices'
:math:`s_i` and :math:`n_i` first, ``_3D`` uses volumetric neighbourhoods.

The sums come from one compiled raster pass with exact integer neighbourhood sums
(:func:`ildrad.radiomics._texture_kernels.grey_tone_differences`).
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics import _texture_kernels as kernels
from ildrad.radiomics._texture_common import (
    DIMENSION_SUFFIX,
    checked_levels,
    mean_of_nonempty,
    nan_features,
)
from ildrad.radiomics.texture_settings import TextureSettings

__all__ = ["FEATURES", "feature_values", "features", "matrix", "tags"]

#: IBSI names of the 5 NGTDM features (tag = ``ngt_<name>_<dimension>``).
FEATURES = ("coarseness", "contrast", "busyness", "complexity", "strength")

#: Coarseness reported when :math:`\sum p_i s_i = 0` (uniform neighbourhoods), the convention
#: of PyRadiomics and mirp (the IBSI formula diverges there).
COARSENESS_CAP = 1.0e6


def matrix(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, dimension: str = "3D", *, distance: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``(s, n)``, float64 and int64 ``(slabs, Ng)``: one slab for "3D", one per slice for "2D".

    ``s[.., i-1]`` is :math:`s_i` and ``n[.., i-1]`` is :math:`n_i`.
    """
    levels, _ = checked_levels(binned, roi, n_bins, "NGTDM")
    return _sums(levels, n_bins, dimension, distance)


def _sums(levels: np.ndarray, n_bins: int, dimension: str, distance: int):
    return kernels.grey_tone_differences(levels, distance, n_bins, dimension != "3D")


def feature_values(s: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    r"""The 5 IBSI NGTDM features of each row of ``s``, ``n`` (..., Ng).

    Sums run over the levels present (:math:`p_i > 0`, :math:`p_j > 0`):

    .. math::

        \text{coarseness} &= \Big(\sum_i p_i s_i\Big)^{-1}, \quad
        \text{contrast} = \frac{\sum_{ij} p_i p_j (i-j)^2}{N_{g,p}(N_{g,p}-1)}
                          \frac{\sum_i s_i}{N_{v,c}}, \quad
        \text{busyness} = \frac{\sum_i p_i s_i}{\sum_{ij} |i p_i - j p_j|}, \\
        \text{complexity} &= \frac{1}{N_{v,c}} \sum_{ij} |i - j|
                             \frac{p_i s_i + p_j s_j}{p_i + p_j}, \quad
        \text{strength} = \frac{\sum_{ij} (p_i + p_j)(i - j)^2}{\sum_i s_i}.

    Edge cases (IBSI leaves them open; values of PyRadiomics and mirp): coarseness is
    :data:`COARSENESS_CAP` when :math:`\sum p_i s_i = 0`; contrast and busyness are 0 with a
    single level present; strength is 0 when :math:`\sum s_i = 0`. No counted voxel gives NaN.
    """
    s = np.asarray(s, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    g = np.arange(1, s.shape[-1] + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_vc = n.sum(axis=-1)
        p = n / n_vc[..., None]
        present = n > 0
        pair = present[..., :, None] & present[..., None, :]
        n_gp = present.sum(axis=-1).astype(np.float64)
        ps = p * s
        sum_ps, sum_s = ps.sum(axis=-1), s.sum(axis=-1)
        dg = g[:, None] - g[None, :]
        p_i, p_j = p[..., :, None], p[..., None, :]
        contrast_pairs = np.where(pair, p_i * p_j * dg**2, 0.0).sum(axis=(-2, -1))
        gp = g * p
        busy_den = np.where(pair, np.abs(gp[..., :, None] - gp[..., None, :]), 0.0)
        busy_den = busy_den.sum(axis=(-2, -1))
        complexity = np.where(
            pair, np.abs(dg) * (ps[..., :, None] + ps[..., None, :]) / (p_i + p_j), 0.0
        ).sum(axis=(-2, -1))
        strength_num = np.where(pair, (p_i + p_j) * dg**2, 0.0).sum(axis=(-2, -1))
        empty = n_vc == 0
        single = n_gp <= 1
        return {
            "coarseness": np.where(
                empty, np.nan, np.where(sum_ps > 0, 1.0 / sum_ps, COARSENESS_CAP)
            ),
            "contrast": np.where(
                empty,
                np.nan,
                np.where(single, 0.0, contrast_pairs / (n_gp * (n_gp - 1)) * sum_s / n_vc),
            ),
            "busyness": np.where(
                empty, np.nan, np.where(single | (busy_den == 0), 0.0, sum_ps / busy_den)
            ),
            "complexity": np.where(empty, np.nan, complexity / n_vc),
            "strength": np.where(empty, np.nan, np.where(sum_s > 0, strength_num / sum_s, 0.0)),
        }


def tags(settings: TextureSettings) -> list[str]:
    """The IBSI tags :func:`features` returns for ``settings``."""
    return [f"ngt_{n}_{DIMENSION_SUFFIX[d]}" for d in settings.dimensions for n in FEATURES]


def features(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, settings: TextureSettings
) -> dict[str, float]:
    """IBSI NGTDM features of a discretised ROI for every dimension in ``settings``.

    ``binned``: int32 (z, y, x) grey levels 1..``n_bins`` inside ``roi``, 0 outside.
    An empty ROI (or one with no voxel having an ROI neighbour) gives NaN for every tag.
    """
    levels, n_roi = checked_levels(binned, roi, n_bins, "NGTDM")
    if n_roi == 0:
        return nan_features(tags(settings))
    out: dict[str, float] = {}
    in_plane = None
    for dim in settings.dimensions:
        if dim == "3D":
            s, n = _sums(levels, n_bins, "3D", settings.ngtdm_distance)
        else:
            if in_plane is None:
                in_plane = _sums(levels, n_bins, "2D", settings.ngtdm_distance)
            s, n = in_plane
            if dim == "2.5D":
                s, n = s.sum(axis=0, keepdims=True), n.sum(axis=0, keepdims=True)
        values = mean_of_nonempty(feature_values(s, n), n.sum(axis=-1) > 0)
        out.update({f"ngt_{name}_{DIMENSION_SUFFIX[dim]}": values[name] for name in FEATURES})
    return out
