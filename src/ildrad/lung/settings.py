"""Configuration section ``segment``: lung segmentation, zones and quantitative CT."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ildrad.settings_base import Section

__all__ = ["SegmentSettings"]


class SegmentSettings(Section):
    """Section ``segment`` of the configuration (all HU thresholds inclusive as stated)."""

    #: Voxel size (mm) of the internal grid on which topology decisions are made.
    internal_resolution_mm: float = Field(2.0, gt=0.5, le=4.0)
    #: Aerated lung: smoothed HU below this value (seed region of each lung).
    air_threshold_hu: float = Field(-500.0, lt=0.0)
    #: Lung / soft-tissue boundary at full resolution (half-way between lung and wall).
    boundary_threshold_hu: float = Field(-400.0, lt=0.0)
    #: Widest subpleural band of dense disease recovered between aerated lung and ribs (mm).
    #: Wider gaps are left out: on sharp-kernel phantoms 35 mm let paraspinal muscle in
    #: (blobs 8 mm or more outside the lung); 20 mm does not, at a Dice cost under 0.001.
    dense_band_max_mm: float = Field(20.0, ge=0.0)
    #: Subpleural rind thickness (mm) measured from the lung surface.
    rind_mm: float = Field(10.0, gt=0.0)
    #: High-attenuation area range (HU, both ends inclusive), MESA standard.
    haa_range_hu: tuple[float, float] = (-600.0, -250.0)
    #: Low-attenuation area: HU strictly below this value.
    laa_threshold_hu: float = -950.0
    #: Slice-reduced protocol: ``nine_levels`` (documented 9-level rule) or ``every_nth``.
    slice_reduced_protocol: Literal["nine_levels", "every_nth"] = "nine_levels"
    #: Spacing of the slice-reduced protocol ``every_nth`` (in mm between kept slices).
    slice_reduced_step_mm: float = Field(10.0, gt=0.0)
    #: FVC (% predicted) tie-breaker of the Goh-like stage.
    goh_fvc_threshold_pct: float = 70.0

    @model_validator(mode="after")
    def _check_haa_range(self) -> SegmentSettings:
        low, high = self.haa_range_hu
        if low >= high:
            raise ValueError(f"haa_range_hu must be (low, high) with low < high, got {self.haa_range_hu}")
        return self
