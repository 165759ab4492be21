"""IBSI 1 image processing: interpolation on the IBSI grid, re-segmentation, discretisation.

References are to the IBSI 1 reference manual (Zwanenburg et al., arXiv:1612.07003), chapter 2.

* Interpolation (2.4): the new grid is centred on the original one. Along an axis of ``n`` voxels
  of spacing ``s`` resampled to spacing ``s'``, the new grid has ``n' = ceil(n s / s')`` voxels and
  new voxel ``i`` sits at the original (continuous) index ``(n - 1) / 2 + (i - (n' - 1) / 2) s' / s``.
  Intensities are interpolated by nearest neighbour, (tri)linear or cubic B-spline interpolation
  (the ``map_coordinates`` family of scipy, values beyond the border taken from the nearest
  voxel), optionally rounded to integers (CT); the ROI mask is interpolated the same way as a
  float image and kept where it reaches the partial-volume threshold (0.5).
* Re-segmentation (2.5): the intensity mask keeps ROI voxels inside a range, then those within
  mean +/- k SD (population SD) of the remaining intensities. The morphological mask is the
  interpolated ROI itself.
* Discretisation (2.7): fixed bin size ``w`` from a lower bound ``X_min``:
  ``floor((X - X_min) / w) + 1``; fixed bin number ``N_g``:
  ``floor(N_g (X - X_min) / (X_max - X_min)) + 1``, ``X_max`` mapped to ``N_g``.

Heavy lifting works on the ROI's bounding box (plus a margin) so that whole-lung masks are cheap;
the whole image is resampled only when its diagnostics are asked for.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ildrad.errors import EmptyMaskError, InputError
from ildrad.image import Grid, Image
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = [
    "ProcessedRoi",
    "bounding_box",
    "bounding_box_slices",
    "discretise_fixed_bin_number",
    "discretise_fixed_bin_size",
    "ibsi_grid",
    "interpolate_block",
    "outlier_range",
    "process",
    "resegment",
]

log = logging.getLogger(__name__)

_ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}
#: Extra original voxels read around the ROI so that interpolation there is as on the whole image
#: (covers the linear/cubic support and, for splines, the decay of the prefilter: 0.268^12 ~ 1e-7).
_INTERPOLATION_MARGIN = {0: 1, 1: 2, 3: 12}
_THRESHOLD_ALLOWANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class ProcessedRoi:
    """An image block around the ROI after IBSI processing, with both IBSI masks.

    ``image`` (float64, interpolated and rounded as configured), ``morph`` (the interpolated ROI)
    and ``intensity`` (the re-segmented ROI) share one block of the processed grid; the block
    reaches at least ``margin_mm`` beyond the ROI wherever the image does (room for the local
    intensity sphere). ``binned`` holds the discretised grey levels 1..``n_bins`` inside
    ``intensity`` and 0 elsewhere. ``spacing`` is (z, y, x) in mm; ``resegment_range`` the range
    actually applied (None when no range was set), ``lower_bound`` the lower edge of bin 1 for a
    fixed bin size (None for a fixed bin number). ``values`` and ``levels`` are the intensities and
    grey levels of the intensity-mask voxels (C order), computed once for every family.
    """

    image: np.ndarray
    morph: np.ndarray
    intensity: np.ndarray
    binned: np.ndarray
    n_bins: int
    values: np.ndarray
    levels: np.ndarray
    spacing: tuple[float, float, float]
    resegment_range: tuple[float | None, float | None] | None
    lower_bound: float | None


def ibsi_grid(grid: Grid, spacing_mm: tuple[float | None, float | None, float | None]) -> tuple[Grid, np.ndarray, np.ndarray]:
    """The IBSI interpolation grid of ``grid`` at ``spacing_mm`` (z, y, x; None keeps an axis).

    Returns the new grid, and per axis the original index ``start`` of new voxel 0 and the
    ``step`` (new spacing / old spacing), so that new index ``i`` sits at ``start + i * step``.
    """
    old_spacing = np.asarray(grid.spacing, dtype=float)
    new_spacing = np.array([o if s is None else float(s) for s, o in zip(spacing_mm, old_spacing)])
    old_shape = np.asarray(grid.shape, dtype=float)
    # Rounding guards against ceil(99.0000000001) from floating-point spacing ratios.
    new_shape = np.ceil(np.round(old_shape * old_spacing / new_spacing, 6)).astype(int)
    step = new_spacing / old_spacing
    start = (old_shape - 1.0) / 2.0 - (new_shape - 1.0) / 2.0 * step
    origin = grid.index_to_physical(start)
    new_grid = Grid(tuple(new_shape), tuple(new_spacing), tuple(origin), grid.direction)
    return new_grid, start, step


def interpolate_block(
    array: np.ndarray,
    start: np.ndarray,
    step: np.ndarray,
    block_start: np.ndarray,
    block_shape: tuple[int, ...],
    method: str,
) -> np.ndarray:
    """Interpolate ``array`` at new-grid indices ``block_start + [0, block_shape)`` (float64).

    New index ``i`` is original index ``start + i * step`` (see :func:`ibsi_grid`). Only the
    original voxels needed (plus a margin) are read, so a block around a ROI costs little.
    """
    order = _ORDERS[method]
    if order == 0:
        return _nearest_block(array, start, step, block_start, block_shape)
    first = start + np.asarray(block_start) * step
    last = first + (np.asarray(block_shape) - 1) * step
    margin = _INTERPOLATION_MARGIN[order]
    lo = np.maximum(np.floor(first).astype(int) - margin, 0)
    hi = np.minimum(np.ceil(last).astype(int) + margin + 1, np.asarray(array.shape))
    source = np.ascontiguousarray(array[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], dtype=np.float64)
    return ndimage.affine_transform(
        source,
        step,
        offset=first - lo,
        output_shape=tuple(int(s) for s in block_shape),
        order=order,
        mode="nearest",
        prefilter=order > 1,
    )


def _nearest_block(
    array: np.ndarray, start: np.ndarray, step: np.ndarray, block_start: np.ndarray, block_shape: tuple[int, ...]
) -> np.ndarray:
    """Nearest-neighbour interpolation as a separable gather; ties (exactly halfway) go up."""
    axes = []
    for axis in range(3):
        new_index = block_start[axis] + np.arange(int(block_shape[axis]))
        old_index = np.floor(start[axis] + new_index * step[axis] + 0.5 + 1e-9).astype(np.intp)
        axes.append(np.clip(old_index, 0, array.shape[axis] - 1))
    return np.asarray(array[np.ix_(*axes)], dtype=np.float64)


def bounding_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last + 1) indices (z, y, x) of the non-zero voxels of ``mask``."""
    if not mask.any():
        raise EmptyMaskError("the ROI holds no voxel")
    bounds = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    return np.array([b[0] for b in bounds]), np.array([b[-1] + 1 for b in bounds])


