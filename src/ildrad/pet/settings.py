"""Configuration section ``pet``: SUV conversion and PET metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ildrad.settings_base import Section

__all__ = ["PetSettings"]


class PetSettings(Section):
    """Section ``pet`` of the configuration."""

    #: SUV kind written and measured: body weight, lean body mass (SUL), body-surface area, ideal body weight.
    suv: Literal["bw", "lbm", "bsa", "ibw"] = "bw"
    #: Lean-body-mass formula used when ``suv`` is ``lbm``.
    lbm_formula: Literal["james", "janmahasatian"] = "james"
    #: Metabolically active volume: voxels at or above this SUV ...
    mav_threshold_suv: float = Field(2.5, gt=0)
    #: ... or, when set and a blood pool is found, above this multiple of the blood-pool SUVmean.
    mav_blood_pool_multiple: float | None = Field(None, gt=0)
    #: CT densities (HU) of air and of lung tissue for the tissue-fraction correction.
    air_hu: float = -1000.0
    tissue_hu: float = 0.0
    #: CT range (HU, inclusive) of the joint PET/CT high-attenuation region ``haa``.
    haa_range_hu: tuple[float, float] = (-600.0, -250.0)
    #: Fixed bin size (SUV) of PET radiomics.
    radiomics_bin_size_suv: float = Field(0.25, gt=0)
