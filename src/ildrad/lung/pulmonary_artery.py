"""SSc marker: main pulmonary artery to ascending aorta diameter ratio (PA/Ao) on the chest CT.

Pulmonary hypertension is a leading cause of death in SSc; a main pulmonary artery wider than the
ascending aorta (PA/Ao > 1) suggests it (Ng et al., J Thorac Imaging 1999; Tan et al., Chest
1998: main PA diameter >= 29 mm). Standard practice measures both vessels on the axial slice of
the PA bifurcation, in a mediastinal window: the main PA's short-axis diameter and the ascending
aorta's diameter on the same slice.

Method (plain CT with blood near 40 HU and contrast CT alike):

1. **Blood density** of the scan: the median HU of the descending-aorta blood-pool cylinder
   (:func:`ildrad.pet.reference_regions.find_blood_pool`, run on the CT sampled at about 1.4 mm
   in-plane and 2 mm between slices; its axis also tells where the descending aorta is, so it
   is never taken for the ascending aorta). The blood mask is the
   in-plane smoothed CT (Gaussian, 1 mm), inside the convex hull of the lungs' section and outside
   the lungs (the mediastinum, not the chest wall), between ``max((blood + fat) / 2, blood - 120)`` and
   ``blood + 150`` HU (fat -100 HU): on plain CT this separates vessels from mediastinal fat, on
   contrast CT also from myocardium and muscle.
2. **Levels searched**: from 5 mm above the carina (the most superior slice where the central
   airway lumen shows two main bronchi side by side) down to 80 mm below it, or, without an
   airway mask or carina, 25-70 % of the lungs' height from the base (the search stops at the
   heart, step 3).
3. **Two great-vessel discs per slice**: the largest inscribed circles (2D distance transform of
   the blood mask) whose centres lie in the anterior mediastinum (in front of the carina / the
   lungs' antero-posterior middle, between the two lungs' centres, at least 30 mm from the
   descending aorta) with radii of 6-30 mm (narrower: not a great vessel; wider: the heart). The
   second disc's centre lies outside the first disc. The disc on the patient's right is the
   ascending aorta, the one on the patient's left the main pulmonary artery. Slices are searched
   from head to foot and the search stops at the first slice holding a wider blood disc (the
   heart, into which the vessels' roots merge on plain CT).
4. **Bifurcation level**: the ascending aorta is followed from head to foot (its centre moves
   little per slice); the PA is the largest disc left of it. The pulmonary-artery blood component
   (the aorta's disc cut out) is widest left to right where the branches spread to both hila:
   the bifurcation slice is the widest one above the first slice where the trunk shows alone
   (component at most 1.6 PA disc diameters wide), so the heart below is never taken for it.
5. **Diameters** on each slice from the bifurcation to 15 mm below it: from each disc centre 180
   rays; the edge along a ray is the first crossing of the half-way HU between blood and fat
   (linear interpolation, sub-voxel). Edge points far from the disc's circle (rays running into a
   touching structure) or on the other vessel's disc are left out, and the rest is fitted
   iteratively (points more than 1 mm or half a voxel off the fit dropped): an ellipse for the
   PA (direct least squares, Halir and Flusser 1998), whose minor axis is the short-axis
   diameter of the obliquely cut trunk, and a circle for the ascending aorta (Kasa fit; it runs
   nearly head to foot, and a circle stays stable where the PA hides part of its wall). A
   section whose edge is not such a shape (fewer than 40 % of the rays on it, major axis over
   2.2 x minor) is not used. The diameters are the medians over the slices where both vessels
   gave a clean section; ratio = PA / aorta; the plane kept for QC is the slice whose two
   diameters are closest to the medians.

When a step fails (no descending aorta, no pair of discs, a ratio outside 0.4-2.5, an aorta
outside 18-60 mm or a PA outside 12-60 mm) the diameters
are NaN and ``problem`` says why (logged at INFO); a number is never returned silently wrong.
"""

from __future__ import annotations

import dataclasses
import logging

import cc3d
import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ildrad.errors import InputError
from ildrad.image import Image, Mask, Unit, assert_same_grid, require_unit
from ildrad.lung.zones import slice_superior_mm
from ildrad.pet.reference_regions import find_blood_pool, in_plane_lps_xy

