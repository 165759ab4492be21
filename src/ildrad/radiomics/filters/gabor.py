"""Gabor filter (IBSI 2, "Gabor filter"): modulus of a complex 2D convolution.

Kernel over in-plane offsets (u along the plane's first axis, v along its second, in mm):

    g(u, v) = exp(-(u'^2 + gamma^2 v'^2) / (2 sigma^2)) * exp(i 2 pi u' / lambda),
    u' = u cos(theta) + v sin(theta),   v' = -u sin(theta) + v cos(theta),

not normalised (envelope peak 1). For the axial plane u is x and v is y, so positive theta turns
from +x towards +y. ``dims: 3d`` applies the filter in the x-y, x-z and y-z planes and pools the
maps; rotation invariance pools orientations ``theta + n * step`` as well (IBSI 2 pools all
plane/orientation maps together). The convolution is done with FFTs on an explicitly padded
block of slices, so every IBSI boundary condition is exact.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import fftconvolve

from ildrad.radiomics.filters.boundary import pad
from ildrad.radiomics.filters.separable import pool
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


def _plane_modulus(
    array: np.ndarray, kernel: np.ndarray, plane: tuple[int, int], boundary: str
) -> np.ndarray:
    """|array * kernel| in the plane (u_axis, v_axis), slab by slab along the third axis."""
    u_axis, v_axis = plane
    other = 3 - u_axis - v_axis
    half = kernel.shape[0] // 2
    # Arrange the kernel as [v, u] on the array's axis order, with size 1 on the other axis.
    kernel_3d = np.expand_dims(kernel if v_axis < u_axis else kernel.T, axis=other)
    slab_voxels = (array.shape[u_axis] + 2 * half) * (array.shape[v_axis] + 2 * half)
    step = max(1, _BLOCK_VOXELS // slab_voxels)
    out = np.empty(array.shape, dtype=np.float64)
    for start in range(0, array.shape[other], step):
        index = [slice(None)] * 3
        index[other] = slice(start, start + step)
        padded = pad(array[tuple(index)], {u_axis: half, v_axis: half}, boundary)
        response = fftconvolve(padded, kernel_3d, mode="valid", axes=(u_axis, v_axis))
        out[tuple(index)] = np.abs(response)
    return out


def gabor_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: GaborSpec
) -> np.ndarray:
    """Gabor modulus map of ``array`` (z, y, x), pooled over planes and orientations."""
    planes = _ORTHOGONAL_PLANES if spec.dims == "3d" else (_AXIAL_PLANE,)
    values = np.asarray(array, dtype=np.float64)

    def response(item: tuple[tuple[int, int], float]) -> np.ndarray:
        plane, theta_deg = item
        support = spec.support_vox or _default_support(values.shape, plane)
        kernel = gabor_kernel(
            spec, math.radians(theta_deg), (spacing[plane[0]], spacing[plane[1]]), support
        )
        return _plane_modulus(values, kernel, plane, spec.boundary)

    items = [(plane, theta) for plane in planes for theta in spec.thetas_deg]
    return pool(response, items, spec.pooling)


def _default_support(shape: tuple[int, ...], plane: tuple[int, int]) -> int:
    """IBSI 2 reference support: the larger in-plane image size, rounded up to odd."""
    size = max(shape[plane[0]], shape[plane[1]])
    return size if size % 2 == 1 else size + 1
