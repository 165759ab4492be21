"""The scanner: tissue HU (with or without contrast), kernel blur, slice profile, correlated
noise, the reconstruction circle and the header facts of the vendor.

Kernel model (in-plane Gaussian point-spread function, then for ``sharp`` an unsharp mask that
overshoots at edges as bone / lung kernels do). White noise is added before this filter, so the
noise is correlated the way the kernel shapes it; its amplitude is set from the filter's impulse
response so that the SD in a uniform region equals the target:

=========  ===============  ===============================  ===========================
kernel     PSF sigma (mm)   edge enhancement                 noise SD in water
=========  ===============  ===============================  ===========================
smooth     0.65             none                             ``noise_hu``
sharp      0.35             +0.9 x (image - blur 1.2 mm)      ``noise_hu x sharp_noise_factor``
=========  ===============  ===============================  ===========================

The slice profile is a Gaussian of FWHM = slice thickness along z.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from ildrad.synth.anatomy import TISSUE_CODES
from ildrad.synth.phantom_spec import PhantomSpec

__all__ = ["VENDORS", "apply_scanner", "reconstruction_circle", "scanner_metadata", "tissue_hu_table"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))

#: Vendor -> (model, smooth kernel, sharp kernel, value outside the reconstruction circle).
VENDORS: dict[str, tuple[str, str, str, float]] = {
    "SIEMENS": ("SOMATOM Definition AS", "B30f", "B70f", -2048.0),
    "GE": ("LightSpeed VCT", "STANDARD", "LUNG", -3024.0),
    "Philips": ("Brilliance 64", "B", "L", -3024.0),
    "Canon": ("Aquilion ONE", "FC08", "FC52", -2048.0),
}

#: HU per tissue without and with intravenous contrast (arterial / portal phase mix).
_TISSUE_HU: dict[str, tuple[float, float]] = {
    "air": (-1000.0, -1000.0),
    "fat": (-100.0, -100.0),
    "muscle": (50.0, 60.0),
    "cortical_bone": (900.0, 900.0),
    "marrow": (260.0, 270.0),
    "cartilage": (130.0, 130.0),
    "blood": (40.0, 260.0),
    "myocardium": (45.0, 110.0),
    "liver": (60.0, 110.0),
    "spleen": (50.0, 120.0),
    "bowel_gas": (-1000.0, -1000.0),
    "bowel_content": (20.0, 25.0),
    "airway_air": (-1000.0, -1000.0),
    "airway_wall": (40.0, 60.0),
    "oesophagus_wall": (45.0, 80.0),
    "oesophagus_air": (-1000.0, -1000.0),
    "oesophagus_fluid": (15.0, 15.0),
    "lung": (-850.0, -850.0),
    "lung_vessel": (40.0, 260.0),
    "table_shell": (300.0, 300.0),
    "table_foam": (-900.0, -900.0),
    "csf": (15.0, 15.0),
    "disc": (80.0, 80.0),
    "fiducial": (100.0, 100.0),
    "pleural_fluid": (10.0, 15.0),  # transudate; pleural fluid barely enhances
}


def tissue_hu_table(contrast: bool) -> np.ndarray:
    """Lookup table tissue code -> HU (float32)."""
    table = np.zeros(max(TISSUE_CODES.values()) + 1, np.float32)
    for name, code in TISSUE_CODES.items():
        table[code] = _TISSUE_HU[name][1 if contrast else 0]
    return table


def reconstruction_circle(x: np.ndarray, y: np.ndarray, radius_mm: float) -> np.ndarray:
    """Boolean (1, ny, nx) mask of the reconstruction circle centred on (0, 0)."""
    return (x**2 + y**2) <= radius_mm**2


def _in_plane_blur(volume: np.ndarray, spacing: tuple[float, float, float], sigma_mm: float, sigma_z_mm: float) -> np.ndarray:
    sigma = (sigma_z_mm / spacing[0], sigma_mm / spacing[1], sigma_mm / spacing[2])
    return ndimage.gaussian_filter(volume, sigma, mode="nearest", truncate=3.0)


def _kernel(spec: PhantomSpec) -> tuple[float, float]:
    """(PSF sigma mm, edge-enhancement amount) of the spec's kernel."""
    return (0.35, 0.9) if spec.kernel == "sharp" else (0.65, 0.0)


def _reconstruct(volume: np.ndarray, spacing: tuple[float, float, float], spec: PhantomSpec, sigma_z_mm: float) -> np.ndarray:
    """The kernel as a linear filter: Gaussian PSF and slice profile, then edge enhancement."""
    sigma_mm, enhance = _kernel(spec)
    out = _in_plane_blur(volume, spacing, sigma_mm, sigma_z_mm)
    if enhance > 0:
        wide = _in_plane_blur(out, spacing, 1.2, 0.0)
        out *= np.float32(1.0 + enhance)
        out -= np.float32(enhance) * wide
    return out


def _noise_gain(spacing: tuple[float, float, float], spec: PhantomSpec, sigma_z_mm: float) -> float:
    """SD of the filtered image of unit white noise: the L2 norm of the filter's impulse response."""
    impulse = np.zeros((25, 25, 25), np.float32)
    impulse[12, 12, 12] = 1.0
    response = _reconstruct(impulse, spacing, spec, sigma_z_mm)
    return float(np.sqrt(np.sum(response.astype(np.float64) ** 2)))


def apply_scanner(
    hu: np.ndarray,
    spacing: tuple[float, float, float],
    spec: PhantomSpec,
    rng: np.random.Generator,
    *,
    slice_thickness_mm: float,
    noise_sd_hu: float,
) -> np.ndarray:
    """Add white noise and reconstruct with the kernel: the noise comes out correlated with the
    kernel's noise-power shape and with SD ``noise_sd_hu`` (``hu`` is overwritten)."""
    sigma_z = slice_thickness_mm * _FWHM_TO_SIGMA
    if noise_sd_hu > 0:
        scale = np.float32(noise_sd_hu / _noise_gain(spacing, spec, sigma_z))
        for k in range(hu.shape[0]):  # slice by slice: small temporaries, same stream order
            hu[k] += scale * rng.standard_normal(hu.shape[1:], dtype=np.float32)
    return _reconstruct(hu, spacing, spec, sigma_z)


def scanner_metadata(spec: PhantomSpec, *, slice_thickness_mm: float, fov_mm: float, noise_sd_hu: float) -> dict[str, Any]:
    """Acquisition facts in the metadata keys of :mod:`ildrad.io.dicom_metadata`."""
    model, smooth_kernel, sharp_kernel, padding = VENDORS[spec.vendor]
    facts: dict[str, Any] = {
        "modality": "CT",
        "manufacturer": spec.vendor,
        "model": model,
        "kernel": sharp_kernel if spec.kernel == "sharp" else smooth_kernel,
        "slice_thickness_mm": float(slice_thickness_mm),
        "kvp": float(spec.kvp),
        "exposure_mas": float(spec.exposure_mas),
        "patient_position": "HFP" if spec.position == "prone" else "HFS",
        "body_part": "CHEST",
        "reconstruction_diameter_mm": float(fov_mm),
        "series_description": f"Thorax {slice_thickness_mm:g} {'Lung' if spec.kernel == 'sharp' else 'Soft'}"
        + (" EXP" if spec.breath == "expiratory" else ""),
        "fov_padding_hu": float(padding),
        "breath_hold": spec.breath,
        "noise_sd_water_hu": float(noise_sd_hu),
        "synthetic": True,
    }
    if spec.contrast:
        facts["contrast_agent"] = "IOPAMIDOL 370"
    return facts
