"""Texture families on degenerate ROIs, bad inputs, aggregation rules and settings.

Degenerate ROIs must give the IBSI value or NaN (documented in each module), never an
exception or a numpy warning.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from pydantic import ValidationError

from ildrad.errors import InputError
from ildrad.radiomics import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from ildrad.radiomics.texture_settings import TextureSettings

MODULES = [glcm, glrlm, glszm, gldzm, ngtdm, ngldm]
EVERY_VARIANT = TextureSettings(dimensions=("2D", "2.5D", "3D"))


def run_quietly(module, binned, roi, n_bins, settings=EVERY_VARIANT) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return module.features(binned, roi, n_bins, settings)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_single_voxel(module):
    binned = np.ones((1, 1, 1), np.int32)
    values = run_quietly(module, binned, binned > 0, 1)
    assert len(values) == len(module.tags(EVERY_VARIANT))
    if module in (glcm, ngtdm):
        # No voxel pair, no neighbourhood: undefined.
        assert all(math.isnan(v) for v in values.values())
    else:
        # One run / zone / neighbourhood of size 1, level 1 at distance 1.
        prefix = {glrlm: "rlm_sre", glszm: "szm_sze", gldzm: "dzm_sde", ngldm: "ngl_lde"}[module]
        suffix = "_3D_avg" if module is glrlm else "_3D"
        assert values[prefix + suffix] == 1.0


def test_constant_intensities():
    binned = np.full((3, 3, 3), 2, np.int32)  # one level present out of Ng = 5
    roi = binned > 0
    cm = run_quietly(glcm, binned, roi, 5)
    assert cm["cm_joint_max_3D_comb"] == 1.0
    assert cm["cm_contrast_3D_avg"] == 0.0
    assert cm["cm_joint_entr_3D_avg"] == 0.0
    assert cm["cm_inv_diff_norm_3D_avg"] == 1.0
    assert cm["cm_inv_var_3D_avg"] == 0.0
    assert math.isnan(cm["cm_corr_3D_avg"])
    assert math.isnan(cm["cm_info_corr1_3D_avg"])
    ngt = run_quietly(ngtdm, binned, roi, 5)
    assert ngt["ngt_coarseness_3D"] == ngtdm.COARSENESS_CAP
    assert ngt["ngt_contrast_3D"] == ngt["ngt_busyness_3D"] == ngt["ngt_strength_3D"] == 0.0
    szm = run_quietly(glszm, binned, roi, 5)
    assert szm["szm_lze_3D"] == 27.0**2
    assert szm["szm_z_perc_3D"] == 1 / 27
    assert szm["szm_gl_var_3D"] == 0.0
    for module in (glrlm, gldzm, ngldm):
        values = run_quietly(module, binned, roi, 5)
        assert not any(math.isnan(v) for v in values.values()), module.__name__


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_empty_roi_gives_nan(module):
    binned = np.zeros((2, 3, 3), np.int32)
    values = run_quietly(module, binned, binned > 0, 4)
    assert values
    assert all(math.isnan(v) for v in values.values())


def _random_levels(shape, n_bins, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(1, n_bins + 1, shape).astype(np.int32)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_one_slice_in_3d_and_2d_equals_2_5d(module):
    binned = _random_levels((1, 6, 7), 4, 0)
    roi = binned > 0
    values = run_quietly(module, binned, roi, 4)
    # With a single slice, merging slices changes nothing: 2.5D equals 2D.
    for tag, value in values.items():
        if "_2D" in tag:
            twin = tag.replace("_2D", "_2_5D")
            assert value == pytest.approx(values[twin], rel=1e-12), tag
    # 3D on one slice: only the in-plane neighbours exist; every 3D value is defined.
    assert all(not math.isnan(v) for t, v in values.items() if "_3D" in t)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_2d_average_skips_empty_slices(module):
    a, b = _random_levels((1, 5, 6), 4, 1), _random_levels((1, 5, 6), 4, 2)
    gap = np.zeros((1, 5, 6), np.int32)
    stacked = np.concatenate([a, gap, b])
    settings = TextureSettings(dimensions=("2D",))
    together = run_quietly(module, stacked, stacked > 0, 4, settings)
    first = run_quietly(module, a, a > 0, 4, settings)
    second = run_quietly(module, b, b > 0, 4, settings)
    for tag, value in together.items():
        assert value == pytest.approx((first[tag] + second[tag]) / 2, rel=1e-12), tag


def test_views_and_orders_give_identical_results():
    binned = _random_levels((5, 9, 11), 6, 3)
    roi = binned > 0
    big = np.zeros((7, 11, 13), np.int32)
    big[1:6, 1:10, 1:12] = binned
    view, view_roi = big[1:6, 1:10, 1:12], big[1:6, 1:10, 1:12] > 0
    fortran = np.asfortranarray(binned)
    for module in MODULES:
        reference = module.features(binned, roi, 6, EVERY_VARIANT)
        assert module.features(view, view_roi, 6, EVERY_VARIANT) == reference
        assert module.features(fortran, np.asfortranarray(roi), 6, EVERY_VARIANT) == reference
        assert module.features(binned.astype(np.int64), roi, 6, EVERY_VARIANT) == reference


def test_results_do_not_depend_on_thread_counts():
    """Bit-for-bit identical with 1 or all numba and BLAS threads (kernels are serial and the
    feature formulas avoid BLAS reductions)."""
    import numba
    from threadpoolctl import threadpool_limits

    binned = _random_levels((40, 30, 32), 64, 4)
    roi = binned > 0
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        with threadpool_limits(limits=1):
            one = [m.features(binned, roi, 64, EVERY_VARIANT) for m in MODULES]
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = [m.features(binned, roi, 64, EVERY_VARIANT) for m in MODULES]
    finally:
        numba.set_num_threads(before)
    assert one == many


def test_bad_inputs_are_input_errors():
    binned = _random_levels((2, 3, 3), 3, 5)
    roi = binned > 0
    with pytest.raises(InputError, match="exceeds the number of grey levels 2"):
        glcm.features(binned, roi, 2, EVERY_VARIANT)
    outside = roi.copy()
    outside[0, 0, 0] = False
    with pytest.raises(InputError, match="exactly inside the ROI"):
        glrlm.features(binned, outside, 3, EVERY_VARIANT)
    with pytest.raises(InputError, match="same shape"):
        glszm.features(binned, roi[:1], 3, EVERY_VARIANT)
    morph = np.zeros_like(roi)
    with pytest.raises(InputError, match="inside the morphological mask"):
        gldzm.features(binned, roi, 3, EVERY_VARIANT, morph_roi=morph)


def test_settings_validation():
    assert TextureSettings().dimensions == ("3D",)
    with pytest.raises(ValidationError):
        TextureSettings(dimensions=("3D", "3D"))
    with pytest.raises(ValidationError):
        TextureSettings(glcm_distance=0)
    with pytest.raises(ValidationError):
        TextureSettings(zone_linkage_distance=2)
    with pytest.raises(ValidationError):
        TextureSettings(glcm_distanse=1)  # unknown keys are errors


def test_larger_distances_widen_the_neighbourhood():
    binned = _random_levels((5, 7, 7), 3, 6)
    roi = binned > 0
    near = ngldm.matrix(binned, roi, 3, "3D").counts
    far = ngldm.matrix(binned, roi, 3, "3D", distance=2).counts
    assert near.shape[-1] == 27
    assert far.shape[-1] == 125
    assert near.sum() == far.sum() == roi.sum()
    pairs_1 = glcm.matrices(binned, roi, 3, "3D").sum()
    pairs_2 = glcm.matrices(binned, roi, 3, "3D", distance=2).sum()
    assert pairs_2 < pairs_1  # fewer voxel pairs fit at offset 2 in a 5 x 7 x 7 box


def test_glrlm_trimmed_length_axis_gives_the_same_features(monkeypatch):
    """Large 2D stacks first find the longest run to size the matrices; results must not change."""
    binned = _random_levels((4, 9, 10), 3, 7)
    roi = binned > 0
    dense = glrlm.features(binned, roi, 3, EVERY_VARIANT)
    monkeypatch.setattr(glrlm, "_DENSE_CELLS_LIMIT", 0)
    matrix, _ = glrlm.matrices(binned, roi, 3, "2D")
    assert matrix.counts.shape[-1] < 10  # trimmed to the longest run, not the row length
    trimmed = glrlm.features(binned, roi, 3, EVERY_VARIANT)
    assert trimmed == pytest.approx(dense, rel=1e-13)  # sums over fewer zero columns
