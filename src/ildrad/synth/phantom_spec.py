"""Typed specifications of the synthetic chest CT and FDG PET phantoms (:mod:`ildrad.synth.phantom`).

Every field has a default; a cohort generator builds one spec per scan and passes it with a seed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ildrad.settings_base import Section

__all__ = [
    "GRID_SIZES",
    "PATTERN_CODES",
    "PatternMix",
    "PetPhantomSpec",
    "PhantomSpec",
    "GridSize",
]

#: Codes of the ``patterns`` truth map (0 = no pattern / outside lungs / vessel).
PATTERN_CODES: dict[int, str] = {
    1: "ground_glass",
    2: "reticulation",
    3: "honeycombing",
    4: "consolidation",
    5: "emphysema",
}


class GridSize(Section):
    """Voxel grid of one phantom size: (z, y, x) voxels and spacing in mm."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]


#: The three phantom sizes. All share the same anatomy (built in mm); only sampling differs.
GRID_SIZES: dict[str, GridSize] = {
    "tiny": GridSize(shape=(48, 96, 96), spacing=(6.0, 3.75, 3.75)),
    "small": GridSize(shape=(150, 256, 256), spacing=(2.0, 1.40625, 1.40625)),
    "full": GridSize(shape=(300, 512, 512), spacing=(1.0, 0.703125, 0.703125)),
}


