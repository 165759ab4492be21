"""Every synthetic PET header variant (``ildrad.synth.pet_dicom``) converts back to its true SUV."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.image import Image
from ildrad.io.dicom_series import read_pet_series
from ildrad.pet.suv import suv_from_stored
from ildrad.synth.pet_dicom import PET_HEADER_VARIANTS, PetAcquisition, write_pet_variant

AXIAL = ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def true_suv() -> Image:
    rng = np.random.default_rng(11)
    suv = rng.uniform(0.4, 4.0, size=(16, 10, 10))
    suv[5, 4:6, 4:6] = 15.0
    return Image.from_array(suv, spacing=(3.0, 4.0, 4.0), origin=(-20.0, -20.0, -60.0), direction=AXIAL,
                            modality="PT", unit="SUV")


@pytest.mark.parametrize("variant", PET_HEADER_VARIANTS)
@pytest.mark.parametrize("sex", ["M", "F"])
def test_variant_recovers_true_suv(tmp_path, true_suv, variant, sex) -> None:
    write_pet_variant(true_suv, tmp_path / variant, variant, PetAcquisition(sex=sex))
    series = read_pet_series(tmp_path / variant)
    result = suv_from_stored(series.image, series.headers, sources=series.files)
    expected = true_suv.array.astype(np.float64)
    # int16 storage with a slope per slice: one quantisation step of the slice maximum
    step = expected.max(axis=(1, 2), keepdims=True) / 32000.0
    np.testing.assert_array_less(np.abs(result.image.array - expected), 1e-4 * np.abs(expected) + step)
