"""Configuration section ``pet``: SUV conversion and PET metrics."""

from __future__ import annotations

from typing import Literal

from ildrad.settings_base import Section

__all__ = ["PetSettings"]


class PetSettings(Section):
    """Section ``pet`` of the configuration."""

    #: SUV kind written and measured: body weight, lean body mass (SUL), body-surface area, ideal body weight.
    suv: Literal["bw", "lbm", "bsa", "ibw"] = "bw"
    #: Lean-body-mass formula used when ``suv`` is ``lbm``.
    lbm_formula: Literal["james", "janmahasatian"] = "james"
