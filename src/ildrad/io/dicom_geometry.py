"""Geometry of DICOM image planes and stacks, in ildrad's :class:`~ildrad.image.Grid` terms.

DICOM describes a slice by ImageOrientationPatient (IOP: the LPS direction of increasing column
index, then of increasing row index), ImagePositionPatient (IPP: LPS centre of the first
transmitted pixel) and PixelSpacing (row spacing, column spacing). ildrad's grid (z, y, x) maps
onto it as: array axis 2 (x) = IOP row cosines, axis 1 (y) = IOP column cosines, axis 0 (z) =
the slice normal ``row x column``; slices are sorted by ``normal . IPP`` ascending, which is
what ITK's / SimpleITK's ``ImageSeriesReader`` does (GDCM's IPP sorter).
"""

from __future__ import annotations

import numpy as np

from ildrad.image import Grid

__all__ = [
    "grid_from_stack",
    "orientation_of_grid",
    "slice_normal",
    "slice_positions_of_grid",
]

#: Two orientations (unit vectors) are the same when no cosine differs by more than this.
ORIENTATION_TOL = 1e-4


def slice_normal(iop: np.ndarray) -> np.ndarray:
    """Unit normal (LPS) of a slice with ImageOrientationPatient ``iop`` (6 cosines)."""
    iop = np.asarray(iop, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    return normal / np.linalg.norm(normal)


def grid_from_stack(
    iop: np.ndarray,
    first_position: np.ndarray,
    pixel_spacing: tuple[float, float],
    slice_spacing: float,
    shape: tuple[int, int, int],
) -> Grid:
    """The grid of a stack sorted along the normal, starting at ``first_position`` (IPP, mm).

    ``pixel_spacing`` is DICOM's (row spacing, column spacing) = (y, x) spacing in mm.
    """
    iop = np.asarray(iop, dtype=float)
    row_cosines = iop[:3] / np.linalg.norm(iop[:3])
    column_cosines = iop[3:] / np.linalg.norm(iop[3:])
    direction = np.column_stack([slice_normal(iop), column_cosines, row_cosines])
    return Grid(
        shape=shape,
        spacing=(float(slice_spacing), float(pixel_spacing[0]), float(pixel_spacing[1])),
        origin=tuple(float(v) for v in first_position),
        direction=direction,
    )


def orientation_of_grid(grid: Grid) -> list[float]:
    """ImageOrientationPatient (row cosines = axis x, then column cosines = axis y) of ``grid``."""
    direction = grid.direction_matrix
    return [float(v) for v in np.concatenate([direction[:, 2], direction[:, 1]])]


def slice_positions_of_grid(grid: Grid) -> np.ndarray:
    """ImagePositionPatient (LPS mm) of every slice ``k`` of ``grid``, shape (nz, 3)."""
    steps = np.arange(grid.shape[0], dtype=float)[:, None] * grid.spacing[0]
    return np.asarray(grid.origin) + steps * grid.direction_matrix[:, 0]
