"""RTSTRUCT regions of interest rasterised on an image grid with the voxel-centre rule.

A voxel belongs to a region when its centre lies inside the region's contour polygon on that
slice; all closed planar contours of the region on a slice are combined with the even-odd rule,
so a contour inside another is a hole (and a contour drawn twice cancels itself).

The point-in-polygon test is the crossing-number test (W. R. Franklin's PNPOLY) at voxel centres
in continuous (y, x) index space: an edge from (y0, x0) to (y1, x1) is crossed by the ray from a
centre (y, x) towards +x when ``(y0 > y) != (y1 > y)`` and ``x < x_cross``. So a centre exactly on
a left or lower edge is inside, one on a right or upper edge outside; every centre is decided
exactly once between polygons that share an edge. Coordinates are rounded to 1e-6 voxel before
the test so that contour points lying on voxel centres (common in planning systems) are decided by
the rule, not by floating-point noise of the LPS -> index transform.

Contours are matched to slices by their position along the grid's slice axis (within
``io.contour_slice_tolerance`` of a slice spacing), which also works for oblique grids; a contour
whose points are not in one slice plane, or that lies between slices, is an error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ildrad.errors import DicomError, IldradWarning
from ildrad.image import Grid, Mask
from ildrad.io.dicom_errors import RoiNotFoundError, UnreadableDicomError
from ildrad.io.settings import IoSettings

__all__ = ["fill_polygons", "read_rtstruct", "rtstruct_roi_names"]

log = logging.getLogger(__name__)

_INDEX_DECIMALS = 6
_CONTOUR_DATA = 0x30060050


def _read(path: Path) -> Dataset:
    try:
        ds = pydicom.dcmread(path)
    except Exception as err:  # noqa: BLE001 - pydicom raises many types on corrupt files
        raise UnreadableDicomError(f"{path}: unreadable DICOM file ({err})") from err
    if str(ds.get("Modality", "")).upper() != "RTSTRUCT" or "StructureSetROISequence" not in ds:
        raise DicomError(f"{path}: not an RTSTRUCT (Modality {ds.get('Modality', 'missing')!r})")
    return ds


def rtstruct_roi_names(path: str | Path) -> list[str]:
    """The ROI names of a structure set, in file order."""
    return [str(item.ROIName) for item in _read(Path(path)).StructureSetROISequence]


def fill_polygons(polygons: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Even-odd fill of ``polygons`` ((n, 2) arrays of (y, x) continuous indices) at voxel centres.

    Returns a boolean (rows, columns) array; see the module docstring for the exact rule.
    Vectorised: each edge adds a parity toggle to every voxel left of its crossing on each row.
    """
    rows, columns = shape
    toggles = np.zeros((rows, columns + 1), dtype=np.int32)
    for polygon in polygons:
        start = np.round(np.asarray(polygon, dtype=float), _INDEX_DECIMALS)
        end = np.roll(start, -1, axis=0)
        y0, x0, y1, x1 = start[:, 0], start[:, 1], end[:, 0], end[:, 1]
        low = np.minimum(y0, y1)
        high = np.maximum(y0, y1)
        # rows y (integers) with (y0 > y) != (y1 > y), i.e. low <= y < high
        first = np.clip(np.ceil(low), 0, rows).astype(np.int64)
        last = np.clip(np.ceil(high), 0, rows).astype(np.int64)  # exclusive
        counts = last - first
        if counts.sum() == 0:
            continue
        edge = np.repeat(np.arange(len(start)), counts)
        y = (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + first[edge]
        ).astype(float)
        x_cross = x0[edge] + (y - y0[edge]) * (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
        # centres x_i < x_cross are toggled: i = 0 .. ceil(x_cross) - 1
        stop = np.clip(np.ceil(np.round(x_cross, _INDEX_DECIMALS)), 0, columns).astype(np.int64)
        np.add.at(toggles, (y.astype(np.int64), stop), 1)
    # voxel i is toggled by every crossing with stop > i: suffix sums from i + 1
    crossings = np.cumsum(toggles[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return (crossings % 2).astype(bool)


def _roi_number(ds: Dataset, name: str, path: Path) -> tuple[int, str]:
    available = [(int(item.ROINumber), str(item.ROIName)) for item in ds.StructureSetROISequence]
    for number, roi_name in available:
        if roi_name.casefold() == name.casefold():
            return number, roi_name
    names = ", ".join(repr(roi_name) for _, roi_name in available) or "none"
    raise RoiNotFoundError(f"{path}: no ROI named {name!r} (case-insensitive); available: {names}")


def _contours(ds: Dataset, number: int) -> list[Dataset]:
    for item in ds.get("ROIContourSequence") or []:
        if int(item.ReferencedROINumber) == number:
            return list(item.get("ContourSequence") or [])
    return []


def _contour_points(contour: Dataset, where: str) -> np.ndarray:
    """ContourData as (n, 3) LPS points; raw bytes parsed directly (pydicom's DS is slow)."""
    if _CONTOUR_DATA not in contour:
        raise DicomError(f"{where}: ContourData (3006,0050) missing")
    value = contour.get_item(_CONTOUR_DATA).value
    try:
        if isinstance(value, (bytes, bytearray)):
            numbers = np.array(value.decode("ascii").strip(" \x00").split("\\"), dtype=float)
        else:
            numbers = np.asarray(value, dtype=float).ravel()
    except (UnicodeDecodeError, ValueError) as err:
        raise DicomError(f"{where}: ContourData is not a list of numbers ({err})") from err
    if numbers.size == 0 or numbers.size % 3 or not np.all(np.isfinite(numbers)):
        raise DicomError(
            f"{where}: ContourData must hold x, y, z triplets, got {numbers.size} values"
        )
    return numbers.reshape(-1, 3)


def _rasterise(contours: list[Dataset], grid: Grid, where: str, settings: IoSettings) -> np.ndarray:
    polygons_by_slice: dict[int, list[np.ndarray]] = {}
    for index, contour in enumerate(contours):
        kind = str(contour.get("ContourGeometricType", "CLOSED_PLANAR")).upper()
        if kind != "CLOSED_PLANAR":
            log.warning("%s: contour %d is %s, not CLOSED_PLANAR; ignored", where, index + 1, kind)
            continue
        points = _contour_points(contour, f"{where} contour {index + 1}")
        continuous = grid.physical_to_index(points)
        plane = continuous[:, 0]
        k = int(np.rint(plane.mean()))
        offset = np.abs(plane - k).max()
        if offset > settings.contour_slice_tolerance:
            spread = np.ptp(plane) * grid.spacing[0]
            detail = (
                f"its points span {spread:.3f} mm across the slice axis "
                "(not parallel to the slices)"
                if spread > settings.contour_slice_tolerance * grid.spacing[0]
                else f"it lies {offset * grid.spacing[0]:.3f} mm from the nearest slice centre"
            )
            raise DicomError(
                f"{where}: contour {index + 1} cannot be matched to a slice of the image: {detail}"
            )
        if not 0 <= k < grid.shape[0]:
            log.warning(
                "%s: contour %d lies outside the image (slice %d of %d); ignored",
                where,
                index + 1,
                k,
                grid.shape[0],
            )
            continue
        polygons_by_slice.setdefault(k, []).append(continuous[:, 1:])
    mask = np.zeros(grid.shape, dtype=bool)
    for k, polygons in polygons_by_slice.items():
        mask[k] = fill_polygons(polygons, grid.shape[1:])
    return mask


def _check_frame_of_reference(ds: Dataset, number: int, expected: str, where: str) -> None:
    for item in ds.StructureSetROISequence:
        if int(item.ROINumber) == number:
            found = str(item.get("ReferencedFrameOfReferenceUID", "") or "")
            if found and found != expected:
                warnings.warn(
                    f"{where}: contours are in frame of reference {found}, "
                    f"the image in {expected}; "
                    "the mask is placed by coordinates and may be misplaced if they are not the "
                    "same patient space",
                    IldradWarning,
                    stacklevel=3,
                )


def read_rtstruct(
    path: str | Path,
    grid: Grid,
    roi_names: Sequence[str],
    settings: IoSettings | None = None,
    frame_of_reference_uid: str | None = None,
) -> dict[str, Mask]:
    """Rasterise the named ROIs (case-insensitive) of an RTSTRUCT on ``grid``.

    Returns ``{name as written in the file: Mask}``, each mask 0/1 with label 1 named after the
    ROI. An unknown name raises :class:`RoiNotFoundError` listing the available names. With
    ``frame_of_reference_uid`` (the image's), an ROI in another frame of reference is warned about.
    """
    settings = settings or IoSettings()
    path = Path(path)
    ds = _read(path)
    masks: dict[str, Mask] = {}
    for name in roi_names:
        number, roi_name = _roi_number(ds, name, path)
        if frame_of_reference_uid:
            _check_frame_of_reference(
                ds, number, frame_of_reference_uid, f"{path} ROI {roi_name!r}"
            )
        contours = _contours(ds, number)
        if not contours:
            log.warning("%s: ROI %r has no contours; its mask is empty", path, roi_name)
        array = _rasterise(contours, grid, f"{path} ROI {roi_name!r}", settings)
        masks[roi_name] = Mask(array.astype(np.uint8), grid, {1: roi_name})
    return masks
