"""Standardised uptake values from DICOM PET headers, vendor-neutral.

Rules follow the QIBA FDG-PET/CT profile (appendix G pseudo-code), the IBSI/OncoRay SUV manual
(oncoray/suv_computation, CC BY 4.0) and the open implementations it compares; ``DOMAIN.md``
section 2 lists them. For one slice with stored value ``v`` (after *its own* rescale slope):

* ``BQML``: ``SUVbw = v * W / D_ref`` (W body weight in g, D_ref dose in Bq at the reference time);
* ``CNTS`` (Philips): ``SUVbw = v * f_suv`` with the SUV scale factor (7053,1000), else
  Bq/mL ``= v * f_ac`` with the activity-concentration scale factor (7053,1009) and the BQML rule;
  raw counts without either factor are divided by the frame duration and follow ``CPS``;
* ``CPS``: Bq/mL ``= v * DoseCalibrationFactor (0054,1322)`` unless ``DCAL`` is in CorrectedImage;
* ``GML``: the values are already SUV of the kind in SUV Type (0054,1006) (empty = body weight);
  ``CM2ML``: body-surface-area SUV. Both are converted back to body-weight SUV with the
  patient's weight, height and sex.

Decay correction (0054,1102): ``ADMIN`` → ``D_ref = D``; ``START`` → ``D_ref = D·exp(-λ(t_ref -
t_adm))``; ``NONE`` → the values are the mean activity over each frame, not decay corrected, so
for a frame starting at ``t_acq`` (its own AcquisitionTime) of length ``T``:
``D_ref = D · exp(-λ(t_acq - t_adm)) · (1 - exp(-λT)) / (λT)`` (the mean of
``D·exp(-λ(t - t_adm))`` over the frame). λ = ln 2 / RadionuclideHalfLife.

The reference time of START follows QIBA: the series date-time when it is not after the earliest
acquisition time of the series; otherwise (a series re-reconstructed later) the GE private scan
date-time (0009,100D) when present; otherwise the earliest acquisition date-time. The
administration time is RadiopharmaceuticalStartDateTime (0018,1078), else
RadiopharmaceuticalStartTime (0018,1072) on the series date, moved to the previous day when it
falls after the reference time (injection before midnight, scan after).

Body-size normalisers (all in g, except BSA in cm²): James lean body mass with the DICOM
coefficients 128 (men) and 148 (women), Janmahasatian (2005) lean body mass, Du Bois body-surface
area ``0.007184 · W^0.425 · H^0.725`` (W kg, H cm; m², ×10⁴ for cm²) and ideal body weight
``48.0 + 1.06 (H - 152)`` (men), ``45.5 + 0.91 (H - 152)`` (women) kg. When PatientSex is neither
M nor F, sex-dependent normalisers use the mean of the male and female values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from ildrad.errors import InputError
from ildrad.image import Image, Modality, Unit
from ildrad.pet.dicom_time import combine_da_tm, parse_dt, parse_tm

__all__ = [
    "LbmFormula",
    "PatientBody",
    "SuvError",
    "SuvKind",
    "SuvOverrides",
    "SuvResult",
    "body_normaliser",
    "suv_from_stored",
]

#: Weights above this (in the kg field) are taken to be in grams.
_WEIGHT_GRAMS_ABOVE = 1000.0
#: Plausible adult and child weights in kg.
_WEIGHT_RANGE_KG = (2.0, 350.0)
#: Heights above this (in the m field) are taken to be in cm.
_HEIGHT_CM_ABOVE = 3.0
_HEIGHT_RANGE_M = (0.4, 2.6)
#: Doses below this (in the Bq field) are taken to be in MBq (real doses are 1e7..1e10 Bq).
_DOSE_MBQ_BELOW = 1.0e5
_DOSE_RANGE_BQ = (1.0e6, 5.0e10)


class SuvError(InputError):
    """A PET header lacks a field SUV needs, or holds an implausible or inconsistent value."""


class SuvKind(str, Enum):
    """Which body-size normaliser the SUV uses."""

    BODY_WEIGHT = "bw"
    LEAN_BODY_MASS = "lbm"
    BODY_SURFACE_AREA = "bsa"
    IDEAL_BODY_WEIGHT = "ibw"


class LbmFormula(str, Enum):
    """Lean-body-mass formula for SUL."""

    JAMES = "james"
    JANMAHASATIAN = "janmahasatian"


@dataclasses.dataclass(frozen=True)
class SuvOverrides:
    """Values supplied by the user (e.g. from the clinical table) that replace header fields."""

    weight_kg: float | None = None
    height_m: float | None = None
    sex: str | None = None
    dose_bq: float | None = None
    injection_datetime: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The overrides that were given (for provenance)."""
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True)
class PatientBody:
    """Weight (kg), height (m) and sex (``M``, ``F`` or other) used by the normalisers."""

    weight_kg: float
    height_m: float | None
    sex: str


