"""NIfTI and NRRD images and label maps, read and written with their geometry (SimpleITK)."""

from __future__ import annotations

from pathlib import Path

import SimpleITK as sitk

from ildrad.errors import InputError
from ildrad.image import Image, Mask, Modality, Unit
from ildrad.io.sitk_bridge import image_from_sitk, image_to_sitk, mask_from_sitk, mask_to_sitk

__all__ = [
    "VOLUME_SUFFIXES",
    "is_volume_file",
    "read_image",
    "read_mask",
    "write_image",
    "write_mask",
]

#: File name endings read and written as single-file volumes.
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


def is_volume_file(path: str | Path) -> bool:
    """True when ``path`` names a NIfTI / NRRD / MetaImage file (by its ending)."""
    return str(path).lower().endswith(VOLUME_SUFFIXES)


def _read_sitk(path: Path, pixel_type: int) -> sitk.Image:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if not is_volume_file(path):
        raise InputError(
            f"{path}: not a NIfTI/NRRD file (expected one of {', '.join(VOLUME_SUFFIXES)})"
        )
    try:
        itk = sitk.ReadImage(str(path), pixel_type)
    except RuntimeError as err:
        raise InputError(
            f"{path}: unreadable image file ({str(err).strip().splitlines()[-1]})"
        ) from err
    if itk.GetDimension() == 2:
        itk = sitk.JoinSeries(itk)
    if itk.GetDimension() != 3 or itk.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{path}: expected a 3D scalar volume, got {itk.GetDimension()}D with "
            f"{itk.GetNumberOfComponentsPerPixel()} components"
        )
    return itk


def read_image(
    path: str | Path,
    modality: Modality | str = Modality.OTHER,
    unit: Unit | str = Unit.NONE,
) -> Image:
    """Read a NIfTI/NRRD volume as a float32 :class:`Image` with its geometry.

    The file does not say its modality or unit; pass them (``modality="CT", unit="HU"``).
    """
    path = Path(path)
    itk = _read_sitk(path, sitk.sitkFloat32)
    return image_from_sitk(itk, modality, unit, {"source_format": "nifti/nrrd"})


def read_mask(path: str | Path) -> Mask:
    """Read a NIfTI/NRRD label map as a :class:`Mask` (non-integer values are an error)."""
    path = Path(path)
    itk = _read_sitk(path, sitk.sitkUnknown)
    try:
        return mask_from_sitk(itk)
    except ValueError as err:
        raise InputError(f"{path}: {err}") from err


def write_image(image: Image, path: str | Path) -> Path:
    """Write ``image`` as float32 NIfTI/NRRD (by the file ending), geometry kept."""
    return _write(image_to_sitk(image), Path(path))


def write_mask(mask: Mask, path: str | Path) -> Path:
    """Write ``mask`` as an integer NIfTI/NRRD label map, geometry kept."""
    return _write(mask_to_sitk(mask), Path(path))


def _write(itk: sitk.Image, path: Path) -> Path:
    if not is_volume_file(path):
        raise InputError(f"{path}: output must end in one of {', '.join(VOLUME_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(itk, str(path), useCompression=True)
    return path
