r"""Neighbouring grey level dependence matrix (NGLDM) features, IBSI 1 section 3.11
(tags ``ngl_*``).

For every ROI voxel of level :math:`i`, its dependence :math:`k` is 1 plus the number of ROI
voxels within Chebyshev distance :math:`\delta` (in-plane only for 2D/2.5D) whose level
:math:`j` satisfies :math:`|j - i| \le \alpha` (the coarseness parameter). :math:`s_{ik}` counts
voxels of level :math:`i` and dependence :math:`k`; every ROI voxel is counted, so
:math:`N_s = N_v`. ``_2D`` averages the features of each slice, ``_2_5D`` merges the slices'
matrices, ``_3D`` uses volumetric neighbourhoods.

Counting is one compiled raster pass
(:func:`ildrad.radiomics._texture_kernels.dependence_counts`); the features are the shared
grey-level x size formulas with :math:`j` the dependence count, plus energy.
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics import _texture_kernels as kernels
from ildrad.radiomics._texture_common import (
    DIMENSION_SUFFIX,
    SizeMatrix,
    checked_levels,
    mean_of_nonempty,
    nan_features,
    size_matrix_features,
)
from ildrad.radiomics.texture_settings import TextureSettings

__all__ = ["FEATURES", "feature_values", "features", "matrix", "tags"]

#: IBSI name of each NGLDM feature -> key of the shared grey-level x size formulas.
FEATURES = {
    "lde": "small_emph",
    "hde": "large_emph",
    "lgce": "low_grey_emph",
    "hgce": "high_grey_emph",
    "ldlge": "small_low_grey_emph",
    "ldhge": "small_high_grey_emph",
    "hdlge": "large_low_grey_emph",
    "hdhge": "large_high_grey_emph",
    "glnu": "grey_nonuni",
    "glnu_norm": "grey_nonuni_norm",
    "dcnu": "size_nonuni",
    "dcnu_norm": "size_nonuni_norm",
    "dc_perc": "percentage",
    "gl_var": "grey_var",
    "dc_var": "size_var",
    "dc_entr": "entropy",
    "dc_energy": "energy",
}


def matrix(
    binned: np.ndarray,
    roi: np.ndarray,
    n_bins: int,
    dimension: str = "3D",
    *,
    distance: int = 1,
    coarseness: int = 0,
) -> SizeMatrix:
    """Dependence counts ``(slabs, Ng, K)`` with dependences 1..K: one slab for "3D", one per
    slice for "2D" (K = number of neighbours + 1)."""
    levels, _ = checked_levels(binned, roi, n_bins, "NGLDM")
    return _counts(levels, n_bins, dimension, distance, coarseness)


def _counts(levels: np.ndarray, n_bins: int, dimension: str, distance: int, coarseness: int):
    counts = kernels.dependence_counts(levels, distance, n_bins, coarseness, dimension != "3D")
    return SizeMatrix(counts, np.arange(1, counts.shape[-1] + 1))


def feature_values(counts: np.ndarray, n_voxels: np.ndarray | float) -> dict[str, np.ndarray]:
    """The 17 IBSI NGLDM features of each matrix of a stack (..., Ng, K), dependences 1..K.

    Formulas: :func:`ildrad.radiomics._texture_common.size_matrix_features` with :math:`j`
    the dependence count (lde, hde, lgce, hgce, ldlge, ldhge, hdlge, hdhge, glnu, glnu_norm,
    dcnu, dcnu_norm, dc_perc = :math:`N_s/N_v`, gl_var, dc_var, dc_entr, dc_energy).
    """
    generic = size_matrix_features(counts, np.arange(1, counts.shape[-1] + 1), n_voxels)
    return {name: generic[key] for name, key in FEATURES.items()}


def tags(settings: TextureSettings) -> list[str]:
    """The IBSI tags :func:`features` returns for ``settings``."""
    return [f"ngl_{n}_{DIMENSION_SUFFIX[d]}" for d in settings.dimensions for n in FEATURES]


def features(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, settings: TextureSettings
) -> dict[str, float]:
    """IBSI NGLDM features of a discretised ROI for every dimension in ``settings``.

    ``binned``: int32 (z, y, x) grey levels 1..``n_bins`` inside ``roi``, 0 outside.
    An empty ROI gives NaN for every tag.
    """
    levels, n_roi = checked_levels(binned, roi, n_bins, "NGLDM")
    if n_roi == 0:
        return nan_features(tags(settings))
    out: dict[str, float] = {}
    in_plane = None
    distance, alpha = settings.ngldm_distance, settings.ngldm_coarseness
    for dim in settings.dimensions:
        if dim == "3D":
            counts = _counts(levels, n_bins, "3D", distance, alpha).counts
        else:
            if in_plane is None:
                in_plane = _counts(levels, n_bins, "2D", distance, alpha).counts
            counts = in_plane if dim == "2D" else in_plane.sum(axis=0, keepdims=True)
        n_voxels = counts.sum(axis=(-2, -1))
        values = mean_of_nonempty(feature_values(counts, n_voxels), n_voxels > 0)
        out.update({f"ngl_{name}_{DIMENSION_SUFFIX[dim]}": values[name] for name in FEATURES})
    return out
