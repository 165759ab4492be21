"""IBSI 1 reference values: the digital phantom and CT-phantom configurations A-D, end to end.

Each configuration is extracted once from the shipped ``configs/ibsi/*.yaml`` through
:func:`ildrad.radiomics.extract` (all families), then compared with
``../shared/data/ibsi1/reference/*.csv`` (IBSI consensus values and tolerances). The processing
diagnostics (``*_init_img`` ... ``*_reseg_roi``) and the non-texture families are checked tag by
tag; the end-to-end test checks every tag of the table at once and reports all failures.
Configuration E has no reference here on purpose: it is checked for completeness and for the
consistency of its processing steps.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pytest

from ildrad.config import load_config
from ildrad.io.volume_files import read_image, read_mask
from ildrad.radiomics import extract
from ildrad.radiomics.ibsi_reference import (
    ReferenceMismatch,
    check_reference_value,
    read_reference_table,
)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "ibsi"
TEXTURE_PREFIXES = ("cm_", "rlm_", "szm_", "dzm_", "ngt_", "ngl_")
DIAGNOSTIC_SUFFIXES = ("_init_img", "_interp_img", "_init_roi", "_interp_roi", "_reseg_roi")
CASES = {
    "digital_phantom": ("digital_phantom", "dig_phantom.csv"),
    "a": ("ct_phantom/nifti", "chest_config_a.csv"),
    "b": ("ct_phantom/nifti", "chest_config_b.csv"),
    "c": ("ct_phantom/nifti", "chest_config_c.csv"),
    "d": ("ct_phantom/nifti", "chest_config_d.csv"),
}


@cache
def _extracted(data_root: Path, case: str) -> dict[str, float]:
    folder = data_root / "ibsi1" / (CASES[case][0] if case in CASES else "ct_phantom/nifti")
    config_file = CONFIGS / ("digital_phantom.yaml" if case == "digital_phantom" else f"config_{case}.yaml")
    image = read_image(folder / "image.nii.gz", modality="CT", unit="HU")
    mask = read_mask(folder / "mask.nii.gz")
    return extract(image, mask, load_config(config_file))


def _reference(data_root: Path, case: str) -> dict[str, tuple[float, float]]:
    return read_reference_table(data_root / "ibsi1" / "reference" / CASES[case][1])


def _failures(computed: dict[str, float], reference: dict[str, tuple[float, float]]) -> list[str]:
    failures = []
    for tag, (value, tolerance) in reference.items():
        if tag not in computed:
            failures.append(f"{tag}: not computed")
            continue
        try:
            check_reference_value(tag, computed[tag], value, tolerance)
        except ReferenceMismatch as err:
            failures.append(str(err))
    return failures


def _own_family(tag: str) -> bool:
    return not tag.startswith(TEXTURE_PREFIXES)


@pytest.mark.shared_data
@pytest.mark.parametrize("case", list(CASES))
def test_processing_and_intensity_families_pass(shared_data, case):
    reference = {tag: ref for tag, ref in _reference(shared_data, case).items() if _own_family(tag)}
    assert len(reference) > 60
    failures = _failures(_extracted(shared_data, case), reference)
    assert not failures, "\n".join(failures)


@pytest.mark.shared_data
@pytest.mark.parametrize("case", list(CASES))
def test_whole_reference_table_passes_end_to_end(shared_data, case):
    reference = _reference(shared_data, case)
    computed = _extracted(shared_data, case)
    failures = _failures(computed, reference)
    passed = len(reference) - len(failures)
    assert not failures, f"{passed}/{len(reference)} pass; failures:\n" + "\n".join(failures)


@pytest.mark.shared_data
@pytest.mark.parametrize("case", list(CASES))
def test_tags_without_consensus_are_still_computed(shared_data, case):
    """OMBB, MVEE and IVH AUC have no IBSI consensus value; they are computed all the same."""
    computed = _extracted(shared_data, case)
    for tag in ("morph_vol_dens_ombb", "morph_area_dens_ombb", "morph_vol_dens_mvee", "morph_area_dens_mvee", "ivh_auc"):
        assert math.isfinite(computed[tag]), tag
    # every box / ellipsoid encloses the mesh (density < 1), except the approximate ellipsoid;
    # the oriented box is no larger than the axis-aligned one
    assert computed["morph_vol_dens_aabb"] - 1e-9 <= computed["morph_vol_dens_ombb"] < 1
    assert 0 < computed["morph_vol_dens_mvee"] < 1
    assert 0 <= computed["ivh_auc"] <= 1


@pytest.mark.shared_data
def test_checker_names_tag_and_both_values():
    with pytest.raises(ReferenceMismatch, match=r"stat_mean: computed 2\.3.*reference 2\.15"):
        check_reference_value("stat_mean", 2.3, 2.15, 0.0)
    check_reference_value("stat_mean", 2.154, 2.15, 0.0)  # within half a unit of the 3rd digit
    with pytest.raises(ReferenceMismatch):
        check_reference_value("stat_mean", float("nan"), 2.15, 0.0)


@pytest.mark.shared_data
def test_configuration_e_is_complete_and_consistent(shared_data):
    """E (tricubic spline, range then outlier filter, IVH with 1000 bins over the ROI range)."""
    e = _extracted(shared_data, "e")
    d_reference = _reference(shared_data, "d")
    # same geometry as C and D: 2 mm grid of 100 x 99 x 90 voxels, the same morphological mask
    for tag in ("img_dim_x_interp_img", "img_dim_y_interp_img", "img_dim_z_interp_img"):
        check_reference_value(tag, e[tag], *d_reference[tag])
    for tag in ("morph_mask_vox_count_interp_roi", "morph_volume", "morph_area_mesh", "morph_diam"):
        check_reference_value(tag, e[tag], *d_reference[tag])
    assert -1000 <= e["stat_min"] and e["stat_max"] <= 400
    assert e["ih_max"] == 32 and e["ih_min"] == 1
    assert 1 <= e["ivh_i90"] <= e["ivh_i10"] <= 1000
    texture_tags = [tag for tag in d_reference if tag.startswith(TEXTURE_PREFIXES)]
    assert texture_tags and all(math.isfinite(e[tag]) for tag in texture_tags)
    assert all(math.isfinite(e[tag]) for tag in d_reference)
