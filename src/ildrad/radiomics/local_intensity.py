"""IBSI 1 local intensity features (section 3.2): ``loc_peak_loc`` and ``loc_peak_glob``.

The peak is the mean intensity of every image voxel (inside the ROI or not) whose centre lies
within a sphere of 1 cm^3 (radius 6.2035 mm) around a voxel centre. The local peak centres the
sphere on the voxel(s) of highest intensity in the intensity mask (the largest mean when several
share the maximum); the global peak is the largest mean over every voxel of the intensity mask.
Voxels beyond the image border are absent (the mean is over the voxels present).

Sphere sums are built from running sums along x: the sphere is a union of x-runs, each costing
two look-ups per ROI voxel (a cached numba kernel); exact for integer intensities.
"""

from __future__ import annotations

import numpy as np

from ildrad.preprocess import PEAK_SPHERE_RADIUS_MM, ProcessedRoi
from ildrad.radiomics._morphology_kernels import sphere_sums
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["features", "sphere_kernel", "sphere_runs"]


def sphere_kernel(spacing: tuple[float, float, float], radius_mm: float = PEAK_SPHERE_RADIUS_MM) -> np.ndarray:
    """Float64 array of ones at the offsets whose voxel centres lie within ``radius_mm``."""
    half = [int(np.floor(radius_mm / s)) for s in spacing]
    axes = [np.arange(-h, h + 1) * s for h, s in zip(half, spacing)]
    dz, dy, dx = np.meshgrid(*axes, indexing="ij")
    return (dz**2 + dy**2 + dx**2 <= radius_mm**2 * (1 + 1e-12)).astype(np.float64)


def features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """Local and global intensity peaks of ``roi`` (see the module docstring)."""
    image = roi.image
    inside = roi.intensity
    runs = sphere_runs(roi.spacing)
    row_cumsum = np.zeros(image.shape[:2] + (image.shape[2] + 1,))
    np.cumsum(image, axis=2, out=row_cumsum[:, :, 1:])
    zs, ys, xs = (np.asarray(index, dtype=np.int64) for index in np.nonzero(inside))
    sums, counts = sphere_sums(row_cumsum, zs, ys, xs, runs)
    means = sums / counts
    values = roi.values
    hottest = values == values.max()
    return {"loc_peak_loc": float(means[hottest].max()), "loc_peak_glob": float(means.max())}


def sphere_runs(spacing: tuple[float, float, float], radius_mm: float = PEAK_SPHERE_RADIUS_MM) -> np.ndarray:
    """The sphere as x-runs: rows ``(dz, dy, half_length)`` (int64) of :func:`sphere_kernel`."""
    kernel = sphere_kernel(spacing, radius_mm) > 0
    half = np.array(kernel.shape) // 2
    rows = []
    for dz in range(kernel.shape[0]):
        for dy in range(kernel.shape[1]):
            length = int(kernel[dz, dy].sum())
            if length:
                rows.append((dz - half[0], dy - half[1], (length - 1) // 2))
    return np.array(rows, dtype=np.int64)
