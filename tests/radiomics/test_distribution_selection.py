"""Distribution statistics of non-integer values (filter response maps) without sorting them:
order statistics by bucket selection against ``numpy.sort``, and the statistics against numpy
on values whose distribution defeats equal-width buckets (ties, a far outlier, a constant)."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.radiomics._moments import _order_statistics, distribution_features


def _cases() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [
        rng.normal(size=100_003),
        np.repeat(rng.normal(size=50), 41) + 0.5,  # many ties
        np.concatenate([rng.normal(size=20_000) * 1e-3, [1e9, -1e9]]),  # all in one bucket
        np.full(17, -2.25),
        np.array([0.125]),
        rng.standard_cauchy(30_001),
    ]


@pytest.mark.parametrize("index", range(6))
def test_order_statistics_equal_sorting(index: int) -> None:
    x = _cases()[index]
    ranks = np.unique(np.random.default_rng(index).integers(0, x.size, 40))
    ranks = np.concatenate([[0, x.size - 1], ranks])
    np.testing.assert_array_equal(_order_statistics(x, ranks), np.sort(x)[ranks])


@pytest.mark.parametrize("index", range(6))
def test_statistics_of_non_integer_values_equal_numpy(index: int) -> None:
    x = _cases()[index]
    got = distribution_features(x.astype(np.float32) if index == 0 else x, "s")
    x = x.astype(np.float32).astype(np.float64) if index == 0 else x
    p10, p25, median, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    expected = {
        "mean": x.mean(), "var": x.var(), "median": median, "min": x.min(), "max": x.max(),
        "p10": p10, "p90": p90, "iqr": p75 - p25, "mad": np.mean(np.abs(x - x.mean())),
        "rmad": np.mean(np.abs(robust - robust.mean())), "medad": np.mean(np.abs(x - median)),
    }
    for key, value in expected.items():
        assert got[f"s_{key}"] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_integer_valued() -> None:
    from ildrad.radiomics._moments import integer_valued

    assert integer_valued(np.array([3, -7], np.int16))
    assert integer_valued(np.arange(100, dtype=np.float32) - 50)
    assert not integer_valued(np.concatenate([np.arange(100.0), [0.5]]))  # beyond the head
    assert not integer_valued(np.array([1.0, np.inf]))
    assert not integer_valued(np.array([1.0, np.nan]))
