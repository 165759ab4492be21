"""Texture matrices and features against independent implementations.

* PyRadiomics (``radiomics``, pyradiomics-bhklab 3.1.4) run side by side on the same discrete
  volume: its GLCM/GLRLM average features over the 13 directions (our ``_3D_avg``), its GLSZM,
  NGTDM and GLDM (our NGLDM with coarseness 0) are volumetric. All grey levels 1..Ng occur in
  the ROI, so its re-indexing of grey levels is the identity.
* scikit-image ``graycomatrix`` for the in-plane co-occurrence matrices.
* ``scipy.ndimage.label`` per grey level for the zones, ``distance_transform_cdt`` (taxicab)
  for the GLDZM border distance, a plain Python walk for the run lengths.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy import ndimage

from ildrad.radiomics import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from ildrad.radiomics._texture_common import DIRECTIONS_3D
from ildrad.radiomics.texture_settings import TextureSettings

N_LEVELS = 6


@pytest.fixture(scope="module")
def volume() -> tuple[np.ndarray, np.ndarray]:
    """A smooth-ish random 8 x 12 x 14 volume, ROI with a hole, every level 1..6 present."""
    rng = np.random.default_rng(1)
    noise = rng.integers(1, N_LEVELS + 1, (8, 12, 14)).astype(float)
    smooth = ndimage.uniform_filter(noise, 2) + rng.integers(0, 2, noise.shape)
    levels = np.clip(np.round(smooth), 1, N_LEVELS)
    levels[rng.random(levels.shape) < 0.04] = 1
    roi = np.zeros(levels.shape, bool)
    roi[1:7, 2:11, 1:13] = True
    roi[3, 5, 5] = False
    binned = np.where(roi, levels, 0).astype(np.int32)
    assert set(np.unique(binned[roi])) == set(range(1, N_LEVELS + 1))
    return binned, roi


PYRADIOMICS_NAMES = {
    "glcm": {
        "JointEntropy": "cm_joint_entr_3D_avg",
        "Contrast": "cm_contrast_3D_avg",
        "Correlation": "cm_corr_3D_avg",
        "JointEnergy": "cm_energy_3D_avg",
        "Idm": "cm_inv_diff_mom_3D_avg",
        "Idmn": "cm_inv_diff_mom_norm_3D_avg",
        "Idn": "cm_inv_diff_norm_3D_avg",
        "Id": "cm_inv_diff_3D_avg",
        "InverseVariance": "cm_inv_var_3D_avg",
        "SumEntropy": "cm_sum_entr_3D_avg",
        "DifferenceEntropy": "cm_diff_entr_3D_avg",
        "DifferenceAverage": "cm_diff_avg_3D_avg",
        "DifferenceVariance": "cm_diff_var_3D_avg",
        "ClusterShade": "cm_clust_shade_3D_avg",
        "ClusterProminence": "cm_clust_prom_3D_avg",
        "ClusterTendency": "cm_clust_tend_3D_avg",
        "Imc1": "cm_info_corr1_3D_avg",
        "Imc2": "cm_info_corr2_3D_avg",
        "Autocorrelation": "cm_auto_corr_3D_avg",
        "JointAverage": "cm_joint_avg_3D_avg",
        "MaximumProbability": "cm_joint_max_3D_avg",
        "SumSquares": "cm_joint_var_3D_avg",
        "SumAverage": "cm_sum_avg_3D_avg",
    },
    "glrlm": {
        "ShortRunEmphasis": "rlm_sre_3D_avg",
        "LongRunEmphasis": "rlm_lre_3D_avg",
        "GrayLevelNonUniformity": "rlm_glnu_3D_avg",
        "GrayLevelNonUniformityNormalized": "rlm_glnu_norm_3D_avg",
        "RunLengthNonUniformity": "rlm_rlnu_3D_avg",
        "RunLengthNonUniformityNormalized": "rlm_rlnu_norm_3D_avg",
        "RunPercentage": "rlm_r_perc_3D_avg",
        "GrayLevelVariance": "rlm_gl_var_3D_avg",
        "RunVariance": "rlm_rl_var_3D_avg",
        "RunEntropy": "rlm_rl_entr_3D_avg",
        "LowGrayLevelRunEmphasis": "rlm_lgre_3D_avg",
        "HighGrayLevelRunEmphasis": "rlm_hgre_3D_avg",
        "ShortRunLowGrayLevelEmphasis": "rlm_srlge_3D_avg",
        "ShortRunHighGrayLevelEmphasis": "rlm_srhge_3D_avg",
        "LongRunLowGrayLevelEmphasis": "rlm_lrlge_3D_avg",
        "LongRunHighGrayLevelEmphasis": "rlm_lrhge_3D_avg",
    },
    "glszm": {
        "SmallAreaEmphasis": "szm_sze_3D",
        "LargeAreaEmphasis": "szm_lze_3D",
        "GrayLevelNonUniformity": "szm_glnu_3D",
        "GrayLevelNonUniformityNormalized": "szm_glnu_norm_3D",
        "SizeZoneNonUniformity": "szm_zsnu_3D",
        "SizeZoneNonUniformityNormalized": "szm_zsnu_norm_3D",
        "ZonePercentage": "szm_z_perc_3D",
        "GrayLevelVariance": "szm_gl_var_3D",
        "ZoneVariance": "szm_zs_var_3D",
        "ZoneEntropy": "szm_zs_entr_3D",
        "LowGrayLevelZoneEmphasis": "szm_lgze_3D",
        "HighGrayLevelZoneEmphasis": "szm_hgze_3D",
        "SmallAreaLowGrayLevelEmphasis": "szm_szlge_3D",
        "SmallAreaHighGrayLevelEmphasis": "szm_szhge_3D",
        "LargeAreaLowGrayLevelEmphasis": "szm_lzlge_3D",
        "LargeAreaHighGrayLevelEmphasis": "szm_lzhge_3D",
    },
    "ngtdm": {
        "Coarseness": "ngt_coarseness_3D",
        "Contrast": "ngt_contrast_3D",
        "Busyness": "ngt_busyness_3D",
        "Complexity": "ngt_complexity_3D",
        "Strength": "ngt_strength_3D",
    },
    "gldm": {
        "SmallDependenceEmphasis": "ngl_lde_3D",
        "LargeDependenceEmphasis": "ngl_hde_3D",
        "GrayLevelNonUniformity": "ngl_glnu_3D",
        "DependenceNonUniformity": "ngl_dcnu_3D",
        "DependenceNonUniformityNormalized": "ngl_dcnu_norm_3D",
        "GrayLevelVariance": "ngl_gl_var_3D",
        "DependenceVariance": "ngl_dc_var_3D",
        "DependenceEntropy": "ngl_dc_entr_3D",
        "LowGrayLevelEmphasis": "ngl_lgce_3D",
        "HighGrayLevelEmphasis": "ngl_hgce_3D",
        "SmallDependenceLowGrayLevelEmphasis": "ngl_ldlge_3D",
        "SmallDependenceHighGrayLevelEmphasis": "ngl_ldhge_3D",
        "LargeDependenceLowGrayLevelEmphasis": "ngl_hdlge_3D",
        "LargeDependenceHighGrayLevelEmphasis": "ngl_hdhge_3D",
    },
}
OURS = {"glcm": glcm, "glrlm": glrlm, "glszm": glszm, "ngtdm": ngtdm, "gldm": ngldm}


@pytest.mark.parametrize("family", list(PYRADIOMICS_NAMES))
def test_same_values_as_pyradiomics(volume, family):
    import SimpleITK as sitk
    from radiomics import glcm as p_glcm
    from radiomics import gldm as p_gldm
    from radiomics import glrlm as p_glrlm
    from radiomics import glszm as p_glszm
    from radiomics import ngtdm as p_ngtdm

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    classes = {
        "glcm": p_glcm.RadiomicsGLCM,
        "glrlm": p_glrlm.RadiomicsGLRLM,
        "glszm": p_glszm.RadiomicsGLSZM,
        "ngtdm": p_ngtdm.RadiomicsNGTDM,
        "gldm": p_gldm.RadiomicsGLDM,
    }
    binned, roi = volume
    image = sitk.GetImageFromArray(binned.astype(np.float64))
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))
    extractor = classes[family](image, mask, binWidth=1)
    extractor.enableAllFeatures()
    theirs = extractor.execute()
    ours = OURS[family].features(binned, roi, N_LEVELS, TextureSettings())
    mismatches = [
        f"{name}: pyradiomics {float(theirs[name])!r}, ildrad {ours[tag]!r}"
        for name, tag in PYRADIOMICS_NAMES[family].items()
        if not abs(float(theirs[name]) - ours[tag]) <= 1e-9 * abs(ours[tag]) + 1e-12
    ]
    assert not mismatches, "\n".join(mismatches)


def test_in_plane_cooccurrence_equals_scikit_image(volume):
    from skimage.feature import graycomatrix

    binned, roi = volume
    ours = glcm.matrices(binned, roi, N_LEVELS, "2D")
    # skimage angles 0, pi/4, pi/2, 3pi/4 pair a pixel with the one at (dy, dx) = (0, 1),
    # (1, 1), (1, 0), (1, -1): our 4 in-plane directions, in the same order.
    for z in range(binned.shape[0]):
        theirs = graycomatrix(
            binned[z],
            [1],
            [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4],
            levels=N_LEVELS + 1,
            symmetric=True,
        )[1:, 1:, 0, :]  # level 0 (outside the ROI) dropped
        for d in range(4):
            np.testing.assert_array_equal(ours[z, d], theirs[:, :, d])


def _runs_by_walking(binned: np.ndarray, direction: tuple[int, int, int]) -> dict:
    """(level, length) -> count, by following each line from its first voxel (plain Python)."""
    counts: dict[tuple[int, int], int] = {}
    shape = binned.shape
    step = np.array(direction)
    for start in np.ndindex(shape):
        g = binned[start]
        before = np.array(start) - step
        if g == 0 or (
            np.all(before >= 0) and np.all(before < shape) and binned[tuple(before)] == g
        ):
            continue
        length, here = 0, np.array(start)
        while np.all(here >= 0) and np.all(here < shape) and binned[tuple(here)] == g:
            length, here = length + 1, here + step
        counts[(g, length)] = counts.get((g, length), 0) + 1
    return counts


def test_run_lengths_equal_a_plain_walk(volume):
    binned, roi = volume
    small, small_roi = binned[2:5, 3:9, 2:10], roi[2:5, 3:9, 2:10]
    matrix, _ = glrlm.matrices(small, small_roi, N_LEVELS, "3D")
    dense = matrix.dense()
    for d, direction in enumerate(DIRECTIONS_3D):
        walked = _runs_by_walking(small, tuple(direction))
        expected = np.zeros_like(dense[0, d])
        for (g, length), n in walked.items():
            expected[g - 1, length - 1] = n
        np.testing.assert_array_equal(dense[0, d], expected, err_msg=f"direction {direction}")


@pytest.mark.parametrize("dimension", ["2D", "3D"])
def test_zones_equal_scipy_labelling_per_level(volume, dimension):
    binned, roi = volume
    if dimension == "3D":
        structure = np.ones((3, 3, 3), bool)
    else:
        structure = np.zeros((3, 3, 3), bool)
        structure[1] = True  # 8-connected within a slice only
    expected = np.zeros((N_LEVELS, binned.size + 1), np.int64)
    for g in range(1, N_LEVELS + 1):
        labels, n = ndimage.label(binned == g, structure)
        for size in np.bincount(labels.ravel())[1:]:
            expected[g - 1, size] += 1
    ours = glszm.matrix(binned, roi, N_LEVELS, dimension).dense()
    np.testing.assert_array_equal(ours, expected[:, 1 : ours.shape[1] + 1])
    assert expected[:, ours.shape[1] + 1 :].sum() == 0


@pytest.mark.parametrize("in_plane", [False, True])
def test_border_distance_equals_scipy_taxicab(volume, in_plane):
    _, roi = volume
    padded = np.pad(roi, 1)  # beyond the array is outside
    if in_plane:
        expected = np.stack([ndimage.distance_transform_cdt(s, "taxicab") for s in padded])
    else:
        expected = ndimage.distance_transform_cdt(padded, "taxicab")
    expected = expected[1:-1, 1:-1, 1:-1]
    np.testing.assert_array_equal(gldzm.border_distance(roi, in_plane), expected)
