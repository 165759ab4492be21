"""Quantitative CT on constructed volumes, against hand-computed values and scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ildrad.errors import UnitError
from ildrad.image import Image, Mask
from ildrad.lung.density import density_features, feature_name, qct_density
from ildrad.lung.settings import SegmentSettings

AXIAL = [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
VALUES = np.array([-1000.0, -960.0, -950.0, -949.0, -600.0, -599.0, -250.0, -249.0, 0.0, 100.0])


def test_haa_and_laa_are_exact_with_inclusive_haa_bounds() -> None:
    features = density_features(VALUES, voxel_ml=0.001)
    # HAA: -600 <= HU <= -250 -> -600, -599, -250 (3 of 10); LAA: HU < -950 -> -1000, -960 (2 of 10)
    assert features["haa_fraction"] == pytest.approx(0.3, abs=0)
    assert features["laa_fraction"] == pytest.approx(0.2, abs=0)
    custom = density_features(VALUES, 0.001, SegmentSettings(haa_range_hu=(-700, -600), laa_threshold_hu=-960))
    assert custom["haa_fraction"] == pytest.approx(0.1, abs=0)  # only -600
    assert custom["laa_fraction"] == pytest.approx(0.1, abs=0)  # only -1000


def test_moments_and_percentiles_match_hand_and_scipy() -> None:
    features = density_features(VALUES, voxel_ml=0.5)
    assert features["volume_ml"] == pytest.approx(5.0)
    assert features["mld_hu"] == pytest.approx(VALUES.sum() / 10)
    assert features["sd_hu"] == pytest.approx(np.sqrt(((VALUES - VALUES.mean()) ** 2).mean()))
    assert features["skewness"] == pytest.approx(stats.skew(VALUES, bias=True))
    assert features["kurtosis_excess"] == pytest.approx(stats.kurtosis(VALUES, fisher=True, bias=True))
    assert features["kurtosis_plain"] == pytest.approx(stats.kurtosis(VALUES, fisher=False, bias=True))
    ordered = np.sort(VALUES)
    # linear interpolation at position (N - 1) p: p10 -> 0.9 between -1000 and -960
    assert features["p10_hu"] == pytest.approx(-1000 + 0.9 * 40)
    assert features["p40_hu"] == pytest.approx(ordered[3] + 0.6 * (ordered[4] - ordered[3]))
    assert features["p90_hu"] == pytest.approx(0.0 + 0.1 * 100)


def test_qct_regions_and_names_on_a_constructed_volume() -> None:
    ct = np.full((4, 3, 4), 40.0, dtype=np.float32)
    lungs = np.zeros(ct.shape, dtype=np.uint8)
    lungs[:, :, :2] = 1  # right: HU -900
    lungs[:, :, 2:] = 2  # left: HU -500 (all in the HAA range)
    ct[lungs == 1] = -900
    ct[lungs == 2] = -500
    image = Image.from_array(ct, spacing=(2.0, 1.0, 1.0), direction=AXIAL, modality="CT", unit="HU")
    mask = Mask(lungs, image.grid, {1: "right", 2: "left"})
    out = qct_density(image, mask)
    assert out[feature_name("right", "mld_hu")] == pytest.approx(-900)
    assert out["qct__left__original__haa_fraction"] == pytest.approx(1.0)
    assert out["qct__lung__original__haa_fraction"] == pytest.approx(0.5)
    assert out["qct__lung__original__volume_ml"] == pytest.approx(48 * 2.0 / 1000)
    assert out["qct__right__original__sd_hu"] == pytest.approx(0.0)
    assert np.isnan(out["qct__right__original__skewness"])  # undefined for a constant region


def test_qct_refuses_an_image_without_hu() -> None:
    image = Image.from_array(np.zeros((2, 2, 2)), direction=AXIAL, unit="none")
    with pytest.raises(UnitError, match="HU"):
        qct_density(image, Mask(np.ones((2, 2, 2), np.uint8), image.grid))


@pytest.mark.parametrize("whole_numbers", [True, False], ids=["integer HU", "fractional HU"])
def test_features_match_numpy_and_scipy_on_a_lung_like_sample(whole_numbers: bool) -> None:
    """Whole-number HU are counted into a histogram, other values used directly: both give
    numpy's and scipy's values on 200,000 voxels of lung, ground glass and vessels."""
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(-860, 60, 150_000), rng.normal(-550, 80, 40_000),
                             rng.normal(30, 40, 10_000)]).clip(-1024, 3071)
    values = np.round(values) if whole_numbers else values + 0.37
    features = density_features(values, voxel_ml=0.001)
    assert features["mld_hu"] == pytest.approx(values.mean(), rel=1e-12)
    assert features["sd_hu"] == pytest.approx(values.std(), rel=1e-10)
    assert features["skewness"] == pytest.approx(stats.skew(values, bias=True), rel=1e-9)
    assert features["kurtosis_excess"] == pytest.approx(stats.kurtosis(values, bias=True), rel=1e-9)
    for name, percent in (("p10_hu", 10), ("p40_hu", 40), ("p90_hu", 90)):
        assert features[name] == pytest.approx(np.percentile(values, percent), abs=1e-9)
    assert features["haa_fraction"] == ((values >= -600) & (values <= -250)).mean()
    assert features["laa_fraction"] == (values < -950).mean()
