"""Statistics shared by several families: intensity distributions (intensity statistics and
intensity histogram, IBSI 1 3.3/3.4, on raw intensities and grey levels respectively) and voxel
position moments (morphology, IBSI 1 3.1, and PyRadiomics' shape)."""

from __future__ import annotations

import numpy as np

__all__ = ["distribution_features", "position_moments", "ratio"]


def distribution_features(values: np.ndarray, prefix: str) -> dict[str, float]:
    """Mean, variance, skewness, (excess) kurtosis, percentiles and dispersion of ``values``.

    Tags ``{prefix}_mean`` ... ``{prefix}_qcod`` as IBSI 1 defines them: population variance;
    skewness and kurtosis 0 when the variance is 0; percentiles by linear interpolation (numpy's
    default); ``rmad`` over the values between the 10th and 90th percentiles (inclusive).
    """
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    centred = x - mean
    squared = centred * centred
    m2 = float(squared.mean())
    if m2 > 0.0:
        skew = float(np.mean(squared * centred)) / m2**1.5
        kurt = float(np.mean(squared * squared)) / m2**2 - 3.0
    else:
        skew = kurt = 0.0
    p10, p25, median, p75, p90 = (float(v) for v in np.percentile(x, [10, 25, 50, 75, 90]))
    lowest = float(x.min())
    highest = float(x.max())
    robust = x[(x >= p10) & (x <= p90)]
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
        f"{prefix}_mad": float(np.mean(np.abs(centred))),
        f"{prefix}_rmad": float(np.mean(np.abs(robust - robust.mean()))),
        f"{prefix}_medad": float(np.mean(np.abs(x - median))),
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
