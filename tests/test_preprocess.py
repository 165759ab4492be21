"""IBSI 1 image processing (``ildrad.preprocess``) against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.errors import EmptyMaskError, InputError
from ildrad.image import Grid, Image
from ildrad.preprocess import (
    bounding_box,
    bounding_box_slices,
    discretise_fixed_bin_number,
    discretise_fixed_bin_size,
    ibsi_grid,
    interpolate_block,
    outlier_range,
    process,
    resegment,
)
from ildrad.radiomics.settings import RadiomicsSettings


def test_ibsi_grid_size_and_centre_alignment():
    grid = Grid((60, 201, 204), (3.0, 0.977, 0.977), origin=(-100.0, -80.0, -174.0))
    new, start, step = ibsi_grid(grid, (2.0, 2.0, 2.0))
    # IBSI 1 configuration C: 204 x 201 x 60 at 0.977 x 0.977 x 3 mm -> 100 x 99 x 90
    assert new.shape == (90, 99, 100)
    assert new.spacing == (2.0, 2.0, 2.0)
    np.testing.assert_allclose(step, [2 / 3, 2 / 0.977, 2 / 0.977])
    # the centres of both grids coincide
    old_centre = grid.index_to_physical((np.array(grid.shape) - 1) / 2)
    new_centre = new.index_to_physical((np.array(new.shape) - 1) / 2)
    np.testing.assert_allclose(new_centre, old_centre, atol=1e-9)
    # z kept when its spacing is None (2D, in-plane resampling)
    in_plane, start2, step2 = ibsi_grid(grid, (None, 2.0, 2.0))
    assert in_plane.shape == (60, 99, 100) and step2[0] == 1.0 and start2[0] == 0.0


def test_ibsi_grid_exact_ratio_is_not_rounded_up():
    grid = Grid((10, 10, 10), (1.0, 1.0, 1.0))
    new, start, _ = ibsi_grid(grid, (2.0, 2.0, 2.0))
    assert new.shape == (5, 5, 5)
    np.testing.assert_allclose(start, [0.5, 0.5, 0.5])  # (10-1)/2 - (5-1)/2*2


@pytest.mark.parametrize("method", ["linear", "cubic"])
def test_interpolation_reproduces_a_linear_ramp(method):
    z, y, x = np.meshgrid(np.arange(24.0), np.arange(26.0), np.arange(28.0), indexing="ij")
    ramp = 3 * z - 2 * y + x
    grid = Grid(ramp.shape, (1.0, 1.0, 1.0))
    new, start, step = ibsi_grid(grid, (0.7, 1.3, 0.9))
    out = interpolate_block(ramp, start, step, np.zeros(3, int), new.shape, method)
    idx = np.stack(np.meshgrid(*(np.arange(s) for s in new.shape), indexing="ij"), axis=-1)
    coords = start + idx * step
    expected = 3 * coords[..., 0] - 2 * coords[..., 1] + coords[..., 2]
    # away from the border (where the boundary condition bends a cubic spline)
    inside = np.all((coords >= 9) & (coords <= np.array(ramp.shape) - 10), axis=-1)
    assert inside.sum() > 100
    np.testing.assert_allclose(out[inside], expected[inside], atol=1e-4)


def test_block_interpolation_equals_whole_image_interpolation():
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(30, 32, 34))
    grid = Grid(volume.shape, (2.5, 0.8, 0.8))
    new, start, step = ibsi_grid(grid, (1.0, 1.0, 1.0))
    for method in ("nearest", "linear", "cubic"):
        whole = interpolate_block(volume, start, step, np.zeros(3, int), new.shape, method)
        block = interpolate_block(volume, start, step, np.array([20, 5, 7]), (30, 12, 9), method)
        np.testing.assert_allclose(block, whole[20:50, 5:17, 7:16], atol=1e-6)


def test_fixed_bin_size_by_hand():
    values = np.array([-500.0, -475.0, -474.9, 0.0, 399.0])
    np.testing.assert_array_equal(discretise_fixed_bin_size(values, 25.0, -500.0), [1, 2, 2, 21, 36])


def test_fixed_bin_number_by_hand():
    values = np.array([0.0, 1.0, 2.5, 9.99, 10.0])
    np.testing.assert_array_equal(discretise_fixed_bin_number(values, 4), [1, 1, 2, 4, 4])
    np.testing.assert_array_equal(discretise_fixed_bin_number(np.full(3, 7.0), 32), [1, 1, 1])


def test_resegmentation_range_then_outliers():
    image = np.array([-2000.0, -900.0, 0.0, 1.0, 2.0, 3.0, 500.0]).reshape(1, 1, -1)
    roi = np.ones_like(image, dtype=bool)
    np.testing.assert_array_equal(
        resegment(image, roi, (-1000, 400), None).ravel(), [0, 1, 1, 1, 1, 1, 0]
    )
    values = np.array([-900.0, 0.0, 1.0, 2.0, 3.0])
    lower, upper = outlier_range(values, 1.0)
    assert lower == pytest.approx(values.mean() - values.std())
    kept = resegment(image, roi, (-1000, 400), 1.0).ravel()
    np.testing.assert_array_equal(kept, [0, 0, 1, 1, 1, 1, 0])  # -900 beyond 1 SD of the rest


def test_bounding_box_and_empty():
    mask = np.zeros((4, 5, 6), bool)
    mask[1, 2:4, 3] = True
    first, last = bounding_box(mask)
    assert first.tolist() == [1, 2, 3] and last.tolist() == [2, 4, 4]
    with pytest.raises(EmptyMaskError):
        bounding_box(np.zeros((2, 2, 2), bool))


def _cube_image(value=None):
    rng = np.random.default_rng(1)
    array = np.round(rng.normal(0, 50, size=(12, 20, 20))) if value is None else np.full((12, 20, 20), value)
    return Image.from_array(array, spacing=(3.0, 1.0, 1.0))


def test_mask_interpolation_keeps_halfway_voxels():
    """A voxel exactly halfway between an ROI slice and a background slice (mask value 0.5)
    reaches the partial-volume threshold."""
    image = _cube_image()
    roi = np.zeros(image.shape, bool)
    roi[3:7, 5:15, 5:15] = True
    settings = RadiomicsSettings(resample={"spacing_mm": (2.0, 1.0, 1.0)})
    processed, _ = process(image, roi, settings)
    # 12 slices of 3 mm -> 18 of 2 mm; new slice i sits at old -1/6 + 2 i / 3, so new slices
    # 4 and 10 sit at old 2.5 and 6.5, halfway between ROI and background (mask value 0.5)
    slices = np.flatnonzero(processed.morph.any(axis=(1, 2)))
    assert processed.morph.sum() == 10 * 10 * slices.size
    assert slices.size == 7  # old 2.5, 3.17, ..., 6.5


def test_process_diagnostics_count_voxels():
    image = _cube_image()
    roi = np.zeros(image.shape, bool)
    roi[2:6, 3:9, 4:12] = True
    settings = RadiomicsSettings(resegment={"range": (-40, 40)}, diagnostics=True)
    processed, diag = process(image, roi, settings)
    assert diag["img_dim_x_init_img"] == 20 and diag["img_dim_z_init_img"] == 12
    assert diag["vox_dim_z_init_img"] == 3.0
    assert diag["int_mask_vox_count_init_roi"] == 4 * 6 * 8
    assert diag["int_mask_bb_dim_x_init_roi"] == 8 and diag["int_mask_bb_dim_y_init_roi"] == 6
    values = image.array[roi]
    kept = values[(values >= -40) & (values <= 40)]
    assert diag["int_mask_vox_count_reseg_roi"] == kept.size
    assert diag["morph_mask_vox_count_reseg_roi"] == roi.sum()
    assert diag["int_mask_mean_int_reseg_roi"] == pytest.approx(kept.mean())
    assert processed.binned[processed.intensity].min() >= 1
    assert (processed.binned[~processed.intensity] == 0).all()


def test_process_rejects_empty_nan_and_vanishing_rois():
    image = _cube_image()
    with pytest.raises(EmptyMaskError, match="no voxel"):
        process(image, np.zeros(image.shape, bool), RadiomicsSettings())
    roi = np.zeros(image.shape, bool)
    roi[5, 5, 5] = True
    with pytest.raises(EmptyMaskError, match="after re-segmentation"):
        process(image, roi, RadiomicsSettings(resegment={"range": (1e6, None)}))
    with pytest.raises(EmptyMaskError, match="after interpolation"):
        process(image, roi, RadiomicsSettings(resample={"spacing_mm": (2.0, 2.0, 2.0)}))
    broken = image.array.copy()
    broken[5, 6, 5] = np.nan
    with pytest.raises(InputError, match="NaN"):
        process(image.with_array(broken), roi, RadiomicsSettings())


def test_fixed_bin_size_lower_bound_defaults():
    image = _cube_image()
    roi = np.ones(image.shape, bool)
    values = image.array[roi]
    by_min, _ = process(image, roi, RadiomicsSettings())
    assert by_min.lower_bound == values.min() and by_min.binned[roi].min() == 1
    by_range, _ = process(image, roi, RadiomicsSettings(resegment={"range": (-1000, None)}))
    assert by_range.lower_bound == -1000
    chosen, _ = process(image, roi, RadiomicsSettings(discretisation={"bin_size": 10, "lower_bound": -300}))
    np.testing.assert_array_equal(chosen.binned[roi], np.floor((values + 300) / 10) + 1)
    with pytest.raises(InputError, match="lower bound"):
        process(image, roi, RadiomicsSettings(discretisation={"bin_size": 10, "lower_bound": 0}))


def test_nearest_neighbour_doubles_each_voxel():
    line = np.arange(4.0).reshape(1, 1, 4)
    new, start, step = ibsi_grid(Grid(line.shape), (None, None, 0.5))
    assert new.shape == (1, 1, 8)
    out = interpolate_block(line, start, step, np.zeros(3, int), new.shape, "nearest")
    np.testing.assert_array_equal(out.ravel(), [0, 0, 1, 1, 2, 2, 3, 3])


def test_bounding_box_slices_widen_by_the_margin_and_stop_at_the_array() -> None:
    mask = np.zeros((5, 6, 7), dtype=bool)
    mask[1, 2:4, 6] = True
    assert bounding_box_slices(mask, [1, 2, 3]) == (slice(0, 3), slice(0, 6), slice(3, 7))
