"""Statistics from counts: percentiles of counted levels, and a mask's voxel positions per axis.

A one-HU histogram holds every density feature of a region, and the number of mask voxels at
each index along one array axis holds their mean position and its percentiles. Both replace
arrays of one entry per voxel (``np.argwhere`` on a whole-lung mask of a 512 x 512 x 300 CT
makes 240 MB of indices and takes about a second).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_position", "percentiles_of_counts", "position_counts", "position_percentiles"]


def percentiles_of_counts(
    counts: np.ndarray, levels: np.ndarray, percents: tuple[float, ...]
) -> list[float]:
    """Percentiles of values given as ``counts`` of each of ``levels``, with linear interpolation
    between order statistics at position (N - 1) p (Hyndman & Fan type 7, numpy's default)."""
    order = np.argsort(levels, kind="stable")
    levels, counts = np.asarray(levels, dtype=np.float64)[order], np.asarray(counts)[order]
    last = np.cumsum(counts) - 1  # index of the last order statistic at each level
    n = int(round(float(last[-1]))) + 1
    out = []
    for percent in percents:
        position = (n - 1) * percent / 100.0
        below = int(np.floor(position))
        lower = levels[np.searchsorted(last, below)]
        upper = levels[np.searchsorted(last, min(below + 1, n - 1))]
        out.append(float(lower + (position - below) * (upper - lower)))
    return out


def position_counts(mask: np.ndarray, axis: int) -> np.ndarray:
    """Number of True voxels of ``mask`` at each index along ``axis``."""
    others = tuple(a for a in range(mask.ndim) if a != axis)
    return np.count_nonzero(mask, axis=others)


def mean_position(mask: np.ndarray, axis: int) -> float:
    """Mean index of the True voxels of ``mask`` along ``axis`` (NaN when there are none)."""
    counts = position_counts(mask, axis)
    total = int(counts.sum())
    return float(counts @ np.arange(counts.size)) / total if total else float("nan")


def position_percentiles(
    mask: np.ndarray, axis: int, percents: tuple[float, ...], sign: float = 1.0
) -> list[float]:
    """Percentiles (type 7) of ``sign`` x the index along ``axis`` of the True voxels of
    ``mask``."""
    counts = position_counts(mask, axis)
    return percentiles_of_counts(counts, sign * np.arange(counts.size, dtype=np.float64), percents)
