"""Reading CT and PET series: geometry against SimpleITK, rescale, selection, and broken inputs.

Broken inputs are made by corrupting series written by ``ildrad.io.dicom_write`` in tmp_path.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import JPEGBaseline8Bit, generate_uid

from ildrad.errors import IldradWarning, IncompleteHeaderWarning
from ildrad.image import Grid, Image, Unit
from ildrad.io.dicom_errors import (
    DuplicateSliceError,
    GantryTiltError,
    MissingSliceError,
    MixedOrientationError,
    NonUniformSpacingError,
    SeriesNotFoundError,
    UnreadableDicomError,
    WrongModalityError,
)
from ildrad.io.dicom_series import discover_series, read_ct_series, read_pet_series
from ildrad.io.dicom_write import WRITABLE_TRANSFER_SYNTAXES, write_dicom_series
from ildrad.io.sitk_bridge import grid_from_sitk
from ildrad.io.volume_files import read_image

SHAPE = (6, 40, 36)


def oblique_direction() -> np.ndarray:
    """ildrad direction of a right-handed DICOM frame rotated by 10, 20, 30 degrees."""
    ax, ay, az = np.deg2rad([10.0, 20.0, 30.0])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return (rz @ ry @ rx)[:, ::-1]


def ct_image(shape=SHAPE, direction=None, seed=1) -> Image:
    values = np.random.default_rng(seed).integers(-1000, 1500, size=shape).astype(np.float32)
    axial = np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]])
    grid = Grid(
        shape, (2.0, 0.75, 0.8), (-15.0, -20.0, 100.0), axial if direction is None else direction
    )
    return Image(values, grid, "CT", "HU", {"manufacturer": "ACME", "kernel": "B45f", "kvp": 120.0})


def write_ct(folder, image=None, **kwargs):
    return write_dicom_series(image or ct_image(), folder, **kwargs)


def edit(path, **changes):
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(path)


# --- geometry and values --------------------------------------------------------------------


@pytest.mark.parametrize("multiframe", [False, True], ids=["classic", "multiframe"])
def test_oblique_series_matches_simpleitk_and_the_written_image(tmp_path, multiframe):
    image = ct_image(direction=oblique_direction())
    files = write_ct(tmp_path, image, multiframe=multiframe)
    read = read_ct_series(tmp_path)
    assert read.grid.differences(image.grid) == []
    np.testing.assert_array_equal(read.array, image.array)
    if multiframe:
        itk = sitk.ReadImage(str(files[0]))
    else:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path)))
        itk = reader.Execute()
    assert grid_from_sitk(itk).differences(read.grid) == []
    assert read.metadata["kernel"] == "B45f"
    assert read.metadata["manufacturer"] == "ACME"
    assert read.metadata["padding_voxels"] == 0


@pytest.mark.parametrize("transfer_syntax", WRITABLE_TRANSFER_SYNTAXES, ids=lambda uid: uid.name)
@pytest.mark.parametrize("multiframe", [False, True], ids=["classic", "multiframe"])
def test_compressed_variants_read_identically(tmp_path, transfer_syntax, multiframe):
    image = ct_image(shape=(3, 40, 36))
    write_ct(tmp_path, image, transfer_syntax=transfer_syntax, multiframe=multiframe)
    read = read_ct_series(tmp_path)
    np.testing.assert_array_equal(read.array, image.array)
    assert read.grid.same_as(image.grid)


def test_jpeg_baseline_8bit_series_is_decoded(tmp_path):
    """JPEG baseline holds 8-bit samples: an 8-bit CT (slope 8) encoded by GDCM, read back."""
    gdcm = pytest.importorskip("gdcm")
    stored = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (40, 1))
    path = tmp_path / "slice.dcm"
    files = write_ct(tmp_path / "src", ct_image(shape=(1, 40, 40)))
    ds = pydicom.dcmread(files[0])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.RescaleSlope, ds.RescaleIntercept = 8, -1024
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGBaselineProcess1))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    read = read_ct_series(path)
    hu = stored.astype(float) * 8 - 1024
    assert np.abs(read.array[0] - hu).mean() < 8 * 2  # lossy: within ~2 stored levels on average


def test_each_slice_keeps_its_own_rescale(tmp_path):
    image = ct_image(shape=(3, 40, 36))
    files = write_ct(tmp_path, image)
    ds = pydicom.dcmread(files[1])
    stored = np.rint((image.array[1].astype(np.float64) + 1000.0) / 2.0).astype(np.int16)
    ds.PixelData = stored.tobytes()
    ds.RescaleSlope, ds.RescaleIntercept = 2.0, -1000.0
    ds.save_as(files[1])
    read = read_ct_series(tmp_path)
    np.testing.assert_array_equal(read.array[1], stored * 2.0 - 1000.0)
    np.testing.assert_array_equal(read.array[[0, 2]], image.array[[0, 2]])


def test_padding_becomes_air_and_is_counted(tmp_path):
    values = np.zeros((2, 48, 48), dtype=np.float32)
    values[:, 0, 0] = -2048.0  # sentinel padding
    values[:, 47, 47] = -3024.0  # sentinel padding
    values[:, 0, 24] = -1100.0  # inside the inscribed circle (edge midpoint, radius 23.5 px): kept
    values[:, 1, 1] = -1100.0  # outside the reconstruction circle: padding
    values[:, 20, 20] = -1010.0  # equals PixelPaddingValue below
    image = Image(
        values,
        Grid(values.shape, (1.0, 1.0, 1.0), direction=[[0, 0, 1], [0, 1, 0], [1, 0, 0]]),
        "CT",
        "HU",
    )
    write_ct(tmp_path, image, header={"RescaleIntercept": 0.0, "PixelPaddingValue": -1010})
    read = read_ct_series(tmp_path)
    assert read.metadata["padding_voxels"] == 2 * 4
    for y, x in [(0, 0), (47, 47), (1, 1), (20, 20)]:
        assert np.all(read.array[:, y, x] == -1024.0)
    assert np.all(read.array[:, 0, 24] == -1100.0)
    assert read.array.min() >= -1100.0


# --- series selection ------------------------------------------------------------------------


def test_two_series_mixed_reader_picks_largest_or_the_uid(tmp_path):
    big = write_ct(
        tmp_path,
        ct_image(shape=(6, 40, 36), seed=1),
        series_instance_uid="1.2.3.1",
        file_prefix="A",
    )
    write_ct(
        tmp_path,
        ct_image(shape=(4, 40, 36), seed=2),
        series_instance_uid="1.2.3.2",
        file_prefix="B",
    )
    (tmp_path / "notes.txt").write_text("not DICOM")
    series, unreadable = discover_series(tmp_path)
    assert [(s.series_instance_uid, s.n_images) for s in series] == [("1.2.3.1", 6), ("1.2.3.2", 4)]
    assert unreadable == []
    assert read_ct_series(tmp_path).shape == (6, 40, 36)
    assert read_ct_series(tmp_path, series_uid="1.2.3.2").shape == (4, 40, 36)
    with pytest.raises(
        SeriesNotFoundError, match=r"no series with SeriesInstanceUID 9\.9.*1\.2\.3\.1"
    ):
        read_ct_series(tmp_path, series_uid="9.9")
    assert len(big) == 6


def test_non_ct_input_is_refused(tmp_path):
    pet = ct_image(shape=(3, 40, 36)).with_array(np.ones((3, 40, 36)), unit=Unit.BQML)
    write_dicom_series(pet, tmp_path / "pet", modality="PT", series_instance_uid="1.2.3.4")
    with pytest.raises(WrongModalityError, match=r"no CT image series; found: 1\.2\.3\.4 \(PT"):
        read_ct_series(tmp_path / "pet")
    with pytest.raises(WrongModalityError, match="is PT, not CT"):
        read_ct_series(tmp_path / "pet", series_uid="1.2.3.4")
    with pytest.raises(WrongModalityError, match="no PT image series"):
        read_pet_series(write_ct(tmp_path / "ct")[0].parent)


# --- broken stacks ---------------------------------------------------------------------------


def test_missing_slice_is_reported_with_its_positions(tmp_path):
    files = write_ct(tmp_path)
    files[2].unlink()
    with pytest.raises(
        MissingSliceError, match=r"1 slice\(s\) missing between positions 102\.000 and 106\.000 mm"
    ):
        read_ct_series(tmp_path)


def test_duplicated_slice_is_reported(tmp_path):
    files = write_ct(tmp_path)
    copy = tmp_path / "copy.dcm"
    shutil.copy(files[3], copy)
    edit(copy, SOPInstanceUID=generate_uid())
    with pytest.raises(
        DuplicateSliceError, match=r"duplicated slice at position 106\.000 mm.*IM00004\.dcm"
    ):
        read_ct_series(tmp_path)
    edit(copy, SOPInstanceUID=pydicom.dcmread(files[3]).SOPInstanceUID)  # an exact copy: skipped
    assert read_ct_series(tmp_path).shape == SHAPE


def test_non_uniform_spacing_is_reported_where(tmp_path):
    files = write_ct(tmp_path)
    position = [float(v) for v in pydicom.dcmread(files[4]).ImagePositionPatient]
    edit(files[4], ImagePositionPatient=[position[0], position[1], position[2] + 0.7])
    with pytest.raises(
        NonUniformSpacingError, match=r"2\.7 mm between positions 106\.000 and 108\.700"
    ):
        read_ct_series(tmp_path)


def test_gantry_tilt_is_reported(tmp_path):
    files = write_ct(tmp_path)
    for k, path in enumerate(files):
        position = [float(v) for v in pydicom.dcmread(path).ImagePositionPatient]
        edit(
            path,
            ImagePositionPatient=[position[0], position[1] + 0.35 * k, position[2]],
            GantryDetectorTilt=10,
        )
    with pytest.raises(GantryTiltError, match=r"sheared .* by 9\.9\d degrees"):
        read_ct_series(tmp_path)


def test_mixed_orientation_is_reported(tmp_path):
    files = write_ct(tmp_path)
    edit(files[2], ImageOrientationPatient=[1, 0, 0, 0, 0.995, 0.0998749])
    with pytest.raises(MixedOrientationError, match="IM00003.dcm has ImageOrientationPatient"):
        read_ct_series(tmp_path)


@pytest.mark.parametrize("keep_fraction", [0.5, 0.02], ids=["pixel-data", "header"])
def test_truncated_file_is_named(tmp_path, keep_fraction):
    files = write_ct(tmp_path)
    data = files[3].read_bytes()
    files[3].write_bytes(data[: max(int(len(data) * keep_fraction), 140)])
    with pytest.raises(UnreadableDicomError, match=r"IM00004\.dcm"):
        read_ct_series(tmp_path)


# --- PET -------------------------------------------------------------------------------------


@pytest.mark.parametrize("multiframe", [False, True], ids=["classic", "multiframe"])
def test_pet_series_values_headers_and_files(tmp_path, multiframe):
    rng = np.random.default_rng(5)
    values = np.abs(rng.normal(0, 4000, size=(4, 32, 32))).astype(np.float32)
    values[3] *= 20
    image = ct_image(shape=(4, 32, 32)).with_array(values, unit=Unit.BQML)
    header = {
        "PatientName": "SYNTH^PET",
        "PatientID": "P-001",
        "PatientWeight": 70.0,
        "DecayCorrection": "START",
        "RadiopharmaceuticalInformationSequence": [
            {"RadionuclideTotalDose": 3.5e8, "RadionuclideHalfLife": 6588.0}
        ],
        (0x7053, 0x0010): ("LO", "Philips PET Private Group"),
        (0x7053, 0x1009): ("DS", "1.5"),
    }
    timing = [
        {
            "AcquisitionDate": "20240102",
            "AcquisitionTime": f"1030{k:02d}.000000",
            "ActualFrameDuration": 120000,
        }
        for k in range(4)
    ]
    files = write_dicom_series(
        image, tmp_path, modality="PT", header=header, multiframe=multiframe, slice_headers=timing
    )
    pet = read_pet_series(tmp_path)
    assert pet.image.unit is Unit.BQML
    assert pet.image.grid.same_as(image.grid)
    slopes = [float(ds.RescaleSlope) for ds in pet.headers]
    assert len(set(slopes)) == 4  # one slope per slice, multi-frame included
    np.testing.assert_allclose(pet.image.array, values, atol=max(slopes) / 2 * 1.0001)
    for ds in pet.headers:
        assert "PixelData" not in ds
        assert "PatientName" not in ds
        assert "PatientID" not in ds
        assert ds.Units == "BQML"
        assert float(ds.PatientWeight) == 70.0
        assert float(ds[0x7053, 0x1009].value) == 1.5
        assert ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose == 3.5e8
        assert int(ds.ActualFrameDuration) == 120000
        assert ds.AcquisitionDate == "20240102"
    # slices are sorted along the normal; the timing travels with its slice
    assert [str(ds.AcquisitionTime)[:6] for ds in pet.headers] == [f"1030{k:02d}" for k in range(4)]
    assert list(pet.files) == ([files[0]] * 4 if multiframe else files)


# --- real data -------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_ibsi_ct_phantom_series_equals_its_nifti_after_rounding(shared_data):
    folder = shared_data / "ibsi1" / "ct_phantom"
    read = read_ct_series(folder / "dicom" / "image")
    reference = read_image(folder / "nifti" / "image.nii.gz")
    assert read.grid.differences(reference.grid) == []
    np.testing.assert_array_equal(np.rint(read.array), reference.array)
    assert "PatientName" not in read.metadata
    assert read.metadata["slice_thickness_mm"] == 3.0


@pytest.mark.shared_data
def test_chest_slices_without_modality_read_with_a_warning(shared_data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = read_ct_series(shared_data / "chest_slices")
    messages = [str(w.message) for w in caught if issubclass(w.category, IncompleteHeaderWarning)]
    assert any("lacks Modality" in m for m in messages)
    assert image.shape == (2, 512, 512)
    assert image.spacing == (1.0, 0.625, 0.625)
    assert image.array.min() >= -1100
    assert image.metadata["padding_voxels"] > 0


def test_equal_series_tie_and_localizers_inside_a_series(tmp_path):
    write_ct(
        tmp_path,
        ct_image(seed=1),
        series_instance_uid="1.2.3.1",
        file_prefix="A",
        header={"SeriesNumber": 3},
    )
    files = write_ct(
        tmp_path,
        ct_image(seed=2),
        series_instance_uid="1.2.3.2",
        file_prefix="B",
        header={"SeriesNumber": 2},
    )
    scout = tmp_path / "scout.dcm"
    shutil.copy(files[0], scout)
    edit(
        scout,
        SOPInstanceUID=generate_uid(),
        ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
        ImageOrientationPatient=[1, 0, 0, 0, 0, -1],
    )
    with pytest.warns(IldradWarning, match=r"2 CT series have 6 images; reading 1\.2\.3\.2"):
        image = read_ct_series(tmp_path)
    np.testing.assert_array_equal(image.array, ct_image(seed=2).array)
    series, _ = discover_series(tmp_path)
    assert [len(s.files) for s in series] == [6, 6]


def test_missing_rescale_reads_stored_values_with_a_warning(tmp_path):
    files = write_ct(tmp_path, header={"RescaleIntercept": 0.0})
    for path in files:
        ds = pydicom.dcmread(path)
        del ds.RescaleSlope, ds.RescaleIntercept
        ds.save_as(path)
    with pytest.warns(IncompleteHeaderWarning, match="RescaleSlope/RescaleIntercept missing"):
        image = read_ct_series(tmp_path)
    np.testing.assert_array_equal(image.array, ct_image().array)


def test_a_media_folder_with_dicomdir_reads(tmp_path):
    from pydicom.fileset import FileSet

    image = ct_image()
    files = write_ct(
        tmp_path / "src",
        image,
        header={"PatientID": "P1", "StudyID": "S1", "StudyDate": "20240101", "StudyTime": "101010"},
    )
    fileset = FileSet()
    for path in files:
        fileset.add(pydicom.dcmread(path))
    fileset.write(tmp_path / "media")
    assert (tmp_path / "media" / "DICOMDIR").is_file()
    read = read_ct_series(tmp_path / "media")
    np.testing.assert_array_equal(read.array, image.array)
