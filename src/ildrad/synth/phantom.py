"""Synthetic SSc-ILD chest CT phantoms with known truth (public entry of :mod:`ildrad.synth`).

>>> from ildrad.synth.phantom import PhantomSpec, make_chest_ct
>>> scan = make_chest_ct(PhantomSpec(size="tiny", ild_extent=0.3), seed=1)
>>> scan.ct.unit.value, sorted(scan.truth)[:3]
('HU', ['aorta', 'airways', 'body'])

The anatomy is built in millimetres (:mod:`ildrad.synth.anatomy`), so ``tiny``, ``small`` and
``full`` of the same seed show the same patient; the disease (:mod:`ildrad.synth.ild_patterns`)
and its textures (:mod:`ildrad.synth.lung_texture`) too; the scanner model is in
:mod:`ildrad.synth.acquisition`. Random streams are split by purpose from the seed, so the same
seed gives identical arrays whatever the thread count.

Truth masks (all on the CT grid; DESIGN.md codes):

==================  ===========================================================================
key                 labels
==================  ===========================================================================
lungs               1 right, 2 left (patient sides: right = low LPS x)
zones               11-13 right upper / middle / lower, 21-23 left (thirds of the imaged height)
patterns            1 ground glass, 2 reticulation, 3 honeycombing, 4 consolidation, 5 emphysema
vessels             1 pulmonary vessels inside the lungs (occupancy >= 0.5)
airways             1 trachea and main bronchi (lumen and wall)
oesophagus          1 wall / fluid, 2 air lumen
body, heart, aorta, pulmonary_artery, liver, spleen, stomach_gas, colon_gas: 1
pleural_effusion    1 free pleural fluid (``pleural_effusion_mm``; taken from the lung)
==================  ===========================================================================

Extents in ``numbers`` are realised values counted on the truth maps: voxels of a pattern over
all lung voxels (vessels included in the denominator; vessel voxels themselves carry pattern 0).
The ILD region takes exactly ``round(ild_extent x lung voxels)`` voxels, so the realised extent
equals the request to one voxel.

Geometry: axial grids centred on the chest; ``supine`` scans are stored head-first-supine
(array rows run anterior to posterior, columns patient right to left); ``prone`` scans flip x and
y as scanners do for HFP (direction diag(-1, -1) in-plane, so the back is at the top of the
array and the table at the bottom) while the anatomy keeps its LPS position; the metadata says
``patient_position`` HFS / HFP. ``cut_apex`` / ``cut_base`` move the 300 mm scan range 55 mm
down / 70 mm up. Outside the reconstruction circle the vendor's padding value (-2048 SIEMENS
and Canon, -3024 GE and Philips) is stored, as in real series.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from ildrad.image import Grid, Image, Mask, Modality, Unit
from ildrad.synth.acquisition import (
    VENDORS,
    apply_scanner,
    reconstruction_circle,
    scanner_metadata,
    tissue_hu_table,
)
from ildrad.synth.anatomy import (
    TISSUE_CODES,
    Anatomy,
    BodyParameters,
    body_parameters,
    build_anatomy,
    dependency_at,
    grid_coordinates,
    paint_table,
)
from ildrad.synth.ild_patterns import (
    DiseaseFields,
    assign_patterns,
    design_coordinates,
    disease_fields,
    sample_field,
)
from ildrad.synth.lung_texture import lung_hu
from ildrad.synth.phantom_spec import (
    GRID_SIZES,
    PATTERN_CODES,
    PatternMix,
    PetPhantomSpec,
    PhantomSpec,
)
from ildrad.synth.vessel_tree import VesselSegment, grow_vessel_trees, render_vessels

__all__ = [
    "PATTERN_CODES",
    "PatternMix",
    "PetPhantomSpec",
    "PhantomSpec",
    "SyntheticCT",
    "make_chest_ct",
    "make_pet",
    "phantom_grid",
]

log = logging.getLogger(__name__)

#: z (mm) of the scan centre for full coverage, and the shifts of partial coverages.
_SCAN_CENTRE_Z = 140.0
_COVERAGE_SHIFT_MM = {"full": 0.0, "cut_apex": -55.0, "cut_base": 70.0}
_ZONE_NAMES = {11: "right_upper", 12: "right_middle", 13: "right_lower", 21: "left_upper", 22: "left_middle", 23: "left_lower"}


@dataclasses.dataclass(frozen=True)
class Patient:
    """Everything random about one patient, independent of the grid it is sampled on."""

    body: BodyParameters
    vessels: list[VesselSegment]
    disease: DiseaseFields
    texture_seed: np.random.SeedSequence


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticCT:
    """A synthetic chest CT with its truth.

    ``truth`` holds label masks on the CT grid (see the module docstring), ``numbers`` the
    true values: ``extent_<pattern>`` and ``ild_extent`` (fractions of lung volume),
    ``lung_volume_ml`` / ``right_lung_volume_ml`` / ``left_lung_volume_ml``,
    ``aorta_diameter_mm``, ``pa_diameter_mm``, ``oesophagus_air_diameter_mm``.
    """

    ct: Image
    truth: dict[str, Mask]
    numbers: dict[str, float]
    spec: PhantomSpec
    seed: int
    patient: Patient


def _streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """Independent random streams by purpose, so a grid's size never shifts the anatomy draws."""
    names = ("body", "vessels", "disease", "texture", "noise", "pet")
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return dict(zip(names, children, strict=True))


