"""Configuration section ``io``: reading scans and masks."""

from __future__ import annotations

from pydantic import Field

from ildrad.settings_base import Section

__all__ = ["IoSettings"]


class IoSettings(Section):
    """Section ``io`` of the configuration.

    Tolerances are in mm unless named otherwise.
    """

    slice_spacing_tolerance: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description=(
            "Largest allowed deviation of a slice gap from the series' nominal spacing, as a "
            "fraction of that spacing; larger deviations are missing slices or non-uniform "
            "spacing."
        ),
    )
    position_tolerance_mm: float = Field(
        0.01,
        gt=0,
        description=(
            "Slices closer than this along the normal are duplicates; smaller in-plane shifts "
            "between slices are never gantry tilt."
        ),
    )
    gantry_tilt_tolerance_degrees: float = Field(
        0.1,
        ge=0,
        lt=5,
        description=(
            "Slice positions sheared against the slice normal by more than this angle (and by more"
            " than position_tolerance_mm) are a gantry-tilt acquisition, which is refused."
        ),
    )
    padding_fill_hu: float = Field(
        -1024.0,
        description=("HU given to CT padding voxels (outside the field of view); never lung."),
    )
    padding_below_hu: float = Field(
        -1500.0,
        lt=-1024.0,
        description=(
            "CT values below this (after rescale) are padding wherever they are (sentinels such as "
            "-2000, -2048, -3024); values between it and -1024 are padding only outside the "
            "reconstruction circle."
        ),
    )
    contour_slice_tolerance: float = Field(
        0.25,
        gt=0,
        le=0.5,
        description=(
            "Largest distance of an RTSTRUCT contour plane from a slice centre, as a fraction of "
            "the slice spacing; farther contours are an error."
        ),
    )
    seg_fraction_threshold: float = Field(
        0.5,
        gt=0,
        lt=1,
        description=(
            "A voxel of a fractional DICOM SEG belongs to the segment when its fraction is at "
            "least this."
        ),
    )
