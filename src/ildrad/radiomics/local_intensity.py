"""IBSI 1 local intensity features (section 3.2): ``loc_peak_loc`` and ``loc_peak_glob``.

The peak is the mean intensity of every image voxel (inside the ROI or not) whose centre lies
within a sphere of 1 cm^3 (radius 6.2035 mm) around a voxel centre. The local peak centres the
sphere on the voxel(s) of highest intensity in the intensity mask (the largest mean when several
share the maximum); the global peak is the largest mean over every voxel of the intensity mask.
Voxels beyond the image border are absent (the mean is over the voxels present).

Sphere sums over the ROI use FFT convolution of the block around the ROI (exact to ~1e-12
relative, deterministic, single-threaded).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from ildrad.preprocess import PEAK_SPHERE_RADIUS_MM, ProcessedRoi
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["features", "sphere_kernel"]


def sphere_kernel(spacing: tuple[float, float, float], radius_mm: float = PEAK_SPHERE_RADIUS_MM) -> np.ndarray:
    """Float64 array of ones at the offsets whose voxel centres lie within ``radius_mm``."""
    half = [int(np.floor(radius_mm / s)) for s in spacing]
    axes = [np.arange(-h, h + 1) * s for h, s in zip(half, spacing)]
    dz, dy, dx = np.meshgrid(*axes, indexing="ij")
    return (dz**2 + dy**2 + dx**2 <= radius_mm**2 * (1 + 1e-12)).astype(np.float64)


def features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """Local and global intensity peaks of ``roi`` (see the module docstring)."""
    kernel = sphere_kernel(roi.spacing)
    image = roi.image
    inside = roi.intensity
    values = image[inside]
    hottest = np.argwhere(inside & (image == values.max()))
    half = np.array(kernel.shape) // 2
    local = max(_sphere_mean(image, kernel, half, centre) for centre in hottest)
    # global peak: sphere sums and counts at every voxel (FFT convolution, then rounded where
    # the image holds integers so that ties and exact values are kept)
    sums = signal.fftconvolve(image, kernel, mode="same")
    counts = np.rint(signal.fftconvolve(np.ones_like(image), kernel, mode="same"))
    if np.array_equal(image, np.round(image)):
        sums = np.rint(sums)
    means = sums[inside] / counts[inside]
    return {"loc_peak_loc": float(local), "loc_peak_glob": float(means.max())}


def _sphere_mean(image: np.ndarray, kernel: np.ndarray, half: np.ndarray, centre: np.ndarray) -> float:
    lo = centre - half
    hi = centre + half + 1
    clip_lo = np.maximum(lo, 0)
    clip_hi = np.minimum(hi, image.shape)
    patch = image[tuple(slice(a, b) for a, b in zip(clip_lo, clip_hi))]
    weights = kernel[tuple(slice(a, b) for a, b in zip(clip_lo - lo, clip_hi - lo))]
    return float(np.sum(patch * weights) / np.sum(weights))
