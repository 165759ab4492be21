r"""Grey level run length matrix (GLRLM) features, IBSI 1 section 3.7 (tags ``rlm_*``).

:math:`r_{ij}` counts runs (maximal collinear sequences of ROI voxels of equal grey level
along one direction) of level :math:`i` and length :math:`j`: one matrix per direction, 4
in-plane directions for 2D/2.5D and 13 for 3D. :math:`N_v` of a matrix is the number of ROI
voxels it was counted on; merging matrices adds their :math:`N_v` (so ``rlm_r_perc`` of a
merged matrix is runs over voxels x directions, as IBSI prescribes).

Counting is one compiled pass per direction (:func:`matrices`); the features are the shared
grey-level x size formulas of
:func:`ildrad.radiomics._texture_common.size_matrix_features` with :math:`j` the run length.
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics import _texture_kernels as kernels
from ildrad.radiomics._texture_common import (
    DIMENSION_SUFFIX,
    DIRECTIONS_2D,
    DIRECTIONS_3D,
    SizeMatrix,
    aggregate_directional,
    checked_levels,
    nan_features,
    size_matrix_features,
)
from ildrad.radiomics.texture_settings import TextureSettings

__all__ = ["FEATURES", "feature_values", "features", "matrices", "tags"]

#: IBSI name of each GLRLM feature -> key of the shared grey-level x size formulas.
FEATURES = {
    "sre": "small_emph",
    "lre": "large_emph",
    "lgre": "low_grey_emph",
    "hgre": "high_grey_emph",
    "srlge": "small_low_grey_emph",
    "srhge": "small_high_grey_emph",
    "lrlge": "large_low_grey_emph",
    "lrhge": "large_high_grey_emph",
    "glnu": "grey_nonuni",
    "glnu_norm": "grey_nonuni_norm",
    "rlnu": "size_nonuni",
    "rlnu_norm": "size_nonuni_norm",
    "r_perc": "percentage",
    "gl_var": "grey_var",
    "rl_var": "size_var",
    "rl_entr": "entropy",
}

#: Above this many matrix cells, the run-length axis is first trimmed to the longest run.
_DENSE_CELLS_LIMIT = 1 << 24


def matrices(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, dimension: str = "3D"
) -> tuple[SizeMatrix, np.ndarray]:
    """Run-length counts and the voxel count of each matrix.

    Returns ``(SizeMatrix(counts (slabs, directions, Ng, L), lengths 1..L), n_voxels
    (slabs, directions))``. "3D": one slab, 13 directions (:data:`DIRECTIONS_3D`); "2D": one
    slab per slice, the 4 in-plane directions (:data:`DIRECTIONS_2D`).
    """
    levels, _ = checked_levels(binned, roi, n_bins, "GLRLM")
    return _counts(levels, roi, n_bins, dimension)


def _counts(levels: np.ndarray, roi: np.ndarray, n_bins: int, dimension: str):
    in_plane = dimension != "3D"
    offsets = DIRECTIONS_2D if in_plane else DIRECTIONS_3D
    n_slabs = levels.shape[0] if in_plane else 1
    longest = max(levels.shape[1:] if in_plane else levels.shape)
    if n_slabs * len(offsets) * n_bins * longest > _DENSE_CELLS_LIMIT:
        longest = max(int(kernels.max_run_length(levels, offsets)), 1)
    counts = kernels.run_length_counts(levels, offsets, n_bins, in_plane, longest)
    occurring = np.flatnonzero(counts.reshape(-1, longest).any(axis=0))
    longest = int(occurring[-1]) + 1 if occurring.size else 1
    counts = counts[..., :longest]  # up to the longest run: features need no empty tail
    voxels = roi.sum(axis=(1, 2)) if in_plane else np.array([roi.sum()])
    n_voxels = np.repeat(voxels[:, None].astype(np.float64), len(offsets), axis=1)
    return SizeMatrix(counts, np.arange(1, longest + 1)), n_voxels


def feature_values(counts: np.ndarray, n_voxels: np.ndarray) -> dict[str, np.ndarray]:
    """The 16 IBSI GLRLM features of each matrix of a stack (..., Ng, L), lengths 1..L.

    Formulas: :func:`ildrad.radiomics._texture_common.size_matrix_features` with :math:`j`
    the run length (sre, lre, lgre, hgre, srlge, srhge, lrlge, lrhge, glnu, glnu_norm, rlnu,
    rlnu_norm, r_perc = :math:`N_s/N_v`, gl_var, rl_var, rl_entr).
    """
    generic = size_matrix_features(counts, np.arange(1, counts.shape[-1] + 1), n_voxels)
    return {name: generic[key] for name, key in FEATURES.items()}


def tags(settings: TextureSettings) -> list[str]:
    """The IBSI tags :func:`features` returns for ``settings``."""
    return [
        f"rlm_{name}_{DIMENSION_SUFFIX[dim]}_{method}"
        for dim in settings.dimensions
        for method in settings.direction_aggregation
        for name in FEATURES
    ]


def features(
    binned: np.ndarray, roi: np.ndarray, n_bins: int, settings: TextureSettings
) -> dict[str, float]:
    """IBSI GLRLM features of a discretised ROI, for every dimension and aggregation in settings.

    ``binned``: int32 (z, y, x) grey levels 1..``n_bins`` inside ``roi``, 0 outside.
    An empty ROI gives NaN for every tag.
    """
    levels, n_roi = checked_levels(binned, roi, n_bins, "GLRLM")
    if n_roi == 0:
        return nan_features(tags(settings))
    out: dict[str, float] = {}
    per_slice = None
    for dim in settings.dimensions:
        if dim == "3D":
            matrix, n_voxels = _counts(levels, roi, n_bins, "3D")
            counts = matrix.counts
        else:
            if per_slice is None:
                per_slice = _counts(levels, roi, n_bins, "2D")
            matrix, n_voxels = per_slice
            counts = matrix.counts
            if dim == "2.5D":
                counts = counts.sum(axis=0, keepdims=True)
                n_voxels = n_voxels.sum(axis=0, keepdims=True)
        by_method = aggregate_directional(
            counts, n_voxels, feature_values, settings.direction_aggregation
        )
        for method, values in by_method.items():
            suffix = f"{DIMENSION_SUFFIX[dim]}_{method}"
            out.update({f"rlm_{name}_{suffix}": values[name] for name in FEATURES})
    return out
