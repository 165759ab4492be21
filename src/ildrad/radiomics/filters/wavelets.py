"""Undecimated separable wavelets, "à trous" (IBSI 2, "separable wavelets").

Decomposition filters come from PyWavelets (``dec_lo``, ``dec_hi``; for the orthogonal
wavelets used here ``hi[m] = (-1)^(m+1) lo[N-1-m]``). A filter of even length N is used as a
convolution in which coefficient m acts at offset ``m - N/2`` (append one zero, centre the
odd-length result). Sub-band letters give the filter for x, y, z. Level ``l`` first applies
the low-pass on every axis at levels 1 .. l-1, then the sub-band filters at level l; level j
filters are dilated by ``2^(j-1)`` (zeros inserted between coefficients: coefficient m acts at
offset ``2^(j-1) (m - N/2)``). Nothing is downsampled. Rotation invariance turns the whole
chain (pre-filters and sub-band filters together) by each right-angle rotation and pools.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pywt

from ildrad.radiomics.filters.separable import (
    SeparableKernel,
    convolve_separable,
    pool,
    right_angle_rotations,
    rotate_separable,
)
from ildrad.radiomics.filters.spec import WaveletSpec

__all__ = ["centred_filter", "wavelet_chain", "wavelet_filter"]


@cache
def _bank(wavelet: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    bank = pywt.Wavelet(wavelet)
    return tuple(bank.dec_lo), tuple(bank.dec_hi)


def centred_filter(coefficients: tuple[float, ...], dilation: int) -> np.ndarray:
    """Odd-length centred kernel where coefficient m sits at offset ``dilation * (m - N // 2)``.

    For even N this is the IBSI alignment (offset ``m - N/2``); odd N are centred as they are.
    """
    n = len(coefficients)
    half = dilation * (n // 2)
    kernel = np.zeros(2 * half + 1)
    for m, value in enumerate(coefficients):
        kernel[half + dilation * (m - n // 2)] = value
    return kernel


def wavelet_chain(spec: WaveletSpec) -> list[SeparableKernel]:
    """The separable filters applied in turn, in array axis order (z, y, x)."""
    low, high = _bank(spec.wavelet)
    axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
    chain: list[SeparableKernel] = []
    for level in range(1, spec.level):
        lo = centred_filter(low, 2 ** (level - 1))
        chain.append(tuple(lo if axis in axes else None for axis in range(3)))
    dilation = 2 ** (spec.level - 1)
    letters_xyz = spec.subband.upper()
    final: list[np.ndarray | None] = [None, None, None]
    for position, letter in enumerate(letters_xyz):
        axis = 2 - position
        final[axis] = centred_filter(low if letter == "L" else high, dilation)
    chain.append(tuple(final))
    return chain


def _apply_chain(array: np.ndarray, chain: list[SeparableKernel], boundary: str) -> np.ndarray:
    out = array
    for kernel in chain:
        out = convolve_separable(out, kernel, boundary)
    return out


def wavelet_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: WaveletSpec
) -> np.ndarray:
    """Sub-band response map of ``array`` (z, y, x); ``spacing`` unused (voxel filters)."""
    chain = wavelet_chain(spec)
    if not spec.rotation_invariance:
        return _apply_chain(array, chain, spec.boundary)
    axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
    return pool(
        lambda rotation: _apply_chain(
            array, [rotate_separable(kernel, rotation, axes) for kernel in chain], spec.boundary
        ),
        right_angle_rotations(axes),
        spec.pooling,
    )
