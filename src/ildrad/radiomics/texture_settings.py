"""Settings of the six IBSI texture families (GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM).

The defaults are the IBSI 1 reference settings used for the digital phantom and the CT-phantom
configurations A-E: symmetric GLCM at Chebyshev distance 1, NGTDM/NGLDM neighbourhood at
Chebyshev distance 1, NGLDM coarseness 0, zones linked at Chebyshev distance 1 (8-connected in
2D, 26-connected in 3D).

Aggregation (IBSI 1 reference manual, section "Feature aggregation") is chosen by
``dimensions`` and, for GLCM and GLRLM, ``direction_aggregation``. Tags end as in the IBSI
reference tables:

======================  =========================================================  ===========
dimension / method      meaning                                                   tag suffix
======================  =========================================================  ===========
2D, ``avg``             one matrix per slice and direction, features averaged      ``_2D_avg``
2D, ``comb``            directions merged per slice, features averaged over slices ``_2D_comb``
2.5D, ``avg``           slices merged per direction, features averaged             ``_2_5D_avg``
2.5D, ``comb``          all slices and directions merged into one matrix           ``_2_5D_comb``
3D, ``avg``             one matrix per 3D direction (13), features averaged        ``_3D_avg``
3D, ``comb``            the 13 directional matrices merged                         ``_3D_comb``
======================  =========================================================  ===========

GLSZM, GLDZM, NGTDM and NGLDM have no directions: ``_2D`` averages the per-slice features,
``_2_5D`` merges the per-slice matrices, ``_3D`` uses one volumetric matrix.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ildrad.settings_base import Section

__all__ = ["TEXTURE_FAMILIES", "TextureFamily", "TextureSettings"]

TextureFamily = Literal["glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm"]
TextureDimension = Literal["2D", "2.5D", "3D"]
DirectionAggregation = Literal["avg", "comb"]

#: Every texture family, in the order IBSI 1 lists them.
TEXTURE_FAMILIES: tuple[TextureFamily, ...] = ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")


class TextureSettings(Section):
    """Which texture features to compute and with which IBSI parameters."""

    families: tuple[TextureFamily, ...] = Field(
        default=TEXTURE_FAMILIES, description="Texture families to compute."
    )
    dimensions: tuple[TextureDimension, ...] = Field(
        default=("3D",),
        description="2D (per slice, features averaged), 2.5D (slices merged) and/or 3D.",
    )
    direction_aggregation: tuple[DirectionAggregation, ...] = Field(
        default=("avg", "comb"),
        description="GLCM/GLRLM: 'avg' averages features over directions (and slices); "
        "'comb' merges the directional matrices first.",
    )
    glcm_distance: int = Field(
        default=1, ge=1, description="GLCM neighbour offset, Chebyshev distance in voxels."
    )
    glcm_symmetric: bool = Field(
        default=True, description="Count each voxel pair in both orders (IBSI: symmetric)."
    )
    ngtdm_distance: int = Field(
        default=1, ge=1, description="NGTDM neighbourhood radius, Chebyshev distance in voxels."
    )
    ngldm_distance: int = Field(
        default=1, ge=1, description="NGLDM neighbourhood radius, Chebyshev distance in voxels."
    )
    ngldm_coarseness: int = Field(
        default=0,
        ge=0,
        description="NGLDM coarseness alpha: a neighbour is dependent when |g_j - g_i| <= alpha.",
    )
    zone_linkage_distance: Literal[1] = Field(
        default=1,
        description="GLSZM/GLDZM linkage (Chebyshev) distance; only 1 (8-connected in 2D, "
        "26-connected in 3D) is implemented, the value every IBSI configuration uses.",
    )

    @field_validator("families")
    @classmethod
    def _distinct_families(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate entries in {list(value)}")
        return value

    @field_validator("dimensions", "direction_aggregation")
    @classmethod
    def _distinct_nonempty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate entries in {list(value)}")
        if not value:
            raise ValueError("must list at least one entry")
        return value
