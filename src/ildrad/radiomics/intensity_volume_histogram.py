"""IBSI 1 intensity-volume histogram (section 3.5): ``ivh_v10`` ... ``ivh_auc``.

The IVH has its own discretisation (``radiomics.ivh``):

* ``none``: the intensities themselves on a grid of step 1 (integer-valued images such as HU);
* ``fixed_bin_size`` ``w``: bins of width ``w`` from the lower bound (the re-segmentation lower
  bound when set and used, else the ROI minimum), each voxel represented by its bin centre
  ``X_min + (bin - 0.5) w``;
* ``fixed_bin_number`` ``N_g``: the grey levels 1..N_g of the ROI range (IBSI: ``i_min = 1``,
  ``i_max = N_g``).

The intensity fraction of a level is ``gamma = (i - i_min) / (i_max - i_min)``, with
``[i_min, i_max]`` the re-segmentation range when it is set (both sides) and used, else the
range of the discretised ROI intensities. The volume fraction ``v(i)`` is the fraction of ROI
voxels at or above level ``i``. ``ivh_vX`` is the volume fraction of voxels with
``gamma >= X %``; ``ivh_iX`` the lowest level whose volume fraction is at most ``X %``;
``ivh_auc`` the area under ``v`` against ``gamma`` (trapezoids over the levels).
"""

from __future__ import annotations

import numpy as np

from ildrad.preprocess import ProcessedRoi
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["features", "ivh_features"]


def features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """The IBSI intensity-volume-histogram features of the intensity mask."""
    values = roi.values
    ivh = settings.ivh
    value_range = roi.resegment_range if ivh.use_resegment_range else None
    if value_range is not None and (value_range[0] is None or value_range[1] is None):
        value_range = None
    if ivh.method == "fixed_bin_number":
        lowest, highest = (float(values.min()), float(values.max())) if value_range is None else value_range
        n_bins = int(ivh.bin_number)
        if highest > lowest:
            levels = np.minimum(np.floor(n_bins * (values - lowest) / (highest - lowest)) + 1, n_bins)
        else:
            levels = np.ones_like(values)
        return ivh_features(levels, 1.0, (1.0, float(n_bins)))
    if ivh.method == "fixed_bin_size":
        width = float(ivh.bin_size)
        lower = float(values.min()) if value_range is None else float(value_range[0])
        levels = lower + (np.floor((values - lower) / width) + 0.5) * width
        if value_range is not None:
            bounds = (lower + 0.5 * width, lower + (np.floor((value_range[1] - lower) / width) + 0.5) * width)
        else:
            bounds = (float(levels.min()), float(levels.max()))
        return ivh_features(levels, width, bounds)
    bounds = (float(values.min()), float(values.max())) if value_range is None else value_range
    return ivh_features(values, 1.0, (float(bounds[0]), float(bounds[1])))


def ivh_features(levels: np.ndarray, step: float, bounds: tuple[float, float]) -> dict[str, float]:
    """IVH features of discretised ``levels`` on a grid of ``step`` within ``bounds`` (i_min, i_max)."""
    levels = np.sort(np.asarray(levels, dtype=np.float64))
    n = levels.size
    i_min, i_max = bounds
    span = i_max - i_min
    grid = levels[0] + step * np.arange(int(round((levels[-1] - levels[0]) / step)) + 1)
    # volume fraction at or above each grid level
    at_or_above = 1.0 - np.searchsorted(levels, grid - 1e-9 * step, side="left") / n
    gamma = (grid - i_min) / span if span > 0 else np.zeros_like(grid)
    out: dict[str, float] = {}
    for percent in (10, 90):
        threshold = i_min + percent / 100.0 * span
        out[f"ivh_v{percent}"] = float(np.count_nonzero(levels >= threshold - 1e-9 * max(abs(span), 1.0)) / n)
    for percent in (10, 90):
        below = np.flatnonzero(at_or_above <= percent / 100.0)
        out[f"ivh_i{percent}"] = float(grid[below[0]]) if below.size else float(grid[-1] + step)
    out["ivh_diff_v10_v90"] = out["ivh_v10"] - out["ivh_v90"]
    out["ivh_diff_i10_i90"] = out["ivh_i10"] - out["ivh_i90"]
    out["ivh_auc"] = float(np.trapezoid(at_or_above, gamma)) if grid.size > 1 and span > 0 else 0.0
    order = ["ivh_v10", "ivh_v90", "ivh_i10", "ivh_i90", "ivh_diff_v10_v90", "ivh_diff_i10_i90", "ivh_auc"]
    return {tag: out[tag] for tag in order}
