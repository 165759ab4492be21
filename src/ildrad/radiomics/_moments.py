"""Statistics shared by several families: intensity distributions (intensity statistics and
intensity histogram, IBSI 1 3.3/3.4, on raw intensities and grey levels respectively) and voxel
position moments (morphology, IBSI 1 3.1, and PyRadiomics' shape)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "counted_distribution_features",
    "distribution_features",
    "percentiles",
    "position_moments",
    "ratio",
    "value_counts",
]


#: Integer-valued intensities spanning fewer values than this are counted, not sorted.
_COUNTING_SPAN = 1 << 22


def value_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``values`` (ascending, float64) and how many times each occurs.

    Integer-valued intensities (CT in HU, grey levels) are counted in one pass; other values are
    sorted (``numpy.unique``).
    """
    x = np.asarray(values).ravel()
    if x.size == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    lowest, highest = x.min(), x.max()
    integral = np.issubdtype(x.dtype, np.integer) or (
        np.isfinite(lowest) and np.isfinite(highest) and bool(np.all(x == np.rint(x)))
    )
    if integral and highest - lowest < _COUNTING_SPAN:
        start = int(lowest)
        counts = np.bincount(x.astype(np.int64) - start)
        present = np.flatnonzero(counts)
        return (present + start).astype(np.float64), counts[present]
    distinct, counts = np.unique(x.astype(np.float64), return_counts=True)
    return distinct, counts


def percentiles(distinct: np.ndarray, counts: np.ndarray, q: list[float]) -> np.ndarray:
    """Percentiles ``q`` (0-100) of the values ``distinct`` repeated ``counts`` times, by linear
    interpolation between order statistics (numpy's default method)."""
    n = int(counts.sum())
    position = np.asarray(q, dtype=np.float64) / 100.0 * (n - 1)
    below = np.floor(position)
    fraction = position - below
    ends = np.cumsum(counts)
    lower = distinct[np.searchsorted(ends, below, side="right")]
    upper = distinct[np.searchsorted(ends, np.minimum(below + 1, n - 1), side="right")]
    step = upper - lower
    return np.where(fraction >= 0.5, upper - step * (1.0 - fraction), lower + step * fraction)


def distribution_features(values: np.ndarray, prefix: str) -> dict[str, float]:
    """Mean, variance, skewness, (excess) kurtosis, percentiles and dispersion of ``values``.

    Tags ``{prefix}_mean`` ... ``{prefix}_qcod`` as IBSI 1 defines them: population variance;
    skewness and kurtosis 0 when the variance is 0; percentiles by linear interpolation (numpy's
    default); ``rmad`` over the values between the 10th and 90th percentiles (inclusive).
    Computed from the distinct values and their counts (:func:`value_counts`).
    """
    return counted_distribution_features(*value_counts(values), prefix)


def counted_distribution_features(distinct: np.ndarray, counts: np.ndarray, prefix: str) -> dict[str, float]:
    """:func:`distribution_features` of the values ``distinct`` repeated ``counts`` times."""
    weights = counts.astype(np.float64)
    n = float(weights.sum())
    mean = float(weights @ distinct) / n
    centred = distinct - mean
    squared = centred * centred
    m2 = float(weights @ squared) / n
    if m2 > 0.0:
        skew = float(weights @ (squared * centred)) / n / m2**1.5
        kurt = float(weights @ (squared * squared)) / n / m2**2 - 3.0
    else:
        skew = kurt = 0.0
    p10, p25, median, p75, p90 = (float(v) for v in percentiles(distinct, counts, [10, 25, 50, 75, 90]))
    lowest = float(distinct[0])
    highest = float(distinct[-1])
    robust = (distinct >= p10) & (distinct <= p90)
    robust_weights = weights[robust]
    robust_values = distinct[robust]
    robust_mean = float(robust_weights @ robust_values) / float(robust_weights.sum())
    return {
        f"{prefix}_mean": mean,
        f"{prefix}_var": m2,
        f"{prefix}_skew": skew,
        f"{prefix}_kurt": kurt,
        f"{prefix}_median": median,
        f"{prefix}_min": lowest,
        f"{prefix}_p10": p10,
        f"{prefix}_p90": p90,
        f"{prefix}_max": highest,
        f"{prefix}_iqr": p75 - p25,
        f"{prefix}_range": highest - lowest,
        f"{prefix}_mad": float(weights @ np.abs(centred)) / n,
        f"{prefix}_rmad": float(robust_weights @ np.abs(robust_values - robust_mean)) / float(robust_weights.sum()),
        f"{prefix}_medad": float(weights @ np.abs(distinct - median)) / n,
        f"{prefix}_cov": ratio(np.sqrt(m2), mean),
        f"{prefix}_qcod": ratio(p75 - p25, p75 + p25),
    }


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 (the feature is undefined)."""
    return float(numerator / denominator) if denominator != 0 else float("nan")


def position_moments(weights: np.ndarray, spacing: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Total, centroid (mm, z/y/x) and sample covariance (n - 1) of voxel positions weighted by
    ``weights`` (a boolean mask or intensities), from the three 2D projections: no coordinate
    list is built, so whole-lung masks cost a few passes over the box."""
    dtype = np.int64 if weights.dtype == bool else np.float64
    zy, zx, yx = (weights.sum(axis=axis, dtype=dtype) for axis in (2, 1, 0))
    axes = [(np.arange(n) - (n - 1) / 2.0) * h for n, h in zip(weights.shape, spacing)]
    z, y, x = axes
    total = float(zy.sum())
    if total == 0:
        return 0.0, np.full(3, np.nan), np.full((3, 3), np.nan)
    pz, py, px = zy.sum(axis=1), zy.sum(axis=0), zx.sum(axis=0)
    first = np.array([np.sum(z * pz), np.sum(y * py), np.sum(x * px)]) / total
    second = np.empty((3, 3))
    second[0, 0] = np.sum(z * z * pz)
    second[1, 1] = np.sum(y * y * py)
    second[2, 2] = np.sum(x * x * px)
    second[0, 1] = second[1, 0] = np.sum(z[:, None] * y[None, :] * zy)
    second[0, 2] = second[2, 0] = np.sum(z[:, None] * x[None, :] * zx)
    second[1, 2] = second[2, 1] = np.sum(y[:, None] * x[None, :] * yx)
    if total > 1:
        covariance = (second - total * np.outer(first, first)) / (total - 1.0)
    else:
        covariance = np.zeros((3, 3))
    centre = first + (np.array(weights.shape) - 1) / 2.0 * spacing
    return total, centre, covariance
