"""The DICOM series writer: geometry read back by SimpleITK and pydicom, values, headers."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit

from ildrad.errors import InputError
from ildrad.image import Grid, Image
from ildrad.io.dicom_write import WRITABLE_TRANSFER_SYNTAXES, write_dicom_series
from ildrad.io.sitk_bridge import grid_from_sitk


def oblique_direction() -> np.ndarray:
    """A right-handed DICOM frame (x, y, normal) rotated by 10, 20, 30 degrees, ildrad order."""
    ax, ay, az = np.deg2rad([10.0, 20.0, 30.0])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    rotation = rz @ ry @ rx  # columns: LPS directions of DICOM row, column, normal
    return rotation[:, ::-1]  # ildrad columns are (z, y, x)


def ct_image(shape=(5, 40, 36)) -> Image:
    rng = np.random.default_rng(7)
    values = rng.integers(-1024, 2000, size=shape).astype(np.float32)
    grid = Grid(shape, (2.5, 0.7, 0.8), (-120.5, -60.25, 33.0), oblique_direction())
    return Image(values, grid, "CT", "HU", {"manufacturer": "ACME", "kernel": "B70f", "kvp": 120.0})


def read_with_sitk(files):
    if len(files) == 1:
        return sitk.ReadImage(str(files[0]))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(files[0].parent)))
    return reader.Execute()


@pytest.mark.parametrize("multiframe", [False, True])
def test_ct_oblique_geometry_and_values_read_back_by_simpleitk(tmp_path, multiframe):
    image = ct_image()
    files = write_dicom_series(image, tmp_path, multiframe=multiframe)
    assert len(files) == (1 if multiframe else image.shape[0])
    itk = read_with_sitk(files)
    assert grid_from_sitk(itk).differences(image.grid) == []
    np.testing.assert_array_equal(sitk.GetArrayFromImage(itk), image.array)


@pytest.mark.parametrize("transfer_syntax", WRITABLE_TRANSFER_SYNTAXES, ids=lambda uid: uid.name)
def test_every_writable_transfer_syntax_decodes_losslessly_in_pydicom(tmp_path, transfer_syntax):
    image = ct_image(shape=(2, 40, 36))
    files = write_dicom_series(image, tmp_path, transfer_syntax=transfer_syntax)
    ds = pydicom.dcmread(files[1])
    assert ds.file_meta.TransferSyntaxUID == transfer_syntax
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(hu, image.array[1])
    position = np.asarray(image.grid.origin) + image.spacing[0] * image.grid.direction_matrix[:, 0]
    np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient], position, atol=1e-6)


def test_pet_has_its_own_slope_per_slice_and_the_given_header(tmp_path):
    rng = np.random.default_rng(3)
    values = np.abs(rng.normal(0, 5000, size=(4, 32, 32))).astype(np.float32)
    values[2] *= 10  # a hotter slice gets a larger slope
    image = Image(
        values,
        Grid(values.shape, (3.0, 4.0, 4.0), direction=[[0, 0, 1], [0, 1, 0], [1, 0, 0]]),
        "PT",
        "BQML",
    )
    header = {
        "PatientName": "SYNTH^ONE",
        "PatientWeight": 71.5,
        "RadiopharmaceuticalInformationSequence": [
            {"RadionuclideTotalDose": 3.7e8, "RadionuclideHalfLife": 6588.0}
        ],
        (0x7053, 0x0010): ("LO", "Philips PET Private Group"),
        (0x7053, 0x1000): ("DS", "0.00123"),
    }
    files = write_dicom_series(
        image,
        tmp_path,
        header=header,
        slice_headers=[{"FrameReferenceTime": 1000.0 * k} for k in range(4)],
    )
    slopes = []
    for k, path in enumerate(files):
        ds = pydicom.dcmread(path)
        assert ds.Modality == "PT"
        assert ds.Units == "BQML"
        assert ds.PatientName == "SYNTH^ONE"
        assert float(ds[0x7053, 0x1000].value) == pytest.approx(0.00123)
        assert ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose == pytest.approx(
            3.7e8
        )
        assert float(ds.FrameReferenceTime) == 1000.0 * k
        decoded = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        slope = float(ds.RescaleSlope)
        np.testing.assert_allclose(decoded, values[k], atol=slope / 2 + 1e-9)
        slopes.append(slope)
    assert slopes[2] > 5 * max(slopes[0], slopes[1])


def test_refuses_what_it_cannot_write(tmp_path):
    image = ct_image(shape=(2, 16, 16))
    with pytest.raises(InputError, match="JPEG Baseline|cannot write transfer syntax"):
        write_dicom_series(image, tmp_path, transfer_syntax=JPEGBaseline8Bit)
    with pytest.raises(InputError, match="needs rows and columns >= 32"):
        write_dicom_series(image, tmp_path, transfer_syntax=WRITABLE_TRANSFER_SYNTAXES[4])
    flipped = Image(image.array, Grid(image.shape, image.spacing, direction=np.eye(3)), "CT", "HU")
    with pytest.raises(InputError, match="points against the DICOM slice normal"):
        write_dicom_series(flipped, tmp_path)
    with pytest.raises(InputError, match="multi-frame file may only hold"):
        write_dicom_series(
            image, tmp_path, multiframe=True, slice_headers=[{"SliceLocation": 1.0}] * 2
        )
    with pytest.raises(InputError, match="CT or PT"):
        write_dicom_series(image, tmp_path, modality="MR")
    with pytest.raises(InputError, match="not a DICOM keyword|cannot be written"):
        write_dicom_series(
            image, tmp_path, header={"NoSuchKeyword": 1}, transfer_syntax=ExplicitVRLittleEndian
        )


def test_metadata_becomes_header_fields_in_their_value_representation(tmp_path):
    metadata = {
        "manufacturer": "ACME",
        "kernel": "B70f",
        "exposure_mas": 120.6,
        "kvp": 119.99999999999,
        "slice_thickness_mm": 1.0 / 3,
        "contrast_agent": "Iomeron",
        "patient_position": "FFS",
    }
    image = ct_image(shape=(2, 8, 8)).with_array(np.zeros((2, 8, 8)))
    image = Image(image.array, image.grid, "CT", "HU", metadata)
    ds = pydicom.dcmread(write_dicom_series(image, tmp_path)[0])
    assert ds.Exposure == 121
    assert ds.ConvolutionKernel == "B70f"
    assert ds.PatientPosition == "FFS"
    assert float(ds.KVP) == pytest.approx(120.0)
    assert len(str(ds.SliceThickness)) <= 16
    assert ds.ContrastBolusAgent == "Iomeron"
    assert ds.Manufacturer == "ACME"
