"""Robustness of radiomic features by image perturbation (Zwanenburg et al. 2019, Sci Rep 9:614).

Each CT scan gets ``n`` perturbed versions. A perturbation is a chain of four steps, applied in
this order:

1. **Rotation** of image and mask together by an angle about the z axis (the array's slice axis),
   about the in-plane centre of the grid, in physical (mm) coordinates: a point at in-plane offset
   ``(dx, dy)`` from the centre moves to ``(dx cos t - dy sin t, dx sin t + dy cos t)`` (x, y
   along the array's column and row axes). Image: linear interpolation, edges extended; mask:
   nearest neighbour.
2. **Additive Gaussian noise** with SD ``noise_scale`` times the image's own noise level,
   estimated as ``1.4826 MAD`` of the second difference along x divided by ``sqrt(6)`` (a
   high-pass that cancels linear trends and whose SD equals the noise SD for white noise) over
   voxel triplets inside the mask.
3. **Contour randomisation**: the boundary moves along the signed distance map by a smooth
   Gaussian random field (SD ``contour_amplitude_mm``, correlation length
   ``contour_correlation_mm``): new mask = ``distance + field < 0``. This is the noise-driven
   variant; Zwanenburg's supervoxel variant (SLIC) is not implemented.
4. **Volume adaptation**: the mask grows or shrinks by a relative volume ``volume_fraction``
   (e.g. +0.1 = 10 % more voxels) by taking the voxels of lowest signed distance: the result has
   exactly ``round(V (1 + f))`` voxels (ties broken in array order).

STYLE habit 3: :func:`sample_parameters` draws every random value of a perturbation from the seed
and the scan key; :func:`perturb` is the deterministic twin that applies recorded parameters, so
``parameters.parquet`` regenerates every perturbed image and mask.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import ndimage

from ildrad.errors import InputError
from ildrad.image import Image, Mask
from ildrad.settings_base import Section

if TYPE_CHECKING:
    from ildrad.config import Config

__all__ = [
    "PerturbationParameters",
    "PerturbationSettings",
    "adapt_volume",
    "add_noise",
    "estimate_noise_sd",
    "perturb",
    "perturb_workspace",
    "randomise_contour",
    "rotate_about_z",
    "sample_parameters",
    "stability_table",
]

log = logging.getLogger(__name__)

STABILITY_DIR = "stability"
ICC_FILE = "icc.parquet"
PARAMETERS_FILE = "parameters.parquet"
FEATURES_FILE = "features.parquet"


class PerturbationSettings(Section):
    """Ranges of the perturbation chain (defaults after Zwanenburg et al. 2019)."""

    n: int = Field(10, ge=2, description="perturbed versions per scan")
    seed: int = 0
    max_angle_deg: float = Field(10.0, ge=0, le=180, description="angles drawn from U(-a, a)")
    noise_scale: float = Field(1.0, ge=0, description="added noise SD / estimated image noise SD")
    max_volume_fraction: float = Field(0.1, ge=0, lt=1, description="fractions from U(-f, f)")
    contour_amplitude_mm: float = Field(1.0, ge=0, description="SD of the boundary displacement")
    contour_correlation_mm: float = Field(5.0, gt=0, description="smoothing SD of the random field")


@dataclasses.dataclass(frozen=True)
class PerturbationParameters:
    """Everything one perturbation needs; recorded in ``parameters.parquet``."""

    scan_key: str
    perturbation: int
    angle_deg: float
    noise_sd: float  #: SD of the added noise, in the image's unit (HU)
    noise_seed: int
    contour_amplitude_mm: float
    contour_correlation_mm: float
    contour_seed: int
    volume_fraction: float


def _scan_rng(seed: int, scan_key: str) -> np.random.Generator:
    """Generator of one scan: depends on the seed and the key only (not on the scan order)."""
    key_int = int(hashlib.sha256(scan_key.encode()).hexdigest()[:15], 16)
    return np.random.default_rng([seed, key_int])


def estimate_noise_sd(image: Image, mask: np.ndarray | None = None) -> float:
    """Noise SD (image unit): 1.4826 MAD of ``(I[x-1] - 2 I[x] + I[x+1]) / sqrt(6)`` over voxel
    triplets in ``mask`` (whole image when the mask has fewer than 100 triplets)."""
    values = image.array.astype(np.float64)
    diff = (values[:, :, :-2] - 2.0 * values[:, :, 1:-1] + values[:, :, 2:]) / np.sqrt(6.0)
    if mask is not None:
        inside = mask[:, :, :-2] & mask[:, :, 1:-1] & mask[:, :, 2:]
        if inside.sum() >= 100:
            diff = diff[inside]
    diff = diff.ravel()
    return float(1.4826 * np.median(np.abs(diff - np.median(diff))))


def sample_parameters(
    scan_key: str, noise_level: float, settings: PerturbationSettings
) -> list[PerturbationParameters]:
    """Draw the ``settings.n`` perturbations of a scan (``noise_level``: its estimated noise SD)."""
    rng = _scan_rng(settings.seed, scan_key)
    out = []
    for index in range(settings.n):
        angle, fraction = rng.uniform(-1.0, 1.0, size=2)
        noise_seed, contour_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
        out.append(
            PerturbationParameters(
                scan_key=scan_key,
                perturbation=index,
                angle_deg=float(angle * settings.max_angle_deg),
                noise_sd=float(settings.noise_scale * noise_level),
                noise_seed=noise_seed,
                contour_amplitude_mm=settings.contour_amplitude_mm,
                contour_correlation_mm=settings.contour_correlation_mm,
                contour_seed=contour_seed,
                volume_fraction=float(fraction * settings.max_volume_fraction),
            )
        )
    return out


def rotate_about_z(image: Image, mask: np.ndarray, angle_deg: float) -> tuple[Image, np.ndarray]:
    """Rotate image (linear) and mask (nearest) in-plane by ``angle_deg`` about the grid centre."""
    if angle_deg == 0.0:
        return image, mask.copy()
    theta = np.deg2rad(angle_deg)
    _, sy, sx = image.spacing
    # Output (y, x) index o samples input index  S^-1 R^-1 S (o - c) + c  (S: spacing, mm).
    rotation_inverse = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    # R acts on (x, y); in (y, x) order R = [[cos, sin], [-sin, cos]], so R^-1 = its transpose.
    scale = np.diag([sy, sx])
    in_plane = np.linalg.inv(scale) @ rotation_inverse @ scale
    matrix = np.eye(3)
    matrix[1:, 1:] = in_plane
    centre = (np.asarray(image.shape, float) - 1.0) / 2.0
    centre[0] = 0.0
    offset = centre - matrix @ centre
    values = ndimage.affine_transform(
        image.array.astype(np.float32), matrix, offset, order=1, mode="nearest"
    )
    rotated = ndimage.affine_transform(
        mask.astype(np.uint8), matrix, offset, order=0, mode="constant", cval=0
    )
    return image.with_array(values), rotated.astype(bool)


def add_noise(image: Image, sd: float, seed: int) -> Image:
    """Image plus white Gaussian noise of SD ``sd`` (image unit) from ``seed``."""
    if sd <= 0:
        return image
    noise = np.random.default_rng(seed).normal(0.0, sd, size=image.shape)
    return image.with_array((image.array.astype(np.float64) + noise).astype(np.float32))


def _signed_distance_mm(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Signed distance (mm): negative inside (to the nearest outside voxel), positive outside."""
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
    return np.where(mask, -inside, outside)


