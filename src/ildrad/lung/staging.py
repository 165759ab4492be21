"""Goh-like staging of SSc-ILD: limited vs extensive (Goh et al. 2008, AJRCCM 177:1248).

Rule (``../shared/DOMAIN.md``): extent < 10 % -> limited; extent > 30 % -> extensive; 10-30 %
inclusive ("indeterminate") -> FVC % predicted >= 70 -> limited, < 70 -> extensive, and no stage
when FVC is unknown. Goh's thresholds were set on *visual* HRCT extent; applied to ildrad's
automated extent the stage is named ``quantitative_goh_stage`` and its source is stored. A visual
extent given by the user takes precedence and names the stage ``goh_stage``.
"""

from __future__ import annotations

import dataclasses
import math

from ildrad.errors import InputError

__all__ = ["GohStage", "goh_like_stage"]

LIMITED = "limited"
EXTENSIVE = "extensive"


@dataclasses.dataclass(frozen=True)
class GohStage:
    """A stage, the extent (percent) it was read from and whether that extent was visual."""

    stage: str | None  #: "limited", "extensive" or None (indeterminate extent without FVC)
    extent_pct: float
    extent_source: str  #: "visual" or "quantitative"
    fvc_pct: float | None
    rule: str  #: which branch decided: "extent<10", "extent>30", "fvc>=70", "fvc<70", "no_fvc"

    @property
    def name(self) -> str:
        """``goh_stage`` for a visual extent, ``quantitative_goh_stage`` otherwise."""
        return "goh_stage" if self.extent_source == "visual" else "quantitative_goh_stage"


def goh_like_stage(
    quantitative_extent_pct: float | None,
    fvc_pct: float | None = None,
    visual_extent_pct: float | None = None,
    fvc_threshold_pct: float = 70.0,
) -> GohStage:
    """Stage from an extent in percent of lung volume (visual preferred) and FVC % predicted."""
    if visual_extent_pct is not None and not _missing(visual_extent_pct):
        extent, source = float(visual_extent_pct), "visual"
    elif quantitative_extent_pct is not None and not _missing(quantitative_extent_pct):
        extent, source = float(quantitative_extent_pct), "quantitative"
    else:
        raise InputError("Goh-like staging needs an ILD extent (quantitative or visual), got none")
    if not 0.0 <= extent <= 100.0:
        raise InputError(f"ILD extent must be a percentage 0..100, got {extent}")
    fvc = None if fvc_pct is None or _missing(fvc_pct) else float(fvc_pct)
    if fvc is not None and not 0.0 < fvc < 250.0:
        raise InputError(f"FVC must be a percentage of predicted (0..250), got {fvc}")
    if extent < 10.0:
        return GohStage(LIMITED, extent, source, fvc, "extent<10")
    if extent > 30.0:
        return GohStage(EXTENSIVE, extent, source, fvc, "extent>30")
    if fvc is None:
        return GohStage(None, extent, source, fvc, "no_fvc")
    if fvc >= fvc_threshold_pct:
        return GohStage(LIMITED, extent, source, fvc, f"fvc>={fvc_threshold_pct:g}")
    return GohStage(EXTENSIVE, extent, source, fvc, f"fvc<{fvc_threshold_pct:g}")


def _missing(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
