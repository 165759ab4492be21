"""Survival weighting edge cases."""

from __future__ import annotations

import numpy as np

from ildrad.evaluate.survival import censoring_weights


def test_censoring_weights_when_nobody_died() -> None:
    time = np.array([1.0, 2.0, 3.0])
    event = np.zeros(3, bool)
    np.testing.assert_array_equal(censoring_weights(time, event, (time, event)), np.zeros(3))
