"""Filtering the mask's bounding box plus the filter's reach equals whole-image filtering there."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from ildrad.errors import EmptyMaskError
from ildrad.image import Image, Mask
from ildrad.radiomics.filters import apply_filter
from ildrad.radiomics.filters.crop import apply_filter_in_mask_box, filter_reach_vox
from ildrad.radiomics.filters.spec import FilterSpec

CASES = [
    {"filter": "mean", "support_vox": 5, "boundary": "zero"},
    {"filter": "log", "sigma_mm": 2.0, "boundary": "mirror"},
    {"filter": "log", "sigma_mm": 2.0, "boundary": "nearest", "dims": "2d"},
    {
        "filter": "laws",
        "kernel": "E5W5R5",
        "rotation_invariance": True,
        "energy_delta_vox": 2,
        "boundary": "mirror",
    },
    {"filter": "wavelet", "wavelet": "coif1", "subband": "HLH", "level": 2, "boundary": "mirror"},
    {
        "filter": "wavelet",
        "wavelet": "db2",
        "subband": "LH",
        "level": 3,
        "boundary": "zero",
        "dims": "2d",
    },
    {
        "filter": "gabor",
        "sigma_mm": 2.0,
        "lambda_mm": 3.0,
        "gamma": 1.0,
        "support_vox": 9,
        "boundary": "mirror",
    },
    {
        "filter": "wavelet",
        "wavelet": "haar",
        "subband": "HHH",
        "boundary": "periodic",
    },  # global: no crop
]


@pytest.mark.parametrize("settings", CASES, ids=lambda s: f"{s['filter']}-{s['boundary']}")
@pytest.mark.parametrize(
    "box",
    [(slice(14, 20), slice(10, 18), slice(12, 22)), (slice(0, 5), slice(25, 32), slice(3, 9))],
)
def test_cropped_equals_whole_inside_the_box(settings: dict, box: tuple[slice, ...]) -> None:
    spec = TypeAdapter(FilterSpec).validate_python(settings)
    rng = np.random.default_rng(7)
    image = Image.from_array(
        rng.normal(size=(34, 36, 38)), spacing=(1.5, 1.0, 1.0), origin=(10.0, 20.0, 30.0)
    )
    labels = np.zeros(image.shape, dtype=np.uint8)
    labels[box] = 1
    mask = Mask(labels, image.grid)
    whole = apply_filter(image, spec)
    cropped = apply_filter_in_mask_box(image, mask, spec)
    start = np.rint(image.grid.physical_to_index(np.asarray(cropped.origin))).astype(int)
    inside = tuple(slice(s.start - a, s.stop - a) for s, a in zip(box, start, strict=True))
    np.testing.assert_allclose(cropped.array[inside], whole.array[box], rtol=1e-5, atol=1e-5)
    if filter_reach_vox(spec, image.spacing) is not None:
        assert np.prod(cropped.shape) < np.prod(image.shape)


def test_empty_mask_is_an_error() -> None:
    image = Image.from_array(np.ones((4, 4, 4)))
    spec = TypeAdapter(FilterSpec).validate_python({"filter": "mean", "support_vox": 3})
    with pytest.raises(EmptyMaskError):
        apply_filter_in_mask_box(image, Mask(np.zeros((4, 4, 4), dtype=np.uint8), image.grid), spec)
