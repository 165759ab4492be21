"""DICOM SEG read onto the image grid; SEG objects are made by highdicom (an independent writer)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from ildrad.errors import DicomError, GridMismatchError
from ildrad.image import Grid, Image
from ildrad.io.dicom_errors import RoiNotFoundError
from ildrad.io.dicom_seg import read_seg, read_seg_segments
from ildrad.io.dicom_series import read_ct_series
from ildrad.io.dicom_write import write_dicom_series


def oblique_direction() -> np.ndarray:
    c, s = np.cos(0.3), np.sin(0.3)
    frame = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # DICOM row, column, normal
    return frame[:, ::-1]


def make_series(tmp_path):
    values = np.random.default_rng(2).integers(-1000, 200, size=(4, 24, 20)).astype(np.float32)
    image = Image(
        values,
        Grid(values.shape, (2.0, 0.9, 0.8), (5.0, -3.0, 40.0), oblique_direction()),
        "CT",
        "HU",
    )
    files = write_dicom_series(image, tmp_path / "ct")
    return read_ct_series(tmp_path / "ct"), [pydicom.dcmread(f) for f in files]


def two_segments(shape):
    right = np.zeros(shape, dtype=np.uint8)
    left = np.zeros(shape, dtype=np.uint8)
    right[1:3, 4:12, 2:9] = 1
    left[0:4, 10:20, 11:18] = 1
    left[3, 12, 12] = 0
    return right, left


def test_binary_seg_segments_and_label_map_on_an_oblique_grid(tmp_path, write_seg):
    image, sources = make_series(tmp_path)
    right, left = two_segments(image.shape)
    write_seg(tmp_path / "seg.dcm", sources, np.stack([right, left], axis=-1).astype(bool))
    segments = read_seg_segments(tmp_path / "seg.dcm", image.grid)
    assert list(segments) == ["Lung_R", "Lung_L"]
    np.testing.assert_array_equal(segments["Lung_R"].array, right)
    np.testing.assert_array_equal(segments["Lung_L"].array, left)
    label_map = read_seg(tmp_path / "seg.dcm", image.grid)
    np.testing.assert_array_equal(label_map.array, right * 1 + left * 2)
    assert label_map.labels == {1: "Lung_R", 2: "Lung_L"}
    only_left = read_seg_segments(tmp_path / "seg.dcm", image.grid, names=["lung_l"])
    assert list(only_left) == ["Lung_L"]
    with pytest.raises(RoiNotFoundError, match="available: 'Lung_R', 'Lung_L'"):
        read_seg_segments(tmp_path / "seg.dcm", image.grid, names=["heart"])


def test_fractional_seg_is_thresholded_at_one_half(tmp_path, write_seg):
    image, sources = make_series(tmp_path)
    fractions = np.zeros(image.shape, dtype=np.float32)
    fractions[1, 5:15, 5:15] = 0.7
    fractions[2, 5:15, 5:15] = 0.3
    fractions[2, 8, 8] = 0.5
    write_seg(tmp_path / "seg.dcm", sources, fractions, kind="FRACTIONAL", labels=("GTV",))
    mask = read_seg_segments(tmp_path / "seg.dcm", image.grid)["GTV"]
    np.testing.assert_array_equal(mask.array, (fractions >= 0.5).astype(np.uint8))


def test_overlap_and_grid_mismatch_are_reported(tmp_path, write_seg):
    image, sources = make_series(tmp_path)
    right, left = two_segments(image.shape)
    right[1, 12, 12] = 1  # also in left
    write_seg(tmp_path / "seg.dcm", sources, np.stack([right, left], axis=-1).astype(bool))
    with pytest.raises(
        DicomError, match=r"segments 1 \('Lung_R'\) and 2 \('Lung_L'\) overlap in 1 voxels"
    ):
        read_seg(tmp_path / "seg.dcm", image.grid)
    shifted = Grid(
        image.shape, image.spacing, tuple(np.asarray(image.origin) + 0.4), image.grid.direction
    )
    with pytest.raises(GridMismatchError, match="not on a voxel of the image grid"):
        read_seg_segments(tmp_path / "seg.dcm", shifted)
    axial = Grid(image.shape, image.spacing, image.origin)
    with pytest.raises(GridMismatchError, match="SEG orientation"):
        read_seg_segments(tmp_path / "seg.dcm", axial)