__all__ = ["PaAoMeasure", "measure_pa_ao"]

log = logging.getLogger(__name__)

_FAT_HU = -100.0
_BLOOD_MARGIN_BELOW_HU = 120.0
_BLOOD_MARGIN_ABOVE_HU = 150.0
_SMOOTH_MM = 1.0
_MIN_RADIUS_MM = 6.0
_MAX_RADIUS_MM = 30.0
_DESCENDING_CLEARANCE_MM = 30.0
_CARINA_BELOW_MM, _CARINA_ABOVE_MM = 80.0, 5.0
_FALLBACK_HEIGHT = (0.25, 0.70)
_MIN_BRONCHUS_MM2 = 15.0
_CARINA_BRONCHI_APART_MM = 15.0
_RAYS = 180
_MAX_ELONGATION = 2.2  #: major / minor semi-axis of an oblique section, at most
_MIN_EDGE_SHARE = 0.4  #: share of the rays that must meet the vessel's own edge
_PA_BELOW_BIFURCATION_MM = 15.0
_PLAUSIBLE_RATIO = (0.4, 2.5)
#: Sampling (mm; z, y, x) at which the blood-pool cylinder is searched.
_POOL_SAMPLING_MM = (2.0, 1.4, 1.4)
#: Adult diameters (mm) outside these ranges mean another structure was measured.
_PLAUSIBLE_AORTA_MM = (18.0, 60.0)
_PLAUSIBLE_PA_MM = (12.0, 60.0)


@dataclasses.dataclass(frozen=True)
class VesselSection:
    """One vessel's measured axial section: centre (row, column index), short-axis chord ends."""

    centre: tuple[float, float]
    chord: tuple[tuple[float, float], tuple[float, float]]  #: (row, column) of both chord ends
    diameter_mm: float


@dataclasses.dataclass(frozen=True)
class PaAoMeasure:
    """PA and ascending-aorta diameters (mm) on the bifurcation slice, their ratio, and the plane.

    ``measurement_slice`` is the axial index of the measurement plane (None when not measured);
    ``problem`` gives the reason when the values are NaN.
    """

    pa_diameter_mm: float
    aorta_diameter_mm: float
    ratio: float
    measurement_slice: int | None
    pulmonary_artery: VesselSection | None
    aorta: VesselSection | None
    problem: str | None

    @property
    def measured(self) -> bool:
        """True when both diameters were measured."""
        return self.problem is None


def _not_measured(problem: str) -> PaAoMeasure:
    log.info("PA/Ao ratio not measured: %s", problem)
    nan = float("nan")
    return PaAoMeasure(nan, nan, nan, None, None, None, problem)


@dataclasses.dataclass
class _Disc:
    row: float
    column: float
    radius_mm: float


