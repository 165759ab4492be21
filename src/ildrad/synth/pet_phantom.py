"""Synthetic FDG PET/CT studies of a phantom patient: SUV on a PET grid and its low-dose CT.

The PET/CT is a second study of the patient of a :class:`~ildrad.synth.phantom.SyntheticCT`:
the same anatomy and disease, scanned free-breathing (diaphragm 15 mm higher than at full
inspiration) with a low-dose CT of 3-5 mm slices, and placed at another position in the
scanner (``frame_offset``), so its frame of reference differs from the diagnostic CT's while PET
and low-dose CT share one. A reference sphere (fiducial, SUV ``fiducial_suv``, +100 HU) lies
beside the chest in both.

SUV model (body weight): every tissue class takes the SUV of :class:`PetPhantomSpec`; blood
(great vessels, heart chambers, lung vessels) the blood pool value; normal lung ``lung_suv``;
diseased lung ``lung_suv + disease_activity x (pattern uptake - lung_suv)`` with pattern uptakes
ground glass 1.1, reticulation 1.3, honeycombing 1.2, consolidation 2.2, emphysema 0.15.
The truth SUV is the mean over each PET voxel (computed on a 2x finer grid); the measured SUV
adds a Gaussian PSF and signal-dependent correlated noise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import ndimage

from ildrad.image import Grid, Image, Modality, Unit
from ildrad.synth.anatomy import TISSUE_CODES, grid_coordinates
from ildrad.synth.phantom import (
    _SCAN_CENTRE_Z,
    FIDUCIAL_RADIUS_MM,
    SyntheticCT,
    _streams,
    fiducial_centre,
    phantom_grid,
    sample_patient,
    scan_patient,
)
from ildrad.synth.phantom_spec import PetPhantomSpec

__all__ = ["F18_HALF_LIFE_S", "SyntheticPET", "make_pet"]

#: Physical half-life of fluorine-18 (s), as written in DICOM RadionuclideHalfLife.
F18_HALF_LIFE_S = 6586.2
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
_PATTERN_SUV = {1: 1.1, 2: 1.3, 3: 1.2, 4: 2.2, 5: 0.15}
_FREE_BREATHING_SHIFT_MM = 15.0
_PET_FOV_MM = 400.0
_SCAN_LENGTH_MM = 300.0


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticPET:
    """A synthetic FDG PET/CT study.

    ``pet``: measured SUV (body weight) on the PET grid; ``truth_suv``: noise-free mean SUV per
    PET voxel (same grid); ``low_dose_ct``: the CT of the same study (same frame of reference,
    its own truth masks, including ``fiducial``); ``numbers``: reference SUVs
    (``blood_pool_suv``, ``liver_suv``, ``lung_suv``), the fiducial centre in the study frame
    (``fiducial_x_mm`` ...) and radius, and the acquisition facts from which SUV is recomputed
    (``patient_weight_kg``, ``patient_size_m``, ``injected_activity_bq``, ``uptake_s``,
    ``half_life_s``).
    """

    pet: Image
    truth_suv: Image
    low_dose_ct: SyntheticCT
    numbers: dict[str, float]
    spec: PetPhantomSpec

    def activity_concentration_bqml(self) -> Image:
        """The PET as Bq/mL decay-corrected to the scan start (DICOM Units BQML, DecayCorrection
        START): C = SUV x A_inj x 2^(-uptake / T1/2) / weight_g."""
        n = self.numbers
        decay = 2.0 ** (-n["uptake_s"] / n["half_life_s"])
        factor = n["injected_activity_bq"] * decay / (n["patient_weight_kg"] * 1000.0)
        return self.pet.with_array(self.pet.array * np.float32(factor), unit=Unit.BQML)


def _tissue_suv(spec: PetPhantomSpec) -> np.ndarray:
    table = np.zeros(max(TISSUE_CODES.values()) + 1, np.float32)
    values = {
        "fat": spec.fat_suv,
        "muscle": spec.muscle_suv,
        "cortical_bone": 0.5 * spec.bone_suv,
        "marrow": spec.bone_suv,
        "cartilage": spec.muscle_suv,
        "blood": spec.blood_pool_suv,
        "myocardium": spec.myocardium_suv,
        "liver": spec.liver_suv,
        "spleen": spec.spleen_suv,
        "bowel_content": 1.0,
        "airway_wall": spec.muscle_suv,
        "oesophagus_wall": spec.oesophagus_suv,
        "oesophagus_fluid": spec.oesophagus_suv,
        "lung": spec.lung_suv,
        "lung_vessel": spec.blood_pool_suv,
        "csf": 0.3,
        "disc": 0.5,
        "fiducial": spec.fiducial_suv,
        "pleural_fluid": 0.5,
    }
    for name, value in values.items():
        table[TISSUE_CODES[name]] = value
    return table


def _frame_offset(rng: np.random.Generator) -> tuple[float, float, float]:
    """Where the patient lies in the PET/CT scanner frame relative to the diagnostic CT's."""
    return (float(rng.uniform(-8, 8)), float(rng.uniform(-15, 5)), float(rng.uniform(-900, -600)))


