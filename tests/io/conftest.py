"""Fixtures of the I/O tests: an RTSTRUCT writer and a SEG writer (highdicom), for read tests."""

from __future__ import annotations

from collections.abc import Callable

import highdicom as hd
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, RTStructureSetStorage, generate_uid


def _write_rtstruct(path, rois: dict[str, list[np.ndarray]]) -> None:
    """A minimal RTSTRUCT: ``rois`` maps a name to closed planar contours ((n, 3) LPS points)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = RTStructureSetStorage
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = generate_uid()
    ds.StructureSetROISequence = []
    ds.ROIContourSequence = []
    for number, (name, contours) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, name
        ds.StructureSetROISequence.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ContourSequence = []
        for points in contours:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(points)
            contour.ContourData = [f"{v:.6f}" for v in np.ravel(points)]
            item.ContourSequence.append(contour)
        ds.ROIContourSequence.append(item)
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def write_rtstruct() -> Callable[..., None]:
    """``write_rtstruct(path, {name: [(n, 3) LPS contour points, ...]})``: a minimal RTSTRUCT."""
    return _write_rtstruct


def _segment(number: int, label: str) -> hd.seg.SegmentDescription:
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=label,
        segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Lung,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )


def _write_seg(path, sources, masks, kind="BINARY", labels=("Lung_R", "Lung_L")):
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=masks,
        segmentation_type=kind,
        segment_descriptions=[_segment(n + 1, label) for n, label in enumerate(labels)],
        series_instance_uid=hd.UID(),
        series_number=5,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="0",
        device_serial_number="0",
        max_fractional_value=100,
    )
    seg.save_as(path)


@pytest.fixture
def write_seg() -> Callable[..., None]:
    """``write_seg(path, source_datasets, masks, kind="BINARY", labels=(...))`` via highdicom."""
    return _write_seg
