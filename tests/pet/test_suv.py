"""SUV conversion against hand-computed values, one header variant at a time.

Headers are written here with pydicom directly (not by ildrad's writers), and the stored values
are made from a known SUV map with the physics written out in each test, so the expected SUV is
the map itself.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ildrad.image import Image, Unit
from ildrad.pet.suv import (
    LbmFormula,
    PatientBody,
    SuvError,
    SuvKind,
    SuvOverrides,
    body_normaliser,
    suv_from_stored,
)

F18_HALF_LIFE_S = 6586.2
GA68_HALF_LIFE_S = 4062.6
N_SLICES = 4
TRUE_SUV = np.stack([np.full((3, 3), v) for v in (0.5, 1.0, 2.5, 8.0)]).astype(np.float64)
TRUE_SUV[2, 1, 1] = 14.0
REL = 1e-4


def pet_headers(
    *,
    units: str = "BQML",
    decay: str = "START",
    weight: object = 72.0,
    height: object = 1.75,
    sex: str = "M",
    dose: object = 3.7e8,
    half_life: float = F18_HALF_LIFE_S,
    series: tuple[str, str] = ("20240305", "101500"),
    acquisition_times: list[str] | None = None,
    injection_time: str | None = "091500",
    injection_datetime: str | None = None,
    frame_ms: float = 180000.0,
) -> list[Dataset]:
    """One header per slice, as a scanner writes them."""
    headers = []
    for k in range(N_SLICES):
        ds = Dataset()
        ds.Modality = "PT"
        ds.Units = units
        ds.DecayCorrection = decay
        ds.CorrectedImage = ["ATTN", "DECY"] if decay != "NONE" else ["ATTN"]
        if weight is not None:
            ds.PatientWeight = weight
        if height is not None:
            ds.PatientSize = height
        ds.PatientSex = sex
        ds.SeriesDate, ds.SeriesTime = series
        ds.AcquisitionDate = series[0]
        ds.AcquisitionTime = (acquisition_times or [series[1]] * N_SLICES)[k]
        ds.ActualFrameDuration = frame_ms
        ds.RescaleSlope = 1.0
        ds.RescaleIntercept = 0.0
        radio = Dataset()
        if dose is not None:
            radio.RadionuclideTotalDose = dose
        radio.RadionuclideHalfLife = half_life
        if injection_time is not None:
            radio.RadiopharmaceuticalStartTime = injection_time
        if injection_datetime is not None:
            radio.RadiopharmaceuticalStartDateTime = injection_datetime
        ds.RadiopharmaceuticalInformationSequence = Sequence([radio])
        headers.append(ds)
    return headers


def stored_image(values: np.ndarray) -> Image:
    return Image.from_array(values.astype(np.float32), spacing=(3.0, 4.0, 4.0), modality="PT",
                            unit=Unit.BQML)


def decayed(dose_bq: float, seconds: float, half_life: float = F18_HALF_LIFE_S) -> float:
    return dose_bq * 0.5 ** (seconds / half_life)


def assert_suv(result_image: Image, expected: np.ndarray) -> None:
    assert result_image.unit is Unit.SUV
    np.testing.assert_allclose(result_image.array, expected, rtol=REL, atol=0)


# -- BQML ---------------------------------------------------------------------------------------

def test_bqml_start_body_weight() -> None:
    # reference = series time 10:15, injection 09:15 -> 3600 s of decay
    activity = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    result = suv_from_stored(stored_image(activity), pet_headers())
    assert_suv(result.image, TRUE_SUV)
    assert result.provenance["reference_time_field"] == "SeriesDate/SeriesTime"


@pytest.mark.parametrize(("weight", "dose"), [(72000.0, 3.7e8), (72.0, 370.0), ("72", "370.0")])
def test_units_of_weight_and_dose_recognised(weight, dose) -> None:
    activity = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    result = suv_from_stored(stored_image(activity), pet_headers(weight=weight, dose=dose))
    assert_suv(result.image, TRUE_SUV)


def test_admin_decay_correction_uses_the_injected_dose() -> None:
    activity = TRUE_SUV * 3.7e8 / 72000.0
    assert_suv(suv_from_stored(stored_image(activity), pet_headers(decay="ADMIN")).image, TRUE_SUV)


def test_decay_none_uses_each_frame_time_and_duration() -> None:
    times = ["101500", "101800", "102100", "102400"]  # one bed per 3 minutes
    lam = math.log(2) / F18_HALF_LIFE_S
    frame_s = 180.0
    activity = np.empty_like(TRUE_SUV)
    for k, t in enumerate(times):
        start = (dt.datetime(2024, 3, 5, int(t[:2]), int(t[2:4])) - dt.datetime(2024, 3, 5, 9, 15)).total_seconds()
        # mean concentration over the frame: C0 * exp(-lam*start) * (1 - exp(-lam*T)) / (lam*T)
        mean_fraction = math.exp(-lam * start) * (1 - math.exp(-lam * frame_s)) / (lam * frame_s)
        activity[k] = TRUE_SUV[k] * 3.7e8 * mean_fraction / 72000.0
    headers = pet_headers(decay="NONE", acquisition_times=times)
    assert_suv(suv_from_stored(stored_image(activity), headers).image, TRUE_SUV)


def test_rereconstructed_series_uses_earliest_acquisition_time() -> None:
    # series re-reconstructed at 14:00; acquisition started 10:15 (earliest of the slices)
    headers = pet_headers(series=("20240305", "140000"),
                          acquisition_times=["101800", "101500", "102100", "102400"])
    activity = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    result = suv_from_stored(stored_image(activity), headers)
    assert_suv(result.image, TRUE_SUV)
    assert result.provenance["reference_time_field"] == "earliest AcquisitionDate/AcquisitionTime"


def test_ge_private_scan_time_wins_over_later_acquisition_times() -> None:
    headers = pet_headers(series=("20240305", "140000"), acquisition_times=["103000"] * N_SLICES)
    for ds in headers:
        ds.add_new(0x00090010, "LO", "GEMS_PETD_01")
        ds.add_new(0x0009100D, "DT", "20240305101500")
    activity = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    result = suv_from_stored(stored_image(activity), headers)
    assert_suv(result.image, TRUE_SUV)
    assert "0009,100D" in result.provenance["reference_time_field"]


def test_midnight_crossing_with_time_only_injection() -> None:
    headers = pet_headers(series=("20240306", "003000"), injection_time="233000")
    activity = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    result = suv_from_stored(stored_image(activity), headers)
    assert_suv(result.image, TRUE_SUV)
    assert "midnight" in result.provenance["injection_time_field"]


def test_full_injection_datetime_preferred_and_ga68_half_life() -> None:
    headers = pet_headers(injection_time="000000", injection_datetime="20240305094500",
                          half_life=GA68_HALF_LIFE_S)
    activity = TRUE_SUV * decayed(3.7e8, 1800.0, GA68_HALF_LIFE_S) / 72000.0
    assert_suv(suv_from_stored(stored_image(activity), headers).image, TRUE_SUV)


# -- Philips and counts --------------------------------------------------------------------------

def test_philips_cnts_with_suv_scale_factor() -> None:
    headers = pet_headers(units="CNTS", dose=None)  # the SUV factor needs no dose
    for ds in headers:
        ds.add_new(0x70530010, "LO", "Philips PET Private Group")
        ds.add_new(0x70531000, "DS", "0.000731")
    stored = TRUE_SUV / 0.000731
    assert_suv(suv_from_stored(stored_image(stored), headers).image, TRUE_SUV)


def test_philips_cnts_with_activity_concentration_factor() -> None:
    headers = pet_headers(units="CNTS")
    for ds in headers:
        ds.add_new(0x70530010, "LO", "Philips PET Private Group")
        ds.add_new(0x70531009, "DS", "2.5")
    bqml = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    assert_suv(suv_from_stored(stored_image(bqml / 2.5), headers).image, TRUE_SUV)


# -- stored SUV of another kind ------------------------------------------------------------------

BODY = PatientBody(weight_kg=72.0, height_m=1.75, sex="M")


@pytest.mark.parametrize(
    ("suv_type", "normaliser_g"),
    [
        ("LBM", (1.10 * 72 - 128 * (72 / 175) ** 2) * 1000),
        ("LBMJAMES128", (1.10 * 72 - 128 * (72 / 175) ** 2) * 1000),
        ("LBMJANMA", 9270 * 72 / (6680 + 216 * 72 / 1.75**2) * 1000),
        ("IBW", (48.0 + 1.06 * (175 - 152)) * 1000),
        ("", 72000.0),
    ],
)
def test_gml_of_every_suv_type_back_to_body_weight(suv_type, normaliser_g) -> None:
    headers = pet_headers(units="GML", dose=None, injection_time=None)
    for ds in headers:
        ds.SUVType = suv_type
    stored = TRUE_SUV * normaliser_g / 72000.0  # SUV_type = C * N / D and SUV_bw = C * W / D
    assert_suv(suv_from_stored(stored_image(stored), headers).image, TRUE_SUV)


def test_cm2ml_is_body_surface_area_suv() -> None:
    headers = pet_headers(units="CM2ML", dose=None)
    bsa_cm2 = 0.007184 * 72**0.425 * 175**0.725 * 1e4
    stored = TRUE_SUV * bsa_cm2 / 72000.0
    assert_suv(suv_from_stored(stored_image(stored), headers).image, TRUE_SUV)


def test_james_unknown_sex_takes_mean_of_both_factors() -> None:
    male = 1.10 * 72 - 128 * (72 / 175) ** 2
    female = 1.07 * 72 - 148 * (72 / 175) ** 2
    body = PatientBody(72.0, 1.75, "O")
    assert body_normaliser(body, SuvKind.LEAN_BODY_MASS) == pytest.approx((male + female) / 2 * 1000)


@pytest.mark.parametrize("kind", list(SuvKind))
def test_output_kinds_scale_body_weight_suv(kind) -> None:
    activity = TRUE_SUV * decayed(3.7e8, 3600.0) / 72000.0
    result = suv_from_stored(stored_image(activity), pet_headers(sex="F"), kind=kind,
                             lbm=LbmFormula.JANMAHASATIAN)
    body = PatientBody(72.0, 1.75, "F")
    ratio = body_normaliser(body, kind, LbmFormula.JANMAHASATIAN) / 72000.0
    assert_suv(result.image, TRUE_SUV * ratio)


# -- overrides and errors ------------------------------------------------------------------------

def test_overrides_replace_missing_fields_and_are_recorded() -> None:
    headers = pet_headers(weight=None, dose=None)
    overrides = SuvOverrides(weight_kg=80.0, dose_bq=2.0e8)
    activity = TRUE_SUV * decayed(2.0e8, 3600.0) / 80000.0
    result = suv_from_stored(stored_image(activity), headers, overrides=overrides)
    assert_suv(result.image, TRUE_SUV)
    assert result.provenance["overrides"] == {"weight_kg": 80.0, "dose_bq": 2.0e8}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": 0}, r"PatientWeight \(0010,1030\) is missing or not positive"),
        ({"weight": None}, r"PatientWeight"),
        ({"dose": 0}, r"RadionuclideTotalDose \(0018,1074\) is missing or not positive"),
        ({"units": "PROPCNTS"}, r"Units \(0054,1001\) 'PROPCNTS' cannot be converted"),
        ({"units": ""}, r"Units \(0054,1001\) is missing"),
        ({"decay": "WEIRD"}, r"DecayCorrection \(0054,1102\) 'WEIRD'"),
        ({"injection_time": None}, r"injection time is unknown"),
        ({"injection_time": None, "injection_datetime": "20240305120000"}, r"injection .* is after the scan"),
    ],
)
def test_missing_or_implausible_fields_name_the_field_and_file(kwargs, message) -> None:
    headers = pet_headers(**kwargs)
    sources = [f"/data/pet/IM{k}.dcm" for k in range(N_SLICES)]
    with pytest.raises(SuvError, match=message) as error:
        suv_from_stored(stored_image(TRUE_SUV), headers, sources=sources)
    assert "/data/pet/IM0.dcm" in str(error.value)


def test_decay_none_without_frame_duration_names_the_slice() -> None:
    headers = pet_headers(decay="NONE")
    del headers[2].ActualFrameDuration
    with pytest.raises(SuvError, match=r"IM2.dcm: DecayCorrection NONE needs"):
        suv_from_stored(stored_image(TRUE_SUV), headers, sources=[f"IM{k}.dcm" for k in range(N_SLICES)])


def test_nonzero_intercept_is_refused() -> None:
    headers = pet_headers()
    headers[1].RescaleIntercept = -10.0
    with pytest.raises(SuvError, match=r"RescaleIntercept"):
        suv_from_stored(stored_image(TRUE_SUV), headers)