def make_pet(ct: SyntheticCT, spec: PetPhantomSpec, seed: int) -> SyntheticPET:
    """The FDG PET/CT study of the patient of ``ct`` (same anatomy and disease)."""
    streams = _streams(seed)
    rng = np.random.default_rng(streams["pet"])
    offset = _frame_offset(rng)
    bp = ct.patient.body
    breathing = dataclasses.replace(
        bp,
        diaphragm_shift=bp.diaphragm_shift + _FREE_BREATHING_SHIFT_MM,
        dome_right=bp.dome_right + _FREE_BREATHING_SHIFT_MM,
        dome_left=bp.dome_left + _FREE_BREATHING_SHIFT_MM,
    )
    patient = dataclasses.replace(ct.patient, body=breathing)
    prone = bp.prone

    # low-dose CT: in-plane sampling of the diagnostic CT, thick slices, smooth kernel
    ct_spacing = ct.ct.spacing
    dz = max(spec.low_dose_ct_slice_mm, ct_spacing[0])
    nz = int(round(_SCAN_LENGTH_MM / dz))
    ld_spec = ct.spec.model_copy(
        update={
            "kernel": "smooth",
            "noise_hu": spec.low_dose_ct_noise_hu,
            "slice_thickness_mm": dz,
            "contrast": False,
            "coverage": "full",
            "exposure_mas": 30.0,
        }
    )
    ld_grid = phantom_grid((nz, *ct.ct.shape[1:]), (dz, ct_spacing[1], ct_spacing[2]), prone=prone, centre_z=_SCAN_CENTRE_Z)
    low_dose = scan_patient(
        patient,
        ld_spec,
        ld_grid,
        streams["noise"],
        frame_offset=offset,
        fiducial=True,
        metadata_update={"series_description": "CT AC free-breathing", "kernel": "B19f" if ld_spec.vendor == "SIEMENS" else "SOFT"},
        seed=seed,
    )

    # PET grid (patient frame), truth on a 2x finer grid averaged down
    default = (8.0, 8.0, 8.0) if ct.spec.size == "tiny" else (4.0, 4.0, 4.0)
    spacing = tuple(float(v) for v in (spec.pet_spacing_mm or default))
    n_xy = int(round(_PET_FOV_MM / spacing[1]))
    n_z = int(round(_SCAN_LENGTH_MM / spacing[0]))
    pet_grid = phantom_grid((n_z, n_xy, n_xy), spacing, prone=prone, centre_z=_SCAN_CENTRE_Z + 0.5 * spacing[0])
    fine_grid = _refined(pet_grid, 2)
    sampled = sample_patient(patient, fine_grid, ld_spec, contrast=False)
    suv_table = _tissue_suv(spec)
    fine = suv_table[sampled.anatomy.tissue]
    lung = sampled.anatomy.lungs > 0
    pattern_suv = np.zeros(6, np.float32)
    pattern_suv[0] = spec.lung_suv
    for code, value in _PATTERN_SUV.items():
        pattern_suv[code] = spec.lung_suv + spec.disease_activity * (value - spec.lung_suv)
    lung_suv = pattern_suv[sampled.patterns]
    fine[lung] = lung_suv[lung]
    fine[sampled.vessels] = spec.blood_pool_suv
    fx, fy, fz = grid_coordinates(fine_grid.origin, fine_grid.spacing, fine_grid.direction, fine_grid.shape)
    centre = fiducial_centre(breathing)
    sphere = (fx - centre[0]) ** 2 + (fy - centre[1]) ** 2 + (fz - centre[2]) ** 2 <= FIDUCIAL_RADIUS_MM**2
    fine[sphere] = spec.fiducial_suv
    truth = fine.reshape(n_z, 2, n_xy, 2, n_xy, 2).mean(axis=(1, 3, 5))

    sigma = spec.psf_fwhm_mm * _FWHM_TO_SIGMA
    measured = ndimage.gaussian_filter(truth, [sigma / s for s in spacing], mode="constant")
    if spec.noise_fraction > 0:
        noise = rng.standard_normal(truth.shape, dtype=np.float32)
        noise = ndimage.gaussian_filter(noise, 0.7, mode="wrap")
        noise /= noise.std() + 1e-12
        measured = measured + spec.noise_fraction * np.sqrt(np.maximum(measured, 0.0)) * noise
    measured = np.maximum(measured, 0.0).astype(np.float32)

    study_grid = dataclasses.replace(pet_grid, origin=tuple(np.add(pet_grid.origin, offset)))
    metadata = _pet_metadata(spec, ct.spec.vendor)
    pet = Image(measured, study_grid, Modality.PT, Unit.SUV, metadata)
    truth_image = Image(truth.astype(np.float32), study_grid, Modality.PT, Unit.SUV, metadata)
    numbers = {
        "blood_pool_suv": spec.blood_pool_suv,
        "liver_suv": spec.liver_suv,
        "lung_suv": spec.lung_suv,
        "fiducial_suv": spec.fiducial_suv,
        "fiducial_x_mm": centre[0] + offset[0],
        "fiducial_y_mm": centre[1] + offset[1],
        "fiducial_z_mm": centre[2] + offset[2],
        "fiducial_radius_mm": FIDUCIAL_RADIUS_MM,
        "patient_weight_kg": spec.weight_kg,
        "patient_size_m": spec.height_m,
        "injected_activity_bq": spec.injected_activity_mbq * 1e6,
        "uptake_s": spec.uptake_minutes * 60.0,
        "half_life_s": F18_HALF_LIFE_S,
    }
    return SyntheticPET(pet, truth_image, low_dose, numbers, spec)


