"""Write an :class:`~ildrad.image.Image` as a DICOM CT or PET series (classic or multi-frame).

Signature (used by ``ildrad.synth`` to build synthetic cohorts)::

    write_dicom_series(
        image, out_dir, *,
        modality=None,                 # "CT" or "PT"; default: image.modality
        series_instance_uid=None,      # generated when None (random)
        study_instance_uid=None,
        frame_of_reference_uid=None,
        header=None,                   # {keyword: value} or {(group, element): (VR, value)}
        slice_headers=None,            # one {keyword: value} per slice (see below for multi-frame)
        transfer_syntax=ExplicitVRLittleEndian,
        multiframe=False,
        file_prefix="IM",
    ) -> list[Path]

* CT is stored as signed 16-bit with RescaleSlope 1 and RescaleIntercept -1024 (override both
  through ``header``); values are rounded to the stored precision and clipped to its range.
* PET is stored as signed 16-bit with its own RescaleSlope in every slice (max |value| of the
  slice / 32767, intercept 0), as scanners do; the read-back error is below slope / 2.
* Geometry: IOP from the grid's x and y axes, IPP of slice ``k`` = origin + k * dz * axis z.
  Readers sort slices along ``IOP row x IOP column``, so the grid's z axis must point that way
  (as in every grid read from DICOM); a grid of several slices whose z axis points the other way
  is refused, since it would be read back flipped.
* ``header`` sets any element: keyword -> value (sequences as lists of dicts or Datasets), or a
  private tag ``(group, element) -> (VR, value)`` (include its private-creator element too).
  It overrides the defaults and the metadata-derived fields (:mod:`ildrad.io.dicom_metadata`).
* ``slice_headers`` set elements per slice. In an enhanced multi-frame file only the frame timing
  can vary: AcquisitionDate + AcquisitionTime become the frame's FrameAcquisitionDateTime and
  ActualFrameDuration (ms) its FrameAcquisitionDuration (FrameContentSequence); other keys are
  refused there.
* Transfer syntaxes: implicit/explicit VR little endian, RLE lossless (pydicom), JPEG-LS lossless
  (pyjpegls), JPEG 2000 lossless (pylibjpeg-openjpeg; rows and columns >= 32), JPEG lossless SV1
  (GDCM). JPEG baseline
  (8 bit) cannot hold 16-bit CT/PET values, so it is refused
  (see :data:`WRITABLE_TRANSFER_SYNTAXES`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    EnhancedCTImageStorage,
    EnhancedPETImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    PositronEmissionTomographyImageStorage,
    RLELossless,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from ildrad.errors import InputError
from ildrad.image import Image, Modality
from ildrad.io.dicom_geometry import orientation_of_grid, slice_normal, slice_positions_of_grid
from ildrad.io.dicom_metadata import ACQUISITION_KEYWORDS

__all__ = ["WRITABLE_TRANSFER_SYNTAXES", "write_dicom_series"]

log = logging.getLogger(__name__)

#: Transfer syntaxes this module can write (the encoder used for each is in the module docstring).
WRITABLE_TRANSFER_SYNTAXES: tuple[UID, ...] = (
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    RLELossless,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEGLosslessSV1,
)

_SOP_CLASSES = {
    (Modality.CT, False): CTImageStorage,
    (Modality.CT, True): EnhancedCTImageStorage,
    (Modality.PT, False): PositronEmissionTomographyImageStorage,
    (Modality.PT, True): EnhancedPETImageStorage,
}
_INT16_MAX = 32767
_CT_DEFAULT_INTERCEPT = -1024.0
_J2K_MIN_SIZE = 32
_FRAME_TIMING_KEYS = frozenset({"AcquisitionDate", "AcquisitionTime", "ActualFrameDuration"})


def _dataset(values: Mapping[Any, Any]) -> Dataset:
    ds = Dataset()
    _apply_header(ds, values)
    return ds


def _apply_header(ds: Dataset, values: Mapping[Any, Any]) -> None:
    """Set keyword -> value and (group, element) -> (VR, value) items on ``ds``."""
    for key, value in values.items():
        if isinstance(key, tuple):
            vr, element_value = value
            ds.add_new(key, vr, element_value)
            continue
        if (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, (Mapping, Dataset)) for v in value)
        ):
            value = DicomSequence([v if isinstance(v, Dataset) else _dataset(v) for v in value])
        if tag_for_keyword(key) is None:
            raise InputError(
                f"{key!r} is not a DICOM keyword (header elements must be keywords or tags)"
            )
        if isinstance(value, float):
            value = _header_value(key, value)
        try:
            setattr(ds, key, value)
        except (AttributeError, TypeError, ValueError) as err:
            raise InputError(
                f"DICOM header element {key!r} = {value!r} cannot be written: {err}"
            ) from err


def _ds_number(value: float) -> float:
    """``value`` rounded to what a DICOM DS (16 characters) can hold."""
    return float(format_number_as_ds(float(value)))


def _stored_ct(values: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    stored = np.rint((values.astype(np.float64) - intercept) / slope)
    return np.clip(stored, -_INT16_MAX - 1, _INT16_MAX).astype(np.int16)


def _stored_pet(values: np.ndarray) -> tuple[np.ndarray, float]:
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    slope = _ds_number(peak / _INT16_MAX) if peak > 0 else 1.0
    if slope <= 0:  # values so small that the DS-rounded slope vanished
        slope = 1.0
    stored = np.clip(np.rint(values.astype(np.float64) / slope), -_INT16_MAX - 1, _INT16_MAX)
    return stored.astype(np.int16), slope


def _encode_slices(
    image: Image, modality: Modality, header: Mapping[Any, Any]
) -> tuple[np.ndarray, list[float], float]:
    """Stored int16 slices, each slice's RescaleSlope, and the (shared) RescaleIntercept."""
    if modality is Modality.CT:
        slope = _ds_number(float(header.get("RescaleSlope", 1.0)))
        intercept = _ds_number(float(header.get("RescaleIntercept", _CT_DEFAULT_INTERCEPT)))
        return _stored_ct(image.array, slope, intercept), [slope] * image.shape[0], intercept
    stored = np.empty(image.shape, dtype=np.int16)
    slopes = []
    for k in range(image.shape[0]):
        stored[k], slope = _stored_pet(image.array[k])
        slopes.append(slope)
    return stored, slopes, 0.0


