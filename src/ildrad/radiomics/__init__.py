"""IBSI radiomics: image processing, one module per feature family, extractor and names.

``ildrad.radiomics.extract(image, mask, config) -> dict[str, float]`` is the entry point
(:func:`ildrad.radiomics.extractor.extract`); it is imported on first use because the
configuration model itself imports this package's settings.
"""

from __future__ import annotations

from typing import Any

__all__ = ["extract"]


def __getattr__(name: str) -> Any:
    if name == "extract":
        from ildrad.radiomics.extractor import extract

        return extract
    raise AttributeError(f"module 'ildrad.radiomics' has no attribute {name!r}")
