"""Quality values and flags per scan, so that thousands of scans can be reviewed by exception.

Each value is stored with its unit; each flag is a boolean ``flag__{name}`` (docs/workspace.md)
raised when a value is outside the range of a usable inspiratory, supine chest CT. The ranges
are deliberately wide: a flag asks for a look, it does not reject the scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ildrad.image import Image, Mask
from ildrad.lung.airways import MAX_AIRWAY_ML
from ildrad.lung.counts import mean_position, position_counts, position_percentiles
from ildrad.lung.zones import anterior_posterior_axis, slice_superior_mm

__all__ = ["QUALITY_LIMITS", "quality_report"]

#: Limits of the flags (value name -> (low, high)); outside -> flag.
QUALITY_LIMITS: dict[str, tuple[float, float]] = {
    "lung_to_thorax_volume_ratio": (0.15, 0.75),  # lungs / body volume over the lung slices
    "left_right_volume_ratio": (0.5, 1.5),  # normal about 0.8-0.9
    "dense_fraction": (0.0, 0.25),  # share of lung voxels above -250 HU
}
_DENSE_HU = -250.0
#: 10th percentile of lung HU above this suggests an expiratory scan (normal lung < -850 HU).
_EXPIRATORY_P10_HU = -810.0
#: Enhanced blood (HU) in the mediastinum, and the volume (mL) that means contrast.
_CONTRAST_HU = (150.0, 600.0)
_CONTRAST_ML = 30.0
#: The mediastinum is smoothed (Gaussian, mm) before counting enhanced voxels: single voxels of
#: unenhanced blood (40 HU) reach 150 HU in the noise of sharp kernels and low-dose scans.
_CONTRAST_SMOOTHING_MM = 3.0
#: Anterior minus posterior mean lung HU above this (prone lungs are denser anteriorly).
_PRONE_GRADIENT_HU = 15.0
#: Lung area on the first / last slice above this share of the largest slice area = cut lung.
_TRUNCATED_AREA_SHARE = 0.1
#: Share of a lung's rib-facing rays whose lung edge lies 15 mm or more inside the ribs
#: (:func:`ildrad.lung.periphery.far_from_ribs_share`) above which the mask may have lost dense
#: lung (a lower lobe solid with consolidation), or fluid, pleural thickening or a mass fills
#: the gap. Phantoms (24 small standard runs, 102 random small specs of
#: ``benchmarks/segment_sweep.py``, 30 random tiny ones): the 126 good masks (Dice of both lungs
#: above 0.94) read at most 0.10; above 0.15 are 14 masks, each with a lung of Dice 0.78-0.92
#: (11 of the 15 masks with a lung under 0.90).
_FAR_FROM_RIBS_SHARE = 0.15
#: Slices thicker than this (mm; the DICOM SliceThickness, else the slice spacing) are beyond what
#: the lung stage was checked on (the 3-5 mm low-dose CT of PET/CT; 6 mm on the test grid) and
#: what a cohort run selects by default (``max_slice_thickness_mm``). Phantoms (1.4 mm pixels,
#: slices every 2 mm, seed 7): at 7 mm the ILD extent of a 30 % lung read 5.4 points high; at
#: 8-10 mm the blurred diaphragm let stomach and colon gas into the left lung (Dice 0.94-0.95,
#: HD95 16 mm) and a healthy lung read 14.5 % ILD (partial volume of vessels).
_MAX_SLICE_THICKNESS_MM = 6.0


def quality_report(
    ct: Image, lungs: Mask, body: Mask, info: dict[str, Any], pa_ao_problem: str | None = None
) -> dict[str, Any]:
    """Quality values (``values``: name -> (value, unit)) and flags (``flags``: name -> bool).

    Prone: the DICOM ``PatientPosition`` (metadata ``patient_position``) when known, else a
    denser anterior than posterior lung (gravity). Contrast: the metadata's contrast agent when
    known, else more than 30 mL of 150-600 HU blood between the lungs, in front of the spine.
    ``pa_ao_problem``: why the PA/Ao ratio was not measured (flag ``pa_ao_not_measured``).
    """
    report = _quality_report(ct, lungs, body, info)
    report["flags"]["pa_ao_not_measured"] = pa_ao_problem is not None
    return report


def _quality_report(ct: Image, lungs: Mask, body: Mask, info: dict[str, Any]) -> dict[str, Any]:
    grid = ct.grid
    voxel_ml = grid.voxel_volume_mm3 / 1000.0
    lung = lungs.array > 0
    right_ml = float((lungs.array == 1).sum()) * voxel_ml
    left_ml = float((lungs.array == 2).sum()) * voxel_ml
    lung_slices = np.flatnonzero(lung.any(axis=(1, 2)))
    thorax_ml = float(body.array[lung_slices].sum()) * voxel_ml if lung_slices.size else 0.0
    hu = ct.array[lung]
    values: dict[str, tuple[float, str]] = {
        "lung_volume_ml": (right_ml + left_ml, "mL"),
        "thorax_volume_ml": (thorax_ml, "mL"),
        "lung_to_thorax_volume_ratio": ((right_ml + left_ml) / thorax_ml if thorax_ml else float("nan"), "1"),
        "left_right_volume_ratio": (left_ml / right_ml if right_ml else float("nan"), "1"),
        "dense_fraction": (float(np.mean(hu > _DENSE_HU)) if hu.size else float("nan"), "1"),
        "lung_p10_hu": (float(np.percentile(hu, 10)) if hu.size else float("nan"), "HU"),
        "airway_volume_ml": (float(info.get("airway_volume_ml", float("nan"))), "mL"),
        "anterior_minus_posterior_hu": (_dependent_gradient(ct, lung), "HU"),
        "mediastinal_enhanced_ml": (_enhanced_volume(ct, lungs, body), "mL"),
        "lung_far_from_ribs_fraction": (float(info.get("far_from_ribs_fraction", np.nan)), "1"),
        "slice_thickness_mm": (_slice_thickness_mm(ct), "mm"),
    }
    superior = slice_superior_mm(grid)
    top_slice = int(np.argmax(superior))
    bottom_slice = int(np.argmin(superior))
    areas = lung.sum(axis=(1, 2))
    cut = _TRUNCATED_AREA_SHARE * max(int(areas.max(initial=0)), 1)
    flags = {
        # the first / last slice still holds a real lung section (not a trachea or a tip)
        "truncated_apex": bool(areas[top_slice] > cut),
        "truncated_base": bool(areas[bottom_slice] > cut),
        "one_lung_missing": right_ml == 0.0 or left_ml == 0.0,
        "airway_not_found": not info.get("trachea_found", False),
        "airway_leak": values["airway_volume_ml"][0] > 0.8 * MAX_AIRWAY_ML,
        "expiratory_suspected": values["lung_p10_hu"][0] > _EXPIRATORY_P10_HU,
        "prone_suspected": _is_prone(ct, values["anterior_minus_posterior_hu"][0]),
        "contrast_suspected": _has_contrast(ct, values["mediastinal_enhanced_ml"][0]),
        "lung_far_from_ribs": values["lung_far_from_ribs_fraction"][0] > _FAR_FROM_RIBS_SHARE,
        "thick_slices": values["slice_thickness_mm"][0] > _MAX_SLICE_THICKNESS_MM,
    }
    for name, (low, high) in QUALITY_LIMITS.items():
        value = values[name][0]
        flags[f"{name}_out_of_range"] = bool(np.isnan(value) or value < low or value > high)
    return {"values": values, "flags": flags}


def _slice_thickness_mm(ct: Image) -> float:
    """Reconstructed slice thickness (metadata ``slice_thickness_mm``), else the slice spacing."""
    thickness = float(ct.metadata.get("slice_thickness_mm") or np.nan)
    return thickness if 0.0 < thickness < np.inf else float(ct.spacing[0])


def _dependent_gradient(ct: Image, lung: np.ndarray) -> float:
    """Mean HU of the anterior third of the lungs minus that of the posterior third."""
    if not lung.any():
        return float("nan")
    axis, posterior_sign = anterior_posterior_axis(ct.grid)
    low, high = position_percentiles(lung, axis, (33.3, 66.7), posterior_sign)
    coordinate = np.arange(lung.shape[axis]) * posterior_sign
    anterior = _lung_hu_in_slab(ct.array, lung, axis, coordinate <= low)
    posterior = _lung_hu_in_slab(ct.array, lung, axis, coordinate >= high)
    return float(anterior.mean() - posterior.mean())


def _lung_hu_in_slab(hu: np.ndarray, lung: np.ndarray, axis: int, chosen: np.ndarray) -> np.ndarray:
    """HU of the lung voxels at the ``chosen`` indices along ``axis`` (a contiguous run), in the
    array's order (a slab view: no index arrays of the whole lung)."""
    indices = np.flatnonzero(chosen)
    box = [slice(None)] * 3
    box[axis] = slice(int(indices[0]), int(indices[-1]) + 1)
    return hu[tuple(box)][lung[tuple(box)]]


