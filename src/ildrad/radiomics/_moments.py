"""Statistics shared by several families: intensity distributions (intensity statistics and
intensity histogram, IBSI 1 3.3/3.4, on raw intensities and grey levels respectively) and voxel
position moments (morphology, IBSI 1 3.1, and PyRadiomics' shape)."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "counted_distribution_features",
    "distribution_features",
    "integer_valued",
    "percentiles",
    "position_moments",
    "ratio",
    "value_counts",
    "weighted_sum",
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
    counted = _integer_value_counts(x)
    if counted is not None:
        return counted
    distinct, counts = np.unique(x.astype(np.float64), return_counts=True)
    return distinct, counts


def _integer_value_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`value_counts` of non-empty integer-valued ``x`` spanning fewer than
    :data:`_COUNTING_SPAN` values (one counting pass), None for other values."""
    if not integer_valued(x):
        return None
    lowest, highest = x.min(), x.max()
    if not highest - lowest < _COUNTING_SPAN:
        return None
    start = int(lowest)
    counts = np.bincount(x.astype(np.int64) - start)
    present = np.flatnonzero(counts)
    return (present + start).astype(np.float64), counts[present]


def integer_valued(values: np.ndarray) -> bool:
    """Whether every value is a (finite) integer: integer dtypes, or floats checked on a few
    values first (filter response maps fail there without a pass over the whole array)."""
    x = np.asarray(values).ravel()
    if np.issubdtype(x.dtype, np.integer):
        return True
    head = x[:64]
    return (
        bool(np.all(head == np.rint(head)))
        and bool(np.all(x == np.rint(x)))
        and bool(np.isfinite(x.max() - x.min()))
    )


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
    Integer-valued intensities are counted (:func:`value_counts`); other values (filter
    response maps, SUV) are not sorted: their order statistics come from one partial sort
    (``numpy.partition``) and the rest from two passes over the values.
    """
    x = np.asarray(values).ravel()
    counted = _integer_value_counts(x) if x.size else None
    if counted is not None:
        return counted_distribution_features(*counted, prefix)
    return _raw_distribution_features(x.astype(np.float64), prefix)


#: Percentiles (%) reported by :func:`distribution_features`.
_QUANTILES = [10.0, 25.0, 50.0, 75.0, 90.0]


def _raw_distribution_features(x: np.ndarray, prefix: str) -> dict[str, float]:
    """:func:`distribution_features` of float64 ``x`` without counting distinct values."""
    n = x.size
    position = np.asarray(_QUANTILES) / 100.0 * (n - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    ranks = np.concatenate([[0, n - 1], below, above])
    ordered = _order_statistics(x, ranks)
    lower, upper = ordered[2:7], ordered[7:]
    fraction = position - below
    step = upper - lower
    p10, p25, median, p75, p90 = (
        float(v)
        for v in np.where(fraction >= 0.5, upper - step * (1.0 - fraction), lower + step * fraction)
    )
    lowest, highest = float(ordered[0]), float(ordered[1])
    mean = float(x.sum()) / n
    m2, m3, m4, mad, medad, robust_mean, rmad = (
        float(v) for v in _spread_sums(x, mean, median, p10, p90)
    )
    if m2 > 0.0:
        skew, kurt = m3 / m2**1.5, m4 / m2**2 - 3.0
    else:
        skew = kurt = 0.0
    return _named_statistics(prefix, mean, m2, skew, kurt, (lowest, p10, p25, median, p75, p90, highest),
                             (mad, rmad, medad))


def _named_statistics(
    prefix: str, mean: float, m2: float, skew: float, kurt: float,
    quantiles: tuple[float, ...], deviations: tuple[float, float, float],
) -> dict[str, float]:
    """The IBSI statistics named ``<prefix>_<tag>`` from the moments, the order statistics
    ``(min, p10, p25, median, p75, p90, max)`` and the deviations ``(mad, rmad, medad)``."""
    lowest, p10, p25, median, p75, p90, highest = quantiles
    mad, rmad, medad = deviations
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
        f"{prefix}_mad": mad,
        f"{prefix}_rmad": rmad,
        f"{prefix}_medad": medad,
        f"{prefix}_cov": ratio(np.sqrt(m2), mean),
        f"{prefix}_qcod": ratio(p75 - p25, p75 + p25),
    }


#: Buckets of the value range used to locate order statistics.
_SELECTION_BUCKETS = 1 << 16


@njit(cache=True, nogil=True)
def _order_statistics(x, ranks):  # noqa: ANN001, ANN202 - numba kernel
    """The values of 0-based ``ranks`` in ascending order of ``x`` (finite float64), without
    sorting ``x``: the value range is split into equal buckets, counted, and only the buckets
    holding a wanted rank are gathered and sorted."""
    lowest = highest = x[0]
    for v in x:
        lowest = min(lowest, v)
        highest = max(highest, v)
    n_buckets = _SELECTION_BUCKETS
    scale = (n_buckets - 1) / (highest - lowest) if highest > lowest else 0.0
    counts = np.zeros(n_buckets + 1, np.int64)
    for v in x:
        counts[int((v - lowest) * scale) + 1] += 1
    ends = np.cumsum(counts)  # ends[b]: values in buckets before b
    wanted = np.zeros(n_buckets, np.bool_)
    for r in ranks:
        wanted[np.searchsorted(ends, r, side="right") - 1] = True
    total = 0
    for b in range(n_buckets):
        if wanted[b]:
            total += ends[b + 1] - ends[b]
    gathered = np.empty(total, np.float64)
    start = np.zeros(n_buckets, np.int64)  # where each wanted bucket starts in ``gathered``
    filled = 0
    for b in range(n_buckets):
        if wanted[b]:
            start[b] = filled
            filled += ends[b + 1] - ends[b]
    cursor = start.copy()
    for v in x:
        b = int((v - lowest) * scale)
        if wanted[b]:
            gathered[cursor[b]] = v
            cursor[b] += 1
    out = np.empty(len(ranks), np.float64)
    for b in range(n_buckets):
        if wanted[b]:
            size = ends[b + 1] - ends[b]
            gathered[start[b] : start[b] + size] = np.sort(gathered[start[b] : start[b] + size])
    for i, r in enumerate(ranks):
        b = np.searchsorted(ends, r, side="right") - 1
        out[i] = gathered[start[b] + r - ends[b]]
    return out


@njit(cache=True, nogil=True)
def _spread_sums(x, mean, median, low, high):  # noqa: ANN001, ANN202 - numba kernel
    """Central moments 2-4, mean absolute deviations from the mean and the median, and the
    mean and mean absolute deviation of the values in ``[low, high]``: two serial passes."""
    robust_sum = 0.0
    robust_n = 0
    for v in x:
        if low <= v <= high:
            robust_sum += v
            robust_n += 1
    robust_mean = robust_sum / robust_n
    s2 = s3 = s4 = s_abs = s_median = s_robust = 0.0
    for v in x:
        c = v - mean
        c2 = c * c
        s2 += c2
        s3 += c2 * c
        s4 += c2 * c2
        s_abs += abs(c)
        s_median += abs(v - median)
        if low <= v <= high:
            s_robust += abs(v - robust_mean)
    n = x.size
    return s2 / n, s3 / n, s4 / n, s_abs / n, s_median / n, robust_mean, s_robust / robust_n


def warm_up() -> None:
    """Compile the kernels (numba cache)."""
    distribution_features(np.array([0.5, 1.5, 2.25]), "x")


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    """``weights @ values`` by numpy's pairwise summation: a BLAS dot product splits long
    vectors over its threads, so its last bits would depend on the thread count."""
    return float(np.sum(weights * values))


def counted_distribution_features(distinct: np.ndarray, counts: np.ndarray, prefix: str) -> dict[str, float]:
    """:func:`distribution_features` of the values ``distinct`` repeated ``counts`` times."""
    weights = counts.astype(np.float64)
    n = float(weights.sum())
    mean = weighted_sum(weights, distinct) / n
    centred = distinct - mean
    squared = centred * centred
    m2 = weighted_sum(weights, squared) / n
    if m2 > 0.0:
        skew = weighted_sum(weights, squared * centred) / n / m2**1.5
        kurt = weighted_sum(weights, squared * squared) / n / m2**2 - 3.0
    else:
        skew = kurt = 0.0
    p10, p25, median, p75, p90 = (float(v) for v in percentiles(distinct, counts, [10, 25, 50, 75, 90]))
    lowest = float(distinct[0])
    highest = float(distinct[-1])
    robust = (distinct >= p10) & (distinct <= p90)
    robust_weights = weights[robust]
    robust_values = distinct[robust]
    robust_mean = weighted_sum(robust_weights, robust_values) / float(robust_weights.sum())
    deviations = (
        weighted_sum(weights, np.abs(centred)) / n,
        weighted_sum(robust_weights, np.abs(robust_values - robust_mean)) / float(robust_weights.sum()),
        weighted_sum(weights, np.abs(distinct - median)) / n,
    )
    return _named_statistics(prefix, mean, m2, skew, kurt, (lowest, p10, p25, median, p75, p90, highest),
                             deviations)


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
