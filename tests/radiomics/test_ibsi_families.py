"""Non-texture IBSI families on hand-computed cases and independent references.

(The IBSI reference tables are checked in ``test_ibsi_reference_tables.py``.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ildrad.errors import EmptyMaskError, InputError
from ildrad.image import Image, Mask
from ildrad.preprocess import process
from ildrad.radiomics import extract
from ildrad.radiomics.intensity_histogram import histogram_features
from ildrad.radiomics.intensity_volume_histogram import ivh_features
from ildrad.radiomics.local_intensity import sphere_kernel
from ildrad.radiomics.morphology import _ellipsoid_area, _mvee_semi_axes, moran_geary
from ildrad.radiomics.settings import RadiomicsSettings

NON_TEXTURE = ("morphology", "local_intensity", "intensity_stats", "intensity_histogram", "intensity_volume_histogram")


def _brute_moran_geary(values: np.ndarray, points: np.ndarray) -> tuple[float, float]:
    distance = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    weights = np.divide(1.0, distance, out=np.zeros_like(distance), where=distance > 0)
    y = values - values.mean()
    n = values.size
    total = weights.sum()
    moran = n / total * (weights * np.outer(y, y)).sum() / (y**2).sum()
    geary = (n - 1) / (2 * total) * (weights * (values[:, None] - values[None, :]) ** 2).sum() / (y**2).sum()
    return moran, geary


def test_moran_geary_fft_equals_all_pairs_sum():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(6, 9, 8)) + np.linspace(0, 3, 8)
    mask = rng.random(image.shape) > 0.4
    spacing = np.array([2.5, 0.8, 1.1])
    expected = _brute_moran_geary(image[mask], np.argwhere(mask) * spacing)
    computed = moran_geary(image, mask, spacing)
    np.testing.assert_allclose(computed, expected, rtol=1e-10)


def test_moran_geary_undefined_for_constant_or_single_voxel():
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    assert all(math.isnan(v) for v in moran_geary(np.ones((3, 3, 3)), mask, np.ones(3)))
    assert all(math.isnan(v) for v in moran_geary(np.ones((3, 3, 3)), np.ones((3, 3, 3), bool), np.ones(3)))


def test_ellipsoid_area_series():
    """IBSI defines the AEE/MVEE area by a Legendre series (an approximation of the true surface);
    check it against the series evaluated directly with numpy's Legendre polynomials."""
    assert _ellipsoid_area(np.array([3.0, 3.0, 3.0])) == pytest.approx(4 * np.pi * 9)
    a, b, c = 6.0, 4.0, 2.5
    alpha, beta = math.sqrt(1 - b**2 / a**2), math.sqrt(1 - c**2 / a**2)
    x = (alpha**2 + beta**2) / (2 * alpha * beta)
    series = sum(
        (alpha * beta) ** nu / (1 - 4 * nu**2) * np.polynomial.legendre.legval(x, [0] * nu + [1])
        for nu in range(21)
    )
    assert _ellipsoid_area(np.array([b, a, c])) == pytest.approx(4 * np.pi * a * b * series, rel=1e-10)


