"""Simoncelli isotropic wavelet (IBSI 2, "Simoncelli wavelets"; Portilla & Simoncelli 2000).

Defined in the Fourier domain by its radial profile, with ``w`` the norm of the angular
frequency vector in radians per voxel:

    psi(w) = cos(pi/2 * log2(2 w / pi))   for pi/4 < w <= pi,   0 otherwise,

and level ``j`` uses ``psi(2^(j-1) w)`` (the pass band halves at each level, nothing is
downsampled). The filter is applied by multiplying the discrete Fourier transform, i.e. with
periodic boundary conditions. The profile is real and even, so the response is real.
"""

from __future__ import annotations

import numpy as np

from ildrad.radiomics.filters.spec import SimoncelliSpec

__all__ = ["simoncelli_filter", "simoncelli_profile"]


def simoncelli_profile(frequency: np.ndarray, level: int) -> np.ndarray:
    """Radial transfer function at angular frequencies ``frequency`` (rad/voxel) for ``level``."""
    scaled = np.asarray(frequency, dtype=np.float64) * 2 ** (level - 1)
    band = (scaled > np.pi / 4) & (scaled <= np.pi)
    out = np.zeros_like(scaled)
    out[band] = np.cos(np.pi / 2 * np.log2(2 * scaled[band] / np.pi))
    return out


def simoncelli_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: SimoncelliSpec
) -> np.ndarray:
    """Simoncelli band-pass response of ``array`` (z, y, x); voxel frequencies, periodic."""
    axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
    grids = np.meshgrid(
        *[2 * np.pi * np.fft.fftfreq(array.shape[axis]) for axis in axes],
        indexing="ij",
        sparse=True,
    )
    radius = np.sqrt(sum(g**2 for g in grids))
    transfer = simoncelli_profile(radius, spec.level)
    if spec.dims == "2d":
        transfer = transfer[np.newaxis]
    spectrum = np.fft.fftn(np.asarray(array, dtype=np.float64), axes=axes)
    return np.real(np.fft.ifftn(spectrum * transfer, axes=axes))
