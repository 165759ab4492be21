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


def _pad_to_blocks(array: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    pad = [(0, (-n) % f) for n, f in zip(array.shape, factors)]
    if any(p[1] for p in pad):
        array = np.pad(array, pad, mode="edge")
    return array


def downsample_mean(array: np.ndarray, coarse: CoarseGrid) -> np.ndarray:
    """Block mean of ``array`` (float32 result) on the coarse grid."""
    fz, fy, fx = coarse.factors
    padded = _pad_to_blocks(np.asarray(array, dtype=np.float32), coarse.factors)
    nz, ny, nx = padded.shape
    blocks = padded.reshape(nz // fz, fz, ny // fy, fy, nx // fx, fx)
    return blocks.mean(axis=(1, 3, 5), dtype=np.float32)


def upsample_nearest(coarse_array: np.ndarray, coarse: CoarseGrid) -> np.ndarray:
    """Repeat each coarse voxel over its block and crop to the full shape."""
    out = coarse_array
    for axis, factor in enumerate(coarse.factors):
        if factor > 1:
            out = np.repeat(out, factor, axis=axis)
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
