"""IBSI 2 convolutional filters: response maps of an image for radiomics on filtered images.

The registry, ``apply_filter`` and ``filter_array`` live in
:mod:`ildrad.radiomics.filters.registry` and are imported from here on first use, so that
reading a configuration (which needs only :mod:`ildrad.radiomics.filters.spec`) does not load
every filter and ``scipy.fft``.
Reference: Depeursinge et al., "Standardised convolutional filtering for radiomics" (IBSI 2),
arXiv:2006.05470.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FILTERS", "FilterSpec", "ImageTypeList", "apply_filter", "filter_array"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ildrad.radiomics.filters import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
