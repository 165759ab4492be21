"""Trachea and main bronchi on the coarse grid (seeded region growing with leak control).

The trachea is the most anterior homogeneous air tube (median below -900 HU, 1 to 8 cm^2, round)
nearest the top of the scan whose gas runs at least 3 cm down (an apical bulla does not). The airway
lumen is grown from it in 3D below a threshold that starts at -950 HU and is raised by 25 HU steps
while the grown volume stays plausible (no jump of more than 60 % or of more than 10 mL between
steps, and under ``MAX_AIRWAY_ML``; the absolute limit matters when an air-filled oesophagus
touching the trachea inflates the volume, so that a leak into the hilar lung stays under 60 %): the
classical leak control of seeded airway segmentation (e.g. the explosion test of Mori et al. 1996;
van Rikxoort et al. 2009).
"""

from __future__ import annotations

import logging

import cc3d
import numpy as np
from scipy import ndimage

__all__ = ["MAX_AIRWAY_ML", "find_trachea_seed", "grow_airways"]

log = logging.getLogger(__name__)

#: Largest plausible central airway lumen volume (mL) grown from the trachea.
MAX_AIRWAY_ML = 250.0
#: Largest lumen volume (mL) one 25 HU step above the first threshold may add: more is a leak.
_MAX_STEP_ML = 10.0
_TRACHEA_AREA_CM2 = (0.8, 8.0)
_TRACHEA_MEDIAN_HU = -900.0
#: Trachea candidates are compared over this length (mm) below the first slice showing one.
_SEED_SEARCH_MM = 20.0
#: Trachea candidates lie at most this far (mm) left or right of the body's centre in their slice.
_MIDLINE_MM = 25.0
#: A trachea candidate's gas runs at least this far (mm) down from it (see :func:`_long_tubes`).
_MIN_TUBE_MM = 30.0


