"""``extract``: IBSI radiomics of one image inside one ROI, as a flat mapping of IBSI tags.

The chain: IBSI 1 image processing (:func:`ildrad.preprocess.process`), then every configured
family of :data:`ildrad.radiomics.registry.FAMILIES` in registry order. Diagnostic values of the
processing steps come first when ``radiomics.diagnostics`` is set.
"""

from __future__ import annotations

import logging

import numpy as np

from ildrad.config import Config
from ildrad.errors import InputError
from ildrad.image import Image, Mask, assert_same_grid
from ildrad.preprocess import ProcessedRoi, bounding_box, process
from ildrad.radiomics import registry
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["extract"]

log = logging.getLogger(__name__)


def extract(
    image: Image,
    mask: Mask | np.ndarray,
    config: Config | RadiomicsSettings | None = None,
    label: int | None = None,
    source: str = "image",
) -> dict[str, float]:
    """IBSI features of ``image`` inside ``mask`` (label ``label``, or every non-zero voxel).

    ``config`` is a whole :class:`~ildrad.config.Config` (its ``radiomics`` section is used) or
    the section itself; ``None`` means the defaults. ``source`` names the input in error
    messages. Keys are IBSI tags (``morph_volume``, ``stat_mean``, ``cm_joint_entr_3D_avg``, ...).
    """
    settings = _settings(config)
    if isinstance(mask, Mask):
        assert_same_grid(mask, image, f"{source}: mask and image")
        roi = mask.binary(label)
    else:
        roi = np.asarray(mask) != 0 if label is None else np.asarray(mask) == label
    processed, diagnostics = process(image, roi, settings, source)
    out = dict(diagnostics)
    for family in _selected(settings):
        module = registry.load(family)
        if family.kind == "roi":
            values = module.features(processed, settings)
        else:
            values = _texture(module, family, processed, settings)
        log.debug("%s: %d features", family.name, len(values))
        out.update(values)
    if settings.image_types:
        from ildrad.radiomics.image_types import extract_image_types

        out.update(extract_image_types(image, roi, settings, source))
    return out


def _settings(config: Config | RadiomicsSettings | None) -> RadiomicsSettings:
    if config is None:
        return RadiomicsSettings()
    if isinstance(config, Config):
        return config.radiomics
    if isinstance(config, RadiomicsSettings):
        return config
    raise InputError(f"config must be a Config or RadiomicsSettings, got {type(config).__name__}")


def _selected(settings: RadiomicsSettings) -> list[registry.Family]:
    """Families to compute, in registry order."""
    chosen = registry.FAMILIES if settings.families is None else settings.families
    return [
        family
        for name, family in registry.FAMILIES.items()
        if name in chosen and (family.kind == "roi" or name in settings.texture.families)
    ]


def _texture(module, family: registry.Family, roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """Call a texture family on the discretised intensity mask cropped to its bounding box."""
    first, last = bounding_box(roi.intensity | roi.morph)
    box = tuple(slice(a, b) for a, b in zip(first, last))
    arguments = {"morph_roi": roi.morph[box]} if family.needs_morph_roi else {}
    return module.features(roi.binned[box], roi.intensity[box], roi.n_bins, settings.texture, **arguments)
