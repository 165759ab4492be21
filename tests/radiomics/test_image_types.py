"""Features of filtered images: names carry the filter, values are those of the response map."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.config import parse_config
from ildrad.image import Image
from ildrad.radiomics.extractor import extract
from ildrad.radiomics.filters import apply_filter


@pytest.fixture(scope="module")
def scan():
    rng = np.random.default_rng(0)
    image = Image.from_array(rng.normal(-700, 150, (18, 28, 28)), spacing=(2.0, 1.0, 1.0), modality="CT", unit="HU")
    roi = np.zeros(image.shape, bool)
    roi[5:13, 7:21, 7:21] = True
    return image, roi


def test_response_map_statistics_inside_the_resegmented_roi(scan) -> None:
    image, roi = scan
    config = parse_config({"radiomics": {"families": ["intensity_stats", "glcm"],
                                         "resegment": {"range": [-1000, -400]},
                                         "image_types": [{"filter": "log", "sigma_mm": 2.0}]}})
    values = extract(image, roi, config)
    spec = config.radiomics.image_types[0]
    whole = apply_filter(image, spec).array
    inside = roi & (image.array >= -1000) & (image.array <= -400)
    assert values["log_s2.0mm_stat_mean"] == pytest.approx(float(whole[inside].mean()), rel=1e-5)
    assert values["log_s2.0mm_stat_max"] == pytest.approx(float(whole[inside].max()), rel=1e-5)
    assert "log_s2.0mm_cm_joint_entr_3D_avg" in values
    assert not any(k.startswith("log_s2.0mm_morph") for k in values)


def test_store_columns_put_the_filter_in_the_image_part(scan) -> None:
    from ildrad.cohort.pipeline import _radiomics_row
    from ildrad.image import Mask

    image, roi = scan
    config = parse_config({"radiomics": {"families": ["intensity_stats"],
                                         "image_types": [{"filter": "wavelet", "wavelet": "coif1",
                                                          "subband": "HHL"}]}})
    row = _radiomics_row(image, Mask(roi.astype(np.uint8), image.grid), config, "rad", "lung", "original")
    assert "rad__lung__original__stat_mean" in row
    assert "rad__lung__wavelet_coif1_HHL_l1__stat_mean" in row