def _crop(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """Bounding box of the mask padded by ``margin`` voxels (clipped to the array)."""
    where = np.argwhere(mask)
    low = np.maximum(where.min(axis=0) - margin, 0)
    high = np.minimum(where.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))


def randomise_contour(
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    amplitude_mm: float,
    correlation_mm: float,
    seed: int,
) -> np.ndarray:
    """Move the boundary by a smooth random field: ``signed_distance + field < 0``.

    The field is white noise smoothed by a Gaussian of SD ``correlation_mm``, then centred and
    scaled to SD ``amplitude_mm`` over the ROI's box (no net shift of the boundary: size changes
    are the job of :func:`adapt_volume`); only voxels within ``4 amplitude`` of the boundary
    can change.
    """
    if amplitude_mm <= 0 or not mask.any():
        return mask.copy()
    margin = int(np.ceil(4 * amplitude_mm / min(spacing))) + 1
    box = _crop(mask, margin)
    local = mask[box]
    field = np.random.default_rng(seed).normal(size=local.shape)
    field = ndimage.gaussian_filter(field, sigma=[correlation_mm / s for s in spacing])
    sd = field.std()
    field = (field - field.mean()) * (amplitude_mm / sd) if sd > 0 else np.zeros_like(field)
    out = np.zeros_like(mask)
    out[box] = _signed_distance_mm(local, spacing) + field < 0
    return out