def measure_pa_ao(ct: Image, lungs: Mask, body: Mask, airways: Mask | None = None) -> PaAoMeasure:
    """Main PA and ascending aorta diameters at the PA bifurcation and PA/Ao (module docstring).

    ``lungs`` (1 right, 2 left), ``body`` and ``airways`` (central airway lumen) are on the CT
    grid. Returns NaN values with ``problem`` set when the vessels are not found reliably.
    """
    require_unit(ct, Unit.HU, purpose="PA/Ao ratio")
    assert_same_grid(lungs, ct, "lung mask and CT")
    assert_same_grid(body, ct, "body mask and CT")
    if airways is not None:
        assert_same_grid(airways, ct, "airway mask and CT")
    if not (lungs.array == 1).any() or not (lungs.array == 2).any():
        return _not_measured("both lungs are needed to find the mediastinum")
    try:
        blood_hu, descending_x, descending_y = _descending_aorta(ct, lungs)
    except InputError as err:
        return _not_measured(f"blood density unknown: {err}")
    low_hu = max(0.5 * (blood_hu + _FAT_HU), blood_hu - _BLOOD_MARGIN_BELOW_HU)
    high_hu = blood_hu + _BLOOD_MARGIN_ABOVE_HU
    edge_hu = 0.5 * (blood_hu + _FAT_HU)
    x_mm, y_mm = in_plane_lps_xy(ct)

    levels, carina = _search_levels(ct, lungs, airways, x_mm, y_mm)
    if levels.size == 0:
        return _not_measured("no slice with both lungs at the level of the pulmonary artery bifurcation")
    spacing_yx = ct.grid.spacing[1:]
    box = _mediastinal_box(lungs, levels, x_mm, y_mm, carina)
    x_mm, y_mm = x_mm[box], y_mm[box]
    if carina is not None:
        carina = (carina[0] - box[0].start, carina[1] - box[1].start)
    superior = slice_superior_mm(ct.grid)
    found, widths = _great_vessel_discs(ct, lungs, body, levels[np.argsort(-superior[levels])], box, x_mm, y_mm,
                                        carina, (descending_x, descending_y), (low_hu, high_hu))
    if not found:
        return _not_measured("no pair of great-vessel sections (ascending aorta, pulmonary artery) in the mediastinum")
    bifurcation = _bifurcation(found, widths)
    sections = _sections_below(found, superior, bifurcation, edge_hu, spacing_yx)
    if not sections:
        return _not_measured(f"no clean elliptic section of both vessels within {_PA_BELOW_BIFURCATION_MM:.0f} mm "
                             f"below the pulmonary artery bifurcation (slice {bifurcation})")
    pa_mm = float(np.median([pa.diameter_mm for _, pa in sections.values()]))
    aorta_mm = float(np.median([aorta.diameter_mm for aorta, _ in sections.values()]))
    # the plane kept for QC: the slice whose two diameters are closest to the medians
    k = min(sections, key=lambda k: (abs(sections[k][1].diameter_mm - pa_mm) + abs(sections[k][0].diameter_mm - aorta_mm),
                                     -superior[k]))
    ratio = pa_mm / aorta_mm
    if not _PLAUSIBLE_RATIO[0] <= ratio <= _PLAUSIBLE_RATIO[1]:
        return _not_measured(f"implausible PA/Ao ratio {ratio:.2f} near slice {k} (vessels not separated)")
    if not (_PLAUSIBLE_AORTA_MM[0] <= aorta_mm <= _PLAUSIBLE_AORTA_MM[1] and _PLAUSIBLE_PA_MM[0] <= pa_mm <= _PLAUSIBLE_PA_MM[1]):
        return _not_measured(f"implausible diameters near slice {k} (aorta {aorta_mm:.0f} mm, PA {pa_mm:.0f} mm): "
                             "another structure was measured")
    log.debug("PA/Ao: PA %.1f mm, aorta %.1f mm, ratio %.2f over %d slices, plane %d (bifurcation slice %d, blood %.0f HU)",
              pa_mm, aorta_mm, ratio, len(sections), k, bifurcation, blood_hu)
    offset = (box[0].start, box[1].start)
    return PaAoMeasure(pa_mm, aorta_mm, ratio, k, _shifted(sections[k][1], offset), _shifted(sections[k][0], offset), None)


