"""DICOM Segmentation (SEG) objects read onto an image grid.

Binary, fractional and label-map SEGs are read with pydicom; every frame is placed on the image
grid by its PlanePositionSequence (frames of a segment at the same slice are combined), so the
frame order in the file does not matter. The SEG's plane orientation and pixel spacing must be
the grid's and every frame must fall on a slice and on whole pixels of it; otherwise a
:class:`~ildrad.errors.GridMismatchError` says how they differ. A fractional frame's voxel belongs
to the segment when ``value / MaximumFractionalValue >= io.seg_fraction_threshold``.

* :func:`read_seg` gives one label map whose labels are the segment numbers (named by
  SegmentLabel); overlapping segments are an error there.
* :func:`read_seg_segments` gives one binary mask per segment, keyed by SegmentLabel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ildrad.errors import DicomError, GridMismatchError
from ildrad.image import Grid, Mask
from ildrad.io.dicom_errors import RoiNotFoundError, UnreadableDicomError
from ildrad.io.dicom_geometry import ORIENTATION_TOL, orientation_of_grid
from ildrad.io.settings import IoSettings

__all__ = ["read_seg", "read_seg_segments", "seg_segment_labels"]

_SLICE_TOL = 0.05  # fraction of the slice spacing / pixel a frame may be off the grid


def _read(path: Path) -> Dataset:
    try:
        ds = pydicom.dcmread(path)
    except Exception as err:  # noqa: BLE001 - pydicom raises many types on corrupt files
        raise UnreadableDicomError(f"{path}: unreadable DICOM file ({err})") from err
    if str(ds.get("Modality", "")).upper() != "SEG" or "SegmentSequence" not in ds:
        raise DicomError(f"{path}: not a DICOM SEG (Modality {ds.get('Modality', 'missing')!r})")
    return ds


def seg_segment_labels(path: str | Path) -> dict[int, str]:
    """Segment number -> SegmentLabel of a SEG file."""
    ds = _read(Path(path))
    return {
        int(item.SegmentNumber): str(item.get("SegmentLabel", f"segment {item.SegmentNumber}"))
        for item in ds.SegmentSequence
    }


def _item(ds: Dataset, frame: Dataset, sequence: str) -> Dataset | None:
    for source in (frame, (ds.get("SharedFunctionalGroupsSequence") or [None])[0]):
        if source is not None and sequence in source and len(source[sequence].value):
            return source[sequence].value[0]
    return None


def _check_plane(ds: Dataset, frame: Dataset, grid: Grid, where: str) -> None:
    orientation = _item(ds, frame, "PlaneOrientationSequence")
    measures = _item(ds, frame, "PixelMeasuresSequence")
    if orientation is None or measures is None:
        raise DicomError(f"{where}: plane orientation or pixel measures missing")
    iop = np.asarray([float(v) for v in orientation.ImageOrientationPatient])
    if np.max(np.abs(iop - orientation_of_grid(grid))) > ORIENTATION_TOL:
        raise GridMismatchError(
            f"{where}: SEG orientation {np.round(iop, 5).tolist()} differs from the image's "
            f"{np.round(orientation_of_grid(grid), 5).tolist()}"
        )
    spacing = [float(v) for v in measures.PixelSpacing]
    if not np.allclose(spacing, grid.spacing[1:], rtol=0, atol=1e-4):
        raise GridMismatchError(
            f"{where}: SEG pixel spacing {spacing} mm differs from the image's "
            f"{list(grid.spacing[1:])} mm"
        )


def _frame_offset(ds: Dataset, frame: Dataset, grid: Grid, where: str) -> tuple[int, int, int]:
    position = _item(ds, frame, "PlanePositionSequence")
    if position is None:
        raise DicomError(f"{where}: PlanePositionSequence missing")
    index = grid.physical_to_index(np.asarray([float(v) for v in position.ImagePositionPatient]))
    rounded = np.rint(index)
    if np.max(np.abs(index - rounded)) > _SLICE_TOL:
        raise GridMismatchError(
            f"{where}: frame position {np.round(index, 3).tolist()} (z, y, x index) is not on "
            "a voxel of the image grid"
        )
    return int(rounded[0]), int(rounded[1]), int(rounded[2])


def _segment_arrays(
    path: Path, grid: Grid, settings: IoSettings
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    ds = _read(path)
    labels = {
        int(item.SegmentNumber): str(item.get("SegmentLabel", f"segment {item.SegmentNumber}"))
        for item in ds.SegmentSequence
    }
    kind = str(ds.get("SegmentationType", "BINARY")).upper()
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as err:  # noqa: BLE001 - decoding failures come in many types
        raise UnreadableDicomError(f"{path}: SEG pixel data cannot be decoded ({err})") from err
    frames = list(ds.get("PerFrameFunctionalGroupsSequence") or [])
    pixels = pixels.reshape(len(frames), int(ds.Rows), int(ds.Columns))
    if kind == "FRACTIONAL":
        pixels = (
            pixels / float(ds.get("MaximumFractionalValue", 255)) >= settings.seg_fraction_threshold
        )
    arrays = {number: np.zeros(grid.shape, dtype=bool) for number in labels}
    for index, frame in enumerate(frames):
        where = f"{path} frame {index + 1}"
        _check_plane(ds, frame, grid, where)
        k, j, i = _frame_offset(ds, frame, grid, where)
        rows, columns = pixels.shape[1:]
        if not (
            0 <= k < grid.shape[0]
            and 0 <= j
            and j + rows <= grid.shape[1]
            and 0 <= i
            and i + columns <= grid.shape[2]
        ):
            raise GridMismatchError(
                f"{where}: frame at (z, y, x) index ({k}, {j}, {i}) with {rows} x {columns} "
                f"pixels lies outside the image grid {grid.shape}"
            )
        if kind == "LABELMAP":
            for number in labels:
                arrays[number][k, j : j + rows, i : i + columns] |= pixels[index] == number
            continue
        identification = _item(ds, frame, "SegmentIdentificationSequence")
        if identification is None:
            raise DicomError(f"{where}: SegmentIdentificationSequence missing")
        number = int(identification.ReferencedSegmentNumber)
        if number not in arrays:
            raise DicomError(
                f"{where}: refers to segment {number}, which SegmentSequence does not define"
            )
        arrays[number][k, j : j + rows, i : i + columns] |= pixels[index].astype(bool)
    return arrays, labels


def read_seg_segments(
    path: str | Path,
    grid: Grid,
    names: Sequence[str] | None = None,
    settings: IoSettings | None = None,
) -> dict[str, Mask]:
    """A binary :class:`Mask` per segment (all, or ``names``, case-insensitive), by SegmentLabel."""
    path = Path(path)
    arrays, labels = _segment_arrays(path, grid, settings or IoSettings())
    wanted = list(labels)
    if names is not None:
        by_name = {label.casefold(): number for number, label in labels.items()}
        missing = [name for name in names if name.casefold() not in by_name]
        if missing:
            available = ", ".join(repr(label) for label in labels.values())
            raise RoiNotFoundError(
                f"{path}: no segment labelled {missing[0]!r} (case-insensitive); "
                f"available: {available}"
            )
        wanted = [by_name[name.casefold()] for name in names]
    return {labels[n]: Mask(arrays[n].astype(np.uint8), grid, {1: labels[n]}) for n in wanted}


def read_seg(path: str | Path, grid: Grid, settings: IoSettings | None = None) -> Mask:
    """The SEG as one label map on ``grid``: label = segment number, named by SegmentLabel."""
    path = Path(path)
    arrays, labels = _segment_arrays(path, grid, settings or IoSettings())
    label_map = np.zeros(grid.shape, dtype=np.uint16 if max(labels, default=0) > 255 else np.uint8)
    for number, array in sorted(arrays.items()):
        overlap = array & (label_map != 0)
        if overlap.any():
            other = int(label_map[overlap][0])
            raise DicomError(
                f"{path}: segments {other} ({labels[other]!r}) and {number} ({labels[number]!r}) "
                f"overlap in {int(overlap.sum())} voxels; read them with read_seg_segments"
            )
        label_map[array] = number
    return Mask(label_map, grid, labels)