class PatternMix(Section):
    """Relative shares of the ILD patterns inside the diseased lung (normalised to sum 1).

    Texture versus density: honeycombing (air cysts in soft-tissue walls) and reticulation
    (a fine line network) have a mean density near that of ground glass, so two phantoms with
    the same ``ild_extent`` and the mixes ``{ground_glass: 1}`` and ``{honeycombing: 1}`` differ
    in texture far more than in mean density. With ``honeycomb_wall_fraction=0.6`` (walls
    thicker than the default 0.45) the mean HU of the diseased region matches ground glass at
    the default ``ground_glass_hu`` within about 30 HU while its SD is about five times larger
    (tested in ``tests/synth/test_phantom.py``).
    """

    ground_glass: float = Field(0.45, ge=0)
    reticulation: float = Field(0.30, ge=0)
    honeycombing: float = Field(0.15, ge=0)
    consolidation: float = Field(0.10, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> PatternMix:
        if self.ground_glass + self.reticulation + self.honeycombing + self.consolidation <= 0:
            raise ValueError("at least one pattern share must be > 0")
        return self

    def fractions(self) -> dict[str, float]:
        """Shares normalised to sum 1, keyed by pattern name."""
        shares = {
            "ground_glass": self.ground_glass,
            "reticulation": self.reticulation,
            "honeycombing": self.honeycombing,
            "consolidation": self.consolidation,
        }
        total = sum(shares.values())
        return {name: value / total for name, value in shares.items()}


class PhantomSpec(Section):
    """One synthetic chest CT: patient, disease, acquisition.

    Sizes: ``tiny`` 48 x 96 x 96 voxels of 6 x 3.75 x 3.75 mm (tests), ``small`` 150 x 256 x 256
    of 2 x 1.41 x 1.41 mm, ``full`` 300 x 512 x 512 of 1 x 0.70 x 0.70 mm (z, y, x).
    """

    size: Literal["tiny", "small", "full"] = "tiny"
    # disease
    ild_extent: float = Field(0.2, ge=0, le=0.6)  #: target fraction of lung volume with ILD
    pattern_mix: PatternMix = PatternMix()
    emphysema_extent: float = Field(0.0, ge=0, le=0.3)  #: fraction of lung volume, upper zones
    basal_predominance: float = Field(1.0, ge=0, le=3)  #: weight of the base-to-apex gradient
    subpleural_predominance: float = Field(1.0, ge=0, le=3)  #: weight of the pleura-to-core gradient
    ground_glass_hu: float = Field(-550.0, ge=-750, le=-300)  #: mean HU of ground glass
    honeycomb_wall_fraction: float = Field(0.45, ge=0.2, le=0.8)  #: share of honeycomb volume in walls
    # patient
    body_scale: float = Field(1.0, ge=0.8, le=1.25)  #: patient size (lateral and AP)
    lung_scale: float = Field(1.0, ge=0.8, le=1.15)  #: lung size relative to the thorax
    oesophagus_dilated: bool = True
    pa_to_aorta_ratio: float = Field(0.9, ge=0.6, le=1.6)  #: main PA / ascending aorta diameter
    pleural_effusion_mm: float = Field(0.0, ge=0, le=60)  #: greatest depth of dependent pleural fluid
    pleural_effusion_side: Literal["right", "left", "both"] = "right"
    # acquisition
    noise_hu: float = Field(20.0, ge=0, le=200)  #: noise SD in water for the smooth kernel
    kernel: Literal["sharp", "smooth"] = "smooth"
    sharp_noise_factor: float = Field(3.0, ge=1, le=6)  #: noise SD ratio sharp / smooth kernel
    slice_thickness_mm: float | None = Field(None, gt=0, le=10)  #: default: the slice spacing
    contrast: bool = False
    coverage: Literal["full", "cut_apex", "cut_base"] = "full"
    position: Literal["supine", "prone"] = "supine"
    breath: Literal["inspiratory", "expiratory"] = "inspiratory"
    vendor: Literal["SIEMENS", "GE", "Philips", "Canon"] = "SIEMENS"
    kvp: float = Field(120.0, ge=70, le=150)
    exposure_mas: float = Field(150.0, gt=0)

    @property
    def grid_size(self) -> GridSize:
        """The voxel grid of this spec's size."""
        return GRID_SIZES[self.size]

    @property
    def effective_slice_thickness_mm(self) -> float:
        """Reconstructed slice thickness: the spec's value or the slice spacing."""
        if self.slice_thickness_mm is not None:
            return float(self.slice_thickness_mm)
        return float(self.grid_size.spacing[0])


class PetPhantomSpec(Section):
    """One synthetic FDG PET/CT study of the patient of a :class:`PhantomSpec` (SUV body weight).

    Uptake in SUV: blood pool, liver and normal lung are the reference values a PET analysis
    must recover; diseased lung takes ``disease_activity`` times its pattern's uptake.
    """

    #: PET voxel (z, y, x) mm; default 8 mm for a ``tiny`` CT, 4 mm otherwise
    pet_spacing_mm: tuple[float, float, float] | None = None
    psf_fwhm_mm: float = Field(6.0, ge=0, le=15)
    noise_fraction: float = Field(0.10, ge=0, le=0.5)  #: relative noise SD at SUV 1 (Poisson-like)
    blood_pool_suv: float = Field(1.8, gt=0)
    liver_suv: float = Field(2.3, gt=0)
    lung_suv: float = Field(0.45, gt=0)  #: normal inspiratory lung parenchyma
    spleen_suv: float = Field(2.0, gt=0)
    myocardium_suv: float = Field(3.5, gt=0)
    muscle_suv: float = Field(0.7, gt=0)
    fat_suv: float = Field(0.3, gt=0)
    bone_suv: float = Field(1.2, gt=0)
    oesophagus_suv: float = Field(1.6, gt=0)
    disease_activity: float = Field(1.0, ge=0, le=5)  #: multiplier of diseased-lung uptake
    fiducial_suv: float = Field(8.0, gt=0)  #: reference sphere on the table beside the patient
    low_dose_ct_slice_mm: float = Field(4.0, ge=2, le=5)
    low_dose_ct_noise_hu: float = Field(35.0, ge=0, le=200)
    weight_kg: float = Field(70.0, gt=20, lt=250)
    height_m: float = Field(1.68, gt=1.0, lt=2.3)
    injected_activity_mbq: float = Field(250.0, gt=0)
    uptake_minutes: float = Field(60.0, gt=0)
