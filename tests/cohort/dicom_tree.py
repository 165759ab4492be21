"""A small DICOM tree written with pydicom directly (tiny pixel arrays), with the decoys of a
real PACS export, for index tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.67"  # X-ray radiation dose SR

PATIENT = {"PatientName": "Doe^Jane", "PatientID": "SSC-000123", "PatientBirthDate": "19610304"}


def write_series(folder: Path, *, study_uid: str, n_slices: int, thickness: float = 1.0,
                 kernel: str = "B30f", modality: str = "CT", sop_class: str = CT_STORAGE,
                 description: str = "Thorax", image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
                 position: str = "HFS", for_uid: str | None = None, spacing: float | None = None,
                 patient: dict | None = None, series_uid: str | None = None,
                 study_date: str = "20230105") -> str:
    """Write one series of ``n_slices`` 4 x 4 files; returns its SeriesInstanceUID."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    for_uid = for_uid or generate_uid()
    step = spacing or thickness
    for k in range(n_slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, ds.file_meta.MediaStorageSOPInstanceUID
        for key, value in (patient or PATIENT).items():
            setattr(ds, key, value)
        ds.AccessionNumber, ds.InstitutionName = "ACC998877", "Hopital Test"
        ds.Modality, ds.StudyInstanceUID, ds.SeriesInstanceUID = modality, study_uid, series_uid
        ds.StudyDate = ds.SeriesDate = study_date
        ds.SeriesDescription, ds.ImageType = description, list(image_type)
        ds.SliceThickness, ds.ConvolutionKernel = thickness, kernel
        ds.Manufacturer, ds.ManufacturerModelName = "SIEMENS", "SOMATOM Definition AS"
        ds.PatientPosition, ds.FrameOfReferenceUID = position, for_uid
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-100.0, -100.0, -step * k]
        ds.Rows = ds.Columns = 4
        ds.PixelSpacing = [0.7, 0.7]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = np.zeros((4, 4), np.int16).tobytes()
        ds.save_as(folder / f"IM{k:04d}.dcm", enforce_file_format=True)
    return series_uid


def make_tree(root: Path) -> dict[str, str]:
    """One patient, an HRCT study with decoys and a PET/CT study; returns the series UIDs."""
    hrct = generate_uid()
    study = root / "SSC-000123" / "20230105_HRCT"
    uids = {
        "main": write_series(study / "2_thorax_b30f", study_uid=hrct, n_slices=30, kernel="B30f"),
        "sharp": write_series(study / "3_thorax_b70f", study_uid=hrct, n_slices=30, kernel="B70f"),
        "thick": write_series(study / "4_thorax_5mm", study_uid=hrct, n_slices=6, thickness=5.0),
        "prone": write_series(study / "5_prone", study_uid=hrct, n_slices=30, position="HFP",
                              description="Thorax prone"),
        "scout": write_series(study / "1_scout", study_uid=hrct, n_slices=1,
                              image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), description="Topogram"),
        "dose": write_series(study / "99_dose", study_uid=hrct, n_slices=1, sop_class=SR_STORAGE,
                             modality="SR", description="Dose Report"),
        "gappy": write_series(study / "6_gappy", study_uid=hrct, n_slices=30, kernel="B31f"),
    }
    (study / "6_gappy" / "IM0010.dcm").unlink()  # a missing slice
    shutil.copytree(study / "2_thorax_b30f", study / "2_thorax_b30f_copy")  # duplicated export
    (study / "README.txt").write_text("exported by PACS")
    (study / "export.xml").write_text("<export/>")
    corrupt = study / "2_thorax_b30f" / "IM0003.dcm"
    corrupt_copy = study / "corrupt.dcm"
    corrupt_copy.write_bytes(corrupt.read_bytes()[:300])
    petct = generate_uid()
    frame = generate_uid()
    pet_study = root / "SSC-000123" / "20230610_PETCT"
    uids["ldct"] = write_series(pet_study / "ct", study_uid=petct, n_slices=25, thickness=3.0,
                                for_uid=frame, description="CT AC", study_date="20230610")
    uids["pet"] = write_series(pet_study / "pet", study_uid=petct, n_slices=25, thickness=3.0,
                               modality="PT", sop_class=PET_STORAGE, for_uid=frame, description="PET AC",
                               study_date="20230610")
    return uids