@dataclasses.dataclass(frozen=True)
class SuvResult:
    """SUV image with the factors and facts used (provenance, no identifiers)."""

    image: Image
    slice_factors: np.ndarray
    provenance: dict[str, Any]


def _fail(source: str, message: str) -> SuvError:
    return SuvError(f"{source}: {message}")


def _radiopharmaceutical(ds: Dataset, source: str) -> Dataset:
    sequence = ds.get("RadiopharmaceuticalInformationSequence")
    if not sequence:
        raise _fail(source, "missing RadiopharmaceuticalInformationSequence (0054,0016): "
                            "no injected dose, injection time or half-life")
    return sequence[0]


def patient_body(ds: Dataset, overrides: SuvOverrides, source: str) -> PatientBody:
    """Weight, height and sex from the header or the overrides, units recognised by plausibility."""
    weight = overrides.weight_kg if overrides.weight_kg is not None else _float(ds, "PatientWeight")
    if weight is None or weight <= 0:
        raise _fail(source, f"PatientWeight (0010,1030) is missing or not positive ({weight!r}); "
                            "supply the weight from the clinical table")
    if weight > _WEIGHT_GRAMS_ABOVE:
        weight /= 1000.0
    if not _WEIGHT_RANGE_KG[0] <= weight <= _WEIGHT_RANGE_KG[1]:
        raise _fail(source, f"PatientWeight {weight!r} kg is implausible")
    height = overrides.height_m if overrides.height_m is not None else _float(ds, "PatientSize")
    if height is not None and height > _HEIGHT_CM_ABOVE:
        height /= 100.0
    if height is not None and not _HEIGHT_RANGE_M[0] <= height <= _HEIGHT_RANGE_M[1]:
        raise _fail(source, f"PatientSize (0010,1020) {height!r} m is implausible")
    sex = (overrides.sex if overrides.sex is not None else str(ds.get("PatientSex", "") or "")).upper()
    return PatientBody(weight, height if height else None, sex)


def body_normaliser(body: PatientBody, kind: SuvKind, lbm: LbmFormula = LbmFormula.JAMES,
                    source: str = "PET") -> float:
    """The SUV denominator's body term: g for weights and masses, cm² for body-surface area."""
    if kind is SuvKind.BODY_WEIGHT:
        return body.weight_kg * 1000.0
    if body.height_m is None:
        raise _fail(source, f"PatientSize (0010,1020) is missing; {kind.name.lower()} SUV needs "
                            "the height (supply it from the clinical table)")
    weight, height_cm = body.weight_kg, body.height_m * 100.0
    if kind is SuvKind.BODY_SURFACE_AREA:
        return 0.007184 * weight**0.425 * height_cm**0.725 * 1.0e4
    if kind is SuvKind.IDEAL_BODY_WEIGHT:
        male, female = 48.0 + 1.06 * (height_cm - 152.0), 45.5 + 0.91 * (height_cm - 152.0)
    elif lbm is LbmFormula.JAMES:
        male = 1.10 * weight - 128.0 * (weight / height_cm) ** 2
        female = 1.07 * weight - 148.0 * (weight / height_cm) ** 2
    else:
        bmi = weight / body.height_m**2
        male = 9270.0 * weight / (6680.0 + 216.0 * bmi)
        female = 9270.0 * weight / (8780.0 + 244.0 * bmi)
    by_sex = {"M": male, "F": female}.get(body.sex, (male + female) / 2.0)
    if by_sex <= 0:
        raise _fail(source, f"{kind.name.lower()} normaliser is not positive ({by_sex:.3g} kg) for "
                            f"weight {weight} kg and height {height_cm} cm")
    return by_sex * 1000.0