def adapt_volume(
    mask: np.ndarray, spacing: tuple[float, float, float], fraction: float
) -> np.ndarray:
    """Grow (``fraction`` > 0) or shrink the mask to exactly ``round(V (1 + fraction))`` voxels,
    taking voxels in order of signed distance to the boundary (ties in array order)."""
    count = int(mask.sum())
    target = int(round(count * (1.0 + fraction)))
    if count == 0 or target == count:
        return mask.copy()
    if target < 1:
        raise InputError(
            f"volume adaptation by {fraction:+.3f} leaves no voxel of a {count}-voxel mask"
        )
    # Margin: the shell of a sphere of the grown volume, at least 2 voxels.
    radius = (3 * count * np.prod(spacing) / (4 * np.pi)) ** (1 / 3)
    growth_mm = radius * (max(1.0 + fraction, 1.0) ** (1 / 3) - 1.0)
    margin = int(np.ceil(growth_mm / min(spacing))) + 2
    box = _crop(mask, margin)
    distance = _signed_distance_mm(mask[box], spacing).ravel()
    if target > distance.size:
        raise InputError(
            f"volume adaptation by {fraction:+.3f} needs more voxels than the image holds"
        )
    order = np.argsort(distance, kind="stable")[:target]
    local = np.zeros(distance.size, dtype=bool)
    local[order] = True
    out = np.zeros_like(mask)
    out[box] = local.reshape(mask[box].shape)
    return out


def perturb(
    image: Image, mask: np.ndarray, parameters: PerturbationParameters
) -> tuple[Image, np.ndarray]:
    """Deterministic twin: apply recorded parameters (rotation, noise, contour, volume)."""
    rotated, roi = rotate_about_z(image, mask.astype(bool), parameters.angle_deg)
    noisy = add_noise(rotated, parameters.noise_sd, parameters.noise_seed)
    roi = randomise_contour(
        roi,
        image.spacing,
        parameters.contour_amplitude_mm,
        parameters.contour_correlation_mm,
        parameters.contour_seed,
    )
    roi = adapt_volume(roi, image.spacing, parameters.volume_fraction)
    return noisy, roi


