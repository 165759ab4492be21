"""Network inputs: lung-cropped, resized, intensity-windowed CT arrays, cached once per scan.

One input per CT scan, made from the CT (HU) and its lung mask (the feature store's
``masks/<scan_key>/lungs.nii.gz``):

1. crop to the bounding box of the lung mask plus ``margin_mm``;
2. window HU to ``window_hu`` and map linearly to [0, 1]; voxels outside the (dilated by the
   margin) lung mask are set to 0, so the network sees lung only;
3. resize (linear interpolation, :func:`scipy.ndimage.zoom`) to a fixed shape: ``3d`` gives
   ``(1, S, S, S)`` with ``S = size_3d``; ``2.5d`` gives ``(3, S, S)`` with ``S = size_2d``, the
   channels being the axial slices at 30, 50 and 70 % of the lung's cranio-caudal extent.

Training views (2.5D): besides that input, ``stacks_2d`` stacks whose three slices are shifted
together by up to ``stack_shift`` of the lung height (evenly spaced, the middle one being the
input) are cached; each training step draws one of them per scan, so a small cohort offers the
network several distinct slices of every lung (real anatomy, not only flips of one picture).
Validation, prediction and Grad-CAM use the middle stack. 3D inputs have one view.

The crop is resized to a cube / square whatever its aspect (no isotropic padding): lungs of
different size fill the input alike, as in the registry study's segmented-lung crops.

Cache: ``WORKSPACE/deep_cache/<input hash>/<scan_key>.npy`` (float32, identifier-free, shape
``(views, channels, *spatial)``), the hash covering every setting that changes the arrays, so
epochs never re-read DICOM.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from ildrad.cohort.store import mask_result_set_dir, stored_lung_mask
from ildrad.errors import EmptyMaskError, InputError
from ildrad.models.settings import DeepSettings

__all__ = [
    "CACHE_DIR",
    "SLICE_POSITIONS",
    "build_cache",
    "input_hash",
    "input_shape",
    "load_inputs",
    "load_views",
    "input_lung_mask",
    "lung_input",
    "lung_views",
    "n_views",
    "stored_input_lung_masks",
]

log = logging.getLogger(__name__)

CACHE_DIR = "deep_cache"
#: Relative cranio-caudal positions of the three 2.5D slices inside the lung bounding box.
SLICE_POSITIONS = (0.3, 0.5, 0.7)


def input_shape(settings: DeepSettings) -> tuple[int, ...]:
    """Shape of one input array (channels first)."""
    if settings.dims == "3d":
        return (1, settings.size_3d, settings.size_3d, settings.size_3d)
    return (len(SLICE_POSITIONS), settings.size_2d, settings.size_2d)


def n_views(settings: DeepSettings) -> int:
    """Number of cached views per scan (the middle one is the network input)."""
    return 1 if settings.dims == "3d" else settings.stacks_2d


def _stack_shifts(settings: DeepSettings) -> np.ndarray:
    return np.linspace(-settings.stack_shift, settings.stack_shift, n_views(settings)) if n_views(settings) > 1 \
        else np.zeros(1)


def input_hash(settings: DeepSettings, result_set: str | None = None) -> str:
    """16-hex-digit digest of the settings that determine the cached arrays."""
    keys = {
        "dims": settings.dims,
        "shape": input_shape(settings),
        "window_hu": list(settings.window_hu),
        "margin_mm": settings.margin_mm,
        "result_set": result_set,
        "slices": SLICE_POSITIONS,
        "stack_shifts": [round(float(v), 6) for v in _stack_shifts(settings)],
        "version": 2,
    }
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


def lung_input(
    ct_hu: np.ndarray, lungs: np.ndarray, spacing_mm: tuple[float, float, float], settings: DeepSettings
) -> np.ndarray:
    """The network input of one scan (float32, channels first; see the module docstring).

    ``ct_hu`` and ``lungs`` are (z, y, x) arrays on the same grid, ``spacing_mm`` (z, y, x).
    """
    views = lung_views(ct_hu, lungs, spacing_mm, settings)
    return views[len(views) // 2]


def input_lung_mask(
    lungs: np.ndarray, spacing_mm: tuple[float, float, float], settings: DeepSettings
) -> np.ndarray:
    """The lung mask on the grid of :func:`lung_input` (bool, same shape): the mask cropped and
    resized exactly as the CT is (linear interpolation), kept where it is above one half."""
    as_fraction = settings.model_copy(update={"window_hu": (0.0, 1.0)})
    return lung_input((lungs > 0).astype(np.float32), lungs, spacing_mm, as_fraction) > 0.5


def lung_views(
    ct_hu: np.ndarray, lungs: np.ndarray, spacing_mm: tuple[float, float, float], settings: DeepSettings
) -> np.ndarray:
    """The cached views of one scan, ``(views, channels, *spatial)``; the middle view is :func:`lung_input`."""
    if ct_hu.shape != lungs.shape:
        raise InputError(f"CT {ct_hu.shape} and lung mask {lungs.shape} differ in shape")
    inside = lungs > 0
    if not inside.any():
        raise EmptyMaskError("the lung mask is empty: no network input can be cropped")
    margin = [int(np.ceil(settings.margin_mm / s)) for s in spacing_mm]
    where = np.nonzero(inside)
    box = tuple(
        slice(max(int(w.min()) - m, 0), min(int(w.max()) + m + 1, n))
        for w, m, n in zip(where, margin, ct_hu.shape)
    )
    lo, hi = settings.window_hu
    crop = (np.clip(ct_hu[box].astype(np.float32), lo, hi) - lo) / (hi - lo)
    keep = ndimage.binary_dilation(inside[box], iterations=max(1, min(margin))) if any(margin) else inside[box]
    crop[~keep] = 0.0
    if settings.dims == "3d":
        size = settings.size_3d
        out = ndimage.zoom(crop, [size / n for n in crop.shape], order=1, grid_mode=True, mode="nearest")
        return out[None, None].astype(np.float32)
    size = settings.size_2d
    depth = crop.shape[0]
    views = []
    for shift in _stack_shifts(settings):
        rows = [min(max(int(round((p + shift) * (depth - 1))), 0), depth - 1) for p in SLICE_POSITIONS]
        out = [ndimage.zoom(crop[r], [size / n for n in crop[r].shape], order=1, grid_mode=True, mode="nearest")
               for r in rows]
        views.append(np.stack(out))
    return np.stack(views).astype(np.float32)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
    np.save(tmp, array)
    tmp.replace(path)


def build_cache(workspace: str | Path, settings: DeepSettings, scan_keys: list[str] | None = None) -> Path:
    """Write the input of every manifest CT scan (or of ``scan_keys`` only) with a stored lung
    mask; return the cache folder.

    Scans already cached are skipped; scans without a lung mask are left out (counted in the log).
    """
    from ildrad.io.dicom_series import read_ct_series
    from ildrad.io.volume_files import read_mask
    from ildrad.progress import track

    workspace = Path(workspace)
    results = mask_result_set_dir(workspace, settings.result_set)
    folder = workspace / CACHE_DIR / input_hash(settings, results.name)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = pd.read_parquet(workspace / "manifest.parquet")
    if "modality" in manifest.columns:
        manifest = manifest[manifest.modality == "CT"]
    paths = pd.read_parquet(workspace / "private" / "series_paths.parquet").set_index("scan_key").files
    wanted = manifest.scan_key if scan_keys is None else [k for k in manifest.scan_key if k in set(scan_keys)]
    todo = [k for k in wanted if not (folder / f"{k}.npy").is_file()]
    no_mask = 0
    for key in track(todo, description="deep inputs"):
        mask_file = stored_lung_mask(results, key)
        if not mask_file.is_file() or key not in paths.index:
            no_mask += 1
            continue
        ct = read_ct_series([Path(f) for f in paths[key]])
        lungs = read_mask(mask_file)
        if lungs.array.shape != ct.array.shape:
            raise InputError(f"{mask_file}: lung mask shape {lungs.array.shape} differs from its CT {ct.array.shape}")
        _atomic_save(folder / f"{key}.npy", lung_views(ct.array, lungs.array, ct.grid.spacing, settings))
    if no_mask:
        log.warning("%d scan(s) have no stored lung mask and get no deep input", no_mask)
    (folder / "inputs.json").write_text(
        json.dumps({"result_set": results.name, **settings.model_dump(include={"dims", "size_2d", "size_3d",
                                                                              "window_hu", "margin_mm", "stacks_2d",
                                                                              "stack_shift"})}, indent=2)
    )
    return folder


def stored_input_lung_masks(
    workspace: str | Path, settings: DeepSettings, scan_keys: list[str]
) -> np.ndarray:
    """The stored lung masks of ``scan_keys`` on the grid of their network inputs
    (:func:`input_lung_mask`), ``(scans, channels, *spatial)`` bool, from the result set
    :func:`build_cache` reads."""
    from ildrad.io.volume_files import read_mask

    results = mask_result_set_dir(Path(workspace), settings.result_set)
    masks = []
    for key in scan_keys:
        path = stored_lung_mask(results, key)
        if not path.is_file():
            raise InputError(f"{path}: no stored lung mask for this scan")
        lungs = read_mask(path)
        masks.append(input_lung_mask(lungs.array, lungs.grid.spacing, settings))
    return np.stack(masks)


def load_views(folder: str | Path, scan_keys: list[str]) -> np.ndarray:
    """The cached views of ``scan_keys``, ``(scans, views, channels, *spatial)`` (an
    :class:`InputError` naming a missing one)."""
    folder = Path(folder)
    arrays = []
    for key in scan_keys:
        path = folder / f"{key}.npy"
        if not path.is_file():
            raise InputError(f"{path}: no cached deep input for this scan (run the cache step again)")
        arrays.append(np.load(path))
    return np.stack(arrays) if arrays else np.zeros((0,), np.float32)


def load_inputs(folder: str | Path, scan_keys: list[str]) -> np.ndarray:
    """The network inputs (middle views) of ``scan_keys``, ``(scans, channels, *spatial)``."""
    views = load_views(folder, scan_keys)
    return views[:, views.shape[1] // 2] if len(views) else views