#: Stored SUV Type (0054,1006) → (kind, LBM formula).
_STORED_SUV_TYPES: dict[str, tuple[SuvKind, LbmFormula]] = {
    "": (SuvKind.BODY_WEIGHT, LbmFormula.JAMES),
    "BW": (SuvKind.BODY_WEIGHT, LbmFormula.JAMES),
    "LBM": (SuvKind.LEAN_BODY_MASS, LbmFormula.JAMES),
    "LBMJAMES128": (SuvKind.LEAN_BODY_MASS, LbmFormula.JAMES),
    "LBMJANMA": (SuvKind.LEAN_BODY_MASS, LbmFormula.JANMAHASATIAN),
    "BSA": (SuvKind.BODY_SURFACE_AREA, LbmFormula.JAMES),
    "IBW": (SuvKind.IDEAL_BODY_WEIGHT, LbmFormula.JAMES),
}


def _float(ds: Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _private_value(ds: Dataset, group: int, element: int) -> Any:
    tag = (group << 16) | element
    return ds[tag].value if tag in ds else None


def _private_float(ds: Dataset, group: int, element: int) -> float | None:
    value = _private_value(ds, group, element)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode(errors="ignore").strip("\x00 ")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number != 0 else None


def _dose_bq(ds: Dataset, overrides: SuvOverrides, source: str) -> float:
    if overrides.dose_bq is not None:
        dose = overrides.dose_bq
    else:
        dose = _float(_radiopharmaceutical(ds, source), "RadionuclideTotalDose")
    if dose is None or dose <= 0:
        raise _fail(source, f"RadionuclideTotalDose (0018,1074) is missing or not positive ({dose!r}); "
                            "supply the injected dose")
    if dose < _DOSE_MBQ_BELOW:
        dose *= 1.0e6
    if not _DOSE_RANGE_BQ[0] <= dose <= _DOSE_RANGE_BQ[1]:
        raise _fail(source, f"RadionuclideTotalDose {dose:.4g} Bq is implausible")
    return dose


def _half_life_s(ds: Dataset, source: str) -> float:
    half_life = _float(_radiopharmaceutical(ds, source), "RadionuclideHalfLife")
    if half_life is None or half_life <= 0:
        raise _fail(source, f"RadionuclideHalfLife (0018,1075) is missing or not positive ({half_life!r})")
    return half_life


def _acquisition_datetime(ds: Dataset) -> dt.datetime | None:
    return parse_dt(ds.get("AcquisitionDateTime")) or combine_da_tm(
        ds.get("AcquisitionDate") or ds.get("SeriesDate"), ds.get("AcquisitionTime"))


def _reference_datetime(headers: Sequence[Dataset], source: str) -> tuple[dt.datetime, str]:
    """Reference time of START decay correction (QIBA order) and which field gave it."""
    first = headers[0]
    acquisitions = [t for t in (_acquisition_datetime(ds) for ds in headers) if t is not None]
    earliest = min(acquisitions) if acquisitions else None
    series = combine_da_tm(first.get("SeriesDate"), first.get("SeriesTime"))
    if series is not None and (earliest is None or series <= earliest):
        return series, "SeriesDate/SeriesTime"
    ge_scan = _private_value(first, 0x0009, 0x100D)
    if ge_scan is not None:
        text = ge_scan.decode(errors="ignore") if isinstance(ge_scan, bytes) else str(ge_scan)
        ge_time = parse_dt(text.strip("\x00 "))
        if ge_time is not None:
            return ge_time, "GE private scan date-time (0009,100D)"
    if earliest is not None:
        return earliest, "earliest AcquisitionDate/AcquisitionTime"
    raise _fail(source, "no SeriesTime (0008,0031) nor AcquisitionTime (0008,0032): the scan time is unknown")


def _administration_datetime(ds: Dataset, reference: dt.datetime, overrides: SuvOverrides,
                             source: str) -> tuple[dt.datetime, str]:
    if overrides.injection_datetime is not None:
        return overrides.injection_datetime, "override"
    radio = _radiopharmaceutical(ds, source)
    full = parse_dt(radio.get("RadiopharmaceuticalStartDateTime"))
    if full is not None:
        return full, "RadiopharmaceuticalStartDateTime"
    clock = parse_tm(radio.get("RadiopharmaceuticalStartTime"))
    if clock is None:
        raise _fail(source, "RadiopharmaceuticalStartDateTime (0018,1078) and RadiopharmaceuticalStartTime "
                            "(0018,1072) are missing: the injection time is unknown")
    start = dt.datetime.combine(reference.date(), clock)
    if start > reference:  # injected before midnight, scanned after it
        return start - dt.timedelta(days=1), "RadiopharmaceuticalStartTime (previous day: midnight crossing)"
    return start, "RadiopharmaceuticalStartTime"


def _activity_per_ml_factor(ds: Dataset, units: str, source: str) -> tuple[float | None, float | None, str]:
    """(factor to Bq/mL, factor straight to SUVbw, route) for one slice's stored values."""
    if units == "BQML":
        return 1.0, None, "BQML"
    if units in ("CNTS", "CPS"):
        suv_scale = _private_float(ds, 0x7053, 0x1000)
        if suv_scale is not None:
            return None, suv_scale, "Philips SUV scale factor (7053,1000)"
        activity_scale = _private_float(ds, 0x7053, 0x1009)
        if activity_scale is not None:
            return activity_scale, None, "Philips activity concentration scale factor (7053,1009)"
        per_second = 1.0
        if units == "CNTS":
            duration_ms = _float(ds, "ActualFrameDuration")
            if not duration_ms:
                raise _fail(source, "Units CNTS without Philips scale factors (7053,1000)/(7053,1009) "
                                    "nor ActualFrameDuration (0018,1242): counts cannot become Bq/mL")
            per_second = 1000.0 / duration_ms
        corrections = [str(c).upper() for c in (ds.get("CorrectedImage") or [])]
        if "DCAL" in corrections:
            return per_second, None, f"{units} already dose-calibrated (DCAL)"
        calibration = _float(ds, "DoseCalibrationFactor")
        if not calibration:
            raise _fail(source, f"Units {units} without Philips scale factors nor DoseCalibrationFactor "
                                "(0054,1322): counts cannot become Bq/mL")
        return per_second * calibration, None, f"{units} with DoseCalibrationFactor"
    raise _fail(source, f"Units (0054,1001) '{units}' cannot be converted to SUV "
                        "(supported: BQML, CNTS, CPS, GML, CM2ML)")


def _decay_reference_doses(headers: Sequence[Dataset], sources: Sequence[str], decay: str,
                           overrides: SuvOverrides, provenance: dict[str, Any]) -> np.ndarray:
    """Injected dose decayed to each slice's reference time (Bq), per the decay-correction mode."""
    first, source = headers[0], sources[0]
    dose = _dose_bq(first, overrides, source)
    provenance["dose_bq"] = dose
    if decay == "ADMIN":
        return np.full(len(headers), dose)
    half_life = _half_life_s(first, source)
    decay_rate = math.log(2.0) / half_life
    provenance["half_life_s"] = half_life
    if decay == "START":
        reference, reference_field = _reference_datetime(headers, source)
        admin, admin_field = _administration_datetime(first, reference, overrides, source)
        elapsed = (reference - admin).total_seconds()
        if elapsed < 0:
            raise _fail(source, f"injection ({admin.isoformat()}, {admin_field}) is after the scan "
                                f"reference time ({reference.isoformat()}, {reference_field})")
        provenance.update(reference_time_field=reference_field, injection_time_field=admin_field,
                          decay_seconds=elapsed)
        return np.full(len(headers), dose * math.exp(-decay_rate * elapsed))
    if decay == "NONE":
        doses = np.empty(len(headers))
        earliest, _ = _reference_datetime(headers, source)
        admin, admin_field = _administration_datetime(first, earliest, overrides, source)
        for index, (ds, slice_source) in enumerate(zip(headers, sources, strict=True)):
            start = _acquisition_datetime(ds)
            duration_ms = _float(ds, "ActualFrameDuration")
            if start is None or not duration_ms:
                raise _fail(slice_source, "DecayCorrection NONE needs each slice's AcquisitionTime "
                                          "(0008,0032) and ActualFrameDuration (0018,1242)")
            elapsed = (start - admin).total_seconds()
            if elapsed < 0:
                raise _fail(slice_source, f"injection ({admin.isoformat()}) is after the acquisition "
                                          f"({start.isoformat()})")
            frame_decay = decay_rate * duration_ms / 1000.0
            doses[index] = dose * math.exp(-decay_rate * elapsed) * (-math.expm1(-frame_decay)) / frame_decay
        provenance.update(injection_time_field=admin_field, reference_time_field="each frame's AcquisitionTime")
        return doses
    raise _fail(source, f"DecayCorrection (0054,1102) '{decay}' is not one of START, ADMIN, NONE")


def suv_from_stored(
    stored: Image,
    headers: Sequence[Dataset],
    kind: SuvKind = SuvKind.BODY_WEIGHT,
    lbm: LbmFormula = LbmFormula.JAMES,
    overrides: SuvOverrides | None = None,
    sources: Sequence[str | Path] | None = None,
) -> SuvResult:
    """Convert a PET series to SUV of ``kind`` (body weight by default).

    ``stored``: the series' values after each slice's own RescaleSlope/Intercept, slice ``k`` of
    the array being ``headers[k]``; ``sources`` names each slice's file for error messages.
    """
    overrides = overrides or SuvOverrides()
    if len(headers) != stored.shape[0]:
        raise InputError(f"{len(headers)} PET headers for {stored.shape[0]} slices")
    names = [str(s) for s in sources] if sources is not None else [f"PET slice {k}" for k in range(len(headers))]
    first, source = headers[0], names[0]
    units = str(first.get("Units", "") or "").upper()
    if not units:
        raise _fail(source, "Units (0054,1001) is missing: the stored values' unit is unknown")
    for ds, name in zip(headers, names, strict=True):
        if _float(ds, "RescaleIntercept") not in (None, 0.0):
            raise _fail(name, f"RescaleIntercept (0028,1052) is {ds.RescaleIntercept}, not 0: not a "
                              "quantitative PET series")
    body = patient_body(first, overrides, source)
    provenance: dict[str, Any] = {"units": units, "suv_kind": kind.value, "weight_kg": body.weight_kg,
                                  "overrides": overrides.as_dict()}
    if units in ("GML", "CM2ML"):
        stored_type = "BSA" if units == "CM2ML" else str(first.get("SUVType", "") or "").upper()
        if stored_type not in _STORED_SUV_TYPES:
            raise _fail(source, f"SUVType (0054,1006) '{stored_type}' is not one of "
                                f"{', '.join(t for t in _STORED_SUV_TYPES if t)}")
        stored_kind, stored_lbm = _STORED_SUV_TYPES[stored_type]
        to_body_weight = body_normaliser(body, SuvKind.BODY_WEIGHT) / body_normaliser(body, stored_kind, stored_lbm, source)
        factors = np.full(len(headers), to_body_weight)
        provenance["stored_suv_type"] = stored_type or "BW"
    else:
        routes = [_activity_per_ml_factor(ds, units, name) for ds, name in zip(headers, names, strict=True)]
        factors = np.array([to_suv if to_suv is not None else np.nan for _, to_suv, _ in routes])
        if np.isnan(factors).any():  # some slices need the decayed dose
            decay = str(first.get("DecayCorrection", "") or "").upper()
            provenance["decay_correction"] = decay
            reference_doses = _decay_reference_doses(headers, names, decay, overrides, provenance)
            for index, (to_bqml, to_suv, _) in enumerate(routes):
                if to_suv is None:
                    factors[index] = to_bqml * body.weight_kg * 1000.0 / reference_doses[index]
        provenance["route"] = sorted({route for _, _, route in routes})
    if kind is not SuvKind.BODY_WEIGHT:
        factors = factors * body_normaliser(body, kind, lbm, source) / body_normaliser(body, SuvKind.BODY_WEIGHT)
        provenance["lbm_formula"] = lbm.value if kind is SuvKind.LEAN_BODY_MASS else None
    values = stored.array.astype(np.float64) * factors[:, None, None]
    metadata = dict(stored.metadata, suv_kind=kind.value)
    image = Image(values.astype(np.float32), stored.grid, Modality.PT, Unit.SUV, metadata)
    return SuvResult(image, factors, provenance)
