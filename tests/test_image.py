"""The image model: geometry conventions, grid checks, units, identifiers kept out."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.errors import GridMismatchError, InputError, UnitError
from ildrad.image import Grid, Image, Mask, Modality, Unit, assert_same_grid, require_unit
from ildrad.io.sitk_bridge import image_from_sitk, image_to_sitk
from ildrad.io.volume_files import read_image, read_mask, write_image, write_mask

OBLIQUE = np.array([[0.0, 1.0, 0.0], [0.6, 0.0, 0.8], [0.8, 0.0, -0.6]])  # orthonormal columns


def test_index_to_physical_matches_simpleitk() -> None:
    rng = np.random.default_rng(0)
    image = Image.from_array(
        rng.normal(size=(4, 5, 6)), spacing=(3.0, 0.7, 0.8), origin=(-10.0, 20.0, 5.0), direction=OBLIQUE
    )
    itk = image_to_sitk(image)
    for index in [(0, 0, 0), (3, 4, 5), (1, 2, 3)]:
        expected = itk.TransformIndexToPhysicalPoint(tuple(int(i) for i in reversed(index)))
        np.testing.assert_allclose(image.grid.index_to_physical(np.array(index)), expected, atol=1e-9)
        np.testing.assert_allclose(image.grid.physical_to_index(np.array(expected)), index, atol=1e-9)
    # the voxel (z=1, y=2, x=3) is the same value in both libraries
    assert itk[3, 2, 1] == pytest.approx(float(image.array[1, 2, 3]))
    back = image_from_sitk(itk)
    assert back.grid.same_as(image.grid)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd"])
def test_volume_round_trip_keeps_geometry(tmp_path, suffix) -> None:
    image = Image.from_array(
        np.arange(60, dtype=np.float32).reshape(3, 4, 5),
        spacing=(2.5, 0.6, 0.7),
        origin=(1.5, -2.0, 30.0),
        direction=OBLIQUE,
        modality="CT",
        unit="HU",
    )
    path = write_image(image, tmp_path / f"ct{suffix}")
    back = read_image(path, modality="CT", unit="HU")
    assert_same_grid(back, image)
    np.testing.assert_array_equal(back.array, image.array)
    mask = Mask(image.array.astype(np.int16) % 3, image.grid)
    back_mask = read_mask(write_mask(mask, tmp_path / f"m{suffix}"))
    np.testing.assert_array_equal(back_mask.array, mask.array)
    assert back_mask.grid.same_as(mask.grid)


def test_grid_mismatch_says_how() -> None:
    a = Grid((2, 3, 4), spacing=(1, 1, 1))
    b = Grid((2, 3, 5), spacing=(1, 1, 2), origin=(0, 0, 1))
    with pytest.raises(GridMismatchError, match=r"shape .*\(2, 3, 4\) vs \(2, 3, 5\).*spacing.*origin"):
        assert_same_grid(a, b, "mask and CT")


def test_units_guard_thresholds() -> None:
    ct = Image.from_array(np.zeros((1, 2, 2)), modality=Modality.CT, unit=Unit.HU)
    require_unit(ct, Unit.HU, purpose="HAA")
    normalised = ct.with_array(ct.array, unit=Unit.NONE)
    with pytest.raises(UnitError, match="HAA needs an image in HU, got one in 'none'"):
        require_unit(normalised, Unit.HU, purpose="HAA")


def test_identifiers_rejected_from_metadata() -> None:
    with pytest.raises(InputError, match="PatientName"):
        Image.from_array(np.zeros((1, 1, 1)), metadata={"PatientName": "Doe^Jane"})


def test_image_is_float32_and_mask_integer() -> None:
    image = Image.from_array(np.ones((1, 2, 2), dtype=np.int16))
    assert image.array.dtype == np.float32
    with pytest.raises(InputError, match="integer"):
        Mask(np.zeros((1, 2, 2), dtype=float), image.grid)
    with pytest.raises(GridMismatchError):
        Mask(np.zeros((1, 2, 3), dtype=np.uint8), image.grid)


def test_unreadable_volume_names_the_file(tmp_path) -> None:
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a nifti")
    with pytest.raises(InputError, match="broken.nii.gz"):
        read_image(bad)
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "absent.nii.gz")


def test_default_grid_is_simpleitk_identity() -> None:
    itk = image_to_sitk(Image.from_array(np.zeros((2, 3, 4))))
    assert itk.GetDirection() == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    assert itk.GetSize() == (4, 3, 2)
