"""Patient-level (cluster) bootstrap: resample patients with replacement, keep all their scans.

Scans of one patient are correlated, so resampling scans would understate the variance
(DOMAIN.md section 6). Percentile intervals; a fixed seed makes them reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["patient_bootstrap", "percentile_interval"]


def patient_bootstrap(
    patients: np.ndarray, statistic: Callable[[np.ndarray], dict], n_resamples: int, seed: int = 0
) -> list[dict]:
    """``statistic(rows)`` on ``n_resamples`` patient-level resamples (``rows``: positions, with repeats)."""
    _, index = np.unique(np.asarray(patients), return_inverse=True)
    order = np.argsort(index, kind="stable")
    starts = np.searchsorted(index[order], np.arange(index.max() + 2))
    rng = np.random.default_rng(seed)
    n_patients = index.max() + 1
    results = []
    for _ in range(n_resamples):
        chosen = rng.integers(0, n_patients, n_patients)
        rows = np.concatenate([order[starts[p] : starts[p + 1]] for p in chosen])
        results.append(statistic(rows))
    return results


def percentile_interval(
    values: list[float] | np.ndarray, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaNs ignored)."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
