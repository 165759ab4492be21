"""PET metrics on constructed volumes and PET-to-CT alignment of reference spheres."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.errors import EmptyMaskError, InputError, UnitError
from ildrad.image import Grid, Image, Mask, Unit
from ildrad.pet.alignment import (
    check_same_frame_of_reference,
    image_onto_grid,
    mask_fraction_onto_grid,
    mask_onto_grid,
    register_rigid,
)
from ildrad.pet.metrics import (
    PEAK_SPHERE_RADIUS_MM,
    MetabolicThreshold,
    region_pet_metrics,
    sphere_offsets,
    tissue_fraction,
)


def suv_image(array: np.ndarray, spacing=(2.0, 2.0, 2.0), origin=(0.0, 0.0, 0.0)) -> Image:
    return Image.from_array(array, spacing=spacing, origin=origin, modality="PT", unit=Unit.SUV)


def test_peak_sphere_is_one_millilitre() -> None:
    assert 4 / 3 * np.pi * PEAK_SPHERE_RADIUS_MM**3 == pytest.approx(1000.0)
    # on a 1 mm grid the sphere holds about 1000 voxel centres
    assert abs(len(sphere_offsets(Grid((1, 1, 1)), PEAK_SPHERE_RADIUS_MM)) - 1000) < 30


def test_basic_statistics_and_volumes_by_hand() -> None:
    array = np.zeros((4, 4, 4))
    region = np.zeros_like(array, dtype=bool)
    region[1:3, 1:3, 1:3] = True  # 8 voxels of 8 mm^3
    array[1:3, 1:3, 1:3] = np.arange(1, 9).reshape(2, 2, 2)
    m = region_pet_metrics(suv_image(array), region, threshold=MetabolicThreshold(suv=5.0),
                           blood_pool_mean=2.0, liver_mean=3.0)
    assert m["volume_ml"] == pytest.approx(8 * 8 / 1000)
    assert m["suv_max"] == 8.0
    assert m["suv_mean"] == pytest.approx(4.5)
    assert m["suv_p50"] == pytest.approx(4.5)
    assert m["suv_p10"] == pytest.approx(1.7)  # linear interpolation: 1 + 0.1 * 7
    assert m["mav_ml"] == pytest.approx(4 * 8 / 1000)  # 5, 6, 7, 8
    assert m["tlg_g"] == pytest.approx(6.5 * 4 * 8 / 1000)
    assert m["ratio_blood_pool"] == pytest.approx(2.25)
    assert m["ratio_liver"] == pytest.approx(1.5)


def test_mav_relative_to_blood_pool() -> None:
    array = np.arange(27, dtype=float).reshape(3, 3, 3)
    region = np.ones_like(array, dtype=bool)
    m = region_pet_metrics(suv_image(array), region, threshold=MetabolicThreshold(blood_pool_multiple=1.5),
                           blood_pool_mean=10.0)
    assert m["mav_threshold_suv"] == 15.0
    assert m["mav_ml"] == pytest.approx(12 * 8 / 1000)  # 15..26


def test_local_and_global_peaks_differ_where_they_should() -> None:
    # 1 mm grid: an isolated hot voxel (max) and, elsewhere, a warm 1 cm^3 block of higher mean.
    array = np.zeros((30, 30, 60))
    array[15, 15, 10] = 20.0  # hottest voxel, surrounded by zeros
    array[8:22, 8:22, 35:49] = 5.0  # 14 mm cube of SUV 5: a sphere fits inside
    region = np.ones_like(array, dtype=bool)
    m = region_pet_metrics(suv_image(array, spacing=(1.0, 1.0, 1.0)), region)
    n_sphere = len(sphere_offsets(Grid((1, 1, 1)), PEAK_SPHERE_RADIUS_MM))
    assert m["suv_peak_local"] == pytest.approx(20.0 / n_sphere)
    assert m["suv_peak_global"] == pytest.approx(5.0)


def test_tissue_fraction_correction_exact() -> None:
    suv = np.full((2, 2, 2), 0.6)
    ct = Image.from_array(np.full((2, 2, 2), -800.0), spacing=(2, 2, 2), modality="CT", unit="HU")
    region = np.ones((2, 2, 2), dtype=bool)
    m = region_pet_metrics(suv_image(suv), region, ct_on_suv_grid=ct)
    assert m["tissue_fraction_mean"] == pytest.approx(0.2)
    assert m["suv_mean_tissue_fraction_corrected"] == pytest.approx(3.0)
    clipped = Image.from_array(np.array([[[-1100.0, 100.0, -500.0]]]), modality="CT", unit="HU")
    np.testing.assert_allclose(tissue_fraction(clipped), [[[0.0, 1.0, 0.5]]])
    with pytest.raises(UnitError):
        tissue_fraction(ct.with_array(ct.array, unit=Unit.NONE))


def test_empty_region_and_wrong_unit_are_clear_errors() -> None:
    with pytest.raises(EmptyMaskError, match="lung: the region holds no voxel"):
        region_pet_metrics(suv_image(np.ones((2, 2, 2))), np.zeros((2, 2, 2), bool), region_name="lung")
    bq = Image.from_array(np.ones((2, 2, 2)), modality="PT", unit=Unit.BQML)
    with pytest.raises(UnitError, match="PET metrics needs an image in SUV"):
        region_pet_metrics(bq, np.ones((2, 2, 2), bool))


def _sphere_volume(grid: Grid, centre_mm: np.ndarray, radius_mm: float, value: float) -> np.ndarray:
    index = np.stack(np.meshgrid(*(np.arange(n) for n in grid.shape), indexing="ij"), axis=-1)
    points = grid.index_to_physical(index)
    return np.where(np.linalg.norm(points - centre_mm, axis=-1) <= radius_mm, value, 0.0)


def _centroid_mm(grid: Grid, array: np.ndarray) -> np.ndarray:
    index = np.argwhere(array > 0.5 * array.max())
    return grid.index_to_physical(index.mean(axis=0))


@pytest.mark.parametrize(
    ("pet_spacing", "pet_origin"),
    [((4.0, 4.0, 4.0), (-60.0, -62.0, -40.0)), ((3.27, 4.07, 4.07), (-57.3, -61.1, -38.2))],
)
def test_shifted_and_differently_spaced_pet_lands_on_ct(pet_spacing, pet_origin) -> None:
    ct_grid = Grid((50, 64, 64), spacing=(2.0, 1.5, 1.5), origin=(-48.0, -47.0, -50.0))
    centre = np.array([5.0, -3.0, 10.0])  # LPS mm
    pet_grid = Grid((30, 30, 30), spacing=pet_spacing, origin=pet_origin)
    pet = suv_image(_sphere_volume(pet_grid, centre, 14.0, 4.0), spacing=pet_spacing, origin=pet_origin)
    on_ct = image_onto_grid(pet, ct_grid)
    assert on_ct.grid.same_as(ct_grid)
    error = np.abs(_centroid_mm(ct_grid, on_ct.array) - centre)
    assert np.all(error < np.asarray(ct_grid.spacing)[::-1] / 2)  # within half a CT voxel per axis
    # and a CT mask lands on the PET grid where it belongs
    ct_mask = Mask((_sphere_volume(ct_grid, centre, 14.0, 1.0) > 0).astype(np.uint8), ct_grid)
    on_pet = mask_onto_grid(ct_mask, pet_grid)
    pet_error = np.abs(_centroid_mm(pet_grid, on_pet.array.astype(float)) - centre)
    assert np.all(pet_error < np.asarray(pet_spacing)[::-1] / 2)
    fraction = mask_fraction_onto_grid(ct_mask, 1, pet_grid)
    volume_ml = fraction.sum() * pet_grid.voxel_volume_mm3 / 1000
    assert volume_ml == pytest.approx(4 / 3 * np.pi * 14.0**3 / 1000, rel=0.1)


def test_frames_of_reference_must_match() -> None:
    a = Image.from_array(np.zeros((1, 1, 1)), metadata={"frame_of_reference_uid": "1.2.3"})
    b = Image.from_array(np.zeros((1, 1, 1)), metadata={"frame_of_reference_uid": "1.2.4"})
    check_same_frame_of_reference(a, a)
    with pytest.raises(InputError, match="different frames of reference"):
        check_same_frame_of_reference(a, b)
    with pytest.raises(InputError, match="without FrameOfReferenceUID"):
        check_same_frame_of_reference(a, Image.from_array(np.zeros((1, 1, 1))))


def test_rigid_registration_recovers_a_translation() -> None:
    rng = np.random.default_rng(3)
    grid = Grid((40, 48, 48), spacing=(3.0, 3.0, 3.0), origin=(-70.0, -70.0, -60.0))
    body = _sphere_volume(grid, np.array([0.0, 0.0, 0.0]), 50.0, 1.0)
    body += _sphere_volume(grid, np.array([20.0, 10.0, 5.0]), 15.0, 3.0)
    body += _sphere_volume(grid, np.array([-25.0, -5.0, -20.0]), 10.0, 2.0)
    fixed = Image.from_array(body + rng.normal(0, 0.01, body.shape), spacing=grid.spacing, origin=grid.origin)
    shift = np.array([6.0, -4.5, 3.0])
    moving = Image.from_array(body, spacing=grid.spacing, origin=tuple(np.asarray(grid.origin) + shift))
    result = register_rigid(fixed, moving)
    np.testing.assert_allclose(result.translation_mm, shift, atol=1.5)
    aligned = image_onto_grid(moving, fixed.grid, transform=result.transform)
    assert np.corrcoef(aligned.array.ravel(), fixed.array.ravel())[0, 1] > 0.95


def test_joint_pet_ct_haa_region_by_hand() -> None:
    from ildrad.pet.measure import _regions

    ct = Image.from_array(np.array([[[-900.0, -500.0, -300.0, -100.0]]]), modality="CT", unit="HU")
    lungs = Mask(np.array([[[1, 1, 2, 2]]], np.uint8), ct.grid)
    regions = _regions(lungs, None, ct, (-600.0, -250.0))
    np.testing.assert_array_equal(regions["haa"], [[[False, True, True, False]]])
