"""The explicit registry of IBSI feature families (no discovery by naming).

Each family is a module with a ``features`` function. Two calling conventions:

* ``roi`` families take the processed ROI and the radiomics settings:
  ``features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]``;
* ``texture`` families take the discretised ROI cropped to its bounding box:
  ``features(binned, roi, n_bins, settings: TextureSettings) -> dict[str, float]``
  (``binned`` int32 grey levels 1..n_bins inside ``roi``, 0 outside; ``roi`` the intensity
  mask), plus ``morph_roi`` (the morphological mask on the same box) for families that declare
  ``needs_morph_roi`` (GLDZM: distance to the ROI border).

Modules are imported when a family is computed, so that naming a family in a configuration does
not import the others.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType
from typing import Literal

__all__ = ["FAMILIES", "Family", "load"]


@dataclasses.dataclass(frozen=True)
class Family:
    """A feature family: registry name, IBSI tag prefix, module and calling convention."""

    name: str
    prefix: str
    module: str
    kind: Literal["roi", "texture"]
    needs_morph_roi: bool = False


_FAMILY_LIST = (
    Family("morphology", "morph", "ildrad.radiomics.morphology", "roi"),
    Family("local_intensity", "loc", "ildrad.radiomics.local_intensity", "roi"),
    Family("intensity_stats", "stat", "ildrad.radiomics.intensity_stats", "roi"),
    Family("intensity_histogram", "ih", "ildrad.radiomics.intensity_histogram", "roi"),
    Family("intensity_volume_histogram", "ivh", "ildrad.radiomics.intensity_volume_histogram", "roi"),
    Family("glcm", "cm", "ildrad.radiomics.glcm", "texture"),
    Family("glrlm", "rlm", "ildrad.radiomics.glrlm", "texture"),
    Family("glszm", "szm", "ildrad.radiomics.glszm", "texture"),
    Family("gldzm", "dzm", "ildrad.radiomics.gldzm", "texture", needs_morph_roi=True),
    Family("ngtdm", "ngt", "ildrad.radiomics.ngtdm", "texture"),
    Family("ngldm", "ngl", "ildrad.radiomics.ngldm", "texture"),
)

#: Every family by registry name, in output order.
FAMILIES: dict[str, Family] = {family.name: family for family in _FAMILY_LIST}


def load(family: Family) -> ModuleType:
    """Import the module of ``family``."""
    return importlib.import_module(family.module)
