"""Synthetic FDG PET/CT of a phantom patient: reference SUVs, disease uptake, shared frame."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy import ndimage

from ildrad.synth.pet_phantom import F18_HALF_LIFE_S, SyntheticPET
from ildrad.synth.phantom import PetPhantomSpec, PhantomSpec, make_chest_ct, make_pet


@cache
def study(extent: float = 0.3, noise: float = 0.1) -> SyntheticPET:
    ct = make_chest_ct(PhantomSpec(ild_extent=extent), seed=11)
    return make_pet(ct, PetPhantomSpec(noise_fraction=noise), seed=11)


def pet_values_in(pet: SyntheticPET, image: np.ndarray, mask_name: str, erode: int = 1) -> np.ndarray:
    """Values of a PET-grid image at PET voxels whose centre falls inside a (eroded) low-dose CT
    truth mask, looked up through physical space."""
    ct = pet.low_dose_ct
    mask = ndimage.binary_erosion(ct.truth[mask_name].array > 0, iterations=erode)
    grid = pet.pet.grid
    index = np.indices(grid.shape).reshape(3, -1).T
    ct_index = np.round(ct.ct.grid.physical_to_index(grid.index_to_physical(index))).astype(int)
    inside = np.all((ct_index >= 0) & (ct_index < np.array(ct.ct.shape)), axis=1)
    hit = np.zeros(len(index), bool)
    hit[inside] = mask[tuple(ct_index[inside].T)]
    return image.reshape(-1)[hit]


def test_reference_regions_have_the_specified_suv() -> None:
    pet = study()
    truth = pet.truth_suv.array
    assert np.median(pet_values_in(pet, truth, "liver", erode=2)) == pytest.approx(2.3, abs=0.05)
    assert np.median(pet_values_in(pet, truth, "aorta")) == pytest.approx(1.8, abs=0.1)
    measured_liver = pet_values_in(pet, pet.pet.array, "liver", erode=2)
    assert measured_liver.mean() == pytest.approx(2.3, abs=0.15)
    assert pet.numbers["blood_pool_suv"] == 1.8 and pet.numbers["liver_suv"] == 2.3


def test_normal_lung_baseline_and_higher_uptake_in_disease() -> None:
    healthy, ill = study(extent=0.0, noise=0.0), study(extent=0.4, noise=0.0)
    lung_healthy = pet_values_in(healthy, healthy.truth_suv.array, "lungs", erode=1)
    assert np.median(lung_healthy) == pytest.approx(0.45, abs=0.1)
    lung_ill = pet_values_in(ill, ill.truth_suv.array, "lungs", erode=1)
    assert lung_ill.mean() > lung_healthy.mean() + 0.15
    assert ill.low_dose_ct.numbers["ild_extent"] == pytest.approx(0.4, abs=0.05)


def test_pet_and_low_dose_ct_share_a_frame_that_differs_from_the_diagnostic_ct() -> None:
    pet = study()
    expected = np.array([pet.numbers[f"fiducial_{a}_mm"] for a in "xyz"])
    ct = pet.low_dose_ct
    in_ct = ct.ct.grid.index_to_physical(np.argwhere(ct.truth["fiducial"].array > 0)).mean(axis=0)
    truth = pet.truth_suv.array
    centre_index = np.round(pet.pet.grid.physical_to_index(expected)).astype(int)
    window = tuple(slice(max(c - 3, 0), c + 4) for c in centre_index)
    local = np.zeros_like(truth)
    local[window] = truth[window]
    weight = np.clip(local - 2.0, 0.0, None)  # keep the sphere (SUV 8), drop tissue (SUV <= 1.8)
    in_pet = pet.pet.grid.index_to_physical(
        (np.argwhere(weight > 0) * weight[weight > 0][:, None]).sum(axis=0) / weight.sum()
    )
    assert np.abs(in_ct - expected).max() < 2.0
    assert np.abs(in_pet - expected).max() < 2.0
    # the diagnostic CT lies in another frame of reference (another table position)
    diag = make_chest_ct(PhantomSpec(ild_extent=0.3), seed=11)
    assert abs(diag.ct.origin[2] - ct.ct.origin[2]) > 100.0
    assert ct.ct.metadata["slice_thickness_mm"] >= 4.0
    assert pet.pet.grid.direction_matrix.tolist() == ct.ct.grid.direction_matrix.tolist()


def test_activity_concentration_recomputes_suv_from_header_facts() -> None:
    pet = study()
    bqml = pet.activity_concentration_bqml()
    assert bqml.unit.value == "BQML"
    n = pet.numbers
    # SUVbw = C(t0) * weight_g / (A_inj * exp(-ln2 * uptake / T1/2)), DICOM DecayCorrection START
    decayed = n["injected_activity_bq"] * np.exp(-np.log(2.0) * n["uptake_s"] / F18_HALF_LIFE_S)
    suv = bqml.array.astype(np.float64) * n["patient_weight_kg"] * 1000.0 / decayed
    np.testing.assert_allclose(suv, pet.pet.array, rtol=1e-5, atol=1e-6)
