"""RTSTRUCT rasterisation (voxel-centre rule): IBSI phantom, matplotlib parity, holes, oblique."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from matplotlib.path import Path as MplPath

from ildrad.errors import DicomError, IldradWarning
from ildrad.image import Grid
from ildrad.io.dicom_errors import RoiNotFoundError
from ildrad.io.dicom_series import read_ct_series
from ildrad.io.rtstruct import fill_polygons, read_rtstruct, rtstruct_roi_names
from ildrad.io.volume_files import read_mask


def to_physical(grid: Grid, k: int, polygon_yx: np.ndarray) -> np.ndarray:
    index = np.column_stack([np.full(len(polygon_yx), float(k)), polygon_yx])
    return grid.index_to_physical(index)


@pytest.mark.shared_data
def test_ibsi_ct_phantom_gtv_equals_the_reference_mask_exactly(shared_data):
    folder = shared_data / "ibsi1" / "ct_phantom"
    image = read_ct_series(folder / "dicom" / "image")
    masks = read_rtstruct(folder / "dicom" / "rtstruct" / "rtstruct.dcm", image.grid, ["gtv-1"])
    reference = read_mask(folder / "nifti" / "mask.nii.gz")
    mask = masks["GTV-1"]
    assert mask.grid.differences(reference.grid) == []
    assert int(reference.array.sum()) > 100_000
    np.testing.assert_array_equal(mask.array, reference.array)


def test_fill_agrees_with_matplotlib_on_random_polygons():
    """Away from edges the crossing rule is matplotlib's point-in-path (edge centres skipped)."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:60, 0:70]
    centres = np.column_stack([yy.ravel(), xx.ravel()]).astype(float)
    for _ in range(20):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
        radii = rng.uniform(5, 28, 12)
        polygon = np.column_stack(
            [30 + radii * np.sin(angles), 35 + radii * np.cos(angles)]
        ) + rng.normal(0, 0.01, (12, 2))
        ours = fill_polygons([polygon], (60, 70)).ravel()
        path = MplPath(polygon[:, ::-1])
        theirs = path.contains_points(centres[:, ::-1])
        near_edge = path.contains_points(centres[:, ::-1], radius=1e-3) != path.contains_points(
            centres[:, ::-1], radius=-1e-3
        )
        assert not np.any((ours != theirs) & ~near_edge)
        assert ours.sum() > 50


def test_edges_through_voxel_centres_follow_the_half_open_rule():
    # a square with vertices on voxel centres (2, 2) .. (5, 6): left and lower edges (x = 2, y = 2)
    # are inside, right and upper edges (x = 6, y = 5) outside
    square = np.array([[2, 2], [2, 6], [5, 6], [5, 2]], dtype=float)
    expected = np.zeros((8, 9), dtype=bool)
    expected[2:5, 2:6] = True
    np.testing.assert_array_equal(fill_polygons([square], (8, 9)), expected)
    # half-integer vertices: the cells' centres are unambiguous
    cells = np.array([[1.5, 0.5], [1.5, 3.5], [4.5, 3.5], [4.5, 0.5]])
    expected = np.zeros((8, 9), dtype=bool)
    expected[2:5, 1:4] = True
    np.testing.assert_array_equal(fill_polygons([cells], (8, 9)), expected)


def test_two_squares_sharing_an_edge_cover_every_centre_once():
    left = np.array([[0.0, 0.0], [0.0, 4.0], [6.0, 4.0], [6.0, 0.0]])
    right = np.array([[0.0, 4.0], [0.0, 8.0], [6.0, 8.0], [6.0, 4.0]])
    a = fill_polygons([left], (8, 10))
    b = fill_polygons([right], (8, 10))
    assert not np.any(a & b)
    np.testing.assert_array_equal(
        a | b, fill_polygons([np.array([[0.0, 0.0], [0.0, 8.0], [6.0, 8.0], [6.0, 0.0]])], (8, 10))
    )


@pytest.mark.parametrize("oblique", [False, True], ids=["axial", "oblique"])
def test_rtstruct_with_a_hole_on_an_oblique_grid(tmp_path, oblique, write_rtstruct):
    direction = np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]])
    if oblique:
        c, s = np.cos(0.4), np.sin(0.4)
        rotation = np.array([[c, -s, 0], [s * 0.8, c * 0.8, -0.6], [s * 0.6, c * 0.6, 0.8]])
        direction = rotation[:, ::-1]
    grid = Grid((5, 30, 32), (2.0, 0.8, 0.9), (10.0, -40.0, 7.0), direction)
    outer = np.array([[3.3, 4.2], [3.3, 25.7], [24.6, 25.7], [24.6, 4.2]])
    inner = np.array([[10.4, 10.4], [10.4, 18.6], [17.7, 18.6], [17.7, 10.4]])
    contours = [to_physical(grid, k, outer) for k in (1, 2, 3)] + [to_physical(grid, 2, inner)]
    path = tmp_path / "rs.dcm"
    write_rtstruct(path, {"Lung_R": contours, "Other": [to_physical(grid, 0, inner)]})
    assert rtstruct_roi_names(path) == ["Lung_R", "Other"]
    mask = read_rtstruct(path, grid, ["lung_r"])["Lung_R"]
    expected = np.zeros(grid.shape, dtype=np.uint8)
    expected[1:4, 4:25, 5:26] = 1
    expected[2, 11:18, 11:19] = 0
    np.testing.assert_array_equal(mask.array, expected)
    assert mask.labels == {1: "Lung_R"}


def test_unknown_roi_lists_the_available_names(tmp_path, write_rtstruct):
    grid = Grid((3, 10, 10))
    path = tmp_path / "rs.dcm"
    write_rtstruct(path, {"GTV": [], "Heart": []})
    with pytest.raises(RoiNotFoundError, match=r"no ROI named 'lungs'.*available: 'GTV', 'Heart'"):
        read_rtstruct(path, grid, ["lungs"])


def test_contour_between_slices_is_an_error(tmp_path, write_rtstruct):
    grid = Grid((4, 10, 10), (3.0, 1.0, 1.0), direction=[[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    square = np.array([[2.0, 2.0], [2.0, 6.0], [6.0, 6.0], [6.0, 2.0]])
    points = to_physical(grid, 1, square) + grid.direction_matrix[:, 0] * 1.5  # half a slice off
    path = tmp_path / "rs.dcm"
    write_rtstruct(path, {"GTV": [points]})
    with pytest.raises(DicomError, match="1.500 mm from the nearest slice centre"):
        read_rtstruct(path, grid, ["GTV"])


def test_rtstruct_in_another_frame_of_reference_is_warned_about(tmp_path, write_rtstruct):
    grid = Grid((3, 10, 10), direction=[[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    square = np.array([[2.0, 2.0], [2.0, 6.0], [6.0, 6.0], [6.0, 2.0]])
    path = tmp_path / "rs.dcm"
    write_rtstruct(path, {"GTV": [to_physical(grid, 1, square)]})
    ds = pydicom.dcmread(path)
    ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID = "1.2.3.999"
    ds.save_as(path)
    with pytest.warns(IldradWarning, match="frame of reference 1.2.3.999, the image in 1.2.3.4"):
        mask = read_rtstruct(path, grid, ["GTV"], frame_of_reference_uid="1.2.3.4")["GTV"]
    assert mask.array.sum() == 16
