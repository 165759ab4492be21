"""IBSI 1 intensity statistics (section 3.3): 18 features of the intensities in the intensity mask.

Tags ``stat_mean`` ... ``stat_rms``; energy is the sum of squared intensities (no voxel volume),
RMS the square root of the mean squared intensity.
"""

from __future__ import annotations

import numpy as np

from ildrad.preprocess import ProcessedRoi
from ildrad.radiomics._moments import distribution_features
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["features"]


def features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """The 18 IBSI intensity statistics of ``roi`` (intensity mask, processed intensities)."""
    values = roi.values
    out = distribution_features(values, "stat")
    squares = float(np.sum(values * values))
    out["stat_energy"] = squares
    out["stat_rms"] = float(np.sqrt(squares / values.size))
    return out