def _great_vessel_discs(
    ct: Image,
    lungs: Mask,
    body: Mask,
    levels: np.ndarray,
    box: tuple[slice, slice],
    x_mm: np.ndarray,
    y_mm: np.ndarray,
    carina: tuple[float, float] | None,
    descending_xy: tuple[float, float],
    blood_range_hu: tuple[float, float],
) -> tuple[dict[int, tuple[_Disc, _Disc, np.ndarray]], dict[int, float]]:
    """Ascending-aorta and PA discs per slice of ``levels`` (ordered head to foot), with the
    smoothed slice, and the PA component width (mm) per slice, all within the mediastinal ``box``.

    The aorta is followed from slice to slice; the walk stops at the heart (a blood region wider
    than ``_MAX_RADIUS_MM``) or when the aorta is lost.
    """
    spacing_yx = ct.grid.spacing[1:]
    sigma = [_SMOOTH_MM / s for s in spacing_yx]
    low_hu, high_hu = blood_range_hu
    descending_x, descending_y = descending_xy
    found: dict[int, tuple[_Disc, _Disc, np.ndarray]] = {}
    widths: dict[int, float] = {}
    aorta: _Disc | None = None
    track: list[float] = []  # inscribed radii (mm) of the ascending aorta, head to foot
    for k in levels:
        lung = lungs.array[k][box]
        smooth = ndimage.gaussian_filter(ct.array[k][box].astype(np.float32), sigma)
        between_lungs = _convex_hull(lung > 0) & (lung == 0)  # the mediastinum, not the chest wall
        blood = (smooth >= low_hu) & (smooth <= high_hu) & between_lungs & (body.array[k][box] > 0)
        allowed = _anterior_mediastinum(lung, x_mm, y_mm, carina, descending_x, descending_y)
        distance = ndimage.distance_transform_edt(blood, sampling=spacing_yx)
        if distance[allowed].max(initial=0.0) > _MAX_RADIUS_MM:
            break  # the heart: the great vessels' origins lie below the levels that matter
        if aorta is None:
            aorta = _largest_disc(distance, allowed)
        else:
            aorta = _follow(aorta, float(np.median(track)), distance, allowed, spacing_yx, ct.grid.spacing[0])
        if aorta is None:
            break  # the ascending aorta is lost: lower slices cannot be trusted
        track.append(aorta.radius_mm)
        left_of_aorta = x_mm > x_mm[int(aorta.row), int(aorta.column)]
        pa = _largest_disc(distance, allowed & left_of_aorta & ~_near(aorta, aorta.radius_mm + max(spacing_yx), spacing_yx, blood.shape))
        if pa is None:
            continue
        found[int(k)] = (aorta, pa, smooth)
        widths[int(k)] = _pa_component_width(blood, aorta, pa, x_mm, spacing_yx)
        log.debug("slice %d: aorta disc r %.1f mm at (%.0f, %.0f), PA disc r %.1f mm at (%.0f, %.0f), PA width %.0f mm",
                  k, aorta.radius_mm, aorta.row, aorta.column, pa.radius_mm, pa.row, pa.column, widths[int(k)])
    return found, widths


def _sections_below(
    found: dict[int, tuple[_Disc, _Disc, np.ndarray]],
    superior: np.ndarray,
    bifurcation: int,
    edge_hu: float,
    spacing_yx: tuple[float, float],
) -> dict[int, tuple[VesselSection, VesselSection]]:
    """(aorta, PA) sections on the slices up to ``_PA_BELOW_BIFURCATION_MM`` below the
    bifurcation where both vessels give a clean section."""
    sections: dict[int, tuple[VesselSection, VesselSection]] = {}
    for k, (aorta_disc, pa_disc, smooth) in found.items():
        if not 0.0 <= superior[bifurcation] - superior[k] <= _PA_BELOW_BIFURCATION_MM:
            continue
        aorta = _section(smooth, aorta_disc, pa_disc, edge_hu, spacing_yx, "circle")
        pa = _section(smooth, pa_disc, aorta_disc, edge_hu, spacing_yx, "ellipse")
        if aorta is not None and pa is not None:
            sections[k] = (aorta, pa)
    return sections


def _shifted(section: VesselSection, offset: tuple[int, int]) -> VesselSection:
    """``section`` with its indices moved from the mediastinal box to the whole slice."""
    def move(point: tuple[float, float]) -> tuple[float, float]:
        return (point[0] + offset[0], point[1] + offset[1])

    return VesselSection(move(section.centre), (move(section.chord[0]), move(section.chord[1])), section.diameter_mm)


def _descending_aorta(ct: Image, lungs: Mask) -> tuple[float, float, float]:
    """Blood HU (median in the blood-pool cylinder) and LPS x, y (mm) of the descending aorta.

    :func:`~ildrad.pet.reference_regions.find_blood_pool` runs on the CT sampled at about
    1.4 mm in-plane and 2 mm between slices (every n-th voxel: the same positions, fewer of
    them), which is ample for a 10 mm cylinder and keeps full-size CTs fast.
    """
    grid = ct.grid
    step = tuple(max(1, int(round(_POOL_SAMPLING_MM[a] / grid.spacing[a]))) for a in range(3))
    if step != (1, 1, 1):
        sampled = dataclasses.replace(
            grid, shape=tuple(len(range(0, n, s)) for n, s in zip(grid.shape, step, strict=True)),
            spacing=tuple(d * s for d, s in zip(grid.spacing, step, strict=True)),
        )
        picks = tuple(slice(None, None, s) for s in step)
        ct = Image(np.ascontiguousarray(ct.array[picks]), sampled, ct.modality, ct.unit)
        lungs = Mask(np.ascontiguousarray(lungs.array[picks]), sampled, lungs.labels)
    pool = find_blood_pool(ct, lungs).array > 0
    points = ct.grid.index_to_physical(np.argwhere(pool).astype(float))
    return float(np.median(ct.array[pool])), float(points[:, 0].mean()), float(points[:, 1].mean())


