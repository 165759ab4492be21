"""Configuration section ``run``: which series are analysed, and how cohort runs execute."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ildrad.settings_base import Section

__all__ = ["RunSettings", "SeriesSelection"]


class SeriesSelection(Section):
    """Rule choosing one CT series per study (documented in ``ildrad.cohort.index``)."""

    #: Fewest slices of an analysable CT volume.
    min_slices: int = Field(20, ge=2)
    #: Thickest slices accepted for analysis (mm): 6 mm admits the 3-6 mm low-dose CT of a PET/CT.
    max_slice_thickness_mm: float = Field(6.0, gt=0)
    #: Patient positions preferred, in order (DICOM PatientPosition codes).
    position_preference: list[str] = ["HFS", "FFS"]
    #: Case-insensitive regular expressions of kernels, most preferred first; a kernel matching
    #: none ranks after all of them. Smooth/standard kernels first: densitometry and radiomics are
    #: more reproducible on them than on edge-enhancing lung kernels.
    kernel_preference: list[str] = [
        r"^STANDARD$", r"^SOFT", r"^B[1-4]\d", r"^Br[1-4]\d", r"^I[1-4]\d", r"^FC0\d", r"^FC1\d",
        r"^YA$", r"^B$", r"^C$",
    ]
    #: Series descriptions matching this (case-insensitive regex) are expiratory acquisitions.
    expiratory_pattern: str = r"\bexp(ir|iration|iratory)?\b|\bexhal"
    #: Nearest visit (pulmonary function) joined to a scan when within this many days.
    visit_window_days: int = Field(90, ge=0)


class RunSettings(Section):
    """Section ``run`` of the configuration."""

    selection: SeriesSelection = Field(default_factory=SeriesSelection)
    #: Stages of the per-scan pipeline after reading: lung analysis (segmentation, zones, QCT,
    #: flags, PET metrics of paired PET) and radiomics (CT, and PET on SUV).
    stages: tuple[Literal["lungs", "radiomics"], ...] = ("lungs", "radiomics")
    #: Keep lung, zone and rind masks and the QC picture of each CT beside the store.
    keep_masks: bool = True
