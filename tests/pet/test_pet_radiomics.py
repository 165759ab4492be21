"""PET radiomics on SUV: fixed bin size 0.25 SUV from 0, no HU re-segmentation, petrad names."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.cohort.pipeline import _pet_radiomics_settings, _radiomics_row
from ildrad.config import parse_config
from ildrad.image import Image, Mask


def test_suv_binned_by_quarter_suv_and_named_petrad() -> None:
    rng = np.random.default_rng(5)
    suv = rng.uniform(0.1, 2.9, size=(6, 12, 12))
    image = Image.from_array(suv, spacing=(4.0, 4.0, 4.0), modality="PT", unit="SUV")
    lungs = np.zeros(suv.shape, np.uint8)
    lungs[1:5, 2:10, 2:10] = 1
    # the CT settings (HU range, bin width 25) must not leak into PET radiomics
    config = parse_config({"radiomics": {"families": ["intensity_stats", "intensity_histogram"],
                                         "resegment": {"range": [-1000, -200]}}})
    row = _radiomics_row(image, Mask(lungs, image.grid), _pet_radiomics_settings(config), "petrad", "lung", "suv")
    inside = suv[lungs > 0].astype(np.float32).astype(np.float64)
    levels = np.floor(inside / 0.25) + 1
    assert row["petrad__lung__suv__stat_mean"] == pytest.approx(inside.mean(), rel=1e-6)
    assert row["petrad__lung__suv__ih_mean"] == pytest.approx(levels.mean(), rel=1e-9)
