"""Mean filter (IBSI 2, "mean filter"): the average over a centred window of M voxels per axis.

The kernel is ``1/M^d`` on an ``M^d`` support (d = 3, or 2 for slice-wise filtering); it is
applied as a separable box convolution with the IBSI boundary condition of the spec.
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics.filters.separable import convolve_separable
from ildrad.radiomics.filters.spec import MeanSpec

__all__ = ["mean_filter"]


def mean_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: MeanSpec
) -> np.ndarray:
    """Mean-filter ``array`` (z, y, x); ``spacing`` is unused (support is in voxels)."""
    box = np.full(spec.support_vox, 1.0 / spec.support_vox)
    kernel = (None if spec.dims == "2d" else box, box, box)
    return convolve_separable(array, kernel, spec.boundary)
