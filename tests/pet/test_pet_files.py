"""PET series written file by file with pydicom here (int16 pixels, a different rescale slope in
every slice, as scanners do), read by ildrad and converted: SUV recovered to 1e-4."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ildrad.cli import main
from ildrad.io.dicom_series import read_pet_series
from ildrad.io.volume_files import read_image
from ildrad.pet.suv import SuvError, suv_from_stored

PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
HALF_LIFE = 6586.2
DOSE = 3.5e8
WEIGHT = 68.0
DECAY_SECONDS = 3900.0  # injection 09:00:00, series 10:05:00


def true_suv_map(n_slices: int = 6) -> np.ndarray:
    rng = np.random.default_rng(7)
    suv = rng.uniform(0.3, 3.0, size=(n_slices, 8, 8))
    suv[2, 3:5, 3:5] = 12.0
    return suv


def write_pet(folder, suv: np.ndarray, **header) -> list[str]:
    """Write BQML slices whose stored values reproduce ``suv`` with per-slice slopes."""
    folder.mkdir(parents=True, exist_ok=True)
    concentration = suv * DOSE * 0.5 ** (DECAY_SECONDS / HALF_LIFE) / (WEIGHT * 1000.0)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for k, plane in enumerate(concentration):
        slope = float(plane.max()) / 32000.0
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = PET_STORAGE
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = PET_STORAGE, ds.file_meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.PatientID, ds.PatientName = "PT", "PET-1", "Test^Pet"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SeriesDate = ds.AcquisitionDate = ds.StudyDate = "20240412"
        ds.SeriesTime = ds.AcquisitionTime = "100500"
        ds.Units, ds.DecayCorrection, ds.CorrectedImage = "BQML", "START", ["ATTN", "DECY"]
        ds.PatientWeight, ds.PatientSize, ds.PatientSex = WEIGHT, 1.68, "F"
        ds.ActualFrameDuration = 150000
        radio = Dataset()
        radio.RadionuclideTotalDose = DOSE
        radio.RadionuclideHalfLife = HALF_LIFE
        radio.RadiopharmaceuticalStartTime = "090000"
        ds.RadiopharmaceuticalInformationSequence = Sequence([radio])
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-16.0, -16.0, -3.27 * k]
        ds.PixelSpacing = [4.0, 4.0]
        ds.SliceThickness = 3.27
        ds.Rows = ds.Columns = 8
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", 0
        for key, value in header.items():
            setattr(ds, key, value)
        ds.PixelData = np.rint(plane / float(f"{slope:.10g}")).astype(np.int16).tobytes()
        path = folder / f"PT{k:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(str(path))
    return paths


def test_suv_from_files_with_per_slice_slopes(tmp_path) -> None:
    suv = true_suv_map()
    write_pet(tmp_path / "pet", suv)
    series = read_pet_series(tmp_path / "pet")
    result = suv_from_stored(series.image, series.headers, sources=series.files)
    # the reader orders slices from inferior to superior: file k lies at z = -3.27 k mm
    assert series.image.grid.index_to_physical([0, 0, 0])[2] == pytest.approx(-3.27 * (len(suv) - 1))
    suv = suv[::-1]
    # int16 quantisation: one unit of 32000 at the slice maximum
    np.testing.assert_allclose(result.image.array, suv, rtol=1e-4, atol=suv.max() / 32000.0)
    assert len(set(float(h.RescaleSlope) for h in series.headers)) == len(suv)


def test_pet_command_without_ct_writes_suv(tmp_path) -> None:
    suv = true_suv_map()
    write_pet(tmp_path / "pet", suv)
    assert main(["pet", str(tmp_path / "pet"), "--out", str(tmp_path / "out")]) == 0
    written = read_image(tmp_path / "out" / "suv.nii.gz")
    suv = suv[::-1]  # inferior slice first, as the reader orders them
    np.testing.assert_allclose(written.array, suv, rtol=1e-4, atol=suv.max() / 32000.0)
    assert (tmp_path / "out" / "pet.json").is_file()


def test_pet_command_overrides_a_missing_weight(tmp_path) -> None:
    suv = true_suv_map()
    write_pet(tmp_path / "pet", suv, PatientWeight="")
    assert main(["pet", str(tmp_path / "pet"), "--out", str(tmp_path / "o1")]) == 2
    assert main(["pet", str(tmp_path / "pet"), "--weight-kg", str(WEIGHT), "--out", str(tmp_path / "o2")]) == 0
    series = read_pet_series(tmp_path / "pet")
    with pytest.raises(SuvError, match=r"PT00\d.dcm: PatientWeight"):
        suv_from_stored(series.image, series.headers, sources=series.files)
