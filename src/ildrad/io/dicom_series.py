"""Read DICOM CT and PET series from a folder that may hold other series.

* :func:`discover_series` groups the DICOM files of a folder tree by SeriesInstanceUID.
* :func:`read_ct_series` returns an :class:`~ildrad.image.Image` in HU.
* :func:`read_pet_series` returns a :class:`PetSeries`: the stored values after each slice's
  rescale, the per-slice headers SUV conversion needs (:mod:`ildrad.pet.suv`) and the files.

Rules (the same for CT and PET, classic one-file-per-slice and enhanced multi-frame files):

* The series is the one with the given SeriesInstanceUID, else the largest series of the wanted
  modality (localizers excluded; ties broken by SeriesNumber then UID, with a warning).
* Slices are sorted along the normal ``IOP row x IOP column`` by ``normal . IPP``; the grid's
  origin is the first sorted slice's IPP, its z spacing ``(last - first) / (n - 1)`` along the
  normal and its direction (normal, column cosines, row cosines): the geometry SimpleITK's
  ``ImageSeriesReader`` gives (:mod:`ildrad.io.dicom_geometry`).
* Each slice's own RescaleSlope/RescaleIntercept is applied in float64; the image is float32.
* Refused with a specific :class:`~ildrad.errors.DicomError`: unreadable or truncated files,
  mixed orientations or sizes, gantry tilt, duplicated slices, missing slices (the positions
  between which they are missing), non-uniform spacing (where), the wrong modality.
* CT padding (PixelPaddingValue, sentinels below ``io.padding_below_hu``, values below -1024 HU
  outside the reconstruction circle) becomes ``io.padding_fill_hu`` (-1024 HU) and is counted in
  ``metadata["padding_voxels"]``.
* A header lacking Modality (or rescale fields) is read with an
  :class:`~ildrad.errors.IncompleteHeaderWarning` when its SOP class says what it is.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    EnhancedCTImageStorage,
    EnhancedPETImageStorage,
    LegacyConvertedEnhancedCTImageStorage,
    LegacyConvertedEnhancedPETImageStorage,
    PositronEmissionTomographyImageStorage,
)

from ildrad.errors import IldradWarning, IncompleteHeaderWarning
from ildrad.image import IDENTIFYING_KEYS, Grid, Image, Modality, Unit
from ildrad.io.dicom_errors import (
    DuplicateSliceError,
    GantryTiltError,
    InconsistentSeriesError,
    MissingSliceError,
    MixedOrientationError,
    NonUniformSpacingError,
    SeriesNotFoundError,
    UnreadableDicomError,
    WrongModalityError,
)
from ildrad.io.dicom_geometry import ORIENTATION_TOL, grid_from_stack, slice_normal
from ildrad.io.dicom_metadata import metadata_from_header
from ildrad.io.settings import IoSettings
from ildrad.progress import track

__all__ = ["PetSeries", "SeriesInfo", "discover_series", "read_ct_series", "read_pet_series"]

log = logging.getLogger(__name__)

_IDENTIFYING = tuple(sorted(IDENTIFYING_KEYS))  # dropped from every header the readers hand out
_DEFER_BYTES = 1024  # header values larger than this (pixel data, big private blobs) are not loaded
_SOP_CLASS_MODALITY = {
    CTImageStorage: "CT",
    EnhancedCTImageStorage: "CT",
    LegacyConvertedEnhancedCTImageStorage: "CT",
    PositronEmissionTomographyImageStorage: "PT",
    EnhancedPETImageStorage: "PT",
    LegacyConvertedEnhancedPETImageStorage: "PT",
}


@dataclasses.dataclass(frozen=True)
class SeriesInfo:
    """One series found in a folder: its UID, modality and image files (sorted by path).

    Localizer images (ImageType LOCALIZER) inside a series of other images are left out;
    ``localizer`` is True for a series made of localizers only.
    """

    series_instance_uid: str
    modality: str
    files: tuple[Path, ...]
    n_images: int
    series_number: int | None
    description: str
    localizer: bool

    def describe(self) -> str:
        """One line for messages: UID, modality, image count, description."""
        text = (
            f"{self.series_instance_uid} ({self.modality or 'no Modality'}, {self.n_images} images"
        )
        return text + (f", '{self.description}')" if self.description else ")")


@dataclasses.dataclass(frozen=True)
class PetSeries:
    """A PET series as stored: values after each slice's rescale, with the headers SUV needs.

    ``image`` is in Bq/mL (unit BQML) when the series' Units is BQML, else in PET_STORED units;
    ``headers[k]`` is the header (no pixel data) of slice ``k`` of ``image.array``; ``files[k]``
    the file it came from (the same file for every frame of a multi-frame series).
    """

    image: Image
    headers: tuple[Dataset, ...]
    files: tuple[Path, ...]


@dataclasses.dataclass
class _Plane:
    """One image plane (a classic file or one frame of a multi-frame file), before assembly."""

    path: Path
    frame: int | None
    position: np.ndarray
    orientation: np.ndarray
    pixel_spacing: tuple[float, float]
    slope: float
    intercept: float
    header: Dataset

    def name(self) -> str:
        return f"{self.path}" + (f" frame {self.frame + 1}" if self.frame is not None else "")


# ---------------------------------------------------------------------------------------------
# discovery


def _modality_of(ds: Dataset) -> str:
    modality = str(ds.get("Modality", "") or "").upper()
    return modality or _SOP_CLASS_MODALITY.get(str(ds.get("SOPClassUID", "")), "")


def _n_images(ds: Dataset) -> int:
    try:
        return max(int(ds.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def _is_localizer(ds: Dataset) -> bool:
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    return "LOCALIZER" in image_type


def _looks_like_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def _iter_files(source: Path | Iterable[Path]) -> list[Path]:
    if isinstance(source, Path):
        if source.is_file():
            return [source]
        if not source.is_dir():
            raise SeriesNotFoundError(f"{source}: no such folder or file")
        return sorted(p for p in source.rglob("*") if p.is_file())
    return sorted(Path(p) for p in source)


def _header_problem(ds: Dataset) -> str | None:
    """Why a parsed header is broken (pydicom stops silently at the end of a truncated file)."""
    meta = getattr(ds, "file_meta", None)
    sop_class = str(
        ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta else "")
    )
    if not sop_class:
        return "no SOP class: the header ends early (truncated file?)"
    if "Image Storage" in UID(sop_class).name and not all(
        k in ds for k in ("SOPClassUID", "Rows", "Columns", "PixelData")
    ):
        return "an image without SOPClassUID, Rows, Columns or PixelData (truncated file?)"
    return None  # an image, or another object (DICOMDIR, structure set, report) that is skipped


def discover_series(
    source: str | Path | Iterable[str | Path],
) -> tuple[list[SeriesInfo], list[Path]]:
    """The image series under ``source`` (a folder searched recursively, or a list of files).

    Returns ``(series, unreadable)``: series sorted by UID, and the DICOM files whose header is
    broken (unparseable, or ending before the SOP class or an image's pixel data). Files that are
    not DICOM (no ``DICM`` at byte 128 and not parseable) are skipped, and so are further copies
    of an instance (same SOPInstanceUID).
    """
    paths = _iter_files(
        Path(source) if isinstance(source, (str, Path)) else [Path(p) for p in source]
    )
    where = str(source) if isinstance(source, (str, Path)) else "the given files"
    groups: dict[str, list[tuple[Path, Dataset]]] = {}
    unreadable: list[Path] = []
    seen: dict[str, Path] = {}  # SOPInstanceUID -> first file holding it (exact copies are skipped)
    for path in paths:
        try:
            ds = pydicom.dcmread(path, defer_size=_DEFER_BYTES)
        except Exception as err:  # noqa: BLE001 - pydicom raises many types on corrupt headers
            log.debug("%s: not readable as DICOM (%s)", path, err)
            if _looks_like_dicom(path):
                unreadable.append(path)
            continue
        problem = _header_problem(ds)
        if problem:
            log.debug("%s: %s", path, problem)
            unreadable.append(path)
            continue
        if "SeriesInstanceUID" not in ds or "PixelData" not in ds:
            continue  # not an image (a structure set, a dose report, a DICOMDIR ...)
        instance = str(ds.get("SOPInstanceUID", "") or path)
        if instance in seen:
            log.info("%s: same SOPInstanceUID as %s; the copy is left out", path, seen[instance])
            continue
        seen[instance] = path
        groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
    series = []
    for uid, members in sorted(groups.items()):
        images = [(p, ds) for p, ds in members if not _is_localizer(ds)]
        if images and len(images) < len(members):
            log.info(
                "%s: series %s holds %d localizer image(s); they are left out",
                where,
                uid,
                len(members) - len(images),
            )
        kept = images or members
        first = kept[0][1]
        number = first.get("SeriesNumber")
        series.append(
            SeriesInfo(
                series_instance_uid=uid,
                modality=_modality_of(first),
                files=tuple(p for p, _ in kept),
                n_images=sum(_n_images(ds) for _, ds in kept),
                series_number=int(number)
                if str(number or "").strip().lstrip("-").isdigit()
                else None,
                description=str(first.get("SeriesDescription", "") or ""),
                localizer=not images,
            )
        )
    return series, unreadable


def _choose_series(
    series: list[SeriesInfo], where: str, modality: str, series_uid: str | None
) -> SeriesInfo:
    listing = "; ".join(s.describe() for s in series) or "none"
    if series_uid is not None:
        for info in series:
            if info.series_instance_uid == series_uid:
                return info
        raise SeriesNotFoundError(
            f"{where}: no series with SeriesInstanceUID {series_uid}; found: {listing}"
        )
    candidates = [s for s in series if s.modality == modality and not s.localizer]
    if not candidates:
        raise WrongModalityError(f"{where}: no {modality} image series; found: {listing}")
    largest = max(s.n_images for s in candidates)
    tied = sorted(
        (s for s in candidates if s.n_images == largest),
        key=lambda s: (
            s.series_number if s.series_number is not None else 1 << 30,
            s.series_instance_uid,
        ),
    )
    if len(tied) > 1:
        warnings.warn(
            f"{where}: {len(tied)} {modality} series have {largest} images; reading "
            f"{tied[0].describe()} (lowest SeriesNumber); pass series_uid to choose",
            IldradWarning,
            stacklevel=3,
        )
    return tied[0]


# ---------------------------------------------------------------------------------------------
# planes from files


def _floats(value: Any, count: int, what: str, where: str) -> np.ndarray:
    try:
        array = np.asarray([float(v) for v in value], dtype=float)
    except (TypeError, ValueError) as err:
        raise UnreadableDicomError(f"{where}: {what} is not numeric ({value!r})") from err
    if array.shape != (count,) or not np.all(np.isfinite(array)):
        raise UnreadableDicomError(f"{where}: {what} must hold {count} numbers, got {value!r}")
    return array


def _rescale(ds: Dataset, where: str, warn: bool) -> tuple[float, float]:
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if slope in (None, "") or intercept in (None, ""):
        if warn:
            warnings.warn(
                f"{where}: RescaleSlope/RescaleIntercept missing; using 1 and 0",
                IncompleteHeaderWarning,
                stacklevel=2,
            )
        slope = 1.0 if slope in (None, "") else slope
        intercept = 0.0 if intercept in (None, "") else intercept
    return float(slope), float(intercept)


def _classic_plane(path: Path, ds: Dataset, warn: bool) -> _Plane:
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        if keyword not in ds:
            raise UnreadableDicomError(
                f"{path}: {keyword} is missing; the slice cannot be placed in space"
            )
    slope, intercept = _rescale(ds, str(path), warn)
    spacing = _floats(ds.PixelSpacing, 2, "PixelSpacing", str(path))
    return _Plane(
        path,
        None,
        _floats(ds.ImagePositionPatient, 3, "ImagePositionPatient", str(path)),
        _floats(ds.ImageOrientationPatient, 6, "ImageOrientationPatient", str(path)),
        (float(spacing[0]), float(spacing[1])),
        slope,
        intercept,
        ds,
    )


def _group_item(ds: Dataset, frame: Dataset | None, sequence: str) -> Dataset | None:
    """The first item of functional-group ``sequence`` for a frame, per-frame before shared."""
    for source in (frame, (ds.get("SharedFunctionalGroupsSequence") or [None])[0]):
        if source is not None and sequence in source and len(source[sequence].value):
            return source[sequence].value[0]
    return None


def _header_without(ds: Dataset, keywords: tuple[str, ...]) -> Dataset:
    """A new dataset with the elements of ``ds`` except ``keywords`` (``ds`` is left intact).

    Elements are carried over unconverted (pydicom converts raw values lazily, on access).
    """
    excluded = {tag_for_keyword(keyword) for keyword in keywords}
    header = Dataset()
    for tag in ds.keys():
        if tag not in excluded:
            header[tag] = ds.get_item(tag)
    return header


def _frame_header(ds: Dataset, frame: Dataset) -> Dataset:
    """A classic-looking header for one frame of an enhanced image (for SUV and metadata)."""
    header = _header_without(
        ds,
        (
            "PixelData",
            "PerFrameFunctionalGroupsSequence",
            "SharedFunctionalGroupsSequence",
            *_IDENTIFYING,
        ),
    )
    content = _group_item(ds, frame, "FrameContentSequence")
    if content is not None:
        acquired = str(content.get("FrameAcquisitionDateTime", "") or "")
        if len(acquired) >= 14:
            header.AcquisitionDate, header.AcquisitionTime = acquired[:8], acquired[8:]
        if content.get("FrameAcquisitionDuration") not in (None, ""):
            header.ActualFrameDuration = int(round(float(content.FrameAcquisitionDuration)))
    return header


def _multiframe_planes(path: Path, ds: Dataset, warn: bool) -> list[_Plane]:
    frames = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(frames) != _n_images(ds):
        raise UnreadableDicomError(
            f"{path}: {len(frames)} per-frame functional groups for {_n_images(ds)} frames"
        )
    planes = []
    for index, frame in enumerate(frames):
        where = f"{path} frame {index + 1}"
        position = _group_item(ds, frame, "PlanePositionSequence")
        orientation = _group_item(ds, frame, "PlaneOrientationSequence")
        measures = _group_item(ds, frame, "PixelMeasuresSequence")
        if position is None or orientation is None or measures is None:
            raise UnreadableDicomError(
                f"{where}: plane position, orientation or pixel measures missing "
                "from the functional groups"
            )
        transform = _group_item(ds, frame, "PixelValueTransformationSequence")
        slope, intercept = _rescale(
            transform if transform is not None else ds, where, warn and index == 0
        )
        header = _frame_header(ds, frame)
        header.RescaleSlope, header.RescaleIntercept = slope, intercept
        header.ImagePositionPatient = position.ImagePositionPatient
        header.ImageOrientationPatient = orientation.ImageOrientationPatient
        spacing = _floats(measures.PixelSpacing, 2, "PixelSpacing", where)
        planes.append(
            _Plane(
                path,
                index,
                _floats(position.ImagePositionPatient, 3, "ImagePositionPatient", where),
                _floats(orientation.ImageOrientationPatient, 6, "ImageOrientationPatient", where),
                (float(spacing[0]), float(spacing[1])),
                slope,
                intercept,
                header,
            )
        )
    return planes


def _read_file(path: Path, warn: bool) -> tuple[list[_Plane], np.ndarray]:
    """The planes of one file and their stored pixel values (frames, rows, columns)."""
    try:
        ds = pydicom.dcmread(path)
        pixels = np.asarray(ds.pixel_array)
    except Exception as err:  # noqa: BLE001 - decoding failures come in many types
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnreadableDicomError(
            f"{path}: unreadable or truncated DICOM file ({detail})"
        ) from err
    if "PerFrameFunctionalGroupsSequence" in ds:
        planes = _multiframe_planes(path, ds, warn)
    else:
        header = _header_without(ds, ("PixelData", *_IDENTIFYING))
        planes = [_classic_plane(path, header, warn)]
    pixels = pixels.reshape((len(planes), int(ds.Rows), int(ds.Columns)))
    return planes, pixels


# ---------------------------------------------------------------------------------------------
# assembly and checks


def _check_planes(planes: list[_Plane], pixels: list[np.ndarray], where: str) -> None:
    reference = planes[0]
    for plane, slice_pixels in zip(planes, pixels, strict=True):
        if np.max(np.abs(plane.orientation - reference.orientation)) > ORIENTATION_TOL:
            raise MixedOrientationError(
                f"{where}: mixed slice orientations: {plane.name()} has ImageOrientationPatient "
                f"{np.round(plane.orientation, 5).tolist()}, {reference.name()} has "
                f"{np.round(reference.orientation, 5).tolist()}"
            )
        if slice_pixels.shape != pixels[0].shape:
            raise InconsistentSeriesError(
                f"{where}: {plane.name()} is {slice_pixels.shape[0]} x "
                f"{slice_pixels.shape[1]}, {reference.name()} is "
                f"{pixels[0].shape[0]} x {pixels[0].shape[1]} pixels"
            )
        if not np.allclose(plane.pixel_spacing, reference.pixel_spacing, rtol=0, atol=1e-4):
            raise InconsistentSeriesError(
                f"{where}: {plane.name()} has PixelSpacing {plane.pixel_spacing}, "
                f"{reference.name()} has {reference.pixel_spacing}"
            )


def _nominal_spacing(gaps: np.ndarray, tolerance: float) -> float:
    """The slice gap most gaps agree with (ties: the smallest), so that a gap in a short stack
    does not shift the nominal spacing as a median would."""
    agree = np.abs(gaps[:, None] - gaps[None, :]) <= np.maximum(tolerance * gaps[:, None], 1e-3)
    votes = agree.sum(axis=1)
    best = np.flatnonzero(votes == votes.max())
    choice = best[np.argmin(gaps[best])]
    return float(gaps[agree[choice]].mean())


def _check_stack(
    planes: list[_Plane], along: np.ndarray, normal: np.ndarray, where: str, settings: IoSettings
) -> float:
    """Check the sorted stack (tilt, duplicates, gaps, spacing); return the z spacing in mm."""
    tol = settings.position_tolerance_mm
    offsets = np.array([p.position for p in planes]) - planes[0].position
    in_plane = offsets - np.outer(offsets @ normal, normal)
    shear = np.linalg.norm(in_plane, axis=1)
    angles = np.degrees(np.arctan2(shear, np.abs(along - along[0])))
    tilted = (shear > tol) & (angles > settings.gantry_tilt_tolerance_degrees)
    if tilted.any():
        k = int(np.argmax(np.where(tilted, angles, -1.0)))
        angle = angles[k]
        raise GantryTiltError(
            f"{where}: slice positions are sheared against the slice normal by "
            f"{angle:.2f} degrees ({planes[k].name()} is {shear[k]:.2f} mm off the normal "
            f"through {planes[0].name()}): gantry tilt is not supported; resample the "
            "series to an orthogonal grid first"
        )
    gaps = np.diff(along)
    for k in np.flatnonzero(gaps < tol):
        raise DuplicateSliceError(
            f"{where}: duplicated slice at position {along[k]:.3f} mm along the normal: "
            f"{planes[k].name()} and {planes[k + 1].name()}"
        )
    if len(planes) == 1:
        return float("nan")
    nominal = _nominal_spacing(gaps, settings.slice_spacing_tolerance)
    allowed = max(settings.slice_spacing_tolerance * nominal, 1e-3)
    for k in np.flatnonzero(np.abs(gaps - nominal) > allowed):
        steps = gaps[k] / nominal
        if round(steps) >= 2 and abs(gaps[k] - round(steps) * nominal) <= allowed:
            raise MissingSliceError(
                f"{where}: {round(steps) - 1} slice(s) missing between positions "
                f"{along[k]:.3f} and {along[k + 1]:.3f} mm along the normal "
                f"({planes[k].name()} and {planes[k + 1].name()}; "
                f"spacing elsewhere {nominal:.4g} mm)"
            )
        raise NonUniformSpacingError(
            f"{where}: non-uniform slice spacing: {gaps[k]:.4g} mm between positions "
            f"{along[k]:.3f} and {along[k + 1]:.3f} mm ({planes[k].name()} and "
            f"{planes[k + 1].name()}), {nominal:.4g} mm elsewhere"
        )
    return float((along[-1] - along[0]) / (len(planes) - 1))


def _single_slice_spacing(header: Dataset, where: str) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = header.get(keyword)
        if value not in (None, "") and float(value) > 0:
            return float(value)
    warnings.warn(
        f"{where}: a single slice without SliceThickness; using 1 mm as its thickness",
        IncompleteHeaderWarning,
        stacklevel=3,
    )
    return 1.0


@dataclasses.dataclass
class _Stack:
    values: np.ndarray  # float32 (z, y, x) after each slice's rescale (computed in float64)
    stored: np.ndarray  # stored values (z, y, x)
    grid: Grid
    planes: list[_Plane]


def _read_stack(info: SeriesInfo, where: str, settings: IoSettings) -> _Stack:
    planes: list[_Plane] = []
    pixels: list[np.ndarray] = []
    for index, path in enumerate(track(info.files, f"reading {info.modality or 'DICOM'} series")):
        file_planes, file_pixels = _read_file(path, warn=index == 0)
        planes.extend(file_planes)
        pixels.extend(file_pixels)
    _check_planes(planes, pixels, where)
    normal = slice_normal(planes[0].orientation)
    along = np.array([p.position @ normal for p in planes])
    order = np.argsort(along, kind="stable")
    planes = [planes[k] for k in order]
    stored = np.stack([pixels[k] for k in order])
    along = along[order]
    spacing = _check_stack(planes, along, normal, where, settings)
    if not np.isfinite(spacing):
        spacing = _single_slice_spacing(planes[0].header, where)
    values = np.empty(stored.shape, dtype=np.float32)
    for k, plane in enumerate(
        planes
    ):  # float64 per slice, float32 stored: no float64 volume in memory
        values[k] = stored[k].astype(np.float64) * plane.slope + plane.intercept
    grid = grid_from_stack(
        planes[0].orientation, planes[0].position, planes[0].pixel_spacing, spacing, stored.shape
    )
    return _Stack(values, stored, grid, planes)


def _series(
    source: str | Path | Iterable[str | Path], modality: str, series_uid: str | None
) -> tuple[SeriesInfo, str]:
    where = str(source) if isinstance(source, (str, Path)) else "the given files"
    series, unreadable = discover_series(source)
    if unreadable:
        raise UnreadableDicomError(
            f"{where}: unreadable or truncated DICOM file(s): "
            + ", ".join(str(p) for p in unreadable[:5])
            + (f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
        )
    if not series:
        raise SeriesNotFoundError(f"{where}: no DICOM image series found")
    info = _choose_series(series, where, modality, series_uid)
    found = info.modality
    if not found:
        warnings.warn(
            f"{where}: series {info.series_instance_uid} has no Modality and no {modality} SOP "
            f"class; reading it as {modality}",
            IncompleteHeaderWarning,
            stacklevel=3,
        )
    elif found != modality:
        raise WrongModalityError(f"{where}: series {info.describe()} is {found}, not {modality}")
    return info, where


def _warn_missing_modality(info: SeriesInfo, stack: _Stack, where: str, modality: str) -> None:
    if "Modality" not in stack.planes[0].header or not str(stack.planes[0].header.Modality):
        warnings.warn(
            f"{where}: {stack.planes[0].name()} lacks Modality (0008,0060); read as "
            f"{modality} from its SOP class",
            IncompleteHeaderWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------------------------
# CT


def _padding_mask(stack: _Stack, settings: IoSettings) -> np.ndarray:
    """Voxels outside the field of view: padding value, sentinels, sub-air outside the circle."""
    padding = stack.values < settings.padding_below_hu
    for k, plane in enumerate(stack.planes):
        value = plane.header.get("PixelPaddingValue")
        if value is None or isinstance(value, bytes):
            continue
        limit = plane.header.get("PixelPaddingRangeLimit")
        low, high = (
            (value, value) if limit is None or isinstance(limit, bytes) else sorted((value, limit))
        )
        padding[k] |= (stack.stored[k] >= low) & (stack.stored[k] <= high)
    rows, columns = stack.grid.shape[1:]
    dy, dx = stack.grid.spacing[1:]
    diameter = stack.planes[0].header.get("ReconstructionDiameter")
    radius = float(diameter) / 2 if diameter not in (None, "") else min(rows * dy, columns * dx) / 2
    y = (np.arange(rows) - (rows - 1) / 2) * dy
    x = (np.arange(columns) - (columns - 1) / 2) * dx
    outside = (y[:, None] ** 2 + x[None, :] ** 2) > radius**2
    padding |= outside[None] & (stack.values < -1024.0)
    return padding


def read_ct_series(
    source: str | Path | Iterable[str | Path],
    series_uid: str | None = None,
    settings: IoSettings | None = None,
) -> Image:
    """Read a CT series (folder or files) as an :class:`Image` in HU (rules: module docstring).

    ``metadata`` holds the acquisition facts of :mod:`ildrad.io.dicom_metadata`, the number of
    padding voxels (``padding_voxels``), the number of slices and ``source_format = "dicom"``.
    """
    settings = settings or IoSettings()
    info, where = _series(source, "CT", series_uid)
    stack = _read_stack(info, where, settings)
    if info.modality:
        _warn_missing_modality(info, stack, where, "CT")
    padding = _padding_mask(stack, settings)
    values = stack.values
    values[padding] = settings.padding_fill_hu
    metadata = metadata_from_header(stack.planes[0].header)
    metadata.update(
        modality="CT",
        source_format="dicom",
        padding_voxels=int(padding.sum()),
        n_slices=len(stack.planes),
        series_instance_uid=info.series_instance_uid,
    )
    if padding.any():
        log.info(
            "%s: %d padding voxels set to %g HU",
            where,
            int(padding.sum()),
            settings.padding_fill_hu,
        )
    return Image(values, stack.grid, Modality.CT, Unit.HU, metadata)


# ---------------------------------------------------------------------------------------------
# PET


def read_pet_series(
    source: str | Path | Iterable[str | Path],
    series_uid: str | None = None,
    settings: IoSettings | None = None,
) -> PetSeries:
    """A PET series (folder or files): stored values and per-slice headers (:class:`PetSeries`).

    The headers keep every element but the pixel data and patient identifiers (Units,
    DecayCorrection, CorrectedImage, RadiopharmaceuticalInformationSequence,
    PatientWeight/Size/Sex, Series/Acquisition dates and times, FrameReferenceTime,
    ActualFrameDuration, private tags such as (7053,1000), (7053,1009), (0009,100D)); a frame of
    an enhanced file gets the file's header with the frame's position, rescale, acquisition
    date-time and duration.
    """
    settings = settings or IoSettings()
    info, where = _series(source, "PT", series_uid)
    stack = _read_stack(info, where, settings)
    if info.modality:
        _warn_missing_modality(info, stack, where, "PT")
    headers = tuple(plane.header for plane in stack.planes)
    units = str(headers[0].get("Units", "") or "").upper()
    if not units:
        warnings.warn(
            f"{where}: PET series without Units (0054,1001); values kept as stored",
            IncompleteHeaderWarning,
            stacklevel=2,
        )
    metadata = metadata_from_header(headers[0])
    metadata.update(
        modality="PT",
        source_format="dicom",
        n_slices=len(headers),
        series_instance_uid=info.series_instance_uid,
    )
    unit = Unit.BQML if units == "BQML" else Unit.PET_STORED
    image = Image(stack.values, stack.grid, Modality.PT, unit, metadata)
    return PetSeries(image, headers, tuple(plane.path for plane in stack.planes))
