"""Automatic lung segmentation from a CT in HU: right (1) and left (2) lungs on the CT grid.

Pipeline (classical image processing, no learned weights):

1. Block-mean the CT to about 2 mm (``internal_resolution_mm``) for every topology decision.
2. Body: outside air, FOV padding, the table and the air between it and the patient removed
   (:mod:`ildrad.lung.body`).
3. Aerated lung: body voxels below ``air_threshold_hu`` (-500 HU); the trachea and main bronchi
   are grown from the trachea (:mod:`ildrad.lung.airways`) and cut out with a 1-voxel margin.
4. Lung components: air components of at least 30 % of the largest, or of lung-like texture
   (median above -960 HU and under ``_GAS_CORE_SHARE`` in cores of homogeneous gas, so not a
   gas pocket, nor a thin pocket whose rim lifts those figures) and at least
   ``_MIN_LUNG_PART_ML``: stomach and bowel gas, the oesophagus and the outside air are
   therefore left out.
5. Right / left split by patient side, even where the lungs touch (:mod:`ildrad.lung.split`).
6. Vessels and airways inside the lung: axial hole filling per lung.
7. Dense subpleural disease between the aerated lung and the ribs is added
   (:mod:`ildrad.lung.periphery`), and a 3D closing (ball of 8 mm) takes in dense patches
   inside the envelope;
   dense basal disease on the diaphragm, below a smooth surface rolled under the lung's base,
   is added (:mod:`ildrad.lung.diaphragm`). Neither takes fat or pleural fluid (water density
   after smoothing, :func:`ildrad.lung.body.pleural_fluid_mask`): an effusion is not lung.
8. Full-resolution boundary: inside the coarse shape the mask is kept; in a one-coarse-voxel band
   around the aerated boundary the full-resolution CT (smoothed in-plane, sigma 0.7 voxel) decides
   against ``boundary_threshold_hu`` (-400 HU, half-way between lung and soft tissue); where dense
   disease was added the interpolated coarse shape decides. Holes are filled again per slice, and
   whatever a lung encloses in 3D (vessels, bronchi, dense nodules) is lung. Pleural fluid that
   touches a lung is followed voxel by voxel through water (its thin meniscus included) and kept
   out. The surface is finally smoothed at the millimetre scale (Gaussian, sigma 1.5 mm, of the
   mask above one half).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import cc3d
import numpy as np
from scipy import ndimage

from ildrad.errors import InputError
from ildrad.image import Grid, Image, Mask, Unit, assert_same_grid, require_unit
from ildrad.lung.airways import find_trachea_seed, grow_airways
from ildrad.lung.body import (
    PADDING_HU,
    axial_holes,
    body_mask,
    bone_mask,
    fat_mask,
    parts_touching,
    pleural_fluid_mask,
)
from ildrad.lung.coarse import (
    CoarseGrid,
    coarse_grid_for,
    downsample_mean,
    upsample_fraction,
    upsample_nearest,
)
from ildrad.lung.diaphragm import recover_dense_base
from ildrad.lung.periphery import far_from_ribs_share, recover_dense_periphery
from ildrad.lung.settings import SegmentSettings
from ildrad.lung.split import LEFT, RIGHT, split_left_right

__all__ = ["LUNG_LABELS", "LungSegmentation", "far_from_ribs_fraction", "segment_lungs"]

log = logging.getLogger(__name__)

#: Label codes of the lung mask (DESIGN.md).
LUNG_LABELS = {RIGHT: "right", LEFT: "left"}
_MIN_LUNG_PART_ML = 20.0
_GAS_MEDIAN_HU = -960.0
_MAIN_FRACTION = 0.3
_MIN_GAS_POCKET_ML = 2.0
_MAX_OPEN_HOLE_RADIUS_MM = 6.0
#: Gas pockets: smoothed HU below this in a compact blob in the lower part of the lungs.
_GAS_HU = -950.0
_GAS_LOW_FRACTION = 0.5
#: A smaller air component with at least this share of its voxels in gas cores is a gas pocket
#: even if its median is lung-like: thick slices (5 mm) blur a pocket's rim into the lung range.
#: Lung parts hold under 0.05 (0.045 with 30 % emphysema), gas pockets 0.25-0.6.
_GAS_CORE_SHARE = 0.1
#: A gas blob in the lower lungs is emphysema, not abdominal gas, where at least this share of its
#: axial columns hold ``_GAS_LUNG_BELOW_VOXELS`` or more lung parenchyma voxels (``_GAS_HU`` or
#: more) beneath it.
_GAS_LUNG_BELOW_SHARE = 0.5
_GAS_LUNG_BELOW_VOXELS = 2
#: A thin gas pocket (stomach or colon gas in a prone patient, under 5 mm slices) has a rim that
#: a sharp kernel draws bright, which lifts its 3 x 3 means above ``_GAS_HU`` (cores 0.03-0.11 of
#: it) and its median to about -950 HU. It is a gas pocket too where its median is below
#: ``_THIN_POCKET_MEDIAN_HU`` and at least ``_THIN_POCKET_CORE_SHARE`` of it lies in cores where
#: most of the 3 x 3 neighbourhood is gas (a median, which the rim does not lift). Pockets of
#: 26-61 mL on random phantoms: median -944 to -974 HU, 0.18-0.36 in such cores; colon pockets
#: of 20-21 mL two voxels thick on prone sharp 5 mm phantoms: -945 to -948 HU, 0.11-0.12. A lung
#: with 30 % emphysema: -838 HU, 0.17: the median keeps it lung, the core share only asks that
#: some of the component is solid gas.
_THIN_POCKET_MEDIAN_HU = -930.0
_THIN_POCKET_CORE_SHARE = 0.05
#: The first ``_GAS_RIM_MM`` under a gas blob is its own partial-volume rim, not lung beneath it:
#: 5 mm slices (every 2 mm) blur a stomach's gas-fluid level over two coarse voxels, whose
#: -500 to -950 HU counted as lung beneath: 138-145 mL of stomach and colon gas stayed in the left
#: lung of three of 202 random phantoms (all with 5 mm slices), under 0.2 mL now.
_GAS_RIM_MM = 2.0
#: Diseased but not aerated lung (ground glass about -550 HU) is below this on the coarse grid.
_DISEASE_HU = -150.0
#: Soft tissue of the chest wall and mediastinum (muscle, unenhanced blood), HU.
_WALL_HU = 40.0
#: Fat (:func:`~ildrad.lung.body.fat_mask`) is never added as dense disease at full resolution on
#: grids whose voxels are at most this large (mm); coarser voxels straddling lung and soft tissue
#: read in the fat range by partial volume.
_FAT_VOXEL_MM = 2.5
#: Radius (mm) of the ball closing each lung on the coarse grid: see :func:`_close_per_label`.
_CLOSING_MM = 8.0
#: Smoothing of the final lung surface (mm): see :func:`_smooth_surface`.
_SURFACE_SIGMA_MM = 1.5
#: Water (HU, on the refinement's in-plane smoothed CT) through which a pleural effusion is
#: followed at full resolution from its coarse body (:func:`_effusion_fine`): transudates read
#: 0-20 HU; the upper end stays below unenhanced consolidation and collapsed lung (30-50 HU), so
#: that noise does not carry the growth into them. On 76 random phantoms with an effusion the
#: share of it inside the mask went from a median of 4.1 % (at most 13.7 %) to 1.8 % (12.4 %, on
#: a sharp noisy scan whose coarse fluid mask missed the effusion); 25 HU left a little less.
_EFFUSION_WATER_HU = (-20.0, 15.0)


@dataclasses.dataclass(frozen=True)
class LungSegmentation:
    """Result of :func:`segment_lungs`: masks on the CT grid and facts found on the way."""

    lungs: Mask  #: 1 right, 2 left
    airways: Mask  #: 1 = trachea and central bronchi lumen that was excluded
    body: Mask  #: 1 = patient body (outside air, padding and table removed)
    info: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class _CoarseChest:
    """The CT on the internal grid, with the body and bone every later step needs."""

    coarse: CoarseGrid
    hu: np.ndarray  #: block-mean HU (clipped below at -1024)
    body: np.ndarray
    bone: np.ndarray
    direction: np.ndarray  #: the CT's direction matrix (LPS)
    superior_first: bool


def _coarse_chest(ct: Image, settings: SegmentSettings) -> _CoarseChest:
    require_unit(ct, Unit.HU, purpose="lung segmentation")
    direction = ct.grid.direction_matrix
    if abs(direction[2, 0]) < 0.8:
        raise InputError(
            "lung segmentation needs an axial series (array axis 0 along the patient's head-feet "
            f"axis); this image's slice axis is {np.round(direction[:, 0], 3).tolist()} in LPS"
        )
    coarse = coarse_grid_for(ct.shape, ct.spacing, settings.internal_resolution_mm)
    hu_c = downsample_mean(ct.array, coarse, lower=-1024.0)
    # any padding in a coarse voxel: where the FOV circle cuts the body, voxels half padding
    # (clipped to -1024) and half tissue read in the lung range
    padding_c = downsample_mean(ct.array < PADDING_HU, coarse) > 0.0
    body_c = body_mask(hu_c, padding_c, coarse.spacing)
    if not body_c.any():
        raise InputError("no body found in the CT (is it a CT in HU with the patient in the field of view?)")
    return _CoarseChest(coarse, hu_c, body_c, bone_mask(hu_c, body_c), direction,
                        bool(direction[2, 0] < 0))


def far_from_ribs_fraction(
    ct: Image, lungs: Mask, settings: SegmentSettings | None = None
) -> float:
    """The quality value ``lung_far_from_ribs_fraction`` of a given lung mask (1 right, 2 left, on
    the CT grid: an imported or edited mask), measured as :func:`segment_lungs` measures its own:
    on the internal grid, where a coarse voxel is lung if most of it is (the larger of the two
    lungs' shares, :func:`ildrad.lung.periphery.far_from_ribs_share`)."""
    assert_same_grid(ct, lungs)
    chest = _coarse_chest(ct, settings or SegmentSettings())
    labels = np.zeros(chest.hu.shape, dtype=np.uint8)
    for label in (RIGHT, LEFT):
        labels[downsample_mean(lungs.array == label, chest.coarse) > 0.5] = label
    return _far_from_ribs(labels, chest)


def _far_from_ribs(labels: np.ndarray, chest: _CoarseChest) -> float:
    share = far_from_ribs_share(labels, chest.hu, chest.bone, chest.body, chest.coarse.spacing,
                                _medial_directions(chest.direction), chest.superior_first)
    return float(np.fmax(share[RIGHT], share[LEFT]))  # NaN-ignoring


def segment_lungs(ct: Image, settings: SegmentSettings | None = None) -> LungSegmentation:
    """Segment the right and left lungs of a CT (HU) on its own grid."""
    settings = settings or SegmentSettings()
    chest = _coarse_chest(ct, settings)
    coarse, hu_c, body_c, bone_c = chest.coarse, chest.hu, chest.body, chest.bone
    direction, superior_first = chest.direction, chest.superior_first
    coarse_grid = _coarse_image_grid(ct.grid, coarse)
    cs = coarse.spacing
    voxel_ml = float(np.prod(cs)) / 1000.0
    air_c = body_c & (hu_c < settings.air_threshold_hu)

    posterior_sign = 1.0 if direction[1, 1] >= 0 else -1.0
    seed = find_trachea_seed(hu_c, body_c, cs, superior_first, posterior_sign)
    airways_c = np.zeros_like(air_c) if seed is None else grow_airways(hu_c, seed, air_c, cs)
    airway_margin = ndimage.binary_dilation(airways_c, iterations=1) if airways_c.any() else airways_c
    axial_mean_c = ndimage.uniform_filter(hu_c, size=(1, 3, 3), mode="nearest")  # gas cores
    lung_air, gas_c = _lung_components(air_c & ~airway_margin, hu_c, axial_mean_c, voxel_ml)
    abdominal_gas = _abdominal_gas(lung_air, hu_c, axial_mean_c, voxel_ml, superior_first, cs[0])
    if abdominal_gas.any():
        gas_c |= abdominal_gas
        lung_air, _ = _lung_components(lung_air & ~ndimage.binary_dilation(abdominal_gas), hu_c,
                                       axial_mean_c, voxel_ml)
    if not lung_air.any():
        raise InputError("no aerated lung found in the CT (is this a chest CT in HU?)")

    midline_x = _midline_x(seed if seed is not None else body_c, coarse_grid)
    forbidden = ndimage.binary_dilation(gas_c | airways_c, iterations=2) | ~body_c
    lung_air = _grow_into_disease(lung_air, hu_c, forbidden)
    labels = split_left_right(lung_air, coarse_grid, midline_x)
    labels = _fill_per_label(labels, cs)
    aerated = labels.copy()
    medial = _medial_directions(direction)
    # fat and pleural fluid (an effusion is not lung) are never restored as dense disease
    band_mm = settings.dense_band_max_mm
    if band_mm > 0:
        fluid_c = pleural_fluid_mask(hu_c, body_c, cs)
        never_dense = fat_mask(hu_c) | fluid_c
    else:
        fluid_c = never_dense = np.zeros_like(body_c)
    labels, wall_margin_mm = recover_dense_periphery(
        labels, hu_c, bone_c, body_c, never_dense, cs, medial, band_mm, superior_first,
    )
    labels = _close_per_label(labels, body_c & ~bone_c & ~airway_margin, bone_c, cs)
    basal_allowed = body_c & ~bone_c & ~airway_margin & ~forbidden & ~never_dense
    labels = recover_dense_base(labels, hu_c, basal_allowed, cs, band_mm, superior_first)
    effusion_c = parts_touching(fluid_c, labels > 0)
    lungs = _refine_full_resolution(ct, coarse, hu_c, aerated, labels, airways_c, gas_c, effusion_c,
                                    settings)
    info = {
        "coarse_factors": list(coarse.factors),
        "trachea_found": seed is not None,
        "midline_x_mm": midline_x,
        "superior_first": bool(superior_first),
        "wall_margin_mm": wall_margin_mm,
        "body_volume_ml": float(body_c.sum()) * voxel_ml,
        "airway_volume_ml": float(airways_c.sum()) * voxel_ml,
        "dense_added_ml": float(((labels > 0) & (aerated == 0)).sum()) * voxel_ml,
        "far_from_ribs_fraction": _far_from_ribs(labels, chest),
    }
    body_full = upsample_nearest(body_c, coarse).astype(np.uint8)
    airways_full = upsample_nearest(airways_c, coarse).astype(np.uint8)
    return LungSegmentation(
        lungs=Mask(lungs, ct.grid, LUNG_LABELS),
        airways=Mask(airways_full, ct.grid, {1: "airways"}),
        body=Mask(body_full, ct.grid, {1: "body"}),
        info=info,
    )


def _coarse_image_grid(full: Grid, coarse: CoarseGrid) -> Grid:
    origin = full.index_to_physical(coarse.full_index(np.zeros(3)))
    return Grid(coarse.shape, coarse.spacing, tuple(origin), full.direction)


def _lung_components(
    air: np.ndarray, hu: np.ndarray, axial_mean: np.ndarray, voxel_ml: float
) -> tuple[np.ndarray, np.ndarray]:
    """Aerated lung components, and the rejected gas pockets (stomach, bowel, oesophagus).

    ``axial_mean``: ``hu`` averaged over 3 x 3 voxels in each slice (see :func:`_gas_cores`).
    """
    labels = cc3d.connected_components(air.view(np.uint8), connectivity=6)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    if sizes.max(initial=0) == 0:
        return np.zeros_like(air), np.zeros_like(air)
    # median above the gas threshold <=> fewer than half of the voxels below it
    gas = np.bincount(labels.ravel(), weights=(hu < _GAS_MEDIAN_HU).ravel(), minlength=sizes.size)
    core = np.bincount(labels.ravel(), weights=_gas_cores(axial_mean < _GAS_HU, air).ravel(),
                       minlength=sizes.size)
    textured = (2 * gas < sizes) & (core < _GAS_CORE_SHARE * sizes)
    # the smaller parts only: a part of 30 % of the largest is lung whatever its texture
    small = (sizes < _MAIN_FRACTION * sizes.max()) & (sizes * voxel_ml >= _MIN_GAS_POCKET_ML)
    textured &= ~_thin_pockets(labels, hu, textured & small)
    # 20 mL, or less on a thin slab (a few slices) where a whole lung holds only some mL
    large = sizes >= min(_MIN_LUNG_PART_ML / voxel_ml, 0.1 * sizes.max())
    keep = large & ((sizes >= _MAIN_FRACTION * sizes.max()) | textured)
    keep[0] = False
    log.debug("air components: %d candidates, %d kept as lung", int(large.sum()), int(keep.sum()))
    gas = ~keep & ~textured & (sizes * voxel_ml >= _MIN_GAS_POCKET_ML)
    gas[0] = False
    return keep[labels], gas[labels]


def _thin_pockets(labels: np.ndarray, hu: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per component label, True for a thin gas pocket (see ``_THIN_POCKET_MEDIAN_HU``) among
    ``candidates``, each examined on its bounding box."""
    out = np.zeros(candidates.size, dtype=bool)
    if not candidates[1:].any():
        return out
    boxes = ndimage.find_objects(labels)
    for index in np.flatnonzero(candidates[1:]) + 1:
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in boxes[index - 1])
        component = labels[box] == index
        if np.median(hu[box][component]) >= _THIN_POCKET_MEDIAN_HU:
            continue
        gas_share = ndimage.uniform_filter((hu[box] < _GAS_HU).astype(np.float32), size=(1, 3, 3),
                                           mode="nearest")
        cores = _gas_cores(gas_share > 0.5, component)
        out[index] = cores.sum() >= _THIN_POCKET_CORE_SHARE * component.sum()
    return out


def _abdominal_gas(
    lung: np.ndarray, hu: np.ndarray, axial_mean: np.ndarray, voxel_ml: float, superior_first: bool,
    slice_mm: float,
) -> np.ndarray:
    """Stomach or bowel gas that touches the lung through a thin diaphragm (partial volume).

    Gas is homogeneous air (below ``_GAS_HU`` after a 3 x 3 axial smoothing, so lung parenchyma at
    about -850 HU is not) in a compact blob (it survives an opening of radius 1) of at least
    ``_MIN_GAS_POCKET_ML``, whose centre lies in the lowest ``_GAS_LOW_FRACTION`` of the lungs'
    height, and under which lies no lung: fewer than ``_GAS_LUNG_BELOW_SHARE`` of its axial
    columns have lung parenchyma (not gas: ``_GAS_HU`` or more) further down, below the blob's
    own partial-volume rim (``_GAS_RIM_MM``; ``slice_mm`` is the grid's slice spacing). Upper-zone
    emphysema is therefore not taken for gas, and neither is emphysema of the lower half, which
    has lung beneath it.
    """
    dark = _gas_cores(axial_mean < _GAS_HU, lung)
    if not dark.any():
        return dark
    # parenchyma voxels in each voxel's column below its own partial-volume rim (the first
    # ``_GAS_RIM_MM`` beneath it), counted from the most inferior slice
    up = slice(None, None, -1) if superior_first else slice(None)
    cumulative = np.cumsum((lung & (hu >= _GAS_HU))[up], axis=0, dtype=np.int32)
    skip = 1 + int(round(_GAS_RIM_MM / slice_mm))
    lung_below = np.zeros_like(cumulative)
    lung_below[skip:] = cumulative[:-skip]
    lung_below = lung_below[up]
    slices = np.flatnonzero(lung.any(axis=(1, 2)))
    height = slices[-1] - slices[0] + 1
    low_limit = slices[0] + _GAS_LOW_FRACTION * height
    high_limit = slices[-1] - _GAS_LOW_FRACTION * height
    labels = cc3d.connected_components(dark.view(np.uint8), connectivity=6)
    out = np.zeros_like(dark)
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        blob = labels[box] == index
        centre = np.argwhere(blob)[:, 0].mean() + box[0].start
        low = centre > high_limit if superior_first else centre < low_limit
        if not low or blob.sum() * voxel_ml < _MIN_GAS_POCKET_ML:
            continue
        # parenchyma voxels under the blob's lowest voxel, per column of the blob
        beneath = np.where(blob, lung_below[box], np.iinfo(lung_below.dtype).max).min(axis=0)
        beneath = beneath[blob.any(axis=0)]
        if np.mean(beneath >= _GAS_LUNG_BELOW_VOXELS) >= _GAS_LUNG_BELOW_SHARE:
            continue
        out[box] |= blob
    if out.any():
        # The pocket's partial-volume rim belongs to it, not to the lung.
        out = ndimage.binary_dilation(out, iterations=2) & lung & (axial_mean < -600.0) | out
    return out


def _gas_cores(gas: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Cores of homogeneous gas in ``within``: voxels passing the axial 3 x 3 gas test ``gas``
    (the mean below ``_GAS_HU``, so lung parenchyma at about -850 HU is not; or most of the
    neighbourhood below it), surviving an axial opening of radius 1 (thick slices keep thin
    blobs)."""
    return ndimage.binary_opening(within & gas, structure=_axial_disk(1))


def _grow_into_disease(lung: np.ndarray, hu: np.ndarray, forbidden: np.ndarray) -> np.ndarray:
    """Add diseased lung that is not aerated (ground glass, reticulation, honeycombing).

    Coarse voxels below ``_DISEASE_HU`` connected to the aerated lung are taken, away from gas
    pockets, airways and outside air (``forbidden``). A one-voxel rim of partial volume along
    the lung boundary is removed by an opening of the added part, so only real regions of
    disease (at least three coarse voxels across) are added.
    """
    candidate = (hu < _DISEASE_HU) & ~forbidden
    added = candidate & ~lung
    # The scan's first and last slices continue beyond it (edge padding): a thin slab is not eroded away.
    padded = np.pad(added, ((1, 1), (0, 0), (0, 0)), mode="edge")
    added = ndimage.binary_opening(padded, structure=ndimage.generate_binary_structure(3, 1))[1:-1]
    return lung | parts_touching(added, lung)


def _midline_x(reference: np.ndarray, grid: Grid) -> float:
    index = np.argwhere(reference).mean(axis=0)
    return float(grid.index_to_physical(index)[0])


def _medial_directions(direction: np.ndarray) -> dict[int, tuple[float, float]]:
    """In-plane unit vectors (array y, x; mm) towards the patient's midline for each lung."""
    towards_left = np.array([direction[0, 1], direction[0, 2]], dtype=float)
    norm = float(np.hypot(*towards_left))
    if norm < 1e-6:
        return {}
    towards_left /= norm
    return {RIGHT: (towards_left[0], towards_left[1]), LEFT: (-towards_left[0], -towards_left[1])}


def _fill_per_label(labels: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Fill each lung's axial holes (vessels, airways, enclosed disease), except organ domes.

    A hole region (3D component of the per-slice holes) that continues above or below into
    non-lung tissue and is thicker than ``_MAX_OPEN_HOLE_RADIUS_MM`` is an organ seen through
    the lung (the liver or spleen dome under the diaphragm, the heart's apex) and stays out;
    thin open holes are vessels and bronchi, closed ones enclosed disease: both are lung.
    """
    out = labels.copy()
    pixel_mm = float(min(spacing[1:]))
    for label in (RIGHT, LEFT):
        region = labels == label
        if not region.any():
            continue
        holes = axial_holes(region)
        if not holes.any():
            continue
        components = cc3d.connected_components(holes.view(np.uint8), connectivity=6)
        outside = ~region & ~holes
        open_to = np.zeros(components.max() + 1, dtype=bool)
        for shift in (1, -1):
            neighbour = np.roll(outside, shift, axis=0)
            neighbour[0 if shift == 1 else -1] = False
            open_to[np.unique(components[neighbour & holes])] = True
        # Thick = survives an axial erosion by a disk of the radius limit (on the holes' box).
        box = ndimage.find_objects(holes.view(np.uint8))[0]
        radius = max(1, int(round(_MAX_OPEN_HOLE_RADIUS_MM / pixel_mm)))
        core = ndimage.binary_erosion(holes[box], structure=_axial_disk(radius))
        thick = np.zeros(components.max() + 1, dtype=bool)
        thick[np.unique(components[box][core])] = True
        organ = open_to & thick
        organ[0] = False
        fill = holes & ~organ[components] & (out == 0)
        out[fill] = label
    return out


def _axial_disk(radius: int) -> np.ndarray:
    span = np.arange(-radius, radius + 1)
    structure = np.zeros((1, 2 * radius + 1, 2 * radius + 1), dtype=bool)
    structure[0] = span[:, None] ** 2 + span[None, :] ** 2 <= radius * radius
    return structure


def _close_per_label(
    labels: np.ndarray, allowed: np.ndarray, bone: np.ndarray, spacing: tuple[float, float, float]
) -> np.ndarray:
    """3D closing per lung by a ball of ``_CLOSING_MM`` (in mm, so the same on every grid),
    limited to ``allowed`` and to ``bone`` (coarse voxels above ``BONE_HU``) that the lung
    encloses in its own axial slices, then axial hole filling.

    The closing takes in dense patches the ball cannot enter: disease lying between the lung
    and the subpleural band recovered along the ribs, small wedges of consolidation. It is
    computed with two Euclidean distance transforms on the lung's bounding box (exact for a
    ball, and fast for a radius of several voxels).
    """
    out = labels.copy()
    margin = [int(np.ceil(_CLOSING_MM / s)) + 1 for s in spacing]
    for label in (RIGHT, LEFT):
        region = labels == label
        if not region.any():
            continue
        box = ndimage.find_objects(region.view(np.uint8))[0]
        local = np.pad(region[box], [(m, m) for m in margin])
        grown = ndimage.distance_transform_edt(~local, sampling=spacing) <= _CLOSING_MM
        closed = ndimage.distance_transform_edt(grown, sampling=spacing) > _CLOSING_MM
        closed = closed[tuple(slice(m, -m) for m in margin)]
        # what the lung encloses in its own slices is never rib or spine: "bone" there is
        # enhanced blood in the vessels (contrast: 150-400 HU)
        inside = allowed[box] | (bone[box] & axial_holes(region[box]))
        target = out[box]
        target[closed & inside & (target == 0)] = label
    return _fill_per_label(out, spacing)


def _refine_full_resolution(
    ct: Image,
    coarse: CoarseGrid,
    hu_c: np.ndarray,
    aerated: np.ndarray,
    labels: np.ndarray,
    airways: np.ndarray,
    gas: np.ndarray,
    effusion: np.ndarray,
    settings: SegmentSettings,
) -> np.ndarray:
    """Full-resolution lung labels from the coarse decisions (see the module docstring).

    ``effusion``: coarse pleural fluid touching the lungs, followed at full resolution
    (:func:`_effusion_fine`) and kept out.

    Each lung is refined on its own bounding box (plus two coarse voxels), so no full-size
    float copy of the CT is made.
    """
    out = np.zeros(ct.shape, dtype=np.uint8)
    structure = ndimage.generate_binary_structure(3, 1)
    for label in (RIGHT, LEFT):
        region_all = labels == label
        if not region_all.any():
            continue
        box_c, box, sub = _full_box(region_all, coarse)
        region_c = region_all[box_c]
        aer_c = aerated[box_c] == label
        hu = ndimage.gaussian_filter(ct.array[box], sigma=(0.0, 0.7, 0.7), mode="nearest")
        threshold_c = _boundary_threshold(hu_c[box_c], aerated[box_c] > 0, settings.boundary_threshold_hu)
        below = hu < upsample_nearest(threshold_c, sub)
        not_tissue = hu < _DISEASE_HU
        fat = fat_mask(hu) if max(ct.spacing) <= _FAT_VOXEL_MM else np.zeros_like(not_tissue)
        fluid = np.zeros_like(fat)
        if effusion[box_c].any():
            seeds = upsample_nearest(effusion[box_c], sub)
            fluid = _effusion_fine(hu, seeds, settings.boundary_threshold_hu)
        del hu
        inner_c = ndimage.binary_erosion(aer_c, structure)
        inner = upsample_nearest(inner_c, sub)
        band = upsample_nearest(ndimage.binary_dilation(aer_c, structure) & ~inner_c, sub)
        lung = inner | (band & below)
        # Diseased (not aerated) boundary: the coarse shape decides among voxels below _DISEASE_HU.
        lung |= band & not_tissue & (upsample_fraction(aer_c, sub) >= 0.5)
        del below, not_tissue, band, inner
        allowed = upsample_fraction(region_c, sub) >= 0.5
        dense_c = region_c & ~aer_c
        if dense_c.any():
            dense = upsample_nearest(ndimage.binary_dilation(dense_c, structure), sub)
            lung |= dense & allowed & ~fat
            del dense
        del fat
        airway_full = upsample_nearest(airways[box_c], sub)
        lung &= ~airway_full & (ct.array[box] >= PADDING_HU)  # FOV padding is never lung
        lung = _largest_parts(lung)
        lung |= axial_holes(lung) & allowed
        lung |= _enclosed(lung)
        excluded = airway_full | upsample_nearest(ndimage.binary_dilation(gas[box_c]), sub) | fluid
        lung &= ~excluded
        lung = _smooth_surface(lung, ct.spacing) & ~excluded
        target = out[box]
        target[lung & (target == 0)] = label
    return out


def _effusion_fine(hu: np.ndarray, seeds: np.ndarray, boundary_hu: float) -> np.ndarray:
    """A pleural effusion at full resolution: the voxels in :data:`_EFFUSION_WATER_HU` connected
    to ``seeds`` (its coarse body) through such voxels, and the partial-volume voxels next to
    them between ``boundary_hu`` and water (more water than lung; denser tissue beside the
    fluid, consolidation or the wall, is not fluid).

    The coarse fluid mask misses the thin meniscus an effusion sends up along the chest wall
    (its coarse voxels mix water, lung and wall), which reads like the dense subpleural band
    the periphery recovers; followed voxel by voxel it is water.
    """
    water = (hu >= _EFFUSION_WATER_HU[0]) & (hu <= _EFFUSION_WATER_HU[1])
    fluid = parts_touching(water, seeds & water)
    rim = (ndimage.binary_dilation(fluid, ndimage.generate_binary_structure(3, 1))
           & (hu >= boundary_hu) & (hu < _EFFUSION_WATER_HU[0]))
    return fluid | rim


def _smooth_surface(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """The mask's surface smoothed at the millimetre scale: Gaussian (``_SURFACE_SIGMA_MM``,
    in mm per axis) of the mask above one half.

    The pleura is smooth at this scale; the voxel decisions along it are not (noise, sharp
    kernels, honeycomb walls and intercostal muscle one voxel either side of the boundary). The
    filter removes specks and one-voxel notches and spikes and leaves features wider than about
    two sigma (4-5 mm) in place; on grids coarser than about 3 mm it changes nothing.
    """
    sigma = [_SURFACE_SIGMA_MM / v for v in spacing]
    return ndimage.gaussian_filter(mask.astype(np.float32), sigma=sigma, mode="nearest") > 0.5


def _full_box(region: np.ndarray, coarse: CoarseGrid) -> tuple[tuple[slice, ...], tuple[slice, ...], CoarseGrid]:
    """Bounding box of a coarse mask (plus 2 voxels) on the coarse and full grids, and its sub-grid."""
    present = ndimage.find_objects(region.view(np.uint8))[0]
    low_c = np.maximum([s.start - 2 for s in present], 0)
    high_c = np.minimum([s.stop + 2 for s in present], np.asarray(coarse.shape))
    factors = np.asarray(coarse.factors)
    low = low_c * factors
    high = np.minimum(high_c * factors, np.asarray(coarse.full_shape))
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    box_c = tuple(slice(int(a), int(b)) for a, b in zip(low_c, high_c))
    sub = CoarseGrid(coarse.factors, tuple(int(h - lo) for h, lo in zip(high, low)), coarse.full_spacing)
    return box_c, box, sub


def _boundary_threshold(hu: np.ndarray, aerated: np.ndarray, floor_hu: float) -> np.ndarray:
    """Per coarse voxel, the HU half-way between the nearby lung and the chest wall (float32).

    The lung surface lies where partial volume reaches the mean of the two tissues (half
    maximum). Healthy lung (about -850 HU) against soft tissue (``_WALL_HU``) gives the
    configured ``floor_hu`` (-400 HU); diseased lung (ground glass, reticulation: -600 to
    -400 HU) moves the boundary to about -250 HU, so the subpleural fringe of diseased lung is
    not cut off. The local lung density is the mean over the lung interior (one voxel in from
    its surface) within +-2 coarse voxels; the threshold never exceeds ``_DISEASE_HU``.
    """
    interior = ndimage.binary_erosion(aerated, ndimage.generate_binary_structure(3, 1)).astype(np.float32)
    total = ndimage.uniform_filter(hu * interior, size=5, mode="nearest")
    count = ndimage.uniform_filter(interior, size=5, mode="nearest")
    lung_hu = np.where(count > 1e-3, total / np.maximum(count, 1e-3), -850.0)
    return np.clip(0.5 * (lung_hu + _WALL_HU), floor_hu, _DISEASE_HU).astype(np.float32)


def _enclosed(mask: np.ndarray) -> np.ndarray:
    """Voxels enclosed by ``mask`` in 3D (background parts not touching the array's faces).

    Whatever a lung surrounds on every side (a vessel, a bronchus, a dense nodule or a patch
    of disease the thresholds left out) is lung; the array is the lung's box with a margin, so
    the mediastinum and the abdomen, which are open, are never enclosed.
    """
    labels = cc3d.connected_components((~mask).view(np.uint8), connectivity=6)
    open_parts = np.zeros(int(labels.max()) + 1, dtype=bool)
    for face in (labels[0], labels[-1], labels[:, 0], labels[:, -1], labels[:, :, 0], labels[:, :, -1]):
        open_parts[np.unique(face)] = True
    open_parts[0] = True
    return ~open_parts[labels]


def _largest_parts(mask: np.ndarray) -> np.ndarray:
    """Drop specks: keep connected parts of at least 1 % of the largest."""
    labels = cc3d.connected_components(mask.view(np.uint8), connectivity=26)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    if sizes.size <= 2:
        return mask
    keep = sizes >= 0.01 * sizes.max()
    keep[0] = False
    return keep[labels]
