"""Specific errors of the DICOM readers; all are :class:`~ildrad.errors.DicomError` (an InputError).

Each message names the folder or file and says what is wrong, so a user can fix or exclude it.
"""

from __future__ import annotations

from ildrad.errors import DicomError, InputError

__all__ = [
    "DuplicateSliceError",
    "GantryTiltError",
    "InconsistentSeriesError",
    "MissingSliceError",
    "MixedOrientationError",
    "NonUniformSpacingError",
    "RoiNotFoundError",
    "SeriesNotFoundError",
    "UnreadableDicomError",
    "WrongModalityError",
]


class UnreadableDicomError(DicomError):
    """A DICOM file is truncated, corrupt, or its pixel data cannot be decoded."""


class SeriesNotFoundError(DicomError):
    """No series of the wanted UID or modality in the folder."""


class WrongModalityError(DicomError):
    """The series is not of the modality the reader expects (e.g. MR where CT was expected)."""


class InconsistentSeriesError(DicomError):
    """Slices of one series differ in size, pixel spacing or another per-series property."""


class MixedOrientationError(DicomError):
    """Slices of one series have different ImageOrientationPatient."""


class GantryTiltError(DicomError):
    """Slice positions are sheared against the slice normal (tilted gantry acquisition)."""


class DuplicateSliceError(DicomError):
    """Two slices of one series lie at the same position."""


class MissingSliceError(DicomError):
    """A gap of whole slices in an otherwise regular stack."""


class NonUniformSpacingError(DicomError):
    """Slice spacing varies along the stack (not a whole number of missing slices)."""


class RoiNotFoundError(InputError):
    """A region of interest named by the user is not in the structure set or segmentation."""
