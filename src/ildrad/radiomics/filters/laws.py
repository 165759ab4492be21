"""Laws kernels and texture-energy maps (IBSI 2, "Laws kernels"; Laws 1980).

1D kernels (each divided by its L2 norm): L3 [1 2 1], E3 [-1 0 1], S3 [-1 2 -1],
L5 [1 4 6 4 1], E5 [-1 -2 0 2 1], S5 [-1 0 2 0 -1], W5 [-1 2 0 -2 1], R5 [1 -4 6 -4 1].
A kernel name lists the 1D kernels for x, y (and z) in that order; the 2D/3D kernel is their
outer product, applied as a true convolution. Rotation invariance pools the responses to the
24 (3D) or 4 (2D, in-plane) right-angle rotations of the kernel; the energy map is the mean of
the absolute pooled response over a window of ``2 delta + 1`` voxels per axis, with the same
boundary condition.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ildrad.radiomics.filters.boundary import scipy_mode
from ildrad.radiomics.filters.separable import (
    SeparableKernel,
    convolve_separable,
    pool,
    right_angle_rotations,
    rotate_separable,
)
from ildrad.radiomics.filters.spec import LawsSpec

__all__ = ["LAWS_KERNELS", "laws_filter", "laws_kernel"]

_RAW = {
    "L3": [1, 2, 1],
    "E3": [-1, 0, 1],
    "S3": [-1, 2, -1],
    "L5": [1, 4, 6, 4, 1],
    "E5": [-1, -2, 0, 2, 1],
    "S5": [-1, 0, 2, 0, -1],
    "W5": [-1, 2, 0, -2, 1],
    "R5": [1, -4, 6, -4, 1],
}

#: Laws' 1D kernels, each normalised to unit L2 norm.
LAWS_KERNELS: dict[str, np.ndarray] = {
    name: np.asarray(raw, dtype=np.float64) / np.linalg.norm(raw) for name, raw in _RAW.items()
}


def laws_kernel(spec: LawsSpec) -> SeparableKernel:
    """The separable kernel in array axis order (z, y, x); 2D specs leave axis 0 alone."""
    by_xyz = [LAWS_KERNELS[name] for name in spec.kernel_names]
    if spec.dims == "2d":
        return (None, by_xyz[1], by_xyz[0])
    return (by_xyz[2], by_xyz[1], by_xyz[0])


def laws_filter(
    array: np.ndarray, spacing: tuple[float, float, float], spec: LawsSpec
) -> np.ndarray:
    """Laws response (or energy) map of ``array`` (z, y, x); ``spacing`` unused (voxel kernels)."""
    kernel = laws_kernel(spec)
    if spec.rotation_invariance:
        axes = (1, 2) if spec.dims == "2d" else (0, 1, 2)
        response = pool(
            lambda rotation: convolve_separable(
                array, rotate_separable(kernel, rotation, axes), spec.boundary
            ),
            right_angle_rotations(axes),
            spec.pooling,
        )
    else:
        response = convolve_separable(array, kernel, spec.boundary)
    if spec.energy_delta_vox is None:
        return response
    window = 2 * spec.energy_delta_vox + 1
    size = (1, window, window) if spec.dims == "2d" else (window,) * 3
    return ndimage.uniform_filter(
        np.abs(response), size=size, mode=scipy_mode(spec.boundary), cval=0.0
    )
