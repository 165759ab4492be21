"""Fast paths that replace a general numpy routine give that routine's result: counted
distribution statistics (numpy's percentiles and moments on the raw values) and PyRadiomics'
fixed-width binning without a binary search (``numpy.digitize`` on PyRadiomics' edges)."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.radiomics._moments import distribution_features, value_counts
from ildrad.radiomics.pyradiomics_compat import pyradiomics_bin_levels


def _samples() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [
        rng.integers(-1024, 400, 200_001).astype(np.float32),  # CT in HU, stored as float
        rng.integers(-1024, 3000, 5_000).astype(np.int16),
        rng.normal(2.0, 1.5, 3_001),  # SUV-like, not integers: sorted, not counted
        rng.integers(1, 33, 777).astype(np.int32),  # grey levels
        np.array([7.0, 7.0, 7.0]),
        np.array([-3.0]),
    ]


@pytest.mark.parametrize("index", range(6))
def test_distribution_features_equal_numpy_on_raw_values(index: int) -> None:
    values = _samples()[index]
    x = values.astype(np.float64)
    got = distribution_features(values, "s")
    p10, p25, median, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    centred = x - x.mean()
    robust = x[(x >= p10) & (x <= p90)]
    expected = {
        "mean": x.mean(), "var": x.var(), "median": median, "min": x.min(), "max": x.max(),
        "p10": p10, "p90": p90, "iqr": p75 - p25, "mad": np.mean(np.abs(centred)),
        "rmad": np.mean(np.abs(robust - robust.mean())), "medad": np.mean(np.abs(x - median)),
    }
    if x.var() > 0:
        expected["skew"] = np.mean(centred**3) / x.var() ** 1.5
        expected["kurt"] = np.mean(centred**4) / x.var() ** 2 - 3.0
    for key, value in expected.items():
        assert got[f"s_{key}"] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_value_counts_counts_every_value() -> None:
    values = np.array([3, -2, 3, 3, 10, -2], np.int16)
    distinct, counts = value_counts(values)
    assert distinct.tolist() == [-2.0, 3.0, 10.0]
    assert counts.tolist() == [2, 3, 1]


def _digitize_reference(values: np.ndarray, width: float) -> np.ndarray:
    """PyRadiomics ``binImage`` with a bin width, as in radiomics/imageoperations.py."""
    minimum, maximum = values.min(), values.max()
    low = minimum - minimum % width
    edges = np.arange(low, maximum + 2 * width, width)
    if len(edges) == 1:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return np.digitize(values, edges)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("width", [25, 0.1, 3.7, 1e-3])
def test_fixed_width_levels_equal_digitize(dtype, width: float) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(-300, 400, 50_000)
    on_edges = np.arange(-60, 60) * width - 1000 % width  # values exactly on bin edges
    values = np.concatenate([values, on_edges, [0.0]]).astype(dtype)
    expected = _digitize_reference(values, width)
    np.testing.assert_array_equal(pyradiomics_bin_levels(values, {"binWidth": width}), expected)
    single = np.full(4, 5, dtype)
    np.testing.assert_array_equal(pyradiomics_bin_levels(single, {"binWidth": width}), _digitize_reference(single, width))


@pytest.mark.parametrize("width", [25, 0.5, 7.3])
def test_fixed_width_levels_of_integer_valued_floats_equal_digitize(width: float) -> None:
    values = np.random.default_rng(4).integers(-1024, 1500, 40_000).astype(np.float32)  # HU
    np.testing.assert_array_equal(pyradiomics_bin_levels(values, {"binWidth": width}), _digitize_reference(values, width))
