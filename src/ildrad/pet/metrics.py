"""Lung PET metrics on an SUV image and a region mask on the same grid.

* ``suv_max``, ``suv_mean``, ``suv_sd``, percentiles ``suv_p10/p50/p90`` (linear interpolation);
* ``suv_peak_local``: the IBSI local intensity peak — mean SUV of all voxels whose centres lie
  within a 1 cm³ sphere (radius 6.204 mm) centred on the region's hottest voxel (the highest such
  mean when several voxels share the maximum) (IBSI 1, 3.2.1);
* ``suv_peak_global``: the PERCIST / IBSI global peak — the same sphere placed with its centre on
  any voxel of the region so as to maximise its mean (Wahl 2009 PERCIST; Lodge 2012 JNM);
* ``mav_ml``: metabolically active volume, region voxels with SUV at or above a threshold
  (absolute, or a multiple of the blood-pool SUVmean); ``tlg_g``: total lesion glycolysis =
  SUVmean of those voxels × their volume (mL), in g (SUV in g/mL);
* ratios to reference regions: ``ratio_blood_pool`` and ``ratio_liver`` = region SUVmean /
  reference SUVmean;
* ``suv_mean_tissue_fraction_corrected``: SUVmean / mean tissue fraction, with the tissue
  fraction of each voxel from the CT density ``TF = (HU - HU_air) / (HU_tissue - HU_air)``
  clipped to [0, 1] (air -1000 HU, tissue 0 HU by default, i.e. water-equivalent lung tissue;
  Lambrou 2011, Holman 2015 PMB 60:7387): lung SUV diluted by air rises with density alone, and
  this undoes the dilution. The CT must already be on the SUV grid (and smoothed to PET
  resolution by that resampling, as ``image_onto_grid`` does with linear interpolation of a finer
  grid, or explicitly by the caller).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from ildrad.errors import EmptyMaskError
from ildrad.image import Grid, Image, Unit, assert_same_grid, require_unit

__all__ = ["MetabolicThreshold", "region_pet_metrics", "sphere_offsets", "suv_peaks", "tissue_fraction"]

#: Radius (mm) of a sphere of volume 1 cm³: (3 / (4 pi) * 1000) ** (1/3).
PEAK_SPHERE_RADIUS_MM = float((3000.0 / (4.0 * np.pi)) ** (1.0 / 3.0))


@dataclasses.dataclass(frozen=True)
class MetabolicThreshold:
    """Threshold of the metabolically active volume: ``suv`` absolute, or ``blood_pool_multiple``
    times the blood-pool SUVmean when that is given (and a blood-pool mean is available)."""

    suv: float = 2.5
    blood_pool_multiple: float | None = None


def sphere_offsets(grid: Grid, radius_mm: float = PEAK_SPHERE_RADIUS_MM) -> np.ndarray:
    """Integer (dz, dy, dx) offsets of voxels whose centres lie within ``radius_mm`` of a centre."""
    half = [int(np.floor(radius_mm / s)) for s in grid.spacing]
    dz, dy, dx = np.meshgrid(*(np.arange(-h, h + 1) for h in half), indexing="ij")
    distance = np.sqrt((dz * grid.spacing[0]) ** 2 + (dy * grid.spacing[1]) ** 2 + (dx * grid.spacing[2]) ** 2)
    inside = distance <= radius_mm + 1e-9
    return np.stack([dz[inside], dy[inside], dx[inside]], axis=1)


def _sphere_kernel(grid: Grid, radius_mm: float) -> np.ndarray:
    offsets = sphere_offsets(grid, radius_mm)
    half = np.abs(offsets).max(axis=0)
    kernel = np.zeros(tuple(2 * half + 1), dtype=np.float64)
    kernel[tuple((offsets + half).T)] = 1.0
    return kernel / kernel.sum()


def suv_peaks(suv: Image, region: np.ndarray, radius_mm: float = PEAK_SPHERE_RADIUS_MM) -> tuple[float, float]:
    """(local peak, global peak) of ``suv`` over the boolean ``region`` (see module docstring).

    Sphere means use every image voxel in the sphere (not only region voxels), as IBSI defines;
    voxels beyond the image border count as absent (the mean is over the voxels inside).
    """
    kernel = _sphere_kernel(suv.grid, radius_mm)
    values = suv.array.astype(np.float64)
    sums = ndimage.convolve(values, kernel, mode="constant", cval=0.0)
    weights = ndimage.convolve(np.ones_like(values), kernel, mode="constant", cval=0.0)
    means = sums / weights
    region_values = values[region]
    hottest = region & (values == region_values.max())
    return float(means[hottest].max()), float(means[region].max())


def tissue_fraction(ct_hu: Image, air_hu: float = -1000.0, tissue_hu: float = 0.0) -> np.ndarray:
    """Voxel tissue fraction from CT density, ``(HU - air) / (tissue - air)`` clipped to [0, 1]."""
    require_unit(ct_hu, Unit.HU, purpose="tissue-fraction correction")
    return np.clip((ct_hu.array.astype(np.float64) - air_hu) / (tissue_hu - air_hu), 0.0, 1.0)


def region_pet_metrics(
    suv: Image,
    region: np.ndarray,
    *,
    region_name: str = "region",
    threshold: MetabolicThreshold = MetabolicThreshold(),
    blood_pool_mean: float | None = None,
    liver_mean: float | None = None,
    ct_on_suv_grid: Image | None = None,
    air_hu: float = -1000.0,
    tissue_hu: float = 0.0,
) -> dict[str, float]:
    """All PET metrics of one region (boolean array on the SUV grid); names carry units."""
    require_unit(suv, Unit.SUV, purpose="PET metrics")
    if region.shape != suv.shape:
        raise EmptyMaskError(f"{region_name}: mask shape {region.shape} differs from the SUV grid {suv.shape}")
    region = region.astype(bool)
    if not region.any():
        raise EmptyMaskError(f"{region_name}: the region holds no voxel on the PET grid")
    values = suv.array[region].astype(np.float64)
    voxel_ml = suv.grid.voxel_volume_mm3 / 1000.0
    local_peak, global_peak = suv_peaks(suv, region)
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    metrics = {
        "volume_ml": float(values.size * voxel_ml),
        "suv_max": float(values.max()),
        "suv_mean": float(values.mean()),
        "suv_sd": float(values.std()),
        "suv_p10": float(p10),
        "suv_p50": float(p50),
        "suv_p90": float(p90),
        "suv_peak_local": local_peak,
        "suv_peak_global": global_peak,
    }
    cut = threshold.suv
    if threshold.blood_pool_multiple is not None and blood_pool_mean is not None:
        cut = threshold.blood_pool_multiple * blood_pool_mean
    active = values[values >= cut]
    metrics["mav_threshold_suv"] = float(cut)
    metrics["mav_ml"] = float(active.size * voxel_ml)
    metrics["tlg_g"] = float(active.mean() * active.size * voxel_ml) if active.size else 0.0
    if blood_pool_mean:
        metrics["ratio_blood_pool"] = metrics["suv_mean"] / blood_pool_mean
    if liver_mean:
        metrics["ratio_liver"] = metrics["suv_mean"] / liver_mean
    if ct_on_suv_grid is not None:
        assert_same_grid(ct_on_suv_grid, suv, "CT resampled onto the PET grid and SUV")
        fraction = tissue_fraction(ct_on_suv_grid, air_hu, tissue_hu)[region].mean()
        metrics["tissue_fraction_mean"] = float(fraction)
        metrics["suv_mean_tissue_fraction_corrected"] = float(values.mean() / fraction) if fraction > 0 else float("nan")
    return metrics