def make_patient(spec: PhantomSpec, seed: int) -> Patient:
    """Draw the patient of ``(spec, seed)``: body geometry, vessel trees, disease fields."""
    streams = _streams(seed)
    bp = body_parameters(
        np.random.default_rng(streams["body"]),
        body_scale=spec.body_scale,
        lung_scale=spec.lung_scale,
        expiratory=spec.breath == "expiratory",
        prone=spec.position == "prone",
        oesophagus_dilated=spec.oesophagus_dilated,
        pa_to_aorta_ratio=spec.pa_to_aorta_ratio,
        effusion_mm=(
            spec.pleural_effusion_mm if spec.pleural_effusion_side != "left" else 0.0,
            spec.pleural_effusion_mm if spec.pleural_effusion_side != "right" else 0.0,
        ),
    )
    vessels = grow_vessel_trees(np.random.default_rng(streams["vessels"]), bp)
    disease = disease_fields(np.random.default_rng(streams["disease"]))
    return Patient(bp, vessels, disease, streams["texture"])


def phantom_grid(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    *,
    prone: bool,
    centre_z: float,
) -> Grid:
    """Axis-aligned grid centred on the chest; prone scans flip x and y as scanners do (HFP)."""
    nz, ny, nx = shape
    sz, sy, sx = spacing
    sign = -1.0 if prone else 1.0
    origin = (
        -sign * (nx - 1) / 2.0 * sx,
        -sign * (ny - 1) / 2.0 * sy,
        centre_z - (nz - 1) / 2.0 * sz,
    )
    direction = ((0.0, 0.0, sign), (0.0, sign, 0.0), (1.0, 0.0, 0.0))
    # direction columns are the array axes (z, y, x): column 0 = +z, column 1 = +-y, column 2 = +-x
    return Grid(shape=shape, spacing=spacing, origin=origin, direction=direction)


@dataclasses.dataclass
class _Sampled:
    """A patient sampled on one grid: anatomy, vessels, patterns, noise-free HU."""

    anatomy: Anatomy
    vessels: np.ndarray
    patterns: np.ndarray
    hu: np.ndarray
    coords: tuple[np.ndarray, np.ndarray, np.ndarray]


