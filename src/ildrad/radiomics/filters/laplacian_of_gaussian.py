"""Laplacian of Gaussian (IBSI 2, "Laplacian of Gaussian filter").

The kernel is the continuous LoG sampled at integer voxel offsets ``x`` with sigma in voxels
(``sigma_mm / spacing`` per axis), not renormalised:

    LoG(x) = G(x) * sum_a (x_a^2 / s_a^4 - 1 / s_a^2),
    G(x) = prod_a (2 pi s_a^2)^(-1/2) exp(-x_a^2 / (2 s_a^2)),

which for isotropic sigma is IBSI's
``-(1/s^2) (2 pi s^2)^(-d/2) (d - |x|^2/s^2) exp(-|x|^2/(2 s^2))``.
Support per axis: ``1 + 2 floor(cutoff_sd * s_a + 0.5)`` voxels. The kernel is the sum over axes
``a`` of separable terms (second derivative along ``a``, Gaussian along the others), so it is
applied exactly as ``d`` separable convolutions.
"""

from __future__ import annotations

import math

import numpy as np

from ildrad.radiomics.filters.separable import convolve_separable
from ildrad.radiomics.filters.spec import LaplacianOfGaussianSpec

__all__ = ["log_filter", "log_kernel_terms"]


def log_kernel_terms(sigma_vox: float, cutoff_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """1D Gaussian and its second derivative sampled on the truncated support (voxel units)."""
    half = int(math.floor(cutoff_sd * sigma_vox + 0.5))
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(x**2) / (2.0 * sigma_vox**2)) / math.sqrt(2.0 * math.pi * sigma_vox**2)
    second = gauss * (x**2 / sigma_vox**4 - 1.0 / sigma_vox**2)
    return gauss, second


def log_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: LaplacianOfGaussianSpec
) -> np.ndarray:
    """LoG response of ``array`` (z, y, x) with spacing (z, y, x) in mm."""
    axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
    terms = {axis: log_kernel_terms(spec.sigma_mm / spacing[axis], spec.cutoff_sd) for axis in axes}
    out = np.zeros(array.shape, dtype=np.float64)
    for derivative_axis in axes:
        kernel = tuple(
            None if axis not in axes else terms[axis][1 if axis == derivative_axis else 0]
            for axis in range(3)
        )
        out += convolve_separable(array, kernel, spec.boundary)
    return out
