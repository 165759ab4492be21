"""Features of filtered images (``radiomics.image_types``): IBSI 2 response maps inside the ROI.

For each configured filter the response map is computed on the ROI's bounding box plus the
filter's reach (values there equal those of filtering the whole image,
:func:`ildrad.radiomics.filters.crop.apply_filter_in_mask_box`), and the configured families are
computed on it inside the same ROI, re-segmented on the *original* intensities (a response map has
no HU: the HU range cannot be applied to it). Response maps are discretised with
``radiomics.filtered_discretisation`` (fixed bin number 32 by default); morphology (the same for
every image) and the intensity-volume histogram (needs physical intensities) are not repeated.
Names are ``{filter name}_{IBSI tag}``, e.g. ``log_s3.0mm_stat_mean``.

Order of operations: the filter is applied on the image's own grid; when ``radiomics.resample``
is set, the response map is then interpolated with the ROI (IBSI 2 filters the interpolated image
instead; both orders agree for isotropic input grids without resampling).
"""

from __future__ import annotations

import numpy as np

from ildrad.image import Image, Mask
from ildrad.radiomics.settings import RadiomicsSettings, ResegmentSettings

__all__ = ["extract_image_types"]

_SKIPPED_ON_RESPONSE_MAPS = ("morphology", "intensity_volume_histogram")


def _roi_in_range(image: Image, roi: np.ndarray, settings: RadiomicsSettings) -> np.ndarray:
    bounds = settings.resegment.range
    if bounds is None:
        return roi
    lower, upper = bounds
    values = image.array
    keep = roi.copy()
    if lower is not None:
        keep &= values >= lower
    if upper is not None:
        keep &= values <= upper
    return keep


def _response_settings(settings: RadiomicsSettings) -> RadiomicsSettings:
    from ildrad.radiomics.registry import FAMILIES

    families = tuple(name for name in (settings.families or tuple(FAMILIES)) if name not in _SKIPPED_ON_RESPONSE_MAPS)
    return settings.model_copy(update={
        "image_types": [],
        "families": families,
        "resegment": ResegmentSettings(),
        "discretisation": settings.filtered_discretisation,
        "round_input_intensities": False,
        "diagnostics": False,
    })


def extract_image_types(image: Image, roi: np.ndarray, settings: RadiomicsSettings,
                        source: str = "image") -> dict[str, float]:
    """Features of every configured filtered image, names prefixed with the filter's name."""
    from ildrad.radiomics.extractor import extract
    from ildrad.radiomics.filters.crop import apply_filter_in_mask_box

    if not settings.image_types:
        return {}
    roi = _roi_in_range(image, roi, settings)
    mask = Mask(roi.astype(np.uint8), image.grid)
    response_settings = _response_settings(settings)
    out: dict[str, float] = {}
    for spec in settings.image_types:
        response = apply_filter_in_mask_box(image, mask, spec)
        sub_roi = _crop_to(mask, response)
        values = extract(response, sub_roi, response_settings, source=f"{source} ({spec.name})")
        out.update({f"{spec.name}_{tag}": value for tag, value in values.items()})
    return out


def _crop_to(mask: Mask, response: Image) -> np.ndarray:
    """The ROI on the response map's sub-grid (same spacing and direction, shifted origin)."""
    start = np.rint(mask.grid.physical_to_index(np.asarray(response.grid.origin))).astype(int)
    box = tuple(slice(s, s + n) for s, n in zip(start, response.shape, strict=True))
    return mask.array[box] > 0
