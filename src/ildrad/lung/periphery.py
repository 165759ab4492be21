"""Recover dense subpleural disease between the aerated lung and the ribs (coarse grid).

Dense fibrosis, honeycomb walls and subpleural consolidation lie against the parietal pleura and
may have chest-wall density, so no intensity edge separates them from the wall; a threshold
segmentation stops at the aerated lung and loses the band. The inner surface of the rib cage is
the missing boundary. In every axial slice and for each lung, rays are cast from the aerated
lung's centroid every 2 degrees; along each ray outside the medial sector (which faces the
mediastinum, not the ribs) the distance between the last aerated-lung sample and the first
bone sample (a rib) is the *gap*. In healthy lung the gap is the pleura and innermost
intercostal muscle, a few millimetres; its scan-wide lower quartile is taken as that
normal wall thickness (``margin``). Where the gap is wider (up to ``dense_band_max_mm``) the
ray is filled up to ``rib - margin``. Rays passing between two ribs take the rib distance
interpolated from their neighbours (within 20 degrees); a bone hit much farther than its
neighbours (a scapula seen through an intercostal space) is rejected as an outlier.

This is the rib-cage-constrained envelope of the classical approaches (for instance the
"lung boundary correction" step of Hu et al. 2001 and the ribcage-constrained refinement of
Mansoor et al. 2014, IEEE TMI 33:2293), implemented here from the description, not from code.
The upper third of each lung (the apical dome) is not filled, and the normal wall thickness is
taken locally (20th percentile of the gap over +-30 mm and +-10 degrees), so that a chest whose
lungs do not reach the ribs everywhere is not filled with muscle. A pleural effusion widens the
gap too, and manual lung contours leave it out: fat and water-density fluid
(:func:`ildrad.lung.body.pleural_fluid_mask`), which the caller marks, are never filled.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import numpy as np
from scipy import ndimage

__all__ = ["far_from_ribs_share", "recover_dense_periphery"]

log = logging.getLogger(__name__)

_N_RAYS = 180
_MEDIAL_COS = 0.34  # rays within 70 degrees of the medial direction are not filled
_INTERP_RAYS = 10  # interpolate a missing rib hit from neighbours up to 20 degrees away
_OUTLIER_MM = 6.0
_MARGIN_QUANTILE = 25.0
_RIB_GAP_MM = 25.0
_NORMAL_Z_MM = 30.0
_EDGE_MM = 6.0
_DISEASED_EDGE_HU = -600.0  # lung next to the gap must look diseased (a healthy edge reads -850 to -650 HU)
_MIN_EXCESS_MM = 3.0  # a gap this much wider than normal is disease, not noise
_NORMAL_PERCENTILE = 20.0  # normal wall: low rank of nearby gaps (a minimum is biased by noise)
_UNMEASURED = 1e6
#: A lung edge this far inside the ribs is not the wall's normal thickness (pleura, intercostal
#: muscle and extrapleural fat: under 10 mm) but lost dense lung, pleural fluid or thickening.
FAR_FROM_RIBS_MM = 15.0
_MEASURE_REACH_MM = 200.0  # rays long enough to reach the ribs from any lung
#: Sections smaller than this share of the lung's largest are not measured: from the small tip of
#: a lung base every ray is far from the ribs (a healthy low-dose CT read 0.21 with them, 0.01
#: without).
_MIN_SECTION_SHARE = 0.1


@dataclasses.dataclass
class _SliceRays:
    k: int
    label: int
    iy: np.ndarray  # (rays, steps) sample rows
    ix: np.ndarray  # (rays, steps) sample columns
    inside: np.ndarray  # (rays, steps) sample inside the slice
    r0: np.ndarray  # (rays,) index of the last aerated-lung sample before the rib
    rib: np.ndarray  # (rays,) index of the rib sample (float, NaN = none)
    fillable: np.ndarray  # (rays, steps) samples allowed to receive lung (body, no bone, no other lung)
    diseased: np.ndarray  # (rays,) the lung next to the gap looks diseased


def recover_dense_periphery(
    labels: np.ndarray,
    hu: np.ndarray,
    bone: np.ndarray,
    body: np.ndarray,
    never_dense: np.ndarray,
    spacing: tuple[float, float, float],
    medial_direction: dict[int, tuple[float, float]],
    band_max_mm: float,
    superior_first: bool,
) -> tuple[np.ndarray, float]:
    """Labels with the dense subpleural band added, and the normal wall thickness (mm) used.

    ``never_dense`` (fat, pleural fluid) is never added, though a ray may cross it.
    ``medial_direction[label]`` is the in-plane unit vector (mm units of array axes y, x)
    pointing from that lung towards the patient's midline.
    """
    sy, sx = spacing[1], spacing[2]
    step = 0.5 * min(sy, sx)
    out = labels.copy()
    if band_max_mm <= 0:
        return out, 0.0
    traced = _trace_lower_slices(labels, hu, bone, body, spacing, medial_direction, band_max_mm,
                                 superior_first)
    gaps = np.concatenate([(t.rib - t.r0)[np.isfinite(t.rib)] for t in traced]) * step if traced else np.array([])
    if gaps.size < 20:
        return out, 0.0
    margin_mm = float(np.percentile(gaps, _MARGIN_QUANTILE))
    normal_gap = _normal_gap_steps(traced, labels.shape[0], margin_mm / step, spacing[0], step)
    added = 0
    for t in traced:
        steps = np.arange(t.iy.shape[1])[None, :]
        normal = normal_gap[(t.label, t.k)]
        limit = (t.rib - normal)[:, None]
        take = (steps > t.r0[:, None]) & (steps <= limit) & t.inside & t.fillable
        wide = (t.rib - t.r0 - normal) * step >= max(_MIN_EXCESS_MM, 1.5 * max(sy, sx))
        take &= (np.isfinite(t.rib) & wide & t.diseased)[:, None]
        if not take.any():
            continue
        rows, cols = t.iy[take], t.ix[take]
        box = (slice(max(rows.min() - 2, 0), rows.max() + 3), slice(max(cols.min() - 2, 0), cols.max() + 3))
        plane = np.zeros(labels.shape[1:], dtype=bool)
        plane[rows, cols] = True
        local = ndimage.binary_closing(plane[box], iterations=1) & body[t.k][box] & ~bone[t.k][box]
        local &= ~never_dense[t.k][box]
        target = out[t.k][box]
        new = local & (target == 0)
        target[new] = t.label
        added += int(new.sum())
    log.debug("dense periphery: wall margin %.1f mm, %d voxels added", margin_mm, added)
    return out, margin_mm


def far_from_ribs_share(
    labels: np.ndarray,
    hu: np.ndarray,
    bone: np.ndarray,
    body: np.ndarray,
    spacing: tuple[float, float, float],
    medial_direction: dict[int, tuple[float, float]],
    superior_first: bool,
) -> dict[int, float]:
    """Per lung, the share of its rib-facing rays whose lung edge lies ``FAR_FROM_RIBS_MM`` or
    more inside the ribs (NaN when no ray reached a rib).

    The rays are those of :func:`recover_dense_periphery` (every 2 degrees from each slice's
    lung centroid, outside the medial sector, below the upper third), traced on the finished
    mask, in sections of at least ``_MIN_SECTION_SHARE`` of the lung's largest: the gap from
    the outermost lung sample to the rib. In a good mask of an aerated or fibrotic lung almost
    every gap is the wall. Measured: at most 0.8 % of the rays end beyond 15 mm on 24 small
    phantoms (12 cases, two seeds, disease up to 60 %), 8 % with 60 mm effusions on both sides,
    at most 10 % on good masks of random phantoms; 43 % and 39 % on the two random tiny phantoms
    whose lower lobes, solid with consolidation, the mask lost (Dice 0.80 and 0.82-0.88). A mass
    on the chest wall left out of the mask lengthens gaps too (the IBSI CT's tumour: 13 %).
    """
    step = 0.5 * min(spacing[1:])
    traced = _trace_lower_slices(labels, hu, bone, body, spacing, medial_direction,
                                 _MEASURE_REACH_MM, superior_first)
    out: dict[int, float] = {}
    for label in (1, 2):
        areas = (labels == label).sum(axis=(1, 2))
        counted = [t for t in traced if t.label == label and areas[t.k] >= _MIN_SECTION_SHARE * areas.max()]
        gaps = [(t.rib - t.r0)[np.isfinite(t.rib)] * step for t in counted]
        measured = np.concatenate(gaps) if gaps else np.array([])
        out[label] = float(np.mean(measured >= FAR_FROM_RIBS_MM)) if measured.size else float("nan")
    return out


def _trace_lower_slices(
    labels: np.ndarray,
    hu: np.ndarray,
    bone: np.ndarray,
    body: np.ndarray,
    spacing: tuple[float, float, float],
    medial_direction: dict[int, tuple[float, float]],
    band_max_mm: float,
    superior_first: bool,
) -> list[_SliceRays]:
    """The rays of every lung section below the upper third of its lung (slice by slice, right
    lung first), traced towards the rib shell (ray steps of half the in-plane voxel)."""
    sy, sx = spacing[1], spacing[2]
    step = 0.5 * min(sy, sx)
    ribs = _rib_shell(bone, spacing[0])
    lower = _below_upper_third(labels, superior_first)
    traced: list[_SliceRays] = []
    for k in range(labels.shape[0]):
        for label in (1, 2):
            if not lower[label][k]:
                continue
            rays = _trace_slice(labels[k], ribs[k], body[k], hu[k], label, (sy, sx), step,
                                medial_direction.get(label), band_max_mm, k)
            if rays is not None:
                traced.append(rays)
    return traced


def _trace_slice(
    labels: np.ndarray,
    bone: np.ndarray,
    body: np.ndarray,
    hu: np.ndarray,
    label: int,
    spacing_yx: tuple[float, float],
    step: float,
    medial: tuple[float, float] | None,
    band_max_mm: float,
    k: int,
) -> _SliceRays | None:
    ys, xs = np.nonzero(labels == label)
    if ys.size < 10:
        return None
    sy, sx = spacing_yx
    cy, cx = ys.mean(), xs.mean()
    reach = np.sqrt(((ys - cy) * sy) ** 2 + ((xs - cx) * sx) ** 2).max() + band_max_mm + 10.0
    n_steps = int(reach / step) + 1
    angles = np.linspace(0.0, 2 * np.pi, _N_RAYS, endpoint=False)
    uy, ux = np.sin(angles), np.cos(angles)
    radius = np.arange(n_steps) * step
    fy = cy + np.outer(uy, radius) / sy
    fx = cx + np.outer(ux, radius) / sx
    iy = np.rint(fy).astype(np.intp)
    ix = np.rint(fx).astype(np.intp)
    inside = (iy >= 0) & (iy < labels.shape[0]) & (ix >= 0) & (ix < labels.shape[1])
    iy_c = np.clip(iy, 0, labels.shape[0] - 1)
    ix_c = np.clip(ix, 0, labels.shape[1] - 1)
    lab = np.where(inside, labels[iy_c, ix_c], 255)
    is_bone = inside & bone[iy_c, ix_c]
    in_body = inside & body[iy_c, ix_c]
    is_lung = lab == label
    other_lung = (lab != 0) & (lab != label) & (lab != 255)
    index = np.arange(n_steps)[None, :]

    has_lung = is_lung.any(axis=1)
    outermost_lung = _last_before(is_lung, np.full(_N_RAYS, n_steps))
    bone_after = is_bone & (index > outermost_lung[:, None])
    has_bone = bone_after.any(axis=1)
    rib = np.argmax(bone_after, axis=1).astype(float)
    rib[~has_bone] = np.nan
    r0 = _last_before(is_lung, np.where(has_bone, rib, n_steps))
    blocked = np.cumsum(other_lung | ~in_body, axis=1) - _take(np.cumsum(other_lung | ~in_body, axis=1), r0)[:, None]
    lateral = np.ones(_N_RAYS, dtype=bool)
    if medial is not None:
        lateral = (uy * medial[0] + ux * medial[1]) < _MEDIAL_COS
    gap_steps = rib - r0
    valid = has_lung & has_bone & lateral & (gap_steps * step <= band_max_mm + 8.0)
    valid &= _take(blocked, np.where(has_bone, rib, 0).astype(np.intp)) == 0
    rib = np.where(valid, rib, np.nan)
    rib = _reject_outliers(rib, step)
    rib = _interpolate_missing(rib, has_lung & lateral)
    # A ray whose interpolated rib passes through bone, outside the body or the other lung is dropped.
    fillable = in_body & ~is_bone & ~other_lung
    r0 = np.where(np.isfinite(rib), _last_before(is_lung, np.where(np.isfinite(rib), rib, n_steps)), r0)
    path = (index > r0[:, None]) & (index < np.nan_to_num(rib, nan=-1)[:, None])
    broken = (path & ~fillable).any(axis=1)
    rib[broken] = np.nan
    too_wide = (rib - r0) * step > band_max_mm + 8.0
    rib[too_wide] = np.nan
    # Mean HU of the lung just inside r0: disease (ground glass, reticulation) borders a band of
    # consolidation; healthy lung at the pleura does not.
    edge_steps = max(2, int(round(_EDGE_MM / step)))
    edge = is_lung & (index <= r0[:, None]) & (index > (r0 - edge_steps)[:, None])
    values = np.where(edge, hu[iy_c, ix_c], 0.0)
    edge_hu = values.sum(axis=1) / np.maximum(edge.sum(axis=1), 1)
    diseased = edge_hu > _DISEASED_EDGE_HU
    return _SliceRays(k, label, iy, ix, inside, r0.astype(float), rib, fillable, diseased)


def _below_upper_third(labels: np.ndarray, superior_first: bool) -> dict[int, np.ndarray]:
    """Per lung, the slices below the upper third of its height (the apex dome is left alone:
    its axial sections shrink inside the first ribs, so a wide lung-to-rib gap is normal there)."""
    out = {}
    for label in (1, 2):
        present = np.flatnonzero((labels == label).any(axis=(1, 2)))
        keep = np.zeros(labels.shape[0], dtype=bool)
        if present.size:
            third = (present[-1] - present[0] + 1) / 3.0
            if superior_first:
                keep[int(np.ceil(present[0] + third)): present[-1] + 1] = True
            else:
                keep[present[0]: int(np.floor(present[-1] + 1 - third))] = True
        out[label] = keep
    return out


def _normal_gap_steps(
    traced: list[_SliceRays], n_slices: int, margin_steps: float, slice_mm: float, step: float
) -> dict[tuple[int, int], np.ndarray]:
    """Normal lung-to-rib wall thickness per (lung, slice) and ray, in ray steps.

    The normal thickness at a ray is a low percentile (``_NORMAL_PERCENTILE``) of the gaps seen
    within +-``_NORMAL_Z_MM`` and +-10 degrees: disease makes the gap wider locally, so a low
    rank over a neighbourhood larger than a band of disease is the wall itself. (The plain
    minimum was biased thin by single noisy rays and filled intercostal muscle along diseased
    lung: 6 mm bands on a 1.4 mm phantom.) It is never below the scan-wide ``margin``; where no
    gap was measured nearby the margin is used.
    """
    out: dict[tuple[int, int], np.ndarray] = {}
    half = max(1, int(round(_NORMAL_Z_MM / slice_mm)))
    for label in (1, 2):
        gaps = np.full((n_slices, _N_RAYS), np.inf)
        for t in traced:
            if t.label == label:
                gaps[t.k] = np.where(np.isfinite(t.rib), t.rib - t.r0, np.inf)
        window = (2 * half + 1, 2 * _INTERP_RAYS // 2 + 1)
        far = np.where(np.isfinite(gaps), gaps, _UNMEASURED)  # unmeasured rays rank last
        pad_z, pad_rays = window[0] // 2, window[1] // 2
        padded = np.pad(far, ((pad_z, pad_z), (0, 0)), mode="edge")  # slices: nearest
        padded = np.pad(padded, ((0, 0), (pad_rays, pad_rays)), mode="wrap")  # rays: circular
        ranked = ndimage.percentile_filter(padded, _NORMAL_PERCENTILE, size=window)
        local = ranked[pad_z: pad_z + n_slices, pad_rays: pad_rays + _N_RAYS]
        local = np.where(local < _UNMEASURED, np.maximum(local, margin_steps), margin_steps)
        for t in traced:
            if t.label == label:
                out[(label, t.k)] = local[t.k]
    return out


def _rib_shell(bone: np.ndarray, slice_mm: float) -> np.ndarray:
    """Bone closed along z over ``_RIB_GAP_MM``: the ribs and their intercostal spaces as one wall.

    Intercostal spaces are at most about two centimetres high, so a z closing joins the ribs
    into a continuous shell and rays no longer pass between them to the scapula.
    """
    length = max(3, int(round(_RIB_GAP_MM / slice_mm)) | 1)
    structure = np.zeros((length, 1, 1), dtype=bool)
    structure[:, 0, 0] = True
    padded = np.pad(bone, ((length, length), (0, 0), (0, 0)), mode="edge")
    return ndimage.binary_closing(padded, structure=structure)[length:-length] | bone


def _last_before(flags: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Index of the last True in each row strictly before ``stop`` (0 when none)."""
    n = flags.shape[1]
    index = np.arange(n)[None, :]
    masked = flags & (index < np.asarray(stop)[:, None])
    reversed_first = np.argmax(masked[:, ::-1], axis=1)
    return np.where(masked.any(axis=1), n - 1 - reversed_first, 0)


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    index = np.clip(np.asarray(index, dtype=np.intp), 0, values.shape[1] - 1)
    return values[np.arange(values.shape[0]), index]


def _reject_outliers(rib: np.ndarray, step: float) -> np.ndarray:
    """Drop rib hits much farther than the circular median of their neighbours."""
    window = np.stack([np.roll(rib, shift) for shift in range(-3, 4)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
        median = np.nanmedian(window, axis=0)
    out = rib.copy()
    far = np.isfinite(rib) & np.isfinite(median) & (rib - median > _OUTLIER_MM / step)
    out[far] = np.nan
    return out


def _interpolate_missing(rib: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Fill missing rib distances from valid neighbours on both sides within ``_INTERP_RAYS``."""
    out = rib.copy()
    n = rib.size
    valid = np.isfinite(rib)
    if valid.sum() < 2:
        return out
    for j in np.flatnonzero(~valid & eligible):
        before = after = None
        for d in range(1, _INTERP_RAYS + 1):
            if before is None and valid[(j - d) % n]:
                before = d
            if after is None and valid[(j + d) % n]:
                after = d
        if before is None or after is None:
            continue
        w = before / (before + after)
        out[j] = (1 - w) * rib[(j - before) % n] + w * rib[(j + after) % n]
    return out
