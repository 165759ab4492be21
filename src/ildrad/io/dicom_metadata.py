"""The acquisition facts ildrad keeps from DICOM headers, and their metadata keys.

One table (:data:`ACQUISITION_KEYWORDS`) maps an :class:`~ildrad.image.Image` metadata key to the
DICOM keyword it comes from; the readers fill metadata from it and the writer fills headers from
it, so a written series reads back with the same metadata. Patient identifiers (name, ID, birth
date, accession, institution, physicians) are deliberately absent: they never reach metadata.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

__all__ = ["ACQUISITION_KEYWORDS", "metadata_from_header"]

#: Image metadata key -> DICOM keyword (units in the key where the value has one).
ACQUISITION_KEYWORDS: dict[str, str] = {
    "modality": "Modality",
    "manufacturer": "Manufacturer",
    "model": "ManufacturerModelName",
    "kernel": "ConvolutionKernel",
    "slice_thickness_mm": "SliceThickness",
    "kvp": "KVP",
    "exposure_mas": "Exposure",
    "tube_current_ma": "XRayTubeCurrent",
    "contrast_agent": "ContrastBolusAgent",
    "patient_position": "PatientPosition",
    "body_part": "BodyPartExamined",
    "acquisition_date": "AcquisitionDate",
    "study_date": "StudyDate",
    "series_date": "SeriesDate",
    "series_description": "SeriesDescription",
    "reconstruction_diameter_mm": "ReconstructionDiameter",
    "series_instance_uid": "SeriesInstanceUID",
    "study_instance_uid": "StudyInstanceUID",
    "frame_of_reference_uid": "FrameOfReferenceUID",
    "patient_weight_kg": "PatientWeight",
    "patient_size_m": "PatientSize",
    "patient_sex": "PatientSex",
    "patient_age": "PatientAge",
    "units": "Units",
}

_NUMERIC_KEYWORDS = frozenset(
    {
        "SliceThickness",
        "KVP",
        "Exposure",
        "XRayTubeCurrent",
        "ReconstructionDiameter",
        "PatientWeight",
        "PatientSize",
    }
)


def _plain(keyword: str, value: Any) -> Any:
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    if keyword in _NUMERIC_KEYWORDS:
        return float(value)
    return str(value)


def metadata_from_header(ds: Dataset) -> dict[str, Any]:
    """Acquisition facts of one header as plain values (absent or empty fields left out)."""
    found: dict[str, Any] = {}
    for key, keyword in ACQUISITION_KEYWORDS.items():
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        try:
            found[key] = _plain(keyword, value)
        except (TypeError, ValueError):
            continue  # a malformed optional field is not worth failing a read for
    return found
