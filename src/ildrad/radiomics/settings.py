"""Configuration section ``radiomics``: IBSI 1 image processing and feature families.

Every field maps to a step of the IBSI 1 processing chain (reference manual, chapter 2):
interpolation (``resample``), re-segmentation (``resegment``), discretisation
(``discretisation`` for texture and the intensity histogram, ``ivh`` for the intensity-volume
histogram) and the families to compute. Spacings are given in array order (z, y, x), in mm, as
everywhere in ildrad; ``null`` for z keeps the slice spacing (2D, in-plane resampling).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ildrad.radiomics.filters.spec import ImageTypeList
from ildrad.radiomics.texture_settings import TextureSettings
from ildrad.settings_base import Section

__all__ = [
    "DiscretisationSettings",
    "IvhSettings",
    "RadiomicsSettings",
    "ResampleSettings",
    "ResegmentSettings",
]

Interpolation = Literal["nearest", "linear", "cubic"]


class ResampleSettings(Section):
    """Interpolation to a new voxel spacing on the IBSI grid (centre-aligned, IBSI 1 2.4)."""

    spacing_mm: tuple[float | None, float | None, float | None] = Field(
        description="new spacing (z, y, x) in mm; null keeps an axis as it is"
    )
    interpolation: Interpolation = "linear"
    round_intensities: bool = Field(
        False, description="round interpolated intensities to the nearest integer (CT in HU)"
    )
    mask_interpolation: Interpolation = "linear"
    mask_threshold: float = Field(0.5, gt=0.0, le=1.0, description="partial-volume threshold")

    @model_validator(mode="after")
    def _positive(self) -> ResampleSettings:
        if any(s is not None and s <= 0 for s in self.spacing_mm):
            raise ValueError(f"spacing_mm must be positive or null, got {self.spacing_mm}")
        return self


class ResegmentSettings(Section):
    """Re-segmentation of the intensity mask (IBSI 1 2.5): a range, then outlier filtering."""

    range: tuple[float | None, float | None] | None = Field(
        None, description="[lower, upper] intensity bounds (inclusive); null for an open side"
    )
    outlier_sd: float | None = Field(
        None, gt=0.0, description="drop intensities beyond mean +/- this many SD (3 in IBSI)"
    )


class DiscretisationSettings(Section):
    """Intensity discretisation (IBSI 1 2.7) for texture and the intensity histogram."""

    method: Literal["fixed_bin_size", "fixed_bin_number"] = "fixed_bin_size"
    bin_size: float | None = Field(25.0, gt=0.0)
    bin_number: int | None = Field(None, ge=1)
    lower_bound: float | None = Field(
        None,
        description="fixed bin size: lower edge of bin 1; default the re-segmentation lower "
        "bound, else the minimum intensity in the ROI",
    )

    @model_validator(mode="after")
    def _complete(self) -> DiscretisationSettings:
        if self.method == "fixed_bin_size" and self.bin_size is None:
            raise ValueError("fixed_bin_size needs bin_size")
        if self.method == "fixed_bin_number" and self.bin_number is None:
            raise ValueError("fixed_bin_number needs bin_number")
        return self


class IvhSettings(Section):
    """Discretisation of the intensity-volume histogram (IBSI 1 4.5)."""

    method: Literal["none", "fixed_bin_size", "fixed_bin_number"] = Field(
        "none", description="none: the intensities themselves (integer-valued images such as HU)"
    )
    bin_size: float | None = Field(None, gt=0.0)
    bin_number: int | None = Field(None, ge=2)
    use_resegment_range: bool = Field(
        True, description="take the intensity range from the re-segmentation range when set"
    )

    @model_validator(mode="after")
    def _complete(self) -> IvhSettings:
        if self.method == "fixed_bin_size" and self.bin_size is None:
            raise ValueError("fixed_bin_size needs bin_size")
        if self.method == "fixed_bin_number" and self.bin_number is None:
            raise ValueError("fixed_bin_number needs bin_number")
        return self


class RadiomicsSettings(Section):
    """Section ``radiomics`` of the configuration."""

    dimensionality: Literal["2D", "3D"] = Field(
        "3D", description="2D: texture per slice and in-plane resampling only"
    )
    round_input_intensities: bool = Field(
        False, description="round the image to integers before processing (IBSI advice for CT)"
    )
    resample: ResampleSettings | None = None
    resegment: ResegmentSettings = Field(default_factory=ResegmentSettings)
    discretisation: DiscretisationSettings = Field(default_factory=DiscretisationSettings)
    ivh: IvhSettings = Field(default_factory=IvhSettings)
    families: tuple[str, ...] | None = Field(
        None,
        description="families to compute (registry names); null for all registered. A texture "
        "family is computed when selected here and listed in texture.families",
    )
    texture: TextureSettings = Field(default_factory=TextureSettings)
    image_types: ImageTypeList = Field(
        default_factory=list,
        description="filtered images (IBSI 2 filters) whose features are computed besides the "
        "original image's; names are prefixed with the filter and its parameters",
    )
    filtered_discretisation: DiscretisationSettings = Field(
        default_factory=lambda: DiscretisationSettings(method="fixed_bin_number", bin_size=None, bin_number=32),
        description="discretisation of filtered images (response maps have no physical unit)",
    )
    diagnostics: bool = Field(
        False,
        description="also output the IBSI diagnostic values of each processing step "
        "(needs interpolation of the whole image, not only around the ROI)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> RadiomicsSettings:
        if self.dimensionality == "2D" and self.resample is not None and self.resample.spacing_mm[0] is not None:
            raise ValueError("2D computation resamples in-plane only: resample.spacing_mm z must be null")
        if self.families is not None:
            from ildrad.radiomics.registry import FAMILIES

            unknown = sorted(set(self.families) - set(FAMILIES))
            if unknown:
                raise ValueError(f"unknown families {unknown}; known: {sorted(FAMILIES)}")
        return self
