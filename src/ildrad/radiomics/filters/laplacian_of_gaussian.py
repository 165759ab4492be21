"""Laplacian of Gaussian (IBSI 2, "Laplacian of Gaussian filter").

The kernel is the continuous LoG sampled at integer voxel offsets ``x`` with sigma in voxels
(``sigma_mm / spacing`` per axis), not renormalised:

    LoG(x) = G(x) * sum_a (x_a^2 / s_a^4 - 1 / s_a^2),
    G(x) = prod_a (2 pi s_a^2)^(-1/2) exp(-x_a^2 / (2 s_a^2)),

which for isotropic sigma is IBSI's
``-(1/s^2) (2 pi s^2)^(-d/2) (d - |x|^2/s^2) exp(-|x|^2/(2 s^2))``.
Support per axis: ``1 + 2 floor(cutoff_sd * s_a + 0.5)`` voxels. The kernel is the sum over axes
``a`` of separable terms (second derivative along ``a``, Gaussian along the others), so it is
applied exactly as a sum of separable convolutions (direct 1D passes, or one FFT for wide
kernels).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as scipy_fft
from scipy import ndimage

from ildrad.radiomics.filters.boundary import numpy_mode, scipy_mode
from ildrad.radiomics.filters.spec import LaplacianOfGaussianSpec

__all__ = ["log_filter", "log_filter_direct", "log_filter_fourier", "log_kernel_terms"]


def log_kernel_terms(sigma_vox: float, cutoff_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """1D Gaussian and its second derivative sampled on the truncated support (voxel units)."""
    half = int(math.floor(cutoff_sd * sigma_vox + 0.5))
    x = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(x**2) / (2.0 * sigma_vox**2)) / math.sqrt(2.0 * math.pi * sigma_vox**2)
    second = gauss * (x**2 / sigma_vox**4 - 1.0 / sigma_vox**2)
    return gauss, second


#: From this 1D support (voxels) on, the Fourier route is faster than direct 1D passes.
FFT_MIN_SUPPORT = 13


def log_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: LaplacianOfGaussianSpec
) -> np.ndarray:
    """LoG response of ``array`` (z, y, x) with spacing (z, y, x) in mm.

    Both routes compute the same truncated-kernel convolution with the IBSI padding; the
    Fourier one is chosen for wide kernels.
    """
    axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
    terms = {axis: log_kernel_terms(spec.sigma_mm / spacing[axis], spec.cutoff_sd) for axis in axes}
    if max(len(terms[axis][0]) for axis in axes) >= FFT_MIN_SUPPORT:
        return log_filter_fourier(array, terms, spec.boundary)
    return log_filter_direct(array, terms, spec.boundary)


def log_filter_direct(
    array: np.ndarray, terms: dict[int, tuple[np.ndarray, np.ndarray]], boundary: str
) -> np.ndarray:
    """Direct 1D passes; ``terms[axis]`` = (Gaussian, second derivative) 1D kernels.

    Axis by axis: ``S_m = g_m * S_(m-1)`` (Gaussian so far) and
    ``T_m = g_m * T_(m-1) + g''_m * S_(m-1)`` (LoG so far), i.e. 7 1D passes in 3D instead of 9.
    """
    mode = scipy_mode(boundary)
    axes = sorted(terms)
    smoothed = np.asarray(array, dtype=np.float64)
    laplacian: np.ndarray | None = None
    for position, axis in enumerate(axes):
        gauss, second = terms[axis]
        term = ndimage.convolve1d(smoothed, second, axis=axis, mode=mode, cval=0.0)
        if laplacian is not None:
            term += ndimage.convolve1d(laplacian, gauss, axis=axis, mode=mode, cval=0.0)
        laplacian = term
        if position < len(axes) - 1:
            smoothed = ndimage.convolve1d(smoothed, gauss, axis=axis, mode=mode, cval=0.0)
    assert laplacian is not None
    return laplacian


def log_filter_fourier(
    array: np.ndarray, terms: dict[int, tuple[np.ndarray, np.ndarray]], boundary: str
) -> np.ndarray:
    """One real FFT convolution over the array padded by the kernel half-widths.

    The padded length per axis is at least ``n + 2 half``, so the circular convolution equals
    the linear one on the original voxels. The kernel spectrum is the sum over axes of products
    of 1D spectra (second derivative along one axis, Gaussian along the others).
    """
    axes = sorted(terms)
    halves = {axis: len(terms[axis][0]) // 2 for axis in axes}
    lengths = {
        axis: scipy_fft.next_fast_len(array.shape[axis] + 2 * halves[axis], real=True)
        for axis in axes
    }
    widths = [
        (halves[a], lengths[a] - array.shape[a] - halves[a]) if a in terms else (0, 0)
        for a in range(array.ndim)
    ]
    padded = np.pad(np.asarray(array, dtype=np.float64), widths, mode=numpy_mode(boundary))
    last = axes[-1]

    def spectrum_1d(kernel: np.ndarray, axis: int) -> np.ndarray:
        placed = np.zeros(lengths[axis])
        placed[: len(kernel)] = kernel
        placed = np.roll(placed, -halves[axis])
        values = scipy_fft.rfft(placed) if axis == last else scipy_fft.fft(placed)
        shape = [1] * array.ndim
        shape[axis] = len(values)
        return values.reshape(shape)

    gauss = {axis: spectrum_1d(terms[axis][0], axis) for axis in axes}
    second = {axis: spectrum_1d(terms[axis][1], axis) for axis in axes}
    kernel_spectrum = sum(math.prod(second[b] if b == a else gauss[b] for b in axes) for a in axes)
    image_spectrum = scipy_fft.rfftn(padded, axes=axes)
    image_spectrum *= kernel_spectrum
    out = scipy_fft.irfftn(image_spectrum, s=[lengths[a] for a in axes], axes=axes)
    inner = tuple(
        slice(halves[a], halves[a] + array.shape[a]) if a in terms else slice(None)
        for a in range(array.ndim)
    )
    return np.ascontiguousarray(out[inner])
