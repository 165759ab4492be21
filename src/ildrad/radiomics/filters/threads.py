"""How many threads run independent filter and per-image feature computations side by side."""

from __future__ import annotations

__all__ = ["filter_threads"]


def filter_threads() -> int:
    """Threads used to run independent computations side by side (each one serial, so values
    do not depend on this number): numba's thread count (``NUMBA_NUM_THREADS``, 1 in cohort
    workers), at most 4."""
    from numba import get_num_threads

    return min(get_num_threads(), 4)
