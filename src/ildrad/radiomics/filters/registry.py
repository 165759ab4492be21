"""The filter registry: response maps of an image for radiomics on filtered images.

``apply_filter(image, spec)`` returns the response map on the image's grid (unit ``none``).
Filters are looked up in the explicit registry :data:`FILTERS`, keyed by the ``filter:`` name of
their settings model (:mod:`ildrad.radiomics.filters.spec`). Reference: Depeursinge et al.,
"Standardised convolutional filtering for radiomics" (IBSI 2), arXiv:2006.05470.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ildrad.image import Image, Unit
from ildrad.radiomics.filters.gabor import gabor_filter
from ildrad.radiomics.filters.laplacian_of_gaussian import log_filter
from ildrad.radiomics.filters.laws import laws_filter
from ildrad.radiomics.filters.mean import mean_filter
from ildrad.radiomics.filters.simoncelli import simoncelli_filter
from ildrad.radiomics.filters.spec import FilterSpec, ImageTypeList
from ildrad.radiomics.filters.wavelets import wavelet_filter

__all__ = ["FILTERS", "FilterSpec", "ImageTypeList", "apply_filter", "filter_array"]

log = logging.getLogger(__name__)

#: By ``filter:`` name: ``f(array (z, y, x), spacing (z, y, x) mm, spec) -> response``.
FILTERS: dict[str, Callable[[np.ndarray, tuple[float, float, float], FilterSpec], np.ndarray]] = {
    "mean": mean_filter,
    "log": log_filter,
    "laws": laws_filter,
    "gabor": gabor_filter,
    "wavelet": wavelet_filter,
    "simoncelli": simoncelli_filter,
}


def filter_array(
    array: np.ndarray, spacing: tuple[float, float, float], spec: FilterSpec
) -> np.ndarray:
    """Response map (float64, same shape) of a (z, y, x) array with voxel spacing in mm."""
    return FILTERS[spec.filter](np.asarray(array, dtype=np.float64), tuple(spacing), spec)


def apply_filter(image: Image, spec: FilterSpec) -> Image:
    """Response map of ``image`` for one filter, on the same grid; its unit is ``none``."""
    log.debug("filtering %s image with %s", "x".join(map(str, image.shape)), spec.name)
    response = filter_array(image.array, image.spacing, spec)
    return image.with_array(response.astype(np.float32), unit=Unit.NONE)
