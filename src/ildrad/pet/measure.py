"""Lung PET measurement of one PET/CT: SUV, alignment, reference regions, metrics by region.

Lung metrics are computed with the SUV resampled onto the CT grid (the lungs are segmented on
the CT of the same PET/CT; PET and CT must share a frame of reference unless ``register`` is
set), per lung, per zone and for the whole lung, with the blood pool and liver found on the CT.
Metric names follow the store grammar ``pet__{region}__suv__{feature}``; besides the lungs, zones
and reference regions, ``haa`` is the joint PET/CT region (lung voxels of CT high attenuation).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from ildrad.errors import InputError
from ildrad.image import Image, Mask, assert_same_grid
from ildrad.io.dicom_series import PetSeries
from ildrad.pet.alignment import check_same_frame_of_reference, image_onto_grid, register_rigid
from ildrad.pet.metrics import MetabolicThreshold, region_pet_metrics
from ildrad.pet.reference_regions import ReferenceRegions, find_reference_regions
from ildrad.pet.settings import PetSettings
from ildrad.pet.suv import LbmFormula, SuvKind, SuvOverrides, suv_from_stored

__all__ = ["PetMeasurement", "measure_pet", "pet_feature_name"]

log = logging.getLogger(__name__)

_ZONE_NAMES = {11: "right_upper", 12: "right_middle", 13: "right_lower",
               21: "left_upper", 22: "left_middle", 23: "left_lower"}


def pet_feature_name(region: str, feature: str) -> str:
    """Store column name of a PET metric (DESIGN.md grammar)."""
    return f"pet__{region}__suv__{feature}"


@dataclasses.dataclass(frozen=True)
class PetMeasurement:
    """SUV images, reference regions, metrics (store names) and provenance of one PET."""

    suv_native: Image
    suv_on_ct: Image | None
    references: ReferenceRegions | None
    metrics: dict[str, float]
    provenance: dict[str, Any]


def _regions(lungs: Mask, zones: Mask | None, ct: Image, haa_range_hu: tuple[float, float]) -> dict[str, np.ndarray]:
    """Lung regions on the CT grid; ``haa`` is the joint PET/CT region: lung voxels of CT high
    attenuation (``haa_range_hu``, -600..-250 HU by default), where SSc-ILD is dense."""
    regions = {"lung": lungs.array > 0, "right": lungs.array == 1, "left": lungs.array == 2}
    if zones is not None:
        regions.update({name: zones.array == code for code, name in _ZONE_NAMES.items()})
    low, high = haa_range_hu
    regions["haa"] = regions["lung"] & (ct.array >= low) & (ct.array <= high)
    return {name: mask for name, mask in regions.items() if mask.any()}


def measure_pet(
    pet: PetSeries,
    *,
    ct: Image | None = None,
    lungs: Mask | None = None,
    zones: Mask | None = None,
    settings: PetSettings | None = None,
    overrides: SuvOverrides | None = None,
    register: bool = False,
) -> PetMeasurement:
    """SUV of ``pet`` and, given the CT and its lung mask, the lung PET metrics."""
    settings = settings or PetSettings()
    converted = suv_from_stored(pet.image, pet.headers, SuvKind(settings.suv), LbmFormula(settings.lbm_formula),
                                overrides, pet.files)
    provenance: dict[str, Any] = {"suv": converted.provenance}
    if ct is None:
        return PetMeasurement(converted.image, None, None, {}, provenance)
    transform = None
    if register:
        registration = register_rigid(ct, converted.image)
        transform = registration.transform
        provenance["registration"] = registration.report()
    else:
        check_same_frame_of_reference(converted.image, ct)
    suv_on_ct = image_onto_grid(converted.image, ct.grid, "linear", 0.0, transform)
    if lungs is None:
        return PetMeasurement(converted.image, suv_on_ct, None, {}, provenance)
    assert_same_grid(lungs, ct, "lung mask and CT")
    references = find_reference_regions(ct, lungs)
    provenance["reference_problems"] = references.problems
    metrics: dict[str, float] = {}
    reference_means: dict[str, float | None] = {}
    for name, mask in (("blood_pool", references.blood_pool), ("liver", references.liver)):
        reference_means[name] = None
        if mask is not None:
            values = region_pet_metrics(suv_on_ct, mask.array > 0, region_name=name)
            reference_means[name] = values["suv_mean"]
            metrics.update({pet_feature_name(name, k): values[k] for k in ("suv_mean", "suv_max", "volume_ml")})
    threshold = MetabolicThreshold(settings.mav_threshold_suv, settings.mav_blood_pool_multiple)
    for region, mask in _regions(lungs, zones, ct, settings.haa_range_hu).items():
        values = region_pet_metrics(suv_on_ct, mask, region_name=region, threshold=threshold,
                                    blood_pool_mean=reference_means["blood_pool"],
                                    liver_mean=reference_means["liver"], ct_on_suv_grid=ct,
                                    air_hu=settings.air_hu, tissue_hu=settings.tissue_hu)
        metrics.update({pet_feature_name(region, k): v for k, v in values.items()})
    if not metrics:
        raise InputError("the lung mask holds no lung voxel")
    return PetMeasurement(converted.image, suv_on_ct, references, metrics, provenance)
