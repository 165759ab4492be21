"""A coarse working grid for topology decisions (block means down, nearest/linear back up).

Segmentation decides *what* is lung on a grid of about 2 mm (fast, little noise) and decides
*where the boundary is* at full resolution (:mod:`ildrad.lung.segmentation`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["CoarseGrid", "coarse_grid_for", "downsample_mean", "upsample_fraction", "upsample_nearest"]


@dataclasses.dataclass(frozen=True)
class CoarseGrid:
    """Integer block factors (z, y, x) from a full grid to a coarse one."""

    factors: tuple[int, int, int]
    full_shape: tuple[int, int, int]
    full_spacing: tuple[float, float, float]

    @property
    def shape(self) -> tuple[int, int, int]:
        """Coarse array shape (ceil of full shape / factor)."""
        return tuple(-(-n // f) for n, f in zip(self.full_shape, self.factors))  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Coarse voxel size (z, y, x) in mm."""
        return tuple(s * f for s, f in zip(self.full_spacing, self.factors))  # type: ignore[return-value]

    def full_index(self, coarse_index: np.ndarray) -> np.ndarray:
        """Full-grid (continuous) index of the centre of coarse voxels ``(..., 3)``."""
        factors = np.asarray(self.factors, dtype=float)
        return np.asarray(coarse_index, dtype=float) * factors + (factors - 1) / 2.0


def coarse_grid_for(shape: tuple[int, int, int], spacing: tuple[float, float, float],
                    resolution_mm: float) -> CoarseGrid:
    """Block factors giving voxels of about ``resolution_mm`` (1.4 mm input -> 2.8 mm; never finer)."""
    factors = tuple(max(1, int(np.ceil(resolution_mm / s - 0.3))) for s in spacing)
    return CoarseGrid(factors, tuple(shape), tuple(spacing))  # type: ignore[arg-type]


def downsample_mean(array: np.ndarray, coarse: CoarseGrid, lower: float | None = None) -> np.ndarray:
    """Block mean of ``array`` (float32 result) on the coarse grid.

    Values are first clipped from below at ``lower`` when given. Blocks cut by the array's end
    average the voxels they hold. The volume is reduced in slabs of slices by strided sums, so
    no full-size float copy is made.
    """
    fz, fy, fx = coarse.factors
    nz, ny, nx = array.shape
    out = np.empty((-(-nz // fz), -(-ny // fy), -(-nx // fx)), dtype=np.float32)
    counts_yx = _block_counts(ny, fy)[:, None] * _block_counts(nx, fx)[None, :]
    slab = fz * max(1, 32 // fz)
    for z0 in range(0, nz, slab):
        chunk = np.asarray(array[z0: z0 + slab], dtype=np.float32)
        if lower is not None:
            chunk = np.maximum(chunk, np.float32(lower))
        summed = _block_sum(_block_sum(_block_sum(chunk, fz, 0), fy, 1), fx, 2)
        counts = _block_counts(chunk.shape[0], fz)[:, None, None] * counts_yx[None]
        out[z0 // fz: z0 // fz + summed.shape[0]] = summed / counts.astype(np.float32)
    return out


def _block_sum(array: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Sums of consecutive runs of ``factor`` elements along ``axis`` (last run may be short)."""
    if factor == 1:
        return array
    n = array.shape[axis]
    shape = list(array.shape)
    shape[axis] = -(-n // factor)
    out = np.zeros(shape, dtype=np.float32)
    for offset in range(factor):
        part = array[(slice(None),) * axis + (slice(offset, None, factor),)]
        out[(slice(None),) * axis + (slice(0, part.shape[axis]),)] += part
    return out


def _block_counts(n: int, factor: int) -> np.ndarray:
    starts = np.arange(0, n, factor)
    return np.minimum(starts + factor, n) - starts


def upsample_nearest(coarse_array: np.ndarray, coarse: CoarseGrid) -> np.ndarray:
    """Repeat each coarse voxel over its block and crop to the full shape (one copy)."""
    fz, fy, fx = coarse.factors
    mz, my, mx = coarse_array.shape
    blocks = np.broadcast_to(coarse_array[:, None, :, None, :, None], (mz, fz, my, fy, mx, fx))
    out = blocks.reshape(mz * fz, my * fy, mx * fx)
    if not out.flags.writeable:  # all factors 1: the reshape is a view of the input
        out = out.copy()
    nz, ny, nx = coarse.full_shape
    return out[:nz, :ny, :nx]


def upsample_fraction(coarse_mask: np.ndarray, coarse: CoarseGrid) -> np.ndarray:
    """Linear interpolation of a binary coarse mask to the full grid (values 0..1, float32).

    Thresholding the result at 0.5 gives a smooth full-resolution boundary instead of blocks.
    """
    nz, ny, nx = coarse.full_shape
    coords = [
        (np.arange(n, dtype=np.float32) - (f - 1) / 2.0) / f for n, f in zip((nz, ny, nx), coarse.factors)
    ]
    out = coarse_mask.astype(np.float32)
    for axis, positions in enumerate(coords):
        if coarse.factors[axis] == 1:
            continue
        size = out.shape[axis]
        clipped = np.clip(positions, 0.0, size - 1.0)
        low = np.floor(clipped).astype(np.intp)
        high = np.minimum(low + 1, size - 1)
        weight_shape = [1] * out.ndim
        weight_shape[axis] = len(positions)
        weight = (clipped - low).astype(np.float32).reshape(weight_shape)
        out = np.take(out, low, axis=axis) * (1.0 - weight) + np.take(out, high, axis=axis) * weight
    return out