def _refined(grid: Grid, factor: int) -> Grid:
    """The grid whose voxels split each voxel of ``grid`` into factor^3 (same extent)."""
    spacing = tuple(s / factor for s in grid.spacing)
    d = grid.direction_matrix
    shift = np.array([(s_fine - s) / 2.0 for s, s_fine in zip(grid.spacing, spacing, strict=True)])
    origin = np.asarray(grid.origin) + d @ shift
    shape = tuple(n * factor for n in grid.shape)
    return Grid(shape=shape, spacing=spacing, origin=tuple(origin), direction=grid.direction)


def _pet_metadata(spec: PetPhantomSpec, vendor: str) -> dict[str, Any]:
    model = {"SIEMENS": "Biograph mCT", "GE": "Discovery MI", "Philips": "Vereos", "Canon": "Celesteion"}[vendor]
    return {
        "modality": "PT",
        "manufacturer": vendor,
        "model": model,
        "units": "SUV",
        "radiopharmaceutical": "Fluorodeoxyglucose",
        "radionuclide_half_life_s": F18_HALF_LIFE_S,
        "injected_activity_bq": spec.injected_activity_mbq * 1e6,
        "uptake_s": spec.uptake_minutes * 60.0,
        "patient_weight_kg": spec.weight_kg,
        "patient_size_m": spec.height_m,
        "decay_correction": "START",
        "psf_fwhm_mm": spec.psf_fwhm_mm,
        "synthetic": True,
    }
