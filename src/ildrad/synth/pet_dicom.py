"""Synthetic PET series in DICOM with the header variants real scanners write, true SUV known.

Each variant stores the same body-weight SUV map ``S`` (g/mL) differently; the stored values are
made here from the physics, independently of the SUV reader (``ildrad.pet.suv``):

* ``bqml_start``: Bq/mL decay-corrected to the series start, ``C = S · D · 2^(-Δt/T½) / W``;
* ``bqml_admin``: decay-corrected to the injection, ``C = S · D / W``;
* ``bqml_none``: not decay corrected, one bed position per slice group with its own
  AcquisitionTime ``t_k`` and frame duration ``T``: ``C_k = S · D · 2^(-(t_k - t_inj)/T½) ·
  (1 - e^(-λT)) / (λT) / W`` (the frame-mean activity);
* ``gml_bw`` / ``gml_lbm_james`` / ``gml_lbm_janma`` / ``gml_ibw`` / ``cm2ml_bsa``: values already
  SUV of that kind, ``S · N_kind / W`` (normalisers of ``ildrad.pet.suv``'s docstring, recomputed
  here);
* ``philips_cnts_suv_factor``: Units CNTS with the SUV scale factor (7053,1000) ``f``, values
  ``S / f``; ``philips_cnts_activity_factor``: CNTS with the activity-concentration factor
  (7053,1009) ``g``, values ``C_start / g``;
* ``ge_private_scan_time``: series re-reconstructed later (SeriesTime after the acquisition),
  acquisition times of later beds, and the true scan start in GE's (0009,100D);
* ``dose_in_mbq``: RadionuclideTotalDose written in MBq;
* ``midnight_crossing``: injection at 23:40 given as a time only, scan after midnight;
* ``ga68``: a gallium-68 tracer (half-life 4062.6 s).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from ildrad.image import Image, Unit

__all__ = ["PET_HEADER_VARIANTS", "PetAcquisition", "write_pet_variant"]

F18_HALF_LIFE_S = 6586.2
GA68_HALF_LIFE_S = 4062.6

PET_HEADER_VARIANTS = (
    "bqml_start", "bqml_admin", "bqml_none", "gml_bw", "gml_lbm_james", "gml_lbm_janma", "gml_ibw",
    "cm2ml_bsa", "philips_cnts_suv_factor", "philips_cnts_activity_factor", "ge_private_scan_time",
    "dose_in_mbq", "midnight_crossing", "ga68",
)


@dataclasses.dataclass(frozen=True)
class PetAcquisition:
    """Patient and acquisition facts of a synthetic PET."""

    weight_kg: float = 72.0
    height_m: float = 1.74
    sex: str = "M"
    dose_bq: float = 3.2e8
    injection: dt.datetime = dt.datetime(2024, 5, 14, 9, 30, 0)
    uptake_s: float = 3600.0
    frame_s: float = 120.0
    slices_per_bed: int = 8


def _normaliser_g(kind: str, a: PetAcquisition) -> float:
    """Body-size normaliser in g (cm² for BSA), the formulas of DICOM PS3.3 C.8.9.4.1.1 / QIBA."""
    w, h_cm = a.weight_kg, a.height_m * 100.0
    male = a.sex == "M"
    if kind == "bw":
        return w * 1000.0
    if kind == "lbm_james":
        return (1.10 * w - 128.0 * (w / h_cm) ** 2 if male else 1.07 * w - 148.0 * (w / h_cm) ** 2) * 1000.0
    if kind == "lbm_janma":
        bmi = w / a.height_m**2
        return (9270.0 * w / (6680.0 + 216.0 * bmi) if male else 9270.0 * w / (8780.0 + 244.0 * bmi)) * 1000.0
    if kind == "ibw":
        return (48.0 + 1.06 * (h_cm - 152.0) if male else 45.5 + 0.91 * (h_cm - 152.0)) * 1000.0
    if kind == "bsa":
        return 0.007184 * w**0.425 * h_cm**0.725 * 1.0e4
    raise ValueError(kind)


def _stored_and_header(suv: np.ndarray, variant: str, a: PetAcquisition) -> tuple[np.ndarray, dict[str, Any], list[dict[str, Any]] | None]:
    half_life = GA68_HALF_LIFE_S if variant == "ga68" else F18_HALF_LIFE_S
    decay_rate = math.log(2.0) / half_life
    start = a.injection + dt.timedelta(seconds=a.uptake_s)
    if variant == "midnight_crossing":
        start = dt.datetime(a.injection.year, a.injection.month, a.injection.day, 23, 40) + dt.timedelta(seconds=a.uptake_s)
    injection = start - dt.timedelta(seconds=a.uptake_s)
    weight_g = a.weight_kg * 1000.0
    at_start = suv * a.dose_bq * 2.0 ** (-a.uptake_s / half_life) / weight_g
    header: dict[str, Any] = {
        "Units": "BQML", "DecayCorrection": "START", "CorrectedImage": ["ATTN", "DECY"],
        "PatientWeight": a.weight_kg, "PatientSize": a.height_m, "PatientSex": a.sex,
        "SeriesDate": start.strftime("%Y%m%d"), "SeriesTime": start.strftime("%H%M%S"),
        "AcquisitionDate": start.strftime("%Y%m%d"), "AcquisitionTime": start.strftime("%H%M%S"),
        "ActualFrameDuration": int(a.frame_s * 1000),
    }
    radio: dict[str, Any] = {
        "RadionuclideTotalDose": a.dose_bq,
        "RadionuclideHalfLife": half_life,
        "RadiopharmaceuticalStartTime": injection.strftime("%H%M%S"),
    }
    if variant != "midnight_crossing":
        radio["RadiopharmaceuticalStartDateTime"] = injection.strftime("%Y%m%d%H%M%S")
    slice_headers = None
    stored = at_start
    if variant == "bqml_admin":
        header["DecayCorrection"] = "ADMIN"
        stored = suv * a.dose_bq / weight_g
    elif variant == "bqml_none":
        header["DecayCorrection"], header["CorrectedImage"] = "NONE", ["ATTN"]
        frame_factor = -math.expm1(-decay_rate * a.frame_s) / (decay_rate * a.frame_s)
        slice_headers, planes = [], []
        for k in range(suv.shape[0]):
            bed_start = start + dt.timedelta(seconds=a.frame_s * (k // a.slices_per_bed))
            elapsed = (bed_start - injection).total_seconds()
            planes.append(suv[k] * a.dose_bq * math.exp(-decay_rate * elapsed) * frame_factor / weight_g)
            slice_headers.append({"AcquisitionTime": bed_start.strftime("%H%M%S")})
        stored = np.stack(planes)
    elif variant.startswith(("gml_", "cm2ml_")):
        kind = variant.split("_", 1)[1]
        header["Units"] = "CM2ML" if kind == "bsa" else "GML"
        header["SUVType"] = {"bw": "BW", "lbm_james": "LBM", "lbm_janma": "LBMJANMA", "ibw": "IBW", "bsa": "BSA"}[kind]
        stored = suv * _normaliser_g(kind, a) / weight_g
    elif variant == "philips_cnts_suv_factor":
        header["Units"] = "CNTS"
        header[(0x7053, 0x0010)] = ("LO", "Philips PET Private Group")
        header[(0x7053, 0x1000)] = ("DS", "0.000412")
        stored = suv / 0.000412
    elif variant == "philips_cnts_activity_factor":
        header["Units"] = "CNTS"
        header[(0x7053, 0x0010)] = ("LO", "Philips PET Private Group")
        header[(0x7053, 0x1009)] = ("DS", "3.75")
        stored = at_start / 3.75
    elif variant == "ge_private_scan_time":
        later = start + dt.timedelta(hours=3)
        header["SeriesTime"] = later.strftime("%H%M%S")
        header["AcquisitionTime"] = (start + dt.timedelta(minutes=4)).strftime("%H%M%S")
        header[(0x0009, 0x0010)] = ("LO", "GEMS_PETD_01")
        header[(0x0009, 0x100D)] = ("DT", start.strftime("%Y%m%d%H%M%S"))
    elif variant == "dose_in_mbq":
        radio["RadionuclideTotalDose"] = a.dose_bq / 1.0e6
    header["RadiopharmaceuticalInformationSequence"] = [radio]
    return stored, header, slice_headers


def write_pet_variant(suv: Image, out_dir: str | Path, variant: str,
                      acquisition: PetAcquisition | None = None, **uids: str) -> list[Path]:
    """Write ``suv`` (body-weight SUV on an axial grid) as a DICOM PET series of ``variant``."""
    from ildrad.io.dicom_write import write_dicom_series

    if variant not in PET_HEADER_VARIANTS:
        raise ValueError(f"unknown PET header variant {variant!r}; known: {', '.join(PET_HEADER_VARIANTS)}")
    acquisition = acquisition or PetAcquisition()
    stored, header, slice_headers = _stored_and_header(suv.array.astype(np.float64), variant, acquisition)
    unit = Unit.BQML if header["Units"] == "BQML" else Unit.PET_STORED
    image = suv.with_array(stored.astype(np.float32), unit=unit)
    return write_dicom_series(image, out_dir, modality="PT", header=header, slice_headers=slice_headers, **uids)