def stability_table(features: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """ICC(2,1) and ICC(3,1) per feature over scans x perturbations (``features``: long table with
    ``scan_key``, ``perturbation``). Features with a missing value or no variance get NaN."""
    from ildrad.models.features import icc

    n_scans = int(features.scan_key.nunique())
    n_perturbations = int(features.perturbation.nunique())
    if n_scans < 2 or n_perturbations < 2:
        raise InputError(
            f"ICC needs at least 2 scans and 2 perturbations, got {n_scans} and {n_perturbations}"
        )
    complete = [c for c in columns if features[c].notna().all()]
    rows = pd.DataFrame({"feature": columns})
    for form in ("2,1", "3,1"):
        values = (
            icc(features, complete, "scan_key", "perturbation", form) if complete else pd.Series()
        )
        rows[f"icc_{form.replace(',', '_')}"] = rows.feature.map(values).astype(float)
    rows["n_scans"] = n_scans
    rows["n_perturbations"] = n_perturbations
    return rows


def _scan_keys(workspace: Path, results: Path, scans: int | None, seed: int) -> list[str]:
    from ildrad.cohort.manifest import read_manifest
    from ildrad.cohort.store import MASKS_DIR, stored_lung_mask

    manifest = read_manifest(workspace)
    if "modality" in manifest.columns:
        manifest = manifest[manifest.modality.fillna("CT") == "CT"]
    keys = sorted(k for k in manifest.scan_key if stored_lung_mask(results, k).is_file())
    if len(keys) < 2:
        raise InputError(
            f"{results / MASKS_DIR}: {len(keys)} CT scan(s) with a stored lung mask; ICC needs 2"
        )
    if scans is not None and scans < len(keys):
        if scans < 2:
            raise InputError(f"--scans must be at least 2 for an ICC, got {scans}")
        chosen = np.random.default_rng(seed).choice(len(keys), size=scans, replace=False)
        keys = [keys[i] for i in sorted(chosen)]
    return keys


def perturb_workspace(
    workspace: str | Path,
    config: Config,
    settings: PerturbationSettings,
    scans: int | None = None,
    result_set: str | None = None,
) -> Path:
    """Perturb the CT scans of a workspace, extract their lung radiomics with ``config``'s
    ``radiomics`` section, and write ``WORKSPACE/stability/<result_set>/`` : ``icc.parquet``
    (feature, icc_2_1, icc_3_1, n_scans, n_perturbations), ``parameters.parquet`` (one row per
    scan x perturbation, with the estimated noise level), ``features.parquet`` (the long table)
    and ``settings.json``. Returns the folder."""
    from ildrad.cohort.pipeline import _radiomics_row
    from ildrad.cohort.store import mask_result_set_dir, result_set_name, stored_lung_mask
    from ildrad.config import config_hash
    from ildrad.io.dicom_series import read_ct_series
    from ildrad.io.volume_files import read_mask
    from ildrad.progress import track

    workspace = Path(workspace)
    results = mask_result_set_dir(workspace, result_set)
    if results.name != result_set_name(config_hash(config)):
        log.warning(
            "result set %s was not made with this configuration (%s): perturbed features use the "
            "given configuration's radiomics section",
            results.name,
            result_set_name(config_hash(config)),
        )
    paths_file = workspace / "private" / "series_paths.parquet"
    if not paths_file.is_file():
        raise InputError(f"{paths_file}: missing (run `ildrad index` first)")
    paths = pd.read_parquet(paths_file).set_index("scan_key").files
    keys = _scan_keys(workspace, results, scans, settings.seed)
    rows, records = [], []
    for key in track(keys, description="perturb"):
        if key not in paths.index:
            raise InputError(f"{paths_file}: no files for scan {key}")
        ct = read_ct_series([Path(f) for f in paths[key]], settings=config.io)
        mask_file = stored_lung_mask(results, key)
        lungs = read_mask(mask_file).array != 0
        if lungs.shape != ct.shape:
            raise InputError(
                f"{mask_file}: lung mask shape {lungs.shape} differs from its CT {ct.shape}"
            )
        noise_level = estimate_noise_sd(ct, lungs)
        for parameters in sample_parameters(key, noise_level, settings):
            image, roi = perturb(ct, lungs, parameters)
            row = _radiomics_row(
                image, Mask(roi.astype(np.uint8), image.grid), config, "rad", "lung", "original"
            )
            rows.append({"scan_key": key, "perturbation": parameters.perturbation, **row})
            records.append(
                {
                    **dataclasses.asdict(parameters),
                    "noise_level": noise_level,
                    "roi_voxels": int(roi.sum()),
                }
            )
    features = pd.DataFrame(rows)
    columns = [c for c in features.columns if c.startswith("rad__")]
    table = stability_table(features, columns)
    out = workspace / STABILITY_DIR / results.name
    out.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out / ICC_FILE, index=False)
    pd.DataFrame(records).to_parquet(out / PARAMETERS_FILE, index=False)
    features.to_parquet(out / FEATURES_FILE, index=False)
    (out / "settings.json").write_text(
        json.dumps(
            {
                "result_set": results.name,
                "scans": keys,
                "perturbation": settings.model_dump(mode="json"),
                "radiomics_config_hash": config_hash(config.radiomics),
            },
            indent=2,
        )
    )
    log.info(
        "ICC of %d features over %d scans x %d perturbations -> %s",
        len(table),
        len(keys),
        settings.n,
        out / ICC_FILE,
    )
    return out
