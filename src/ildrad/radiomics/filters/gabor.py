"""Gabor filter (IBSI 2, "Gabor filter"): modulus of a complex 2D convolution.

Kernel over in-plane offsets (u along the plane's first axis, v along its second, in mm):

    g(u, v) = exp(-(u'^2 + gamma^2 v'^2) / (2 sigma^2)) * exp(i 2 pi u' / lambda),
    u' = u cos(theta) + v sin(theta),   v' = -u sin(theta) + v cos(theta),

not normalised (envelope peak 1). For the axial plane u is x and v is y, so positive theta turns
from +x towards +y. ``dims: 3d`` applies the filter in the x-y, x-z and y-z planes and pools the
maps; rotation invariance pools orientations ``theta + n * step`` as well (IBSI 2 pools all
plane/orientation maps together). The convolution is done with FFTs on an explicitly padded
block of slices (circular convolution over the padded size), so every IBSI boundary condition
is exact.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as scipy_fft

from ildrad.radiomics.filters.boundary import pad
from ildrad.radiomics.filters.separable import Pooling
from ildrad.radiomics.filters.spec import GaborSpec

__all__ = ["gabor_filter", "gabor_kernel"]

#: Planes as (u axis, v axis) in array axes (z, y, x) = (0, 1, 2): x-y, x-z, y-z.
_AXIAL_PLANE = (2, 1)
_ORTHOGONAL_PLANES = ((2, 1), (2, 0), (1, 0))
#: Upper bound on the complex working block, in voxels (about 0.5 GiB at 16 bytes each).
_BLOCK_VOXELS = 32 * 1024 * 1024


def gabor_kernel(
    spec: GaborSpec, theta_rad: float, spacing_uv: tuple[float, float], support: int
) -> np.ndarray:
    """Complex kernel indexed ``[v, u]`` (offsets ``-(support//2) .. support//2`` voxels)."""
    half = support // 2
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    v, u = np.meshgrid(offsets * spacing_uv[1], offsets * spacing_uv[0], indexing="ij")
    u_rot = u * math.cos(theta_rad) + v * math.sin(theta_rad)
    v_rot = -u * math.sin(theta_rad) + v * math.cos(theta_rad)
    envelope = np.exp(-(u_rot**2 + spec.gamma**2 * v_rot**2) / (2.0 * spec.sigma_mm**2))
    return envelope * np.exp(1j * 2.0 * math.pi * u_rot / spec.lambda_mm)


def _circular_kernel_spectrum(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """2D FFT of ``kernel`` ([v, u], centred) placed for circular convolution on ``shape``."""
    half = kernel.shape[0] // 2
    placed = np.zeros(shape, dtype=np.complex128)
    placed[: kernel.shape[0], : kernel.shape[1]] = kernel
    return scipy_fft.fft2(np.roll(placed, (-half, -half), axis=(0, 1)))


def _pool_plane(
    values: np.ndarray,
    kernels: list[np.ndarray],
    plane: tuple[int, int],
    boundary: str,
    pooled: np.ndarray,
    pooling: Pooling,
) -> None:
    """Pool |values * kernel| for every kernel (in one plane) into ``pooled``, slab by slab.

    Each slab is padded by the kernel's half-width with the boundary condition and transformed
    once; a circular convolution over the padded size is then exact on the original voxels.
    """
    u_axis, v_axis = plane
    other = 3 - u_axis - v_axis
    half = kernels[0].shape[0] // 2
    # Work on (other, v, u) so that every plane is handled the same way.
    moved = np.moveaxis(values, (other, v_axis, u_axis), (0, 1, 2))
    target = np.moveaxis(pooled, (other, v_axis, u_axis), (0, 1, 2))
    padded_shape = (moved.shape[1] + 2 * half, moved.shape[2] + 2 * half)
    spectra = [_circular_kernel_spectrum(kernel, padded_shape) for kernel in kernels]
    step = max(1, _BLOCK_VOXELS // (padded_shape[0] * padded_shape[1]))
    inner = (slice(None), slice(half, half + moved.shape[1]), slice(half, half + moved.shape[2]))
    for start in range(0, moved.shape[0], step):
        block = slice(start, start + step)
        image_spectrum = scipy_fft.fft2(
            pad(moved[block], {1: half, 2: half}, boundary), axes=(1, 2)
        )
        for spectrum in spectra:
            modulus = np.abs(scipy_fft.ifft2(image_spectrum * spectrum, axes=(1, 2))[inner])
            if pooling is Pooling.MAX:
                np.maximum(target[block], modulus, out=target[block])
            else:
                target[block] += modulus


def gabor_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: GaborSpec
) -> np.ndarray:
    """Gabor modulus map of ``array`` (z, y, x), pooled over planes and orientations."""
    planes = _ORTHOGONAL_PLANES if spec.dims == "3d" else (_AXIAL_PLANE,)
    values = np.asarray(array, dtype=np.float64)
    pooled = np.full(values.shape, -np.inf if spec.pooling is Pooling.MAX else 0.0)
    for plane in planes:
        support = spec.support_vox or _default_support(values.shape, plane)
        spacing_uv = (spacing[plane[0]], spacing[plane[1]])
        kernels = [
            gabor_kernel(spec, math.radians(theta), spacing_uv, support)
            for theta in spec.thetas_deg
        ]
        _pool_plane(values, kernels, plane, spec.boundary, pooled, spec.pooling)
    if spec.pooling is Pooling.MEAN:
        pooled /= len(planes) * len(spec.thetas_deg)
    return pooled


def _default_support(shape: tuple[int, ...], plane: tuple[int, int]) -> int:
    """IBSI 2 reference support: the larger in-plane image size, rounded up to odd."""
    size = max(shape[plane[0]], shape[plane[1]])
    return size if size % 2 == 1 else size + 1
