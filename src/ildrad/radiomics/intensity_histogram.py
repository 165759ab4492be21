"""IBSI 1 intensity histogram (section 3.4): 23 features of the discretised grey levels.

Besides the descriptors shared with the intensity statistics (``ih_mean`` ... ``ih_qcod``):
mode (the most frequent grey level, the lowest one on ties), entropy (log2) and uniformity of
the grey-level probabilities, and the largest / smallest histogram gradient with their grey
levels. The histogram spans every grey level from the lowest to the highest present (levels
absent in between count 0); its gradient is the forward difference at the first level, the
backward difference at the last, and the central difference ``(H(i+1) - H(i-1)) / 2`` elsewhere.
"""

from __future__ import annotations

import numpy as np

from ildrad.preprocess import ProcessedRoi
from ildrad.radiomics._moments import distribution_features
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["features", "histogram_features"]


def features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """The 23 IBSI intensity-histogram features of the discretised intensity mask."""
    return histogram_features(roi.levels)


def histogram_features(levels: np.ndarray) -> dict[str, float]:
    """IBSI intensity-histogram features of integer grey ``levels`` (1-based)."""
    levels = np.asarray(levels, dtype=np.int64)
    out = distribution_features(levels, "ih")
    lowest = int(levels.min())
    counts = np.bincount(levels - lowest).astype(np.float64)
    grey = np.arange(lowest, lowest + counts.size)
    probability = counts / levels.size
    present = probability[probability > 0]
    out["ih_mode"] = float(grey[int(np.argmax(counts))])
    out["ih_entropy"] = float(-np.sum(present * np.log2(present)))
    out["ih_uniformity"] = float(np.sum(present**2))
    gradient = np.gradient(counts) if counts.size > 1 else np.zeros(1)
    out["ih_max_grad"] = float(gradient.max())
    out["ih_max_grad_g"] = float(grey[int(np.argmax(gradient))])
    out["ih_min_grad"] = float(gradient.min())
    out["ih_min_grad_g"] = float(grey[int(np.argmin(gradient))])
    order = ["ih_mean", "ih_var", "ih_skew", "ih_kurt", "ih_median", "ih_min", "ih_p10", "ih_p90",
             "ih_max", "ih_mode", "ih_iqr", "ih_range", "ih_mad", "ih_rmad", "ih_medad", "ih_cov",
             "ih_qcod", "ih_entropy", "ih_uniformity", "ih_max_grad", "ih_max_grad_g",
             "ih_min_grad", "ih_min_grad_g"]
    return {tag: out[tag] for tag in order}
