"""``ildrad convert`` and ``read_masks``: DICOM + RTSTRUCT to NIfTI, names kept, bad input: 2."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from ildrad.cli import app, main
from ildrad.errors import GridMismatchError, InputError
from ildrad.image import Grid, Image, Mask
from ildrad.io.dicom_series import read_ct_series
from ildrad.io.dicom_write import write_dicom_series
from ildrad.io.masks import read_masks
from ildrad.io.volume_files import read_image, read_mask, write_mask

AXIAL = np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]])


@pytest.fixture
def ct_with_rtstruct(tmp_path, write_rtstruct):
    values = np.random.default_rng(4).integers(-1000, 300, size=(4, 20, 22)).astype(np.float32)
    image = Image(
        values, Grid(values.shape, (2.5, 0.9, 0.9), (-10.0, -9.0, 50.0), AXIAL), "CT", "HU"
    )
    write_dicom_series(image, tmp_path / "dicom")
    square = np.array([[3.5, 4.5], [3.5, 12.5], [10.5, 12.5], [10.5, 4.5]])
    contours = [
        image.grid.index_to_physical(np.column_stack([np.full(4, float(k)), square]))
        for k in (1, 2)
    ]
    write_rtstruct(tmp_path / "rs.dcm", {"Lung R/upper": contours, "GTV": [contours[0]]})
    expected = np.zeros(image.shape, dtype=np.uint8)
    expected[1:3, 4:11, 5:13] = 1
    return image, expected


def test_convert_writes_the_image_and_each_roi_under_its_own_name(tmp_path, ct_with_rtstruct):
    image, expected = ct_with_rtstruct
    code = main(
        [
            "convert",
            str(tmp_path / "dicom"),
            "--out",
            str(tmp_path / "out"),
            "--rtstruct",
            str(tmp_path / "rs.dcm"),
            "--roi",
            "lung r/upper",
            "--roi",
            "gtv",
        ]
    )
    assert code == 0
    written = read_image(tmp_path / "out" / "image.nii.gz")
    np.testing.assert_array_equal(written.array, image.array)
    assert written.grid.same_as(image.grid)
    np.testing.assert_array_equal(
        read_mask(tmp_path / "out" / "Lung R_upper.nii.gz").array, expected
    )
    gtv = read_mask(tmp_path / "out" / "GTV.nii.gz").array
    assert gtv.sum() == expected[1].sum()
    assert gtv[2].sum() == 0


def test_convert_bad_input_exits_2_with_the_reason(tmp_path, ct_with_rtstruct, capsys):
    args = [
        "convert",
        str(tmp_path / "dicom"),
        "--out",
        str(tmp_path / "out"),
        "--rtstruct",
        str(tmp_path / "rs.dcm"),
    ]
    assert main([*args, "--roi", "heart"]) == 2
    assert "no ROI named 'heart'" in capsys.readouterr().err
    assert main(args) == 2
    assert "--roi" in capsys.readouterr().err
    (tmp_path / "dicom" / "IM00002.dcm").unlink()
    assert main(["convert", str(tmp_path / "dicom"), "--out", str(tmp_path / "out")]) == 2
    assert "missing between positions" in capsys.readouterr().err


def test_convert_help_explains_the_rule():
    result = CliRunner().invoke(app, ["convert", "--help"])
    assert result.exit_code == 0
    assert "voxel-centre" in result.output
    assert "--rtstruct" in result.output


def test_read_masks_dispatches_on_file_kind(tmp_path, ct_with_rtstruct):
    image, expected = ct_with_rtstruct
    grid = read_ct_series(tmp_path / "dicom").grid
    from_rtstruct = read_masks(tmp_path / "rs.dcm", grid, ["LUNG R/UPPER"])
    np.testing.assert_array_equal(from_rtstruct["Lung R/upper"].array, expected)
    write_mask(Mask(expected, grid), tmp_path / "lungs.nii.gz")
    from_nifti = read_masks(tmp_path / "lungs.nii.gz", grid)
    np.testing.assert_array_equal(from_nifti["lungs"].array, expected)
    other = Grid(grid.shape, (2.5, 1.0, 0.9), grid.origin, grid.direction)
    with pytest.raises(GridMismatchError, match=r"spacing \(z, y, x\) mm"):
        read_masks(tmp_path / "lungs.nii.gz", other)
    with pytest.raises(InputError, match="needs the ROI names"):
        read_masks(tmp_path / "rs.dcm", grid)
    with pytest.raises(InputError, match="not RTSTRUCT or SEG"):
        read_masks(tmp_path / "dicom" / "IM00001.dcm", grid)


def test_convert_writes_each_seg_segment(tmp_path, ct_with_rtstruct, write_seg):
    image, expected = ct_with_rtstruct
    sources = [pydicom.dcmread(p) for p in sorted((tmp_path / "dicom").glob("*.dcm"))]
    other = np.zeros_like(expected)
    other[0, 1:5, 1:4] = 1
    masks = np.stack([expected, other], axis=-1).astype(bool)
    write_seg(tmp_path / "seg.dcm", sources, masks, labels=("Lung/Left", "Nodule"))
    args = ["convert", str(tmp_path / "dicom"), "--out", str(tmp_path / "out")]
    assert main([*args, "--seg", str(tmp_path / "seg.dcm")]) == 0
    np.testing.assert_array_equal(read_mask(tmp_path / "out" / "Lung_Left.nii.gz").array, expected)
    np.testing.assert_array_equal(read_mask(tmp_path / "out" / "Nodule.nii.gz").array, other)