def _header_value(keyword: str, value: Any) -> Any:
    """A metadata value in the form its element's VR accepts (IS: integer, DS: 16 characters)."""
    vr = dictionary_VR(keyword)
    if vr == "IS":
        return int(round(float(value)))
    if vr == "DS":
        return _ds_number(float(value))
    return value


def _base_dataset(
    image: Image, modality: Modality, uids: dict[str, str], sop_class: UID
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.Modality = modality.value
    ds.PatientName = ""
    ds.PatientID = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.StudyDate = ""
    ds.StudyTime = ""
    ds.SeriesNumber = 1
    ds.StudyInstanceUID = uids["study"]
    ds.SeriesInstanceUID = uids["series"]
    ds.FrameOfReferenceUID = uids["frame_of_reference"]
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = ""
    for key, keyword in ACQUISITION_KEYWORDS.items():
        value = image.metadata.get(key)
        if value is not None and keyword not in (
            "Modality",
            "SeriesInstanceUID",
            "StudyInstanceUID",
            "FrameOfReferenceUID",
        ):
            setattr(ds, keyword, _header_value(keyword, value))
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = image.shape[1], image.shape[2]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if "SliceThickness" not in ds:
        ds.SliceThickness = _ds_number(image.spacing[0])
    if modality is Modality.CT:
        ds.RescaleType = "HU"
        ds.KVP = ds.get("KVP", "")
    else:
        ds.Units = ds.get("Units", "BQML")
        ds.DecayCorrection = ds.get("DecayCorrection", "START")
        ds.CorrectedImage = ds.get("CorrectedImage", ["ATTN", "DECY"])
    return ds


def _file_meta(ds: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _save(ds: Dataset, pixels: np.ndarray, transfer_syntax: UID, path: Path) -> None:
    """Store ``pixels`` (int16, (rows, cols) or (frames, rows, cols)) in ``transfer_syntax``."""
    ds.file_meta = _file_meta(ds)
    ds.PixelData = pixels.astype("<i2").tobytes()
    ds["PixelData"].VR = "OW"
    if transfer_syntax in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        ds.file_meta.TransferSyntaxUID = transfer_syntax
        ds.save_as(path, enforce_file_format=True)
    elif transfer_syntax == JPEGLosslessSV1:
        ds.save_as(path, enforce_file_format=True)
        _gdcm_change_syntax(path, transfer_syntax)
    else:
        ds.compress(transfer_syntax, pixels, generate_instance_uid=False)
        ds.save_as(path, enforce_file_format=True)


def _gdcm_change_syntax(path: Path, transfer_syntax: UID) -> None:
    """Re-encode a written file in place with GDCM (JPEG lossless has no pydicom encoder)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    if not reader.Read():
        raise RuntimeError(f"GDCM could not re-read {path}")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise RuntimeError(f"GDCM could not encode {path} as {transfer_syntax.name}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise RuntimeError(f"GDCM could not write {path}")


def _check_arguments(
    image: Image, modality: Modality, transfer_syntax: UID, slice_headers: Any, multiframe: bool
) -> None:
    if modality not in (Modality.CT, Modality.PT):
        raise InputError(
            f"write_dicom_series writes CT or PT series, not {modality.value} "
            "(pass modality='CT' or 'PT')"
        )
    if transfer_syntax not in WRITABLE_TRANSFER_SYNTAXES:
        names = ", ".join(f"{uid.name} ({uid})" for uid in WRITABLE_TRANSFER_SYNTAXES)
        raise InputError(
            f"cannot write transfer syntax {transfer_syntax}: no encoder for 16-bit data here; "
            f"writable: {names}"
        )
    direction = image.grid.direction_matrix
    if (
        image.shape[0] > 1
        and float(direction[:, 0] @ np.cross(direction[:, 2], direction[:, 1])) <= 0
    ):
        raise InputError(
            "the image's slice axis (direction column 0) points against the DICOM slice normal "
            "(x axis x y axis), so DICOM readers would return the slices in reverse order; write "
            "image.array[::-1] with origin at the last slice and direction column 0 negated instead"
        )
    if transfer_syntax == JPEG2000Lossless and min(image.shape[1:]) < _J2K_MIN_SIZE:
        raise InputError(
            f"JPEG 2000 encoding (openjpeg, 6 resolution levels) needs rows and columns >= "
            f"{_J2K_MIN_SIZE}, got {image.shape[1]} x {image.shape[2]}"
        )
    if slice_headers is not None:
        refused = (
            {key for item in slice_headers for key in item} - _FRAME_TIMING_KEYS
            if multiframe
            else set()
        )
        if refused:
            raise InputError(
                f"slice_headers of a multi-frame file may only hold {sorted(_FRAME_TIMING_KEYS)}, "
                f"not {sorted(map(str, refused))}"
            )
        if len(slice_headers) != image.shape[0]:
            raise InputError(f"{len(slice_headers)} slice_headers for {image.shape[0]} slices")
    if not np.all(np.isfinite(image.array)):
        raise InputError("cannot write an image holding NaN or infinite values as DICOM")


def write_dicom_series(
    image: Image,
    out_dir: str | Path,
    *,
    modality: Modality | str | None = None,
    series_instance_uid: str | None = None,
    study_instance_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    header: Mapping[Any, Any] | None = None,
    slice_headers: Sequence[Mapping[Any, Any]] | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    multiframe: bool = False,
    file_prefix: str = "IM",
) -> list[Path]:
    """Write ``image`` as a DICOM series in ``out_dir``; return the files written (slice order).

    See the module docstring for storage, geometry, header and transfer-syntax rules.
    """
    modality = Modality(modality if modality is not None else image.modality)
    transfer_syntax = UID(transfer_syntax)
    _check_arguments(image, modality, transfer_syntax, slice_headers, multiframe)
    header = dict(header or {})
    uids = {
        "series": series_instance_uid or generate_uid(),
        "study": study_instance_uid or generate_uid(),
        "frame_of_reference": frame_of_reference_uid or generate_uid(),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stored, slopes, intercept = _encode_slices(image, modality, header)
    base = _base_dataset(image, modality, uids, _SOP_CLASSES[(modality, multiframe)])
    encoded = _EncodedSeries(
        image, base, header, slice_headers, stored, slopes, intercept, transfer_syntax
    )
    if multiframe:
        paths = [_write_multiframe(encoded, out_dir / f"{file_prefix}_multiframe.dcm")]
    else:
        paths = _write_classic(encoded, out_dir, file_prefix)
    log.debug("wrote %d DICOM file(s) of series %s to %s", len(paths), uids["series"], out_dir)
    return paths


@dataclasses.dataclass(frozen=True)
class _EncodedSeries:
    """A series ready to be written: the image, the shared dataset, headers and stored pixels."""

    image: Image
    base: Dataset
    header: Mapping[Any, Any]
    slice_headers: Sequence[Mapping[Any, Any]] | None
    stored: np.ndarray
    slopes: list[float]
    intercept: float
    transfer_syntax: UID

    def apply_series_header(self, ds: Dataset) -> None:
        """The caller's header on ``ds``; rescaling stays as encoded."""
        rescaling = ("RescaleSlope", "RescaleIntercept")
        _apply_header(ds, {key: v for key, v in self.header.items() if key not in rescaling})


def _write_classic(encoded: _EncodedSeries, out_dir: Path, file_prefix: str) -> list[Path]:
    image, base, slopes = encoded.image, encoded.base, encoded.slopes
    iop = orientation_of_grid(image.grid)
    normal = slice_normal(np.asarray(iop))
    positions = slice_positions_of_grid(image.grid)
    paths = []
    for k in range(image.shape[0]):
        ds = base.copy()
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPInstanceUID = generate_uid(entropy_srcs=[base.SeriesInstanceUID, str(k)])
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [_ds_number(v) for v in iop]
        ds.ImagePositionPatient = [_ds_number(v) for v in positions[k]]
        ds.SliceLocation = _ds_number(float(positions[k] @ normal))
        ds.PixelSpacing = [_ds_number(image.spacing[1]), _ds_number(image.spacing[2])]
        ds.RescaleIntercept = encoded.intercept
        ds.RescaleSlope = slopes[k]
        encoded.apply_series_header(ds)
        if encoded.slice_headers is not None:
            _apply_header(ds, encoded.slice_headers[k])
        path = out_dir / f"{file_prefix}{k + 1:05d}.dcm"
        _save(ds, encoded.stored[k], encoded.transfer_syntax, path)
        paths.append(path)
    return paths


def _frame_timing(values: Mapping[Any, Any]) -> dict[str, Any]:
    """FrameContentSequence timing from classic AcquisitionDate/Time and ActualFrameDuration."""
    timing: dict[str, Any] = {}
    if "AcquisitionDate" in values and "AcquisitionTime" in values:
        timing["FrameAcquisitionDateTime"] = (
            f"{values['AcquisitionDate']}{values['AcquisitionTime']}"
        )
    if "ActualFrameDuration" in values:
        timing["FrameAcquisitionDuration"] = float(values["ActualFrameDuration"])
    return timing


def _write_multiframe(encoded: _EncodedSeries, path: Path) -> Path:
    image, base, slopes = encoded.image, encoded.base, encoded.slopes
    slice_headers = encoded.slice_headers
    iop = [_ds_number(v) for v in orientation_of_grid(image.grid)]
    positions = slice_positions_of_grid(image.grid)
    ds = base.copy()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[base.SeriesInstanceUID, "multiframe"])
    ds.InstanceNumber = 1
    ds.NumberOfFrames = image.shape[0]
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.PresentationLUTShape = "IDENTITY"
    ds.DimensionOrganizationSequence = [
        _dataset(
            {
                "DimensionOrganizationUID": generate_uid(
                    entropy_srcs=[base.SeriesInstanceUID, "dimensions"]
                )
            }
        )
    ]
    shared = {
        "PixelMeasuresSequence": [
            {
                "PixelSpacing": [_ds_number(image.spacing[1]), _ds_number(image.spacing[2])],
                "SliceThickness": base.SliceThickness,
                "SpacingBetweenSlices": _ds_number(image.spacing[0]),
            }
        ],
        "PlaneOrientationSequence": [{"ImageOrientationPatient": iop}],
    }
    pixel_value = {
        "RescaleIntercept": encoded.intercept,
        "RescaleType": "HU" if base.Modality == "CT" else "US",
    }
    if base.Modality == "CT":
        shared["PixelValueTransformationSequence"] = [dict(pixel_value, RescaleSlope=slopes[0])]
    frames = []
    for k in range(image.shape[0]):
        frame: dict[str, Any] = {
            "FrameContentSequence": [
                {
                    "StackID": "1",
                    "InStackPositionNumber": k + 1,
                    "DimensionIndexValues": [k + 1],
                    **(_frame_timing(slice_headers[k]) if slice_headers is not None else {}),
                }
            ],
            "PlanePositionSequence": [
                {"ImagePositionPatient": [_ds_number(v) for v in positions[k]]}
            ],
        }
        if base.Modality == "PT":
            frame["PixelValueTransformationSequence"] = [dict(pixel_value, RescaleSlope=slopes[k])]
        frames.append(frame)
    ds.SharedFunctionalGroupsSequence = [_dataset(shared)]
    ds.PerFrameFunctionalGroupsSequence = [_dataset(frame) for frame in frames]
    encoded.apply_series_header(ds)
    _save(ds, encoded.stored, encoded.transfer_syntax, path)
    return path