def _convex_hull(mask: np.ndarray) -> np.ndarray:
    """Pixels (centres) inside the convex hull of ``mask``'s pixel centres, a 2D boolean image.

    The hull of the row extremes is the hull of the mask; being convex, it covers one column
    interval per row, bounded by its facets (fast compared with a point-in-polygon test)."""
    rows = np.flatnonzero(mask.any(axis=1))
    inside = np.zeros(mask.shape, dtype=bool)
    if rows.size < 2:
        return inside
    first = np.argmax(mask[rows], axis=1)
    last = mask.shape[1] - 1 - np.argmax(mask[rows, ::-1], axis=1)
    points = np.concatenate([np.column_stack([rows, first]), np.column_stack([rows, last])]).astype(float)
    try:
        facets = ConvexHull(points).equations  # a * row + b * column + c <= 0 inside
    except QhullError:  # all points on a line
        return inside
    all_rows = np.arange(mask.shape[0], dtype=float)[:, None]
    a, b, c = facets[:, 0][None], facets[:, 1][None], facets[:, 2][None]
    eps = 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = -(a * all_rows + c) / b
    low = np.where(b < -eps, bound, -np.inf).max(axis=1)
    high = np.where(b > eps, bound, np.inf).min(axis=1)
    flat_ok = np.where(np.abs(b) <= eps, a * all_rows + c <= 1e-6, True).all(axis=1)
    columns = np.arange(mask.shape[1], dtype=float)[None]
    inside[:] = (columns >= low[:, None] - 1e-6) & (columns <= high[:, None] + 1e-6) & flat_ok[:, None]
    return inside


def _mediastinal_box(lungs: Mask, levels: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray,
                     carina: tuple[float, float] | None) -> tuple[slice, slice]:
    """In-plane box (within the lungs' extent) around every possible disc centre of ``levels``
    (between the lungs' centres, in front of the carina) with room for the vessels around them."""
    region = lungs.array[levels]
    lung_any = (region > 0).any(axis=0)
    right_x, left_x = x_mm[(region == 1).any(axis=0)].mean(), x_mm[(region == 2).any(axis=0)].mean()
    if carina is not None:
        back_y = y_mm[int(round(carina[0])), int(round(carina[1]))]
    else:
        back_y = 0.5 * (y_mm[lung_any].min() + y_mm[lung_any].max())
    room = 2.0 * _MAX_RADIUS_MM
    near = (x_mm >= right_x - room) & (x_mm <= left_x + room) & (y_mm <= back_y + room)
    rows, columns = np.nonzero(lung_any)
    near[: rows.min()] = near[rows.max() + 1:] = False
    near[:, : columns.min()] = near[:, columns.max() + 1:] = False
    rows, columns = np.nonzero(near)
    return slice(int(rows.min()), int(rows.max()) + 1), slice(int(columns.min()), int(columns.max()) + 1)


