"""Where the SSc-ILD patterns lie: basal, subpleural disease with an exact chosen extent.

A disease propensity field is defined in millimetres on a fixed 5 mm design grid in the patient
frame (so every grid of the same patient sees the same disease):

    P = 1.2 s * exp(-d / 20 mm) + b * (1 - h)^1.5 + 0.35 * G

with ``d`` the depth below the costal and diaphragmatic pleura (mm), ``h`` the height within
the lung (0 base, 1 apex), ``s`` / ``b`` the subpleural and basal weights of the spec and ``G`` a
smooth Gaussian random field (unit SD, about 20 mm correlation). The ILD region is the
``round(extent x lung voxels)`` lung voxels (vessels excluded) of highest P, so the realised
extent equals the requested one to the voxel. Inside it the patterns are assigned in order of
severity, each taking its exact share: consolidation / fibrosis first (the highest P: at the
pleura of the bases, touching the chest wall), then honeycombing (clustered, subpleural), then
reticulation, and ground glass for the rest (inner and upper margins). Emphysema takes the
voxels of highest ``upper-zone + fine random field`` outside the ILD.

Pattern codes of the truth map: :data:`ildrad.synth.phantom_spec.PATTERN_CODES`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from ildrad.synth.anatomy import BodyParameters, cavity_level, diaphragm_z

__all__ = ["DiseaseFields", "assign_patterns", "disease_fields", "pleural_depth_mm", "sample_field"]

_DESIGN_STEP_MM = 5.0
_DESIGN_LO = np.array([-190.0, -190.0, -80.0])  # x, y, z
_DESIGN_HI = np.array([190.0, 190.0, 340.0])


@dataclasses.dataclass(frozen=True)
class DiseaseFields:
    """Smooth random fields of one patient on the design grid (z, y, x), unit SD each."""

    coarse: np.ndarray  # disease location, ~20 mm correlation
    consolidation: np.ndarray
    honeycombing: np.ndarray
    reticulation: np.ndarray
    emphysema: np.ndarray  # ~6 mm correlation: lobular blobs


def _design_shape() -> tuple[int, int, int]:
    n = np.round((_DESIGN_HI - _DESIGN_LO) / _DESIGN_STEP_MM).astype(int) + 1
    return int(n[2]), int(n[1]), int(n[0])


def _smooth_field(rng: np.random.Generator, sigma_mm: float) -> np.ndarray:
    field = rng.standard_normal(_design_shape(), dtype=np.float32)
    field = ndimage.gaussian_filter(field, sigma_mm / _DESIGN_STEP_MM, mode="wrap")
    field -= field.mean()
    field /= field.std() + 1e-12
    return field


def disease_fields(rng: np.random.Generator) -> DiseaseFields:
    """Draw the random fields that place one patient's disease."""
    return DiseaseFields(
        coarse=_smooth_field(rng, 12.0),
        consolidation=_smooth_field(rng, 8.0),
        honeycombing=_smooth_field(rng, 8.0),
        reticulation=_smooth_field(rng, 8.0),
        emphysema=_smooth_field(rng, 4.0),
    )


def design_coordinates(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """Continuous (z, y, x) indices on the design grid of points in mm, shape (3, n)."""
    return np.stack(
        [
            (pz.astype(np.float64) - _DESIGN_LO[2]) / _DESIGN_STEP_MM,
            (py.astype(np.float64) - _DESIGN_LO[1]) / _DESIGN_STEP_MM,
            (px.astype(np.float64) - _DESIGN_LO[0]) / _DESIGN_STEP_MM,
        ]
    )


def sample_field(field: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Trilinear samples of a design-grid field at ``design_coordinates``."""
    if coords.shape[1] == 0:
        return np.zeros(0, np.float32)
    return ndimage.map_coordinates(field, coords, order=1, mode="nearest").astype(np.float32)


def pleural_depth_mm(px: np.ndarray, py: np.ndarray, pz: np.ndarray, bp: BodyParameters) -> np.ndarray:
    """Depth (mm) of points below the costal or diaphragmatic pleura (radial approximation)."""
    cav = cavity_level(px, py, pz, bp)
    r = np.sqrt(px**2 + (py + 5.0) ** 2)
    costal = r * (1.0 / np.maximum(cav, 1e-3) - 1.0)
    diaphragmatic = pz - diaphragm_z(px, py, bp)
    return np.maximum(np.minimum(costal, diaphragmatic), 0.0)


def _top_k(score: np.ndarray, k: int) -> np.ndarray:
    """Boolean selection of the k highest scores (ties broken by position: deterministic)."""
    selected = np.zeros(score.shape, bool)
    if k <= 0:
        return selected
    if k >= score.size:
        selected[:] = True
        return selected
    order = np.argpartition(-score, k - 1)[:k]
    selected[order] = True
    return selected


def assign_patterns(
    fields: DiseaseFields,
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    coords: np.ndarray,
    coarse: np.ndarray,
    n_lung: int,
    bp: BodyParameters,
    *,
    extent: float,
    shares: dict[str, float],
    emphysema_extent: float,
    subpleural_weight: float,
    basal_weight: float,
) -> np.ndarray:
    """Pattern codes (uint8) of eligible lung voxels at points (px, py, pz) in mm.

    ``coords`` are the points' :func:`design_coordinates` and ``coarse`` the coarse field sampled
    there. ``n_lung`` is the number of lung voxels (the extent denominator, vessels included);
    the points are the eligible (non-vessel) lung voxels. Codes: 1 ground glass,
    2 reticulation, 3 honeycombing, 4 consolidation, 5 emphysema, 0 normal.
    """
    codes = np.zeros(px.shape, np.uint8)
    if px.size == 0:
        return codes
    depth = pleural_depth_mm(px, py, pz, bp)
    z_base = float(pz.min())
    height = (pz - z_base) / max(float(pz.max()) - z_base, 1.0)
    propensity = (
        1.2 * subpleural_weight * np.exp(-depth / 20.0)
        + basal_weight * (1.0 - height) ** 1.5
        + 0.35 * coarse
    ).astype(np.float32)
    n_ild = min(int(round(extent * n_lung)), px.size)
    diseased = _top_k(propensity, n_ild)
    code_of = {"consolidation": 4, "honeycombing": 3, "reticulation": 2}
    remaining = np.nonzero(diseased)[0]
    for name in ("consolidation", "honeycombing", "reticulation"):
        count = min(int(round(shares[name] * n_ild)), remaining.size)
        if count == 0:
            continue
        score = propensity[remaining] + 0.35 * sample_field(getattr(fields, name), coords[:, remaining])
        if name == "honeycombing":
            score += 0.4 * np.exp(-depth[remaining] / 8.0)
        chosen = _top_k(score, count)
        codes[remaining[chosen]] = code_of[name]
        remaining = remaining[~chosen]
    codes[remaining] = 1
    if emphysema_extent > 0:
        healthy = np.nonzero(~diseased)[0]
        n_emph = min(int(round(emphysema_extent * n_lung)), healthy.size)
        score = 1.2 * height[healthy] + sample_field(fields.emphysema, coords[:, healthy])
        codes[healthy[_top_k(score, n_emph)]] = 5
    return codes
