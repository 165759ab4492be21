"""Texture matrices counted by hand on tiny arrays, and a few features from them.

The volume used throughout is 2 slices x 3 rows x 3 columns (z, y, x), every voxel in the ROI,
grey levels 1..3::

    slice 0    slice 1
    1 1 2      2 1 1
    3 2 2      2 3 3
    3 3 1      1 3 2

Matrices are written with grey level i in row i-1 and size-like value j in column j-1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ildrad.radiomics import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from ildrad.radiomics.texture_settings import TextureSettings

SLICE_0 = [[1, 1, 2], [3, 2, 2], [3, 3, 1]]
SLICE_1 = [[2, 1, 1], [2, 3, 3], [1, 3, 2]]
VOLUME = np.array([SLICE_0, SLICE_1], np.int32)
ROI = VOLUME > 0
ONE_SLICE = VOLUME[:1]


def test_glcm_2d_matrices_of_first_slice():
    counts = glcm.matrices(ONE_SLICE, ONE_SLICE > 0, 3, "2D")
    assert counts.shape == (1, 4, 3, 3)
    # Direction (0, 0, 1), pairs left -> right: row 0 (1,1) (1,2); row 1 (3,2) (2,2);
    # row 2 (3,3) (3,1). Symmetric: add the transpose (each diagonal pair counts twice).
    horizontal = [[2, 1, 1], [1, 2, 1], [1, 1, 2]]
    # Direction (0, 1, 0), pairs top -> bottom: column 0 (1,3) (3,3); column 1 (1,2) (2,3);
    # column 2 (2,2) (2,1).
    vertical = [[0, 2, 1], [2, 2, 1], [1, 1, 2]]
    np.testing.assert_array_equal(counts[0, 0], horizontal)
    np.testing.assert_array_equal(counts[0, 2], vertical)
    # Diagonal (0, 1, 1): (0,0)->(1,1) = (1,2); (0,1)->(1,2) = (1,2); (1,0)->(2,1) = (3,3);
    # (1,1)->(2,2) = (2,1). Anti-diagonal (0, 1, -1): (0,1)->(1,0) = (1,3);
    # (0,2)->(1,1) = (2,2); (1,1)->(2,0) = (2,3); (1,2)->(2,1) = (2,3).
    np.testing.assert_array_equal(counts[0, 1], [[0, 3, 0], [3, 0, 0], [0, 0, 2]])
    np.testing.assert_array_equal(counts[0, 3], [[0, 0, 1], [0, 2, 2], [1, 2, 0]])
    asymmetric = glcm.matrices(ONE_SLICE, ONE_SLICE > 0, 3, "2D", symmetric=False)
    np.testing.assert_array_equal(asymmetric[0, 0], [[1, 1, 0], [0, 1, 0], [1, 1, 1]])


def test_glcm_3d_through_plane_matrix():
    counts = glcm.matrices(VOLUME, ROI, 3, "3D")
    assert counts.shape == (1, 13, 3, 3)
    # Direction (1, 0, 0): slice 0 -> slice 1 at the same (y, x): (1,2) (1,1) (2,1) (3,2)
    # (2,3) (2,3) (3,1) (3,3) (1,2); plus the transpose.
    np.testing.assert_array_equal(counts[0, 8], [[2, 3, 1], [3, 0, 3], [1, 3, 2]])
    # In-plane pairs per 3 x 3 slice: 6 horizontal, 4 diagonal, 6 vertical, 4 anti-diagonal;
    # 2 slices, each pair counted both ways.
    np.testing.assert_array_equal(counts[0, :4].sum(axis=(1, 2)), [24, 16, 24, 16])


def test_glcm_features_of_the_horizontal_matrix():
    p = np.array([[2, 1, 1], [1, 2, 1], [1, 1, 2]], float) / 12
    values = {k: float(v) for k, v in glcm.feature_values(p * 12).items()}
    assert values["joint_max"] == pytest.approx(2 / 12)
    # contrast: (i-j)^2 = 1 on 4 cells of 1/12, 4 on 2 cells of 1/12 -> (4 + 8) / 12
    assert values["contrast"] == pytest.approx(1.0)
    # joint entropy: 3 cells of 1/6 and 6 cells of 1/12
    assert values["joint_entr"] == pytest.approx(0.5 * math.log2(6) + 0.5 * math.log2(12))
    # joint average: marginals all 1/3 -> 2; joint variance: (1 + 0 + 1) / 3
    assert values["joint_avg"] == pytest.approx(2.0)
    assert values["joint_var"] == pytest.approx(2 / 3)
    # difference average: |i-j| = 1 on 4 cells, 2 on 2 cells -> (4 + 4) / 12
    assert values["diff_avg"] == pytest.approx(8 / 12)
    # inverse difference normalised with Ng = 3: diagonal 6/12 + 4/12 / (1 + 1/3) + 2/12 / (1 + 2/3)
    assert values["inv_diff_norm"] == pytest.approx(0.5 + (4 / 12) / (4 / 3) + (2 / 12) / (5 / 3))
    # inverse variance: 4/12 / 1 + 2/12 / 4
    assert values["inv_var"] == pytest.approx(4 / 12 + 2 / 48)
    # correlation: cov = sum (i-2)(j-2) p = (2*1 + 2*1 - 2*1 ... ) computed cell by cell:
    # (1,1) +1*2, (3,3) +1*2, (1,3)/(3,1) -1*1 each, others 0 -> (2 + 2 - 2) / 12; var = 2/3
    assert values["corr"] == pytest.approx((2 / 12) / (2 / 3))


def test_glrlm_2d_matrices_of_first_slice():
    matrix, n_voxels = glrlm.matrices(ONE_SLICE, ONE_SLICE > 0, 3, "2D")
    dense = matrix.dense()
    # Direction (0, 0, 1), rows: "1 1 | 2", "3 | 2 2", "3 3 | 1" -> each level has one run of
    # length 1 and one of length 2.
    np.testing.assert_array_equal(dense[0, 0, :, :2], [[1, 1], [1, 1], [1, 1]])
    # Direction (0, 1, 0), columns: "1 | 3 3", "1 | 2 | 3", "2 2 | 1".
    np.testing.assert_array_equal(dense[0, 2, :, :2], [[3, 0], [1, 1], [1, 1]])
    assert dense[..., 2:].sum() == 0
    np.testing.assert_array_equal(n_voxels, [[9, 9, 9, 9]])
    values = glrlm.feature_values(dense[0, 0], np.float64(9))
    # sre = (3 / 1 + 3 / 4) / 6 runs; lre = (3 + 3 * 4) / 6; r_perc = 6 / 9
    assert float(values["sre"]) == pytest.approx(3.75 / 6)
    assert float(values["lre"]) == pytest.approx(15 / 6)
    assert float(values["r_perc"]) == pytest.approx(6 / 9)
    assert float(values["glnu"]) == pytest.approx((4 + 4 + 4) / 6)


def test_glrlm_3d_through_plane_runs():
    matrix, n_voxels = glrlm.matrices(VOLUME, ROI, 3, "3D")
    dense = matrix.dense()
    # Direction (1, 0, 0): only (y, x) = (0, 1) (level 1) and (2, 1) (level 3) hold the same
    # level in both slices (runs of 2); the 18 - 4 other voxels are runs of 1:
    # level 1: 6 voxels -> 4 x 1 + 1 x 2; level 2: 6 x 1; level 3: 4 x 1 + 1 x 2.
    np.testing.assert_array_equal(dense[0, 8, :, :2], [[4, 1], [6, 0], [4, 1]])
    assert n_voxels.shape == (1, 13)
    assert np.all(n_voxels == 18)


def test_glszm_2d_and_3d_zones():
    # Slice 0, 8-connected: level 1 {(0,0),(0,1)} and {(2,2)}; level 2 {(0,2),(1,1),(1,2)};
    # level 3 {(1,0),(2,0),(2,1)}.
    slice_0 = glszm.matrix(ONE_SLICE, ONE_SLICE > 0, 3, "2D").dense()
    np.testing.assert_array_equal(slice_0, [[1, 1, 0], [0, 0, 1], [0, 0, 1]])
    # Both slices merged (2.5D); slice 1: level 1 {(0,1),(0,2)} {(2,0)}; level 2 {(0,0),(1,0)}
    # {(2,2)}; level 3 {(1,1),(1,2),(2,1)}.
    merged = glszm.matrix(VOLUME, ROI, 3, "2D").dense()
    np.testing.assert_array_equal(merged, [[2, 2, 0], [1, 1, 1], [0, 0, 2]])
    # 3D, 26-connected: level 1 {(0,0,0),(0,0,1),(1,0,1),(1,0,2)} and the isolated (0,2,2),
    # (1,2,0); level 2: (1,0,0) touches (0,1,1) diagonally and (1,2,2) touches (0,1,1):
    # one zone of 6; level 3: (1,1,1) touches (0,1,0): one zone of 6.
    volume = glszm.matrix(VOLUME, ROI, 3, "3D").dense()
    expected = np.zeros((3, 6), int)
    expected[0, [0, 3]] = [2, 1]
    expected[1, 5] = expected[2, 5] = 1
    np.testing.assert_array_equal(volume, expected)
    values = glszm.features(VOLUME, ROI, 3, TextureSettings(dimensions=("3D",)))
    # sze = (2 / 1 + 1 / 16 + 2 / 36) / 5 zones; z_perc = 5 / 18
    assert values["szm_sze_3D"] == pytest.approx((2 + 1 / 16 + 2 / 36) / 5)
    assert values["szm_z_perc_3D"] == pytest.approx(5 / 18)


RINGS = np.array(
    [
        [
            [1, 1, 1, 1, 1],
            [1, 2, 2, 2, 1],
            [1, 2, 3, 2, 1],
            [1, 2, 2, 2, 1],
            [1, 1, 1, 1, 1],
        ]
    ],
    np.int32,
)


def test_gldzm_distances_on_concentric_rings():
    # Border distance (4-connected steps to leave the slice): outer ring 1, inner ring 2,
    # centre 3. Zones: the outer ring of 1s (distance 1), the ring of 2s (2), the centre (3).
    dense = gldzm.matrix(RINGS, RINGS > 0, 3, "2D").dense()
    np.testing.assert_array_equal(dense, np.diag([1, 1, 1]))
    np.testing.assert_array_equal(gldzm.border_distance(RINGS > 0, True)[0, 2], [1, 2, 3, 2, 1])


def test_gldzm_uses_the_morphological_mask():
    # Re-segmentation removed the centre: intensity ROI has a hole, the morphological mask not.
    binned = RINGS.copy()
    binned[0, 2, 2] = 0
    roi = binned > 0
    with_morph = gldzm.matrix(binned, roi, 3, "2D", morph_roi=np.ones_like(roi)).dense()
    np.testing.assert_array_equal(with_morph[:2, :2], [[1, 0], [0, 1]])  # ring of 2s at 2
    # On the intensity ROI the hole is a border: the 2s beside it are at distance 1.
    without = gldzm.matrix(binned, roi, 3, "2D").dense()
    np.testing.assert_array_equal(without, [[1], [1], [0]])
    assert with_morph[2].sum() == 0


def test_ngtdm_first_slice_by_hand():
    s, n = ngtdm.matrix(ONE_SLICE, ONE_SLICE > 0, 3, "2D")
    # |level - mean of the 8-neighbours in the ROI| per voxel (row by row):
    # (0,0) 1 vs 6/3 -> 1; (0,1) 1 vs 10/5 -> 1; (0,2) 2 vs 5/3 -> 1/3;
    # (1,0) 3 vs 10/5 -> 1; (1,1) 2 vs 16/8 -> 0; (1,2) 2 vs 9/5 -> 1/5;
    # (2,0) 3 vs 8/3 -> 1/3; (2,1) 3 vs 11/5 -> 4/5; (2,2) 1 vs 7/3 -> 4/3.
    np.testing.assert_allclose(s[0], [1 + 1 + 4 / 3, 1 / 3 + 0 + 1 / 5, 1 + 1 / 3 + 4 / 5])
    np.testing.assert_array_equal(n[0], [3, 3, 3])
    values = ngtdm.features(ONE_SLICE, ONE_SLICE > 0, 3, TextureSettings(dimensions=("2D",)))
    # p_i = 1/3 each, sum p_i s_i = (10/3 + 8/15 + 32/15) / 3 = 2 -> coarseness 1/2
    assert values["ngt_coarseness_2D"] == pytest.approx(0.5)
    # strength = sum_ij (p_i + p_j)(i - j)^2 / sum s = (2/3)(1+4+1)*2 / 6
    assert values["ngt_strength_2D"] == pytest.approx((2 / 3) * 12 / 6)


def test_ngldm_first_slice_by_hand():
    counts = ngldm.matrix(ONE_SLICE, ONE_SLICE > 0, 3, "2D").counts
    assert counts.shape == (1, 3, 9)
    # k = 1 + number of 8-neighbours with the same level:
    # (0,0) 2, (0,1) 2, (0,2) 3, (1,0) 3, (1,1) 3, (1,2) 3, (2,0) 3, (2,1) 3, (2,2) 1.
    expected = np.zeros((3, 9), int)
    expected[0, [0, 1]] = [1, 2]
    expected[1, 2] = expected[2, 2] = 3
    np.testing.assert_array_equal(counts[0], expected)
    values = ngldm.features(ONE_SLICE, ONE_SLICE > 0, 3, TextureSettings(dimensions=("2D",)))
    assert values["ngl_lde_2D"] == pytest.approx((1 + 2 / 4 + 6 / 9) / 9)
    assert values["ngl_dc_perc_2D"] == pytest.approx(1.0)
    # Coarseness 1: neighbours within one grey level are dependent. Level-1 voxels:
    # (0,0) neighbours 1 3 2 -> k = 3; (0,1) 1 2 3 2 2 -> k = 5; (2,2) 2 2 3 -> k = 3.
    loose = ngldm.matrix(ONE_SLICE, ONE_SLICE > 0, 3, "2D", coarseness=1).counts
    np.testing.assert_array_equal(loose[0, 0], [0, 0, 2, 0, 1, 0, 0, 0, 0])