def _search_levels(ct: Image, lungs: Mask, airways: Mask | None, x_mm: np.ndarray,
                   y_mm: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Slices to search (both lungs present) and the carina's in-plane index (row, column) if found."""
    superior = slice_superior_mm(ct.grid)
    both = (lungs.array == 1).any(axis=(1, 2)) & (lungs.array == 2).any(axis=(1, 2))
    carina = _carina(airways, superior, x_mm, y_mm) if airways is not None else None
    if carina is not None:
        z, row, column = carina
        wanted = (superior >= z - _CARINA_BELOW_MM) & (superior <= z + _CARINA_ABOVE_MM)
        return np.flatnonzero(wanted & both), (row, column)
    lung_slices = np.flatnonzero(both)
    if lung_slices.size == 0:
        return lung_slices, None
    any_lung = np.flatnonzero((lungs.array > 0).any(axis=(1, 2)))
    bottom, top = superior[any_lung].min(), superior[any_lung].max()
    low, high = (bottom + f * (top - bottom) for f in _FALLBACK_HEIGHT)
    return np.flatnonzero(both & (superior >= low) & (superior <= high)), None


def _carina(airways: Mask, superior: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray) -> tuple[float, float, float] | None:
    """Carina: superior mm and in-plane index (row, column) of the highest slice holding two main
    bronchi: two lumen components of at least 15 mm^2 side by side (at least 15 mm apart left to
    right, more apart left to right than front to back, so that an air-filled oesophagus behind
    the trachea in the airway mask is not taken for a bronchus). The point is midway between them."""
    lumen = airways.array > 0
    pixel_mm2 = float(np.prod(airways.grid.spacing[1:]))
    for k in np.argsort(-superior):  # head to foot
        if not lumen[k].any():
            continue
        labels = cc3d.connected_components(lumen[k].view(np.uint8), connectivity=8)
        areas = np.bincount(labels.ravel())[1:] * pixel_mm2
        big = np.flatnonzero(areas >= _MIN_BRONCHUS_MM2) + 1
        if big.size < 2:
            continue
        centres = np.array([[x_mm[labels == label].mean(), y_mm[labels == label].mean()] for label in big])
        for first in range(len(big)):
            for second in range(first + 1, len(big)):
                dx, dy = np.abs(centres[first] - centres[second])
                if dx >= _CARINA_BRONCHI_APART_MM and dx > dy:
                    rows, columns = np.nonzero(np.isin(labels, big[[first, second]]))
                    return float(superior[k]), float(rows.mean()), float(columns.mean())
    return None


def _anterior_mediastinum(
    lung: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, carina: tuple[float, float] | None,
    descending_x: float, descending_y: float,
) -> np.ndarray:
    """Where a disc centre may lie: between the lungs' centres, in front of the carina (or the
    lungs' AP middle), away from the descending aorta."""
    right_x, left_x = x_mm[lung == 1].mean(), x_mm[lung == 2].mean()
    if carina is not None:
        back_y = y_mm[int(round(carina[0])), int(round(carina[1]))]
    else:
        back_y = 0.5 * (y_mm[lung > 0].min() + y_mm[lung > 0].max())
    away = (x_mm - descending_x) ** 2 + (y_mm - descending_y) ** 2 > _DESCENDING_CLEARANCE_MM**2
    return (x_mm > right_x) & (x_mm < left_x) & (y_mm < back_y) & away


def _largest_disc(distance: np.ndarray, allowed: np.ndarray) -> _Disc | None:
    """Largest inscribed disc (``distance``: the blood mask's distance map, mm) centred in
    ``allowed``; None when narrower than a great vessel."""
    candidates = np.where(allowed, distance, 0.0)
    j, i = np.unravel_index(np.argmax(candidates), candidates.shape)
    radius = float(candidates[j, i])
    return _Disc(float(j), float(i), radius) if radius >= _MIN_RADIUS_MM else None


def _follow(previous: _Disc, reference_mm: float, distance: np.ndarray, allowed: np.ndarray,
            spacing_yx: tuple[float, float], slice_mm: float) -> _Disc | None:
    """The ascending aorta on the next slice down: near the previous centre (it runs nearly head to
    foot), its inscribed radius capped at the track's reference radius (the median so far) so that
    a wider touching vessel (the PA trunk or its bifurcation) cannot pull the track away."""
    reach_mm = 0.3 * previous.radius_mm + 0.5 * slice_mm + max(spacing_yx)
    rows, columns = np.ogrid[: distance.shape[0], : distance.shape[1]]
    offset = np.sqrt(((rows - previous.row) * spacing_yx[0]) ** 2 + ((columns - previous.column) * spacing_yx[1]) ** 2)
    score = np.minimum(distance, reference_mm) - 0.5 * offset
    score[~(allowed & (offset <= reach_mm))] = -np.inf
    j, i = np.unravel_index(np.argmax(score), score.shape)
    radius = float(distance[j, i])
    return _Disc(float(j), float(i), radius) if np.isfinite(score[j, i]) and radius >= _MIN_RADIUS_MM else None


def _near(disc: _Disc, reach_mm: float, spacing_yx: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
    """In-plane points within ``reach_mm`` of the disc centre."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    return ((rows - disc.row) * spacing_yx[0]) ** 2 + ((columns - disc.column) * spacing_yx[1]) ** 2 <= reach_mm**2


def _bifurcation(found: dict[int, tuple[_Disc, _Disc, np.ndarray]], widths: dict[int, float]) -> int:
    """The PA bifurcation slice: head to foot, the trunk alone first shows as a PA component at
    most 1.6 PA disc diameters wide; the bifurcation is the widest slice above that (the branches
    spreading to both hila). Without such a trunk slice, the widest slice."""
    order = list(found)  # head to foot
    trunk = next((n for n, k in enumerate(order) if widths[k] <= 1.6 * 2.0 * found[k][1].radius_mm), None)
    above = order[:trunk] if trunk else order
    return max(above, key=lambda k: widths[k])


def _pa_component_width(blood: np.ndarray, aorta: _Disc, pa: _Disc, x_mm: np.ndarray,
                        spacing_yx: tuple[float, float]) -> float:
    """Left-right extent (mm) of the blood component holding the PA centre, the aorta's disc cut out."""
    cut = _near(aorta, aorta.radius_mm + max(spacing_yx), spacing_yx, blood.shape)
    labels = cc3d.connected_components((blood & ~cut).view(np.uint8), connectivity=8)
    label = labels[int(pa.row), int(pa.column)]
    if label == 0:
        return 0.0
    x = x_mm[labels == label]
    return float(x.max() - x.min())


def _edge_points(smooth: np.ndarray, disc: _Disc, edge_hu: float, spacing_yx: tuple[float, float]) -> np.ndarray:
    """Edge points (mm, row and column axes) along rays from the disc centre: where the HU first
    falls below ``edge_hu`` (linear interpolation between samples); rays that never do are left out."""
    step_mm = 0.25 * min(spacing_yx)
    steps = np.arange(0.0, 3.0 * _MAX_RADIUS_MM, step_mm)
    angles = np.linspace(0.0, 2.0 * np.pi, _RAYS, endpoint=False)
    sin, cos = np.sin(angles)[:, None], np.cos(angles)[:, None]
    values = ndimage.map_coordinates(
        smooth, [disc.row + sin * steps / spacing_yx[0], disc.column + cos * steps / spacing_yx[1]],
        order=1, mode="nearest",
    )
    below = values < edge_hu
    reached = below.any(axis=1) & ~below[:, 0]
    first = np.argmax(below, axis=1)[reached]
    v0, v1 = values[reached, first - 1], values[reached, first]
    radius = steps[first - 1] + step_mm * (v0 - edge_hu) / (v0 - v1)
    centre = np.array([disc.row * spacing_yx[0], disc.column * spacing_yx[1]])
    return centre + radius[:, None] * np.column_stack([sin[reached, 0], cos[reached, 0]])


@dataclasses.dataclass(frozen=True)
class _Ellipse:
    centre: np.ndarray  #: mm (row, column axes)
    form: np.ndarray  #: 2 x 2 quadratic form Q with (p - c)^T Q (p - c) = 1 on the ellipse

    def radius_along(self, unit: np.ndarray) -> np.ndarray:
        """Distance (mm) from the centre to the ellipse along unit vectors (n, 2)."""
        return 1.0 / np.sqrt(np.einsum("ni,ij,nj->n", unit, self.form, unit))

    def semi_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Semi-axis lengths (ascending, mm) and their unit directions (columns)."""
        eigenvalues, vectors = np.linalg.eigh(self.form)  # largest eigenvalue = shortest axis
        return 1.0 / np.sqrt(eigenvalues[::-1]), vectors[:, ::-1]


def _fit_ellipse(points: np.ndarray) -> _Ellipse | None:
    """Direct least-squares ellipse fit (Halir and Flusser 1998, the stable form of Fitzgibbon,
    Pilu and Fisher 1999); None when the points do not define an ellipse."""
    if len(points) < 6:
        return None
    mean = points.mean(axis=0)
    scale = float(np.abs(points - mean).max()) or 1.0
    u, v = ((points - mean) / scale).T
    quadratic = np.column_stack([u * u, u * v, v * v])
    linear = np.column_stack([u, v, np.ones_like(u)])
    s1, s2, s3 = quadratic.T @ quadratic, quadratic.T @ linear, linear.T @ linear
    try:
        t = -np.linalg.solve(s3, s2.T)
    except np.linalg.LinAlgError:
        return None
    m = s1 + s2 @ t
    m = np.array([m[2] / 2.0, -m[1], m[0] / 2.0])
    _, vectors = np.linalg.eig(m)
    vectors = np.real(vectors)
    condition = 4.0 * vectors[0] * vectors[2] - vectors[1] ** 2
    if not (condition > 0).any():
        return None
    a, b, c = vectors[:, int(np.argmax(condition))]
    d, e, f = t @ np.array([a, b, c])
    form = np.array([[a, b / 2.0], [b / 2.0, c]])
    try:
        centre = np.linalg.solve(2.0 * form, -np.array([d, e]))
    except np.linalg.LinAlgError:
        return None
    level = -(centre @ form @ centre + d * centre[0] + e * centre[1] + f)
    shape = form / level
    if not np.all(np.linalg.eigvalsh(shape) > 0):
        return None
    return _Ellipse(mean + scale * centre, shape / scale**2)


def _fit_circle(points: np.ndarray) -> _Ellipse | None:
    """Algebraic least-squares circle (Kasa 1976) as a round :class:`_Ellipse`."""
    if len(points) < 3:
        return None
    mean = points.mean(axis=0)
    u, v = (points - mean).T
    design = np.column_stack([2.0 * u, 2.0 * v, np.ones_like(u)])
    (a, b, c), *_ = np.linalg.lstsq(design, u * u + v * v, rcond=None)
    radius_sq = c + a * a + b * b
    if radius_sq <= 0:
        return None
    return _Ellipse(mean + np.array([a, b]), np.eye(2) / radius_sq)


_FITS = {"ellipse": _fit_ellipse, "circle": _fit_circle}


def _section(smooth: np.ndarray, disc: _Disc, neighbour: _Disc, edge_hu: float,
             spacing_yx: tuple[float, float], fit: str) -> VesselSection | None:
    """Ellipse or circle (``fit``) fitted to the vessel's edge, leaving out rays that run into
    touching structures and edge points on the other great vessel's disc (``neighbour``); the
    short-axis diameter is the minor axis. None when the edge is not a clean ellipse."""
    points = _edge_points(smooth, disc, edge_hu, spacing_yx)
    pixel = np.asarray(spacing_yx)
    centre = np.array([disc.row, disc.column]) * pixel
    radius = np.linalg.norm(points - centre, axis=1)
    other = np.linalg.norm(points - np.array([neighbour.row, neighbour.column]) * pixel, axis=1)
    # first guess: near this disc's circle and not on the neighbour's
    keep = (radius >= 0.7 * disc.radius_mm) & (radius <= 1.4 * disc.radius_mm)
    keep &= other > neighbour.radius_mm + pixel.max()
    ellipse = None
    tolerance = max(1.0, 0.5 * max(spacing_yx))
    for _ in range(4):
        if keep.sum() < _MIN_EDGE_SHARE * _RAYS:
            return None
        ellipse = _FITS[fit](points[keep])
        if ellipse is None:
            return None
        offset = points - ellipse.centre
        distance = np.linalg.norm(offset, axis=1)
        outside = distance - ellipse.radius_along(offset / distance[:, None])
        updated = (np.abs(outside) <= tolerance) & (other > neighbour.radius_mm + pixel.max())
        if np.array_equal(updated, keep):
            break
        keep = updated
    if ellipse is None or keep.sum() < _MIN_EDGE_SHARE * _RAYS:
        return None
    axes, directions = ellipse.semi_axes()
    minor, major = float(axes[0]), float(axes[1])
    if major > _MAX_ELONGATION * minor or not 0.8 * disc.radius_mm <= minor <= 1.6 * disc.radius_mm:
        return None
    ends = [tuple((ellipse.centre + sign * minor * directions[:, 0]) / pixel) for sign in (-1.0, 1.0)]
    centre_index = tuple(ellipse.centre / pixel)
    return VesselSection((float(centre_index[0]), float(centre_index[1])),
                         ((float(ends[0][0]), float(ends[0][1])), (float(ends[1][0]), float(ends[1][1]))),
                         2.0 * minor)
