"""Conversion of ildrad's :class:`~ildrad.image.Image` / :class:`~ildrad.image.Mask` to SimpleITK.

SimpleITK indexes (x, y, z); ildrad arrays are (z, y, x). Spacing is reversed accordingly and the
direction matrix's columns are reversed (ildrad column j = SimpleITK column 2 - j).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import SimpleITK as sitk

from ildrad.image import Grid, Image, Mask, Modality, Unit

__all__ = [
    "grid_from_sitk",
    "grid_to_sitk",
    "image_from_sitk",
    "image_to_sitk",
    "mask_from_sitk",
    "mask_to_sitk",
]


def grid_from_sitk(itk: sitk.Image) -> Grid:
    """The :class:`Grid` of a 3D SimpleITK image."""
    direction_xyz = np.asarray(itk.GetDirection(), dtype=float).reshape(3, 3)
    return Grid(
        shape=tuple(reversed(itk.GetSize())),
        spacing=tuple(reversed(itk.GetSpacing())),
        origin=itk.GetOrigin(),
        direction=direction_xyz[:, ::-1],
    )


def grid_to_sitk(itk: sitk.Image, grid: Grid) -> sitk.Image:
    """Stamp ``grid``'s geometry onto ``itk`` (in place) and return it."""
    itk.SetSpacing(tuple(reversed(grid.spacing)))
    itk.SetOrigin(grid.origin)
    itk.SetDirection(tuple(grid.direction_matrix[:, ::-1].ravel()))
    return itk


def image_from_sitk(
    itk: sitk.Image,
    modality: Modality | str = Modality.OTHER,
    unit: Unit | str = Unit.NONE,
    metadata: dict[str, Any] | None = None,
) -> Image:
    """An :class:`Image` (float32) from a 3D SimpleITK image."""
    if itk.GetDimension() != 3:
        raise ValueError(f"expected a 3D image, got {itk.GetDimension()}D")
    array = sitk.GetArrayFromImage(itk).astype(np.float32, copy=False)
    return Image(array, grid_from_sitk(itk), modality, unit, metadata or {})


def image_to_sitk(image: Image) -> sitk.Image:
    """A float32 SimpleITK image with the geometry of ``image``."""
    return grid_to_sitk(sitk.GetImageFromArray(image.array), image.grid)


def mask_from_sitk(itk: sitk.Image, labels: dict[int, str] | None = None) -> Mask:
    """A :class:`Mask` from an integer SimpleITK label image."""
    array = sitk.GetArrayFromImage(itk)
    if not np.issubdtype(array.dtype, np.integer):
        rounded = np.rint(array)
        if not np.array_equal(rounded, array):
            raise ValueError("label map holds non-integer values")
        array = rounded.astype(np.int32)
    return Mask(array, grid_from_sitk(itk), labels or {})


def mask_to_sitk(mask: Mask) -> sitk.Image:
    """A SimpleITK label image (uint8 when the labels fit, else int16/int32)."""
    array = mask.array
    if array.min(initial=0) >= 0 and array.max(initial=0) <= 255:
        array = array.astype(np.uint8)
    elif array.min(initial=0) >= -32768 and array.max(initial=0) <= 32767:
        array = array.astype(np.int16)
    else:
        array = array.astype(np.int32)
    return grid_to_sitk(sitk.GetImageFromArray(array), mask.grid)
