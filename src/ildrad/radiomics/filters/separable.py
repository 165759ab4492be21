"""Separable convolution, right-angle kernel rotations and orientation pooling (IBSI 2).

A separable filter is given as one centred, odd-length 1D kernel per array axis (``None`` leaves
an axis untouched); :func:`convolve_separable` applies it as a true convolution: the response to
an impulse shows each 1D kernel with increasing index along its axis, centred on the impulse.

Rotation invariance (IBSI 2, "rotation invariance"): the kernel is turned about its central
voxel by every proper right-angle rotation (24 in 3D, 4 in the plane of a 2D filter), the image
is filtered with each, and the responses are pooled voxel-wise (signed maximum or mean). For a
separable kernel a right-angle rotation only moves each 1D kernel to another axis, possibly
reversed, so every rotated filter is again separable.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TypeVar

import numpy as np
from scipy import ndimage

from ildrad.radiomics.filters.boundary import Boundary, scipy_mode

__all__ = [
    "Pooling",
    "SeparableKernel",
    "convolve_separable",
    "pool",
    "right_angle_rotations",
    "rotate_separable",
]

T = TypeVar("T")

#: One centred odd-length 1D kernel (or None) per array axis (z, y, x).
SeparableKernel = tuple[np.ndarray | None, ...]


class Pooling(StrEnum):
    """How responses to rotated kernels are combined voxel-wise."""

    MAX = "max"  #: signed maximum (not of the absolute value), IBSI 2
    MEAN = "mean"  #: equal-weight average


def convolve_separable(
    array: np.ndarray, kernel: SeparableKernel, boundary: Boundary | str
) -> np.ndarray:
    """Convolve ``array`` with a separable kernel, one 1D pass per axis, IBSI padding."""
    mode = scipy_mode(boundary)
    out = np.asarray(array, dtype=np.float64)
    for axis, weights in enumerate(kernel):
        if weights is None:
            continue
        if len(weights) % 2 != 1:
            raise ValueError(f"1D kernels must have odd length to be centred, got {len(weights)}")
        out = ndimage.convolve1d(out, weights, axis=axis, mode=mode, cval=0.0)
    return out


def right_angle_rotations(axes: Sequence[int]) -> list[np.ndarray]:
    """Proper right-angle rotations (signed permutation matrices, det +1) acting on ``axes``.

    Three axes give the 24 rotations of the cube, two give the 4 in-plane rotations. The identity
    comes first. Matrix ``R`` maps offset ``p`` (over ``axes``) to ``R @ p``.
    """
    n = len(axes)
    rotations = []
    for perm in itertools.permutations(range(n)):
        for signs in itertools.product((1, -1), repeat=n):
            matrix = np.zeros((n, n), dtype=int)
            for row, col in enumerate(perm):
                matrix[row, col] = signs[row]
            if round(np.linalg.det(matrix)) == 1:
                rotations.append(matrix)
    rotations.sort(key=lambda m: not np.array_equal(m, np.eye(n, dtype=int)))
    return rotations


def rotate_separable(
    kernel: SeparableKernel, rotation: np.ndarray, axes: Sequence[int]
) -> SeparableKernel:
    """The separable kernel turned by ``rotation`` (over ``axes``) about its central voxel.

    The rotated kernel is ``k'(p) = k(R^T p)``: the 1D kernel of axis ``a`` moves to the axis
    ``b`` with ``R[b, a] != 0`` and is reversed when that entry is -1.
    """
    rotated: list[np.ndarray | None] = list(kernel)
    for a_pos, a_axis in enumerate(axes):
        b_pos = int(np.flatnonzero(rotation[:, a_pos])[0])
        weights = kernel[a_axis]
        if weights is not None and rotation[b_pos, a_pos] < 0:
            weights = weights[::-1]
        rotated[axes[b_pos]] = weights
    return tuple(rotated)


def pool(
    responses: Callable[[T], np.ndarray], items: Sequence[T], pooling: Pooling | str
) -> np.ndarray:
    """Pool ``responses(item)`` over ``items`` (rotations, orientations) voxel-wise.

    Only one running map is kept besides the current response.
    """
    if not items:
        raise ValueError("nothing to pool")
    pooling = Pooling(pooling)
    result = np.array(responses(items[0]), dtype=np.float64)
    for item in items[1:]:
        response = responses(item)
        if pooling is Pooling.MAX:
            np.maximum(result, response, out=result)
        else:
            result += response
    if pooling is Pooling.MEAN:
        result /= len(items)
    return result
