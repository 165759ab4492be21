"""Features of filtered images (``radiomics.image_types``): IBSI 2 response maps inside the ROI.

For each configured filter the response map is computed on the ROI's bounding box plus the
filter's reach (values there equal those of filtering the whole image,
:func:`ildrad.radiomics.filters.crop.apply_filter_in_mask_box`), and the configured families are
computed on it inside the same ROI, re-segmented on the *original* intensities (a response map has
no HU: the HU range cannot be applied to it). Response maps are discretised with
``radiomics.filtered_discretisation`` (fixed bin number 32 by default); morphology (the same for
every image) and the intensity-volume histogram (needs physical intensities) are not repeated.
Names are ``{filter name}_{IBSI tag}``, e.g. ``log_s3.0mm_stat_mean``.

Order of operations (IBSI 2): when ``radiomics.resample`` is set, the image and the ROI are first
interpolated onto the IBSI grid (the same interpolation, mask threshold and intensity rounding as
for the original image's features), over the ROI's bounding box plus the largest filter reach
(the whole new grid for a filter with a global reach), and the filters are applied to that
interpolated image; the response maps are not interpolated again.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ildrad.image import Image, Mask
from ildrad.radiomics.settings import RadiomicsSettings, ResegmentSettings

__all__ = ["extract_image_types"]

_SKIPPED_ON_RESPONSE_MAPS = ("morphology", "intensity_volume_histogram")


def _resampled(
    image: Image, roi: np.ndarray, settings: RadiomicsSettings
) -> tuple[Image, np.ndarray]:
    """Image and ROI interpolated onto the IBSI grid of ``settings.resample``, over the ROI's
    bounding box plus every configured filter's reach on that grid (clipped to it)."""
    from ildrad.preprocess import _THRESHOLD_ALLOWANCE, bounding_box, ibsi_grid, interpolate_block
    from ildrad.radiomics.filters.crop import crop_grid, filter_reach_vox

    resample = settings.resample
    assert resample is not None
    new_grid, start, step = ibsi_grid(image.grid, resample.spacing_mm)
    reaches = [filter_reach_vox(spec, new_grid.spacing) for spec in settings.image_types]
    shape = np.asarray(new_grid.shape)
    if any(reach is None for reach in reaches):
        lo, hi = np.zeros(3, dtype=int), shape
    else:
        reach = np.max(np.asarray(reaches), axis=0)
        first, last = bounding_box(roi)
        lo = np.maximum(np.floor((first - 1 - start) / step).astype(int) - reach, 0)
        hi = np.minimum(np.ceil((last - start) / step).astype(int) + reach + 1, shape)
    block_shape = tuple(int(n) for n in hi - lo)
    array = np.round(image.array) if settings.round_input_intensities else image.array
    values = interpolate_block(array, start, step, lo, block_shape, resample.interpolation)
    if resample.round_intensities:
        values = np.round(values)
    fraction = interpolate_block(
        roi.astype(np.float64), start, step, lo, block_shape, resample.mask_interpolation
    )
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    grid = crop_grid(new_grid, box)  # type: ignore[arg-type]
    block = Image(values, grid, image.modality, image.unit, image.metadata)
    return block, fraction >= resample.mask_threshold - _THRESHOLD_ALLOWANCE


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
        "resample": None,
        "families": families,
        "resegment": ResegmentSettings(),
        "discretisation": settings.filtered_discretisation,
        "round_input_intensities": False,
        "diagnostics": False,
    })


def extract_image_types(image: Image, roi: np.ndarray, settings: RadiomicsSettings,
                        source: str = "image") -> dict[str, float]:
    """Features of every configured filtered image, names prefixed with the filter's name.

    Response maps are computed one after the other while threads
    (:func:`~ildrad.radiomics.filters.threads.filter_threads`) compute the features of the maps
    already computed (each map's features by one thread: the values do not depend on the
    number of threads)."""
    from ildrad.radiomics.extractor import extract
    from ildrad.radiomics.filters.crop import apply_filter_in_mask_box
    from ildrad.radiomics.filters.threads import filter_threads

    if not settings.image_types:
        return {}
    if settings.resample is not None:
        image, roi = _resampled(image, roi, settings)
        if not roi.any():
            from ildrad.errors import EmptyMaskError

            raise EmptyMaskError(f"{source}: the ROI holds no voxel after interpolation")
    roi = _roi_in_range(image, roi, settings)
    mask = Mask(roi.astype(np.uint8), image.grid)
    response_settings = _response_settings(settings)
    workers = filter_threads()
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    pending: list[tuple[str, Any]] = []
    try:
        for spec in settings.image_types:
            response = apply_filter_in_mask_box(image, mask, spec)
            task = functools.partial(
                extract, response, _crop_to(mask, response), response_settings,
                source=f"{source} ({spec.name})",
            )
            pending.append((spec.name, pool.submit(task) if pool is not None else task()))
            del response, task
        out: dict[str, float] = {}
        for name, result in pending:
            values = result.result() if pool is not None else result
            out.update({f"{name}_{tag}": value for tag, value in values.items()})
        return out
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _crop_to(mask: Mask, response: Image) -> np.ndarray:
    """The ROI on the response map's sub-grid (same spacing and direction, shifted origin)."""
    start = np.rint(mask.grid.physical_to_index(np.asarray(response.grid.origin))).astype(int)
    box = tuple(slice(s, s + n) for s, n in zip(start, response.shape, strict=True))
    return mask.array[box] > 0
