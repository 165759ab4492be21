"""One entry point for regions of interest from any mask file: RTSTRUCT, DICOM SEG, NIfTI/NRRD.

:func:`read_masks` returns ``{name: Mask}`` on the image grid, whatever the file kind:

* RTSTRUCT: the named ROIs (required), rasterised with the voxel-centre rule
  (:mod:`ildrad.io.rtstruct`), keyed by the name as written in the file;
* DICOM SEG: the named segments, or all, keyed by SegmentLabel (:mod:`ildrad.io.dicom_seg`);
* NIfTI/NRRD label map: the whole map, keyed by the file name without its ending; its grid must
  equal the image grid (else :class:`~ildrad.errors.GridMismatchError` saying how).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pydicom

from ildrad.errors import InputError
from ildrad.image import Grid, Mask, assert_same_grid
from ildrad.io.dicom_seg import read_seg_segments
from ildrad.io.rtstruct import read_rtstruct
from ildrad.io.settings import IoSettings
from ildrad.io.volume_files import VOLUME_SUFFIXES, is_volume_file, read_mask

__all__ = ["mask_file_kind", "read_masks"]


def mask_file_kind(path: str | Path) -> str:
    """``"rtstruct"``, ``"seg"`` or ``"volume"`` (NIfTI/NRRD), by file ending or DICOM Modality."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such mask file")
    if is_volume_file(path):
        return "volume"
    try:
        modality = str(
            pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"]).get(
                "Modality", ""
            )
        )
    except Exception as err:  # noqa: BLE001 - anything pydicom cannot parse is not a DICOM mask
        raise InputError(
            f"{path}: neither a DICOM RTSTRUCT/SEG nor a label map ({', '.join(VOLUME_SUFFIXES)})"
        ) from err
    kinds = {"RTSTRUCT": "rtstruct", "SEG": "seg"}
    if modality.upper() not in kinds:
        raise InputError(f"{path}: DICOM Modality {modality or 'missing'!r} is not RTSTRUCT or SEG")
    return kinds[modality.upper()]


def _strip_volume_suffix(name: str) -> str:
    for suffix in VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_masks(
    path: str | Path,
    grid: Grid,
    names: Sequence[str] | None = None,
    settings: IoSettings | None = None,
) -> dict[str, Mask]:
    """Regions of interest of ``path`` on ``grid`` as ``{name: Mask}`` (see module docstring)."""
    path = Path(path)
    kind = mask_file_kind(path)
    if kind == "rtstruct":
        if not names:
            raise InputError(f"{path}: an RTSTRUCT needs the ROI names to read (--roi NAME)")
        return read_rtstruct(path, grid, names, settings)
    if kind == "seg":
        return read_seg_segments(path, grid, names, settings)
    mask = read_mask(path)
    assert_same_grid(mask, grid, f"mask '{path}' and image")
    return {_strip_volume_suffix(path.name): mask}