def bounding_box_slices(mask: np.ndarray, margin: Sequence[int]) -> tuple[slice, ...]:
    """Slices of the bounding box of ``mask`` widened by ``margin`` voxels per axis, clipped to
    the array."""
    first, stop = bounding_box(mask)
    low = np.maximum(first - np.asarray(margin), 0)
    high = np.minimum(stop + np.asarray(margin), np.asarray(mask.shape))
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))


def outlier_range(values: np.ndarray, n_sd: float) -> tuple[float, float]:
    """(mean - n_sd SD, mean + n_sd SD) of ``values`` (population SD), IBSI 1 2.5."""
    mean = float(values.mean())
    sd = float(values.std())
    return mean - n_sd * sd, mean + n_sd * sd


def resegment(
    image: np.ndarray,
    roi: np.ndarray,
    value_range: tuple[float | None, float | None] | None,
    outlier_sd: float | None,
) -> np.ndarray:
    """The intensity mask: ``roi`` voxels inside ``value_range``, then within mean +/- k SD."""
    keep = roi.copy()
    if value_range is not None:
        lower, upper = value_range
        if lower is not None:
            keep &= image >= lower
        if upper is not None:
            keep &= image <= upper
    if outlier_sd is not None and keep.any():
        lower, upper = outlier_range(image[keep], outlier_sd)
        keep &= (image >= lower) & (image <= upper)
    return keep


def discretise_fixed_bin_size(values: np.ndarray, bin_size: float, lower_bound: float) -> np.ndarray:
    """Bin numbers (int32, from 1) of ``values`` for bins of width ``bin_size`` from ``lower_bound``."""
    return (np.floor((values - lower_bound) / bin_size) + 1).astype(np.int32)


