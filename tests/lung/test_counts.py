"""Statistics from counts (ildrad.lung.counts) against numpy on the explicit values."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.lung.counts import mean_position, percentiles_of_counts, position_percentiles


def test_percentiles_of_counted_levels_equal_numpy_on_the_repeated_values() -> None:
    levels = np.array([-900.0, -850.0, -100.0, 40.0, -860.0])  # not sorted
    counts = np.array([3, 1, 2, 1, 4])
    values = np.repeat(levels, counts)
    percents = (0.0, 10.0, 33.3, 50.0, 90.0, 100.0)
    assert percentiles_of_counts(counts, levels, percents) == pytest.approx(
        np.percentile(values, percents), abs=1e-12)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_positions_along_an_axis_equal_those_of_the_voxel_indices(axis: int) -> None:
    mask = np.random.default_rng(4).random((9, 13, 11)) < 0.2
    index = np.argwhere(mask)[:, axis]
    assert mean_position(mask, axis) == pytest.approx(index.mean(), abs=1e-12)
    for sign in (1.0, -1.0):
        expected = np.percentile(sign * index, [20.0, 70.0])
        found = position_percentiles(mask, axis, (20.0, 70.0), sign)
        assert found == pytest.approx(expected, abs=1e-12)
    assert np.isnan(mean_position(np.zeros_like(mask), axis))