def find_trachea_seed(
    hu: np.ndarray, body: np.ndarray, spacing: tuple[float, float, float], superior_first: bool,
    posterior_sign: float = 1.0,
) -> np.ndarray | None:
    """Boolean mask of the trachea's cross-section in the most superior slice showing it.

    ``superior_first`` is True when array slice 0 is the most superior one; ``posterior_sign`` is +1
    when the array's row index grows towards the patient's back (LPS +y), -1 otherwise. Of several
    round air tubes the most anterior is the trachea (an air-filled oesophagus lies behind it),
    among those whose gas runs on at least ``_MIN_TUBE_MM`` down (all of them when none does; see
    :func:`_long_tubes`); the candidates of the first ``_SEED_SEARCH_MM`` below the first slice
    showing any are compared, since the trachea's top may fail the tube tests (partial volume at the
    larynx) in a slice where the oesophagus passes them. Air more than ``_MIDLINE_MM`` to the side
    of the body's centre (the tips of the lung apices, which lie in front of the trachea on thick
    slices) is not a candidate where the body lies whole in the slice (``body`` leaves out the air
    between the patient and the table: :func:`ildrad.lung.body.body_mask`).
    Returns None when no slice in the upper third of the scan shows a trachea-like air tube.
    """
    nz = hu.shape[0]
    order = range(nz) if superior_first else range(nz - 1, -1, -1)
    pixel_cm2 = spacing[1] * spacing[2] / 100.0
    candidates: list[tuple[float, int, np.ndarray]] = []  # (front, slice, cross-section)
    last = nz
    for count, k in enumerate(order):
        if count > max(3, nz // 3) or count > last:
            break
        air = body[k] & (hu[k] < -900.0)  # strict: the oesophagus beside the trachea stays apart
        labels, n = ndimage.label(air)
        if n == 0:
            continue
        areas = np.bincount(labels.ravel(), minlength=n + 1) * pixel_cm2
        centre_x = _body_centre_column(body[k])
        for label in np.flatnonzero((areas >= _TRACHEA_AREA_CM2[0]) & (areas <= _TRACHEA_AREA_CM2[1])):
            if label == 0:
                continue
            region = labels == label
            ys, xs = np.nonzero(region)
            box = (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
            if region.sum() / box < 0.55 or _touches_border(region):
                continue
            if centre_x is not None and abs(float(xs.mean()) - centre_x) * spacing[2] > _MIDLINE_MM:
                continue
            if float(np.median(hu[k][region])) >= _TRACHEA_MEDIAN_HU:
                continue
            # the trachea lies in front of the oesophagus (which may hold air too)
            candidates.append((float(ys.mean()) * posterior_sign, k, region))
            last = min(last, count + int(round(_SEED_SEARCH_MM / spacing[0])))
    if not candidates:
        return None
    tubes = _long_tubes(candidates, hu, body, spacing[0], superior_first)
    _, k, region = min(tubes or candidates, key=lambda c: c[0])  # first of equals: the highest
    seed = np.zeros(hu.shape, dtype=bool)
    seed[k] = region
    log.debug("trachea seed in slice %d", k)
    return seed


def _long_tubes(
    candidates: list[tuple[float, int, np.ndarray]], hu: np.ndarray, body: np.ndarray,
    slice_mm: float, superior_first: bool,
) -> list[tuple[float, int, np.ndarray]]:
    """The candidates whose gas (below -950 HU, 3D) runs on at least ``_MIN_TUBE_MM`` below them.

    The trachea runs several centimetres down to the carina and the oesophagus the length of
    the chest; an emphysematous space or bulla at the medial apex, which can look like a round
    air tube in front of the trachea in a few slices, does not (1.0 mL over 20 mm on a random
    phantom whose space was taken for the trachea; its trachea ran 74 mm).
    """
    reach = int(np.ceil(_MIN_TUBE_MM / slice_mm))
    slices = [k for _, k, _ in candidates]
    if superior_first:
        top, bottom = min(slices), min(max(slices) + reach + 1, hu.shape[0])
    else:
        top, bottom = max(min(slices) - reach, 0), max(slices) + 1
    slab = cc3d.connected_components((body[top:bottom] & (hu[top:bottom] < -950.0)).view(np.uint8),
                                     connectivity=6)
    boxes = ndimage.find_objects(slab)
    out = []
    for candidate in candidates:
        _, k, region = candidate
        ids = np.unique(slab[k - top][region])
        rows = [boxes[i - 1][0] for i in ids if i > 0]
        if not rows:
            continue
        deepest = max(r.stop - 1 for r in rows) if superior_first else min(r.start for r in rows)
        if abs(deepest - (k - top)) * slice_mm >= _MIN_TUBE_MM:
            out.append(candidate)
    return out


def _body_centre_column(body: np.ndarray) -> float | None:
    """Mean column of an axial body section, or None when the body is cut by the image border
    (a cropped field of view: its centre is not the patient's midline)."""
    if _touches_border(body):
        return None
    return float(np.nonzero(body)[1].mean())


def grow_airways(hu: np.ndarray, seed: np.ndarray, allowed: np.ndarray,
                 spacing: tuple[float, float, float]) -> np.ndarray:
    """Airway lumen connected to ``seed`` inside ``allowed``, grown with leak control."""
    voxel_ml = float(np.prod(spacing)) / 1000.0
    seed_label_mask = seed.view(np.uint8)
    best = seed.copy()
    previous_ml = float(seed.sum()) * voxel_ml
    for threshold in np.arange(-950.0, -824.0, 25.0):
        candidate = allowed & (hu < threshold)
        candidate |= seed
        labels = cc3d.connected_components(candidate.view(np.uint8), connectivity=6)
        seed_labels = np.unique(labels[seed_label_mask > 0])
        seed_labels = seed_labels[seed_labels > 0]
        grown = np.isin(labels, seed_labels)
        grown_ml = float(grown.sum()) * voxel_ml
        leak = previous_ml > 5.0 and grown_ml > 1.6 * previous_ml
        leak |= threshold > -950.0 and grown_ml - previous_ml > _MAX_STEP_ML
        if grown_ml > MAX_AIRWAY_ML or leak:
            log.debug("airway growth stopped at %.0f HU (%.0f mL, leak)", threshold, grown_ml)
            break
        best, previous_ml = grown, grown_ml
    return best


def _touches_border(region: np.ndarray) -> bool:
    return bool(region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any())
