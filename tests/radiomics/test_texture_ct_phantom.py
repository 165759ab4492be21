"""IBSI 1 CT phantom, configurations A-D: every texture tag of the reference tables.

The image is processed by :func:`ildrad.preprocess.process` with the shipped
``configs/ibsi/config_<x>.yaml``; the texture families get the discretised intensity ROI and the
morphological mask cropped to their joint bounding box (as the extractor does). A and B are 2D
(tags ``_2D*`` and ``_2_5D*``), C and D 3D. GLDZM must measure distances on the morphological
mask: on the intensity ROI, 20 of A's and 10 of D's GLDZM tags fail.
"""

from __future__ import annotations

import importlib

import pytest
from test_texture_phantom import assert_within_reference, read_reference

from ildrad.radiomics.texture_settings import TextureSettings

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
PREFIXES = {
    "glcm": "cm",
    "glrlm": "rlm",
    "glszm": "szm",
    "gldzm": "dzm",
    "ngtdm": "ngt",
    "ngldm": "ngl",
}


@pytest.fixture(scope="module", params=["a", "b", "c", "d"])
def processed(request, shared_data):
    from ildrad.config import load_config
    from ildrad.io.volume_files import read_image, read_mask
    from ildrad.preprocess import bounding_box, process

    folder = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    image = read_image(folder / "image.nii.gz", "CT", "HU")
    roi = read_mask(folder / "mask.nii.gz").array != 0
    settings = load_config(REPO / "configs" / "ibsi" / f"config_{request.param}.yaml").radiomics
    roi_data, _ = process(image, roi, settings, "ct_phantom")
    first, last = bounding_box(roi_data.intensity | roi_data.morph)
    box = tuple(slice(a, b) for a, b in zip(first, last, strict=True))
    dims = ("2D", "2.5D") if settings.dimensionality == "2D" else ("3D",)
    reference = read_reference(
        shared_data / "ibsi1" / "reference" / f"chest_config_{request.param}.csv"
    )
    return roi_data, box, TextureSettings(dimensions=dims), reference


@pytest.mark.shared_data
@pytest.mark.parametrize("family", list(PREFIXES))
def test_ct_phantom_every_texture_tag_passes(processed, family):
    roi_data, box, settings, reference = processed
    module = importlib.import_module(f"ildrad.radiomics.{family}")
    extra = {"morph_roi": roi_data.morph[box]} if family == "gldzm" else {}
    computed = module.features(
        roi_data.binned[box], roi_data.intensity[box], roi_data.n_bins, settings, **extra
    )
    prefix = PREFIXES[family] + "_"
    expected = {tag: ref for tag, ref in reference.items() if tag.startswith(prefix)}
    assert expected, f"no {prefix} tag in the reference table"
    assert set(computed) == set(expected), set(computed) ^ set(expected)
    failures = []
    for tag, (value, tolerance) in sorted(expected.items()):
        try:
            assert_within_reference(tag, computed[tag], value, tolerance)
        except AssertionError as err:
            failures.append(str(err))
    assert not failures, "\n".join(failures)
