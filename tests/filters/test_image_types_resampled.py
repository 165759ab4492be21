"""IBSI 2 order of operations: with ``radiomics.resample`` the filters see the interpolated image.

Reference route, built independently of ``extract_image_types``' cropping: interpolate the WHOLE
image and ROI onto the whole IBSI grid, filter the whole interpolated image, then compute the
families inside the interpolated ROI with no further processing. The extractor (which
interpolates and filters only the ROI's box plus the filter reach) must give the same features;
filtering first and interpolating the response map afterwards must not.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ildrad.config import parse_config
from ildrad.image import Image
from ildrad.preprocess import ibsi_grid, interpolate_block
from ildrad.radiomics.extractor import extract
from ildrad.radiomics.filters import apply_filter
from ildrad.radiomics.settings import RadiomicsSettings

FAMILIES = ["intensity_stats", "glcm"]


@pytest.fixture(scope="module")
def scan():
    rng = np.random.default_rng(3)
    values = ndimage.gaussian_filter(rng.normal(0, 200, (14, 40, 44)), (0.5, 1.5, 1.5)) - 700
    image = Image.from_array(np.round(values), spacing=(2.5, 0.8, 0.8), modality="CT", unit="HU")
    roi = np.zeros(image.shape, bool)
    roi[4:10, 12:30, 10:34] = True
    return image, roi


@pytest.mark.parametrize(
    "spec",
    [
        {"filter": "log", "sigma_mm": 1.5, "boundary": "mirror"},
        {"filter": "wavelet", "wavelet": "db2", "subband": "HLH", "boundary": "nearest"},
        {"filter": "mean", "support_vox": 5, "boundary": "periodic"},  # global reach: whole grid
    ],
    ids=["log", "wavelet", "mean-periodic"],
)
def test_filters_apply_after_interpolation(scan, spec) -> None:
    image, roi = scan
    config = parse_config({"radiomics": {
        "families": FAMILIES,
        "resample": {"spacing_mm": [1.0, 1.0, 1.0], "interpolation": "linear"},
        "image_types": [spec],
    }})
    settings = config.radiomics
    name = settings.image_types[0].name
    ours = {k: v for k, v in extract(image, roi, settings).items() if k.startswith(name + "_")}

    grid, start, step = ibsi_grid(image.grid, (1.0, 1.0, 1.0))
    origin = np.zeros(3, dtype=int)
    whole = interpolate_block(image.array, start, step, origin, grid.shape, "linear")
    whole_roi = interpolate_block(roi.astype(float), start, step, origin, grid.shape, "linear")
    interpolated = Image(whole, grid, image.modality, image.unit)
    response = apply_filter(interpolated, settings.image_types[0])
    plain = RadiomicsSettings.model_validate({
        "families": FAMILIES, "discretisation": settings.filtered_discretisation.model_dump(),
        "round_input_intensities": False,
    })
    reference = extract(response, whole_roi >= 0.5 - 1e-9, plain)
    assert len(ours) == len(reference) > 20
    for tag, value in reference.items():
        assert ours[f"{name}_{tag}"] == pytest.approx(value, rel=1e-5, abs=1e-9), tag

    # Filtering on the original grid first (the former order) gives other numbers.
    if spec["filter"] != "mean":
        filtered_first = apply_filter(image, settings.image_types[0])
        moved = interpolate_block(filtered_first.array, start, step, origin, grid.shape, "linear")
        inside = whole_roi >= 0.5 - 1e-9
        assert float(moved[inside].mean()) != pytest.approx(reference["stat_mean"], rel=1e-3)