def test_mvee_of_points_on_an_ellipsoid():
    rng = np.random.default_rng(5)
    directions = rng.normal(size=(400, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = directions * np.array([6.0, 3.0, 2.0]) + np.array([10.0, -4.0, 1.0])
    np.testing.assert_allclose(_mvee_semi_axes(points, tolerance=1e-7), [6.0, 3.0, 2.0], rtol=2e-2)


def test_sphere_kernel_holds_voxels_within_one_cubic_centimetre_radius():
    kernel = sphere_kernel((1.0, 1.0, 1.0))
    # voxel centres within r = 6.2035 mm of the centre: count lattice points of the ball
    half = 6
    grid = np.arange(-half, half + 1)
    expected = sum(1 for z in grid for y in grid for x in grid if z * z + y * y + x * x <= 6.2035**2)
    assert kernel.sum() == expected
    # 2 mm voxels: |offset| <= 3.1 voxels, the 123 lattice points of that ball
    assert sphere_kernel((2.0, 2.0, 2.0)).sum() == 123


def test_local_and_global_peaks_by_hand():
    image = np.zeros((9, 9, 9))
    image[4, 4, 4] = 100.0  # hottest voxel, isolated
    image[1:4, 1:4, 1:4] = 50.0  # warm block: its centre sees more warm neighbours
    roi = np.zeros(image.shape, bool)
    roi[1:8, 1:8, 1:8] = True
    settings = RadiomicsSettings(families=("local_intensity",), discretisation={"bin_size": 1})
    out = extract(Image.from_array(image, spacing=(2.0, 2.0, 2.0)), roi, settings)
    offsets = np.argwhere(sphere_kernel((2.0, 2.0, 2.0)) > 0) - 3
    def sphere_mean(c):
        pts = offsets + c
        ok = np.all((pts >= 0) & (pts < 9), axis=1)
        return image[tuple(pts[ok].T)].mean()
    assert out["loc_peak_loc"] == pytest.approx(sphere_mean(np.array([4, 4, 4])))
    best = max(sphere_mean(np.array(c)) for c in np.argwhere(roi))
    assert out["loc_peak_glob"] == pytest.approx(best)
    assert out["loc_peak_glob"] > out["loc_peak_loc"]


def test_intensity_statistics_against_scipy():
    rng = np.random.default_rng(7)
    image = np.round(rng.gamma(2.0, 30.0, size=(8, 10, 12)))
    roi = rng.random(image.shape) > 0.3
    settings = RadiomicsSettings(families=("intensity_stats",))
    out = extract(Image.from_array(image), roi, settings)
    x = image[roi]
    assert out["stat_mean"] == pytest.approx(x.mean())
    assert out["stat_var"] == pytest.approx(x.var())
    assert out["stat_skew"] == pytest.approx(stats.skew(x))
    assert out["stat_kurt"] == pytest.approx(stats.kurtosis(x))  # excess
    assert out["stat_median"] == pytest.approx(np.median(x))
    assert out["stat_iqr"] == pytest.approx(stats.iqr(x))
    assert out["stat_medad"] == pytest.approx(np.mean(np.abs(x - np.median(x))))
    assert out["stat_energy"] == pytest.approx(np.sum(x**2))
    assert out["stat_rms"] == pytest.approx(np.sqrt(np.mean(x**2)))
    assert out["stat_cov"] == pytest.approx(x.std() / x.mean())
    p10, p90 = np.percentile(x, [10, 90])
    robust = x[(x >= p10) & (x <= p90)]
    assert out["stat_rmad"] == pytest.approx(np.mean(np.abs(robust - robust.mean())))
    assert len([t for t in out if t.startswith("stat_")]) == 18


def test_intensity_histogram_by_hand():
    levels = np.array([1, 1, 1, 2, 4, 4])  # level 3 absent: H = 3, 1, 0, 2
    out = histogram_features(levels)
    assert out["ih_mode"] == 1
    p = np.array([3, 1, 2]) / 6
    assert out["ih_entropy"] == pytest.approx(-(p * np.log2(p)).sum())
    assert out["ih_uniformity"] == pytest.approx((p**2).sum())
    # gradient: H(2)-H(1) = -2; (H(3)-H(1))/2 = -1.5; (H(4)-H(2))/2 = 0.5; H(4)-H(3) = 2
    assert out["ih_max_grad"] == 2 and out["ih_max_grad_g"] == 4
    assert out["ih_min_grad"] == -2 and out["ih_min_grad_g"] == 1
    assert len(out) == 23


def test_intensity_volume_histogram_by_hand():
    levels = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    out = ivh_features(levels, 1.0, (1.0, 5.0))
    # gamma >= 0.1 -> level >= 1.4: 4 of 5 voxels; gamma >= 0.9 -> level >= 4.6: 1 of 5
    assert out["ivh_v10"] == pytest.approx(0.8) and out["ivh_v90"] == pytest.approx(0.2)
    # v(i) = fraction >= i: v(1)=1, v(2)=.8, v(3)=.4, v(4)=.2, v(5)=.2 -> lowest i with v <= .1
    # does not exist below 6 (beyond the maximum), lowest with v <= .9 is 2
    assert out["ivh_i90"] == 2.0 and out["ivh_i10"] == 6.0
    assert out["ivh_diff_v10_v90"] == pytest.approx(0.6)


def _small_image():
    rng = np.random.default_rng(11)
    return Image.from_array(np.round(rng.normal(0, 100, size=(10, 12, 12))), spacing=(2.0, 1.0, 1.0))


def test_single_voxel_roi_gives_values_not_a_crash():
    image = _small_image()
    roi = np.zeros(image.shape, bool)
    roi[5, 6, 6] = True
    out = extract(image, roi, RadiomicsSettings(families=NON_TEXTURE))
    assert out["morph_vol_approx"] == pytest.approx(2.0)
    assert out["stat_mean"] == image.array[5, 6, 6] and out["stat_var"] == 0
    assert out["stat_skew"] == 0 and out["ih_entropy"] == 0
    assert math.isnan(out["morph_moran_i"])  # undefined for one voxel


def test_constant_roi_gives_ibsi_values():
    image = Image.from_array(np.full((8, 8, 8), 40.0))
    roi = np.zeros(image.shape, bool)
    roi[2:6, 2:6, 2:6] = True
    settings = RadiomicsSettings(families=NON_TEXTURE, discretisation={"method": "fixed_bin_number", "bin_number": 16, "bin_size": None})
    out = extract(image, roi, settings)
    assert out["stat_var"] == 0 and out["stat_skew"] == 0 and out["stat_kurt"] == 0
    assert out["ih_mean"] == 1 and out["ih_entropy"] == 0 and out["ih_uniformity"] == 1
    assert out["loc_peak_glob"] == 40 and out["loc_peak_loc"] == 40
    assert out["morph_vol_approx"] == 64


def test_bad_inputs_raise_input_errors():
    image = _small_image()
    with pytest.raises(EmptyMaskError):
        extract(image, np.zeros(image.shape, bool))
    wrong = Mask(np.ones((3, 3, 3), np.uint8), Image.from_array(np.zeros((3, 3, 3))).grid)
    with pytest.raises(InputError, match="grids differ"):
        extract(image, wrong)
    broken = image.array.copy()
    broken[5, 5, 5] = np.nan
    roi = np.zeros(image.shape, bool)
    roi[4:7, 4:7, 4:7] = True
    with pytest.raises(InputError, match="NaN"):
        extract(image.with_array(broken), roi)


def test_families_setting_selects_and_validates():
    image = _small_image()
    roi = np.zeros(image.shape, bool)
    roi[3:7, 3:9, 3:9] = True
    out = extract(image, roi, RadiomicsSettings(families=("intensity_stats",)))
    assert all(tag.startswith("stat_") for tag in out)
    with pytest.raises(ValueError, match="unknown families"):
        RadiomicsSettings(families=("shape",))


def test_extract_is_deterministic_and_does_not_modify_inputs():
    image = _small_image()
    before = image.array.copy()
    roi = np.zeros(image.shape, bool)
    roi[2:8, 2:10, 3:10] = True
    settings = RadiomicsSettings(resample={"spacing_mm": (1.0, 1.0, 1.0), "interpolation": "cubic"})
    first = extract(image, roi, settings)
    second = extract(image, roi, settings)
    assert first.keys() == second.keys()
    assert all(first[k] == second[k] or (math.isnan(first[k]) and math.isnan(second[k])) for k in first)
    np.testing.assert_array_equal(image.array, before)
    processed, _ = process(image, roi, settings)
    assert processed.image.dtype == np.float64


_THREAD_SCRIPT = """
import numpy as np
from ildrad.image import Image
from ildrad.radiomics import extract
from ildrad.radiomics.settings import RadiomicsSettings
rng = np.random.default_rng(4)
image = Image.from_array(np.round(rng.normal(-300, 200, size=(14, 40, 40))), spacing=(2.5, 0.8, 0.8))
roi = np.zeros(image.shape, bool)
roi[2:12, 5:35, 6:33] = True
settings = RadiomicsSettings(resample={"spacing_mm": (1.0, 1.0, 1.0), "round_intensities": True},
                             resegment={"range": (-1000, 400), "outlier_sd": 3})
print(repr(sorted((k, v.hex()) for k, v in extract(image, roi, settings).items())))
"""


def test_results_bitwise_identical_whatever_the_thread_count(outputs_by_thread_count):
    outputs = outputs_by_thread_count(_THREAD_SCRIPT)
    assert outputs[0] == outputs[1]
    assert "morph_volume" in outputs[0]
