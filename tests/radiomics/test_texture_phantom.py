"""IBSI 1 digital phantom: every texture tag of the reference table, every aggregation variant.

Reference: ``../shared/data/ibsi1/reference/dig_phantom.csv`` (IBSI consensus values). The
phantom is already discrete (bin size 1 from 1, no resampling); its mask excludes some voxels
(among them the only voxel of level 9), so the ROI holds levels 1, 3, 4, 6 and Ng = 6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ildrad.radiomics import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from ildrad.radiomics.texture_settings import TextureSettings

FAMILIES = {"cm": glcm, "rlm": glrlm, "szm": glszm, "dzm": gldzm, "ngt": ngtdm, "ngl": ngldm}
ALL_VARIANTS = TextureSettings(dimensions=("2D", "2.5D", "3D"))


def read_reference(path) -> dict[str, tuple[float, float]]:
    """Tag -> (value, tolerance) of an IBSI reference table (rows without a value skipped)."""
    table = {}
    for line in path.read_text().splitlines()[1:]:
        value, tolerance, tag = line.split(";")
        if value:
            table[tag] = (float(value), float(tolerance or 0.0))
    return table


def assert_within_reference(tag: str, value: float, reference: float, tolerance: float) -> None:
    """IBSI pass rule: |value - ref| <= tol + half a unit of the reference's 3rd digit."""
    half_unit = 0.0 if reference == 0 else 0.5 * 10 ** (math.floor(math.log10(abs(reference))) - 2)
    if not abs(value - reference) <= tolerance + half_unit:
        raise AssertionError(
            f"{tag}: computed {value!r}, reference {reference} +- {tolerance} (+{half_unit})"
        )


@pytest.fixture(scope="module")
def phantom(shared_data):
    import SimpleITK as sitk

    folder = shared_data / "ibsi1" / "digital_phantom"
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "image.nii.gz")))
    roi = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "mask.nii.gz"))) > 0
    binned = np.where(roi, image, 0).astype(np.int32)
    reference = read_reference(shared_data / "ibsi1" / "reference" / "dig_phantom.csv")
    return binned, roi, reference


@pytest.mark.shared_data
@pytest.mark.parametrize("prefix", list(FAMILIES))
def test_digital_phantom_every_tag_passes(phantom, prefix):
    binned, roi, reference = phantom
    computed = FAMILIES[prefix].features(binned, roi, 6, ALL_VARIANTS)
    expected = {tag: ref for tag, ref in reference.items() if tag.startswith(prefix + "_")}
    assert expected, f"no {prefix}_ tag in the reference table"
    assert set(computed) == set(expected), set(computed) ^ set(expected)
    failures = []
    for tag, (value, tolerance) in sorted(expected.items()):
        try:
            assert_within_reference(tag, computed[tag], value, tolerance)
        except AssertionError as err:
            failures.append(str(err))
    assert not failures, "\n".join(failures)


@pytest.mark.shared_data
def test_digital_phantom_tag_counts(phantom):
    """25 + 16 features x 6 variants, 16 + 16 + 5 + 17 features x 3 dimensions = 408 tags."""
    binned, roi, _ = phantom
    n_tags = sum(len(m.features(binned, roi, 6, ALL_VARIANTS)) for m in FAMILIES.values())
    assert n_tags == 25 * 6 + 16 * 6 + 16 * 3 + 16 * 3 + 5 * 3 + 17 * 3 == 408
