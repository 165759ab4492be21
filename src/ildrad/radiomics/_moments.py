"""Statistics shared by the intensity statistics and intensity histogram families (IBSI 1 3.3/3.4).

Both families compute the same descriptors, on raw intensities and on grey levels respectively.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distribution_features", "ratio"]


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