def sample_patient(patient: Patient, grid: Grid, spec: PhantomSpec, *, contrast: bool) -> _Sampled:
    """Noise-free HU and truth of ``patient`` on ``grid`` (before the scanner model)."""
    bp = patient.body
    x, y, z = grid_coordinates(grid.origin, grid.spacing, grid.direction, grid.shape)
    anatomy = build_anatomy(x, y, z, bp, grid.shape)
    paint_table(anatomy.tissue, x, y, bp)
    occupancy = render_vessels(patient.vessels, x, y, z, grid.spacing, grid.shape)
    lungs = anatomy.lungs
    in_lung = lungs > 0
    vessels = (occupancy >= 0.5) & in_lung

    flat = np.flatnonzero(in_lung)
    ny, nx = grid.shape[1:]
    px = x.ravel()[flat % nx]
    py = y.ravel()[(flat // nx) % ny]
    pz = z.ravel()[flat // (ny * nx)]
    coords = design_coordinates(px, py, pz)
    coarse = sample_field(patient.disease.coarse, coords)
    eligible = np.flatnonzero(~vessels.ravel()[flat])
    codes = np.zeros(flat.size, np.uint8)
    codes[eligible] = assign_patterns(
        patient.disease,
        px[eligible],
        py[eligible],
        pz[eligible],
        coords[:, eligible],
        coarse[eligible],
        int(flat.size),
        bp,
        extent=spec.ild_extent,
        shares=spec.pattern_mix.fractions(),
        emphysema_extent=spec.emphysema_extent,
        subpleural_weight=spec.subpleural_predominance,
        basal_weight=spec.basal_predominance,
    )
    patterns = np.zeros(grid.shape, np.uint8)
    patterns.ravel()[flat] = codes

    table = tissue_hu_table(contrast)
    hu = table[anatomy.tissue]
    texture_rng = np.random.default_rng(patient.texture_seed)
    voxel_mm = float(np.prod(grid.spacing)) ** (1.0 / 3.0)
    parenchyma = lung_hu(
        codes,
        px,
        py,
        pz,
        dependency_at(py, bp),
        coarse,
        texture_rng,
        expiratory=bp.expiratory,
        ground_glass_hu=spec.ground_glass_hu,
        wall_fraction=spec.honeycomb_wall_fraction,
        voxel_mm=voxel_mm,
    )
    occ = occupancy.ravel()[flat]
    blood = table[TISSUE_CODES["lung_vessel"]]
    hu.ravel()[flat] = occ * blood + (1.0 - occ) * parenchyma
    return _Sampled(anatomy, vessels, patterns, hu, (x, y, z))


def _zones(lungs: np.ndarray, grid: Grid) -> np.ndarray:
    """Zones 11-13 / 21-23: thirds of each lung's imaged height (upper, middle, lower)."""
    z_mm = grid.origin[2] + grid.direction_matrix[2, 0] * grid.spacing[0] * np.arange(grid.shape[0])
    zone_of_slice = np.zeros((3, grid.shape[0]), np.uint8)  # per lung label 0, 1, 2
    for side in (1, 2):
        present = np.nonzero((lungs == side).any(axis=(1, 2)))[0]
        if present.size == 0:
            continue
        top = z_mm[present].max() + grid.spacing[0] / 2.0
        bottom = z_mm[present].min() - grid.spacing[0] / 2.0
        third = (top - bottom) / 3.0
        zone_of_slice[side] = 10 * side + np.where(z_mm > top - third, 1, np.where(z_mm > bottom + third, 2, 3))
    zones = np.empty(lungs.shape, np.uint8)
    for k in range(lungs.shape[0]):
        zones[k] = zone_of_slice[:, k][lungs[k]]
    return zones


def _truth(sampled: _Sampled, grid: Grid) -> dict[str, Mask]:
    anatomy = sampled.anatomy
    truth = {
        "lungs": Mask(anatomy.lungs, grid, {1: "right", 2: "left"}),
        "zones": Mask(_zones(anatomy.lungs, grid), grid, _ZONE_NAMES),
        "patterns": Mask(sampled.patterns, grid, PATTERN_CODES),
        "vessels": Mask(sampled.vessels.view(np.uint8), grid, {1: "pulmonary_vessels"}),
        "oesophagus": Mask(anatomy.organs["oesophagus"], grid, {1: "wall_or_fluid", 2: "air"}),
    }
    for name, mask in anatomy.organs.items():
        if name not in truth:
            truth[name] = Mask(mask.view(np.uint8) if mask.dtype == bool else mask, grid, {1: name})
    return truth


def _numbers(sampled: _Sampled, grid: Grid) -> dict[str, float]:
    lungs = sampled.anatomy.lungs
    voxel_ml = grid.voxel_volume_mm3 / 1000.0
    n_lung = int((lungs > 0).sum())
    counts = np.bincount(sampled.patterns.ravel(), minlength=6)
    numbers = {key: float(value) for key, value in sampled.anatomy.numbers.items()}
    numbers["lung_volume_ml"] = n_lung * voxel_ml
    numbers["right_lung_volume_ml"] = float((lungs == 1).sum()) * voxel_ml
    numbers["left_lung_volume_ml"] = float((lungs == 2).sum()) * voxel_ml
    for code, name in PATTERN_CODES.items():
        numbers[f"extent_{name}"] = float(counts[code]) / max(n_lung, 1)
    numbers["ild_extent"] = float(counts[1:5].sum()) / max(n_lung, 1)
    return numbers


def fiducial_centre(bp: BodyParameters) -> tuple[float, float, float]:
    """Patient-frame centre (mm) of the reference sphere of a PET/CT study: beside the chest on
    the side away from the table."""
    y = 120.0 * bp.scale if bp.prone else -120.0 * bp.scale
    return (110.0, y, _SCAN_CENTRE_Z)


FIDUCIAL_RADIUS_MM = 10.0


def scan_patient(
    patient: Patient,
    spec: PhantomSpec,
    grid: Grid,
    noise_seed: np.random.SeedSequence,
    *,
    frame_offset: tuple[float, float, float] = (0.0, 0.0, 0.0),
    fiducial: bool = False,
    metadata_update: dict[str, Any] | None = None,
    seed: int = 0,
) -> SyntheticCT:
    """Scan ``patient`` on ``grid`` (patient frame) with the acquisition of ``spec``.

    The returned image's origin is shifted by ``frame_offset`` (mm): the patient's position in
    the scanner frame of reference of this study.
    """
    sampled = sample_patient(patient, grid, spec, contrast=spec.contrast)
    if fiducial:
        _paint_fiducial(sampled, fiducial_centre(patient.body), spec.contrast)
    thickness = max(spec.effective_slice_thickness_mm, 1e-3)
    noise_sd = spec.noise_hu * (spec.sharp_noise_factor if spec.kernel == "sharp" else 1.0)
    hu = apply_scanner(
        sampled.hu,
        grid.spacing,
        spec,
        np.random.default_rng(noise_seed),
        slice_thickness_mm=thickness,
        noise_sd_hu=noise_sd,
    )
    fov_mm = grid.shape[2] * grid.spacing[2]
    x, y, _ = sampled.coords
    circle = reconstruction_circle(x, y, fov_mm / 2.0)[0]
    np.clip(hu, -1024.0, 3071.0, out=hu)
    np.round(hu, out=hu)
    hu[:, ~circle] = VENDORS[spec.vendor][3]
    metadata: dict[str, Any] = scanner_metadata(spec, slice_thickness_mm=thickness, fov_mm=fov_mm, noise_sd_hu=noise_sd)
    metadata.update(metadata_update or {})
    study_grid = dataclasses.replace(grid, origin=tuple(np.add(grid.origin, frame_offset)))
    ct = Image(hu.astype(np.float32, copy=False), study_grid, Modality.CT, Unit.HU, metadata)
    truth = _truth(sampled, study_grid)
    numbers = _numbers(sampled, study_grid)
    return SyntheticCT(ct, truth, numbers, spec, int(seed), patient)


def _paint_fiducial(sampled: _Sampled, centre: tuple[float, float, float], contrast: bool) -> None:
    x, y, z = sampled.coords
    sphere = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= FIDUCIAL_RADIUS_MM**2
    sampled.anatomy.tissue[sphere] = TISSUE_CODES["fiducial"]
    sampled.hu[sphere] = tissue_hu_table(contrast)[TISSUE_CODES["fiducial"]]
    sampled.anatomy.organs["fiducial"] = np.ascontiguousarray(np.broadcast_to(sphere, sampled.hu.shape))


def make_chest_ct(spec: PhantomSpec, seed: int) -> SyntheticCT:
    """A synthetic SSc-ILD chest CT of ``spec`` with its truth; identical for identical seeds."""
    patient = make_patient(spec, seed)
    size = GRID_SIZES[spec.size]
    centre_z = _SCAN_CENTRE_Z + _COVERAGE_SHIFT_MM[spec.coverage]
    grid = phantom_grid(size.shape, size.spacing, prone=spec.position == "prone", centre_z=centre_z)
    scan = scan_patient(patient, spec, grid, _streams(seed)["noise"], seed=seed)
    log.debug("synthetic CT seed %d: %s", seed, scan.numbers)
    return scan


def make_pet(ct: SyntheticCT, spec: PetPhantomSpec, seed: int) -> Any:
    """The FDG PET/CT study (:class:`~ildrad.synth.pet_phantom.SyntheticPET`) of the patient of
    ``ct``: SUV on a PET grid, its truth and the low-dose CT of the same frame of reference.
    Implemented in :mod:`ildrad.synth.pet_phantom`."""
    from ildrad.synth.pet_phantom import make_pet as make_pet_study

    return make_pet_study(ct, spec, seed)
