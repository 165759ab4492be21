"""Laplacian of Gaussian (IBSI 2, "Laplacian of Gaussian filter").

The kernel is the continuous LoG sampled at integer voxel offsets ``x`` with sigma in voxels
(``sigma_mm / spacing`` per axis), not renormalised:

    LoG(x) = G(x) * sum_a (x_a^2 / s_a^4 - 1 / s_a^2),
    G(x) = prod_a (2 pi s_a^2)^(-1/2) exp(-x_a^2 / (2 s_a^2)),

which for isotropic sigma is IBSI's
``-(1/s^2) (2 pi s^2)^(-d/2) (d - |x|^2/s^2) exp(-|x|^2/(2 s^2))``.
Support per axis: ``1 + 2 floor(cutoff_sd * s_a + 0.5)`` voxels. The kernel is the sum over axes
``a`` of separable terms (second derivative along ``a``, Gaussian along the others), so it is
applied exactly as a sum of separable convolutions.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ildrad.radiomics.filters.boundary import scipy_mode
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
    """LoG response of ``array`` (z, y, x) with spacing (z, y, x) in mm.

    Axis by axis: ``S_m = g_m * S_(m-1)`` (Gaussian so far) and
    ``T_m = g_m * T_(m-1) + g''_m * S_(m-1)`` (LoG so far), i.e. 7 1D passes in 3D instead of 9.
    """
    axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
    mode = scipy_mode(spec.boundary)
    smoothed = np.asarray(array, dtype=np.float64)
    laplacian: np.ndarray | None = None
    for position, axis in enumerate(axes):
        gauss, second = log_kernel_terms(spec.sigma_mm / spacing[axis], spec.cutoff_sd)
        term = ndimage.convolve1d(smoothed, second, axis=axis, mode=mode, cval=0.0)
        if laplacian is not None:
            term += ndimage.convolve1d(laplacian, gauss, axis=axis, mode=mode, cval=0.0)
        laplacian = term
        if position < len(axes) - 1:
            smoothed = ndimage.convolve1d(smoothed, gauss, axis=axis, mode=mode, cval=0.0)
    assert laplacian is not None
    return laplacian