def _is_prone(ct: Image, gradient_hu: float) -> bool:
    position = str(ct.metadata.get("patient_position", "") or "").upper()
    if position:
        return position in {"HFP", "FFP"}
    return bool(gradient_hu > _PRONE_GRADIENT_HU)


def _has_contrast(ct: Image, enhanced_ml: float) -> bool:
    agent = ct.metadata.get("contrast_agent")
    if agent:
        return True
    return bool(enhanced_ml > _CONTRAST_ML)


def _enhanced_volume(ct: Image, lungs: Mask, body: Mask) -> float:
    """Volume (mL) of enhanced blood in the mediastinum between the two lungs: voxels whose HU,
    smoothed over ``_CONTRAST_SMOOTHING_MM``, lies in ``_CONTRAST_HU``."""
    right, left = lungs.array == 1, lungs.array == 2
    if not right.any() or not left.any():
        return float("nan")
    axis, posterior_sign = anterior_posterior_axis(ct.grid)
    lr_axis = 3 - axis
    lung = lungs.array > 0
    slices = np.flatnonzero(position_counts(lung, 0))
    z0, z1 = slices[0], slices[-1] + 1
    a, b = sorted((mean_position(right, lr_axis), mean_position(left, lr_axis)))
    # 20 % to 70 % of the lungs' antero-posterior extent, counted from the patient's front
    front_to_back = np.array(position_percentiles(lung, axis, (20.0, 70.0), posterior_sign))
    ap_low, ap_high = sorted(front_to_back * posterior_sign)
    box = [slice(z0, z1), slice(None), slice(None)]
    box[lr_axis] = slice(int(a), int(b) + 1)
    box[axis] = slice(int(ap_low), int(ap_high) + 1)
    sigma = [_CONTRAST_SMOOTHING_MM / s for s in ct.spacing]
    region = ndimage.gaussian_filter(ct.array[tuple(box)].astype(np.float32), sigma, mode="nearest")
    inside = (body.array[tuple(box)] > 0) & (lungs.array[tuple(box)] == 0)
    enhanced = inside & (region >= _CONTRAST_HU[0]) & (region <= _CONTRAST_HU[1])
    return float(enhanced.sum()) * ct.grid.voxel_volume_mm3 / 1000.0