def discretise_fixed_bin_number(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin numbers (int32, 1..n_bins) of ``values`` split into ``n_bins`` equal bins of their range.

    Constant values all go to bin 1.
    """
    lowest = float(values.min())
    highest = float(values.max())
    if highest == lowest:
        return np.ones(values.shape, dtype=np.int32)
    binned = np.floor(n_bins * (values - lowest) / (highest - lowest)) + 1
    return np.minimum(binned, n_bins).astype(np.int32)


def check_finite(values: np.ndarray, what: str) -> None:
    """Raise :class:`InputError` when ``values`` hold NaN or infinity."""
    if not np.all(np.isfinite(values)):
        count = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise InputError(f"{what}: {count} voxel(s) are NaN or infinite")


#: Radius (mm) of a sphere of 1 cm^3, the IBSI local intensity peak sphere (IBSI 1 3.2).
PEAK_SPHERE_RADIUS_MM = float((3000.0 / (4.0 * np.pi)) ** (1.0 / 3.0))


def process(
    image: Image,
    roi: np.ndarray,
    settings: RadiomicsSettings,
    source: str = "image",
) -> tuple[ProcessedRoi, dict[str, float]]:
    """Run the IBSI 1 processing chain on ``image`` inside the boolean ``roi`` (same grid).

    Returns the processed block and, when ``settings.diagnostics`` is set, the IBSI diagnostic
    values of each step (tags as in the IBSI reference tables: ``img_dim_x_init_img``,
    ``int_mask_vox_count_reseg_roi``, ...; else an empty dict). ``source`` names the input in
    error messages.
    """
    roi = np.asarray(roi, dtype=bool)
    if roi.shape != image.shape:
        raise InputError(f"{source}: ROI shape {roi.shape} differs from the image shape {image.shape}")
    if not roi.any():
        raise EmptyMaskError(f"{source}: the ROI mask holds no voxel")
    array = image.array
    if settings.round_input_intensities:
        array = np.round(array)
    diagnostics: dict[str, float] = {}
    if settings.diagnostics:
        diagnostics.update(_image_diagnostics(array, image.grid, "init_img"))
        diagnostics.update(_roi_diagnostics(array, roi, roi, image.grid.shape, "init_roi"))
    first, last = bounding_box(roi)
    resample = settings.resample
    if resample is None:
        spacing = image.grid.spacing
        margin = _margin_voxels(spacing)
        lo = np.maximum(first - margin, 0)
        hi = np.minimum(last + margin, image.grid.shape)
        block = np.asarray(array[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], dtype=np.float64)
        check_finite(block, f"{source}: image around the ROI")
        morph = roi[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].copy()
        if settings.diagnostics:
            diagnostics.update(_image_diagnostics(array, image.grid, "interp_img"))
    else:
        new_grid, start, step = ibsi_grid(image.grid, resample.spacing_mm)
        spacing = new_grid.spacing
        margin = _margin_voxels(spacing)
        new_first = np.floor((first - 1 - start) / step).astype(int) - margin
        new_last = np.ceil((last - start) / step).astype(int) + margin + 1
        lo = np.maximum(new_first, 0)
        hi = np.minimum(new_last, new_grid.shape)
        shape = tuple(int(s) for s in hi - lo)
        source_box = _source_box(lo, hi, start, step, image.grid.shape)
        check_finite(array[source_box], f"{source}: image around the ROI")
        block = interpolate_block(array, start, step, lo, shape, resample.interpolation)
        if resample.round_intensities:
            block = np.round(block)
        fraction = interpolate_block(roi.astype(np.float64), start, step, lo, shape, resample.mask_interpolation)
        # Centre-aligned grids often put new voxels exactly halfway between old ones (a mask
        # value of exactly 0.5); a 1e-9 allowance keeps floating-point noise from deciding them.
        morph = fraction >= resample.mask_threshold - _THRESHOLD_ALLOWANCE
        if not morph.any():
            raise EmptyMaskError(
                f"{source}: the ROI holds no voxel after interpolation to {spacing} mm "
                f"(partial-volume threshold {resample.mask_threshold})"
            )
        if settings.diagnostics:
            check_finite(array, f"{source}: image")
            whole = interpolate_block(array, start, step, np.zeros(3), new_grid.shape, resample.interpolation)
            if resample.round_intensities:
                whole = np.round(whole)
            diagnostics.update(_image_diagnostics(whole, new_grid, "interp_img"))
    if settings.diagnostics:
        grid_shape = tuple(int(s) for s in (new_grid.shape if resample is not None else image.grid.shape))
        diagnostics.update(_roi_diagnostics(block, morph, morph, grid_shape, "interp_roi"))
    reseg = settings.resegment
    intensity = resegment(block, morph, reseg.range, reseg.outlier_sd)
    if not intensity.any():
        raise EmptyMaskError(
            f"{source}: no ROI voxel is left after re-segmentation "
            f"(range {reseg.range}, outlier filter {reseg.outlier_sd} SD)"
        )
    if settings.diagnostics:
        diagnostics.update(_roi_diagnostics(block, intensity, morph, grid_shape, "reseg_roi"))
    values = block[intensity]
    binned, levels, n_bins, lower_bound = _discretise(block, intensity, values, settings)
    processed = ProcessedRoi(
        image=block,
        morph=morph,
        intensity=intensity,
        binned=binned,
        n_bins=n_bins,
        values=values,
        levels=levels,
        spacing=tuple(float(s) for s in spacing),
        resegment_range=reseg.range,
        lower_bound=lower_bound,
    )
    return processed, diagnostics


def _margin_voxels(spacing: tuple[float, float, float]) -> np.ndarray:
    """Voxels to keep around the ROI: the local-intensity sphere plus one."""
    return np.array([int(np.ceil(PEAK_SPHERE_RADIUS_MM / s)) + 1 for s in spacing])


def _source_box(lo: np.ndarray, hi: np.ndarray, start: np.ndarray, step: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, ...]:
    first = np.maximum(np.floor(start + lo * step).astype(int) - 2, 0)
    last = np.minimum(np.ceil(start + (hi - 1) * step).astype(int) + 3, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(first, last))


def _discretise(
    block: np.ndarray, intensity: np.ndarray, values: np.ndarray, settings: RadiomicsSettings
) -> tuple[np.ndarray, np.ndarray, int, float | None]:
    """Grey levels in the block (0 outside the intensity mask) and of ``values``, the number of
    levels and the lower edge of bin 1."""
    disc = settings.discretisation
    binned = np.zeros(block.shape, dtype=np.int32)
    if disc.method == "fixed_bin_number":
        levels = discretise_fixed_bin_number(values, int(disc.bin_number))
        binned[intensity] = levels
        return binned, levels, int(disc.bin_number), None
    lower = disc.lower_bound
    value_range = settings.resegment.range
    if lower is None and value_range is not None and value_range[0] is not None:
        lower = value_range[0]
    if lower is None:
        lower = float(values.min())
    if values.min() < lower:
        raise InputError(
            f"discretisation lower bound {lower} lies above the lowest ROI intensity {values.min()}"
        )
    levels = discretise_fixed_bin_size(values, float(disc.bin_size), float(lower))
    binned[intensity] = levels
    return binned, levels, int(levels.max()), float(lower)


def _image_diagnostics(array: np.ndarray, grid: Grid, step: str) -> dict[str, float]:
    nz, ny, nx = grid.shape
    sz, sy, sx = grid.spacing
    return {
        f"img_dim_x_{step}": float(nx),
        f"img_dim_y_{step}": float(ny),
        f"img_dim_z_{step}": float(nz),
        f"vox_dim_x_{step}": sx,
        f"vox_dim_y_{step}": sy,
        f"vox_dim_z_{step}": sz,
        f"mean_int_{step}": float(np.mean(array, dtype=np.float64)),
        f"min_int_{step}": float(np.min(array)),
        f"max_int_{step}": float(np.max(array)),
    }


def _roi_diagnostics(
    array: np.ndarray, intensity: np.ndarray, morph: np.ndarray, grid_shape: tuple[int, ...], step: str
) -> dict[str, float]:
    values = array[intensity].astype(np.float64)
    out = {
        f"int_mask_dim_x_{step}": float(grid_shape[2]),
        f"int_mask_dim_y_{step}": float(grid_shape[1]),
        f"int_mask_dim_z_{step}": float(grid_shape[0]),
    }
    for name, mask in (("int_mask", intensity), ("morph_mask", morph)):
        first, last = bounding_box(mask)
        size = last - first
        out[f"{name}_bb_dim_x_{step}"] = float(size[2])
        out[f"{name}_bb_dim_y_{step}"] = float(size[1])
        out[f"{name}_bb_dim_z_{step}"] = float(size[0])
    out[f"int_mask_vox_count_{step}"] = float(np.count_nonzero(intensity))
    out[f"morph_mask_vox_count_{step}"] = float(np.count_nonzero(morph))
    out[f"int_mask_mean_int_{step}"] = float(values.mean())
    out[f"int_mask_min_int_{step}"] = float(values.min())
    out[f"int_mask_max_int_{step}"] = float(values.max())
    return out
