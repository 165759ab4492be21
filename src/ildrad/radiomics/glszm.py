r"""Grey level size zone matrix (GLSZM) features, IBSI 1 section 3.8 (tags ``szm_*``).

A zone is a group of ROI voxels of equal grey level linked at Chebyshev distance 1
(8-connected within a slice for 2D/2.5D, 26-connected in 3D). :math:`s_{ij}` counts zones of
level :math:`i` and size :math:`j` voxels; :math:`N_v` is the number of ROI voxels. ``_2D``
averages the features of each slice's matrix, ``_2_5D`` merges the slices' matrices, ``_3D``
uses volumetric zones.

Zones come from one multi-level connected-component labelling of the whole array (all grey
levels at once, ``cc3d``, see :func:`ildrad.radiomics._texture_common.zone_records`); the matrix
is stored compactly (only the zone sizes that occur,
:class:`~ildrad.radiomics._texture_common.SizeMatrix`).
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics._texture_common import (
    DIMENSION_SUFFIX,
    SizeMatrix,
    checked_levels,
    compact_size_matrix,
    nan_features,
    per_slice_mean,
    size_matrix_features,
    zone_records,
)
from ildrad.radiomics.texture_settings import TextureSettings

__all__ = ["FEATURES", "feature_values", "features", "matrix", "tags"]

#: IBSI name of each GLSZM feature -> key of the shared grey-level x size formulas.
FEATURES = {
    "sze": "small_emph",
    "lze": "large_emph",
    "lgze": "low_grey_emph",
    "hgze": "high_grey_emph",
    "szlge": "small_low_grey_emph",
    "szhge": "small_high_grey_emph",
    "lzlge": "large_low_grey_emph",
    "lzhge": "large_high_grey_emph",
    "glnu": "grey_nonuni",
    "glnu_norm": "grey_nonuni_norm",
    "zsnu": "size_nonuni",
    "zsnu_norm": "size_nonuni_norm",
    "z_perc": "percentage",
    "gl_var": "grey_var",
    "zs_var": "size_var",
    "zs_entr": "entropy",
}


def matrix(binned: np.ndarray, roi: np.ndarray, n_bins: int, dimension: str = "3D") -> SizeMatrix:
    """The size zone matrix: "3D" volumetric zones; "2D" in-plane zones of all slices merged
    (the 2.5D matrix; a single-slice array gives the 2D matrix of that slice)."""
    levels, n_roi = checked_levels(binned, roi, n_bins, "GLSZM")
    grey, size, _, _ = zone_records(levels, dimension != "3D")
    return compact_size_matrix(grey, size, n_bins)


def feature_values(
    counts: np.ndarray, sizes: np.ndarray, n_voxels: np.ndarray | float
) -> dict[str, np.ndarray]:
    """The 16 IBSI GLSZM features of a matrix (..., Ng, Nc) with zone sizes ``sizes``.

    Formulas: :func:`ildrad.radiomics._texture_common.size_matrix_features` with :math:`j`
    the zone size (sze, lze, lgze, hgze, szlge, szhge, lzlge, lzhge, glnu, glnu_norm, zsnu,
    zsnu_norm, z_perc = :math:`N_s/N_v`, gl_var, zs_var, zs_entr).
    """
    generic = size_matrix_features(counts, sizes, n_voxels)
    return {name: generic[key] for name, key in FEATURES.items()}


def tags(settings: TextureSettings) -> list[str]:
    """The IBSI tags :func:`features` returns for ``settings``."""
    return [f"szm_{n}_{DIMENSION_SUFFIX[d]}" for d in settings.dimensions for n in FEATURES]


def features(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, settings: TextureSettings
) -> dict[str, float]:
    """IBSI GLSZM features of a discretised ROI for every dimension in ``settings``.

    ``binned``: int32 (z, y, x) grey levels 1..``n_bins`` inside ``roi``, 0 outside.
    An empty ROI gives NaN for every tag.
    """
    levels, n_roi = checked_levels(binned, roi, n_bins, "GLSZM")
    if n_roi == 0:
        return nan_features(tags(settings))
    out: dict[str, float] = {}
    in_plane = None
    for dim in settings.dimensions:
        if dim == "3D":
            grey, size, _, _ = zone_records(levels, False)
            m = compact_size_matrix(grey, size, n_bins)
            values = {k: float(v) for k, v in feature_values(m.counts, m.values, n_roi).items()}
        else:
            if in_plane is None:
                in_plane = zone_records(levels, True)
            grey, size, _, slices = in_plane
            if dim == "2D":
                values = per_slice_mean(
                    grey, size, slices, roi.sum(axis=(1, 2)), n_bins, feature_values
                )
            else:
                m = compact_size_matrix(grey, size, n_bins)
                values = {k: float(v) for k, v in feature_values(m.counts, m.values, n_roi).items()}
        out.update({f"szm_{n}_{DIMENSION_SUFFIX[dim]}": values[n] for n in FEATURES})
    return out
