r"""Grey level distance zone matrix (GLDZM) features, IBSI 1 section 3.9 (tags ``dzm_*``).

Zones are those of the GLSZM (equal grey level, linked at Chebyshev distance 1). The distance
of a voxel is its taxicab distance to the ROI border: the number of 6-connected steps in 3D
(4-connected in-plane steps in 2D/2.5D) to reach a voxel outside the mask, so border voxels
have distance 1. As in the IBSI 1 manual, the distance map is computed on the MORPHOLOGICAL
mask (``morph_roi``: the ROI before re-segmentation), so that holes left by re-segmentation do
not count as borders; ``morph_roi=None`` uses the intensity ROI. The zone distance is the
smallest distance of its voxels; :math:`d_{ij}` counts zones of level :math:`i` and distance
:math:`j`.

``binned``, ``roi`` and ``morph_roi`` share one grid; when the morphological mask is larger than
the intensity ROI, crop all three to the morphological mask's bounding box (voxels beyond the
array count as outside the mask).
"""

from __future__ import annotations

import numpy as np

from ildrad.errors import InputError
from ildrad.radiomics import _texture_kernels as kernels
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

__all__ = ["FEATURES", "border_distance", "feature_values", "features", "matrix", "tags"]

#: IBSI name of each GLDZM feature -> key of the shared grey-level x size formulas.
FEATURES = {
    "sde": "small_emph",
    "lde": "large_emph",
    "lgze": "low_grey_emph",
    "hgze": "high_grey_emph",
    "sdlge": "small_low_grey_emph",
    "sdhge": "small_high_grey_emph",
    "ldlge": "large_low_grey_emph",
    "ldhge": "large_high_grey_emph",
    "glnu": "grey_nonuni",
    "glnu_norm": "grey_nonuni_norm",
    "zdnu": "size_nonuni",
    "zdnu_norm": "size_nonuni_norm",
    "z_perc": "percentage",
    "gl_var": "grey_var",
    "zd_var": "size_var",
    "zd_entr": "entropy",
}


def border_distance(mask: np.ndarray, in_plane: bool = False) -> np.ndarray:
    """Taxicab distance (int32) of each mask voxel to the nearest voxel outside it (border = 1).

    ``in_plane``: 4-connected steps within each slice; otherwise 6-connected. Outside = 0.
    """
    return kernels.border_distance(np.ascontiguousarray(mask, dtype=bool), in_plane)


def _distance_map(roi: np.ndarray, morph_roi: np.ndarray | None, in_plane: bool) -> np.ndarray:
    if morph_roi is None:
        return border_distance(roi, in_plane)
    if morph_roi.shape != roi.shape:
        raise InputError(
            f"GLDZM: morphological mask {morph_roi.shape} and ROI {roi.shape} must share a grid"
        )
    morph = np.ascontiguousarray(morph_roi, dtype=bool)
    if np.any(roi & ~morph):
        raise InputError("GLDZM: the intensity ROI must lie inside the morphological mask")
    return border_distance(morph, in_plane)


def matrix(
    binned: np.ndarray,
    roi: np.ndarray,
    n_bins: int,
    dimension: str = "3D",
    *,
    morph_roi: np.ndarray | None = None,
) -> SizeMatrix:
    """The distance zone matrix: "3D" volumetric zones and distances; "2D" in-plane zones and
    distances of all slices merged (the 2.5D matrix)."""
    levels, n_roi = checked_levels(binned, roi, n_bins, "GLDZM")
    in_plane = dimension != "3D"
    grey, _, dist, _ = zone_records(levels, in_plane, _distance_map(roi, morph_roi, in_plane))
    return compact_size_matrix(grey, dist, n_bins)


def feature_values(
    counts: np.ndarray, distances: np.ndarray, n_voxels: np.ndarray | float
) -> dict[str, np.ndarray]:
    """The 16 IBSI GLDZM features of a matrix (..., Ng, Nc) with zone distances ``distances``.

    Formulas: :func:`ildrad.radiomics._texture_common.size_matrix_features` with :math:`j`
    the zone distance (sde, lde, lgze, hgze, sdlge, sdhge, ldlge, ldhge, glnu, glnu_norm,
    zdnu, zdnu_norm, z_perc = :math:`N_s/N_v`, gl_var, zd_var, zd_entr).
    """
    generic = size_matrix_features(counts, distances, n_voxels)
    return {name: generic[key] for name, key in FEATURES.items()}


def tags(settings: TextureSettings) -> list[str]:
    """The IBSI tags :func:`features` returns for ``settings``."""
    return [f"dzm_{n}_{DIMENSION_SUFFIX[d]}" for d in settings.dimensions for n in FEATURES]


def features(
    binned: np.ndarray,
    roi: np.ndarray,
    n_bins: int,
    settings: TextureSettings,
    *,
    morph_roi: np.ndarray | None = None,
) -> dict[str, float]:
    """IBSI GLDZM features of a discretised ROI for every dimension in ``settings``.

    ``binned``: int32 (z, y, x) grey levels 1..``n_bins`` inside ``roi``, 0 outside;
    ``morph_roi``: the morphological mask on the same grid (distances to the border are
    measured on it; default: ``roi``). An empty ROI gives NaN for every tag.
    """
    levels, n_roi = checked_levels(binned, roi, n_bins, "GLDZM")
    if n_roi == 0:
        return nan_features(tags(settings))
    out: dict[str, float] = {}
    in_plane = None
    for dim in settings.dimensions:
        if dim == "3D":
            grey, _, dist, _ = zone_records(levels, False, _distance_map(roi, morph_roi, False))
            m = compact_size_matrix(grey, dist, n_bins)
            values = {k: float(v) for k, v in feature_values(m.counts, m.values, n_roi).items()}
        else:
            if in_plane is None:
                in_plane = zone_records(levels, True, _distance_map(roi, morph_roi, True))
            grey, _, dist, slices = in_plane
            if dim == "2D":
                values = per_slice_mean(
                    grey, dist, slices, roi.sum(axis=(1, 2)), n_bins, feature_values
                )
            else:
                m = compact_size_matrix(grey, dist, n_bins)
                values = {k: float(v) for k, v in feature_values(m.counts, m.values, n_roi).items()}
        out.update({f"dzm_{n}_{DIMENSION_SUFFIX[dim]}": values[n] for n in FEATURES})
    return out
