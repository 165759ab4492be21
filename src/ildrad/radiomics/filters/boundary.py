"""Boundary conditions (padding) of the IBSI 2 convolutional filters.

IBSI 2 (Depeursinge et al., arXiv:2006.05470, section "boundary conditions") names four ways to
extend an image beyond its edge before convolving:

* ``zero``: constant 0;
* ``nearest``: the edge voxel repeated (``a a a | a b c``);
* ``periodic``: wrap around (``b c | a b c | a b``);
* ``mirror``: symmetric reflection that includes the edge voxel (``c b a | a b c``).

The names differ between libraries: IBSI ``mirror`` is scipy.ndimage ``reflect`` and numpy
``symmetric`` (scipy's and numpy's own ``mirror``/``reflect`` leave the edge voxel out).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

__all__ = ["Boundary", "numpy_mode", "pad", "scipy_mode"]


class Boundary(StrEnum):
    """IBSI 2 boundary condition of a filter."""

    ZERO = "zero"
    NEAREST = "nearest"
    PERIODIC = "periodic"
    MIRROR = "mirror"


_SCIPY_MODES = {
    Boundary.ZERO: "constant",
    Boundary.NEAREST: "nearest",
    Boundary.PERIODIC: "wrap",
    Boundary.MIRROR: "reflect",
}

_NUMPY_MODES = {
    Boundary.ZERO: "constant",
    Boundary.NEAREST: "edge",
    Boundary.PERIODIC: "wrap",
    Boundary.MIRROR: "symmetric",
}


def scipy_mode(boundary: Boundary | str) -> str:
    """The ``mode`` argument of scipy.ndimage filters that gives this IBSI boundary condition."""
    return _SCIPY_MODES[Boundary(boundary)]


def numpy_mode(boundary: Boundary | str) -> str:
    """The ``mode`` argument of numpy.pad that gives this IBSI boundary condition."""
    return _NUMPY_MODES[Boundary(boundary)]


def pad(array: np.ndarray, widths: dict[int, int], boundary: Boundary | str) -> np.ndarray:
    """Extend ``array`` by ``widths[axis]`` voxels on both sides of each listed axis."""
    pad_width = [(widths.get(axis, 0),) * 2 for axis in range(array.ndim)]
    return np.pad(array, pad_width, mode=numpy_mode(boundary))
