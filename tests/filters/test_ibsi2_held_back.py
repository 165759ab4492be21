"""IBSI 2 phase-1 ids whose reference maps are held back: run the shipped configs and check
the maps against brute-force convolutions built independently (full non-separable kernels,
explicit numpy padding, kernels rotated with np.rot90) and against symmetries of the phantoms.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import pywt
from scipy.signal import fftconvolve

from ildrad.cli.filter import load_image_types
from ildrad.io.volume_files import read_image
from ildrad.radiomics.filters import apply_filter

REPO = Path(__file__).resolve().parents[2]
NUMPY_PAD = {"zero": "constant", "mirror": "symmetric", "periodic": "wrap", "nearest": "edge"}


def _phantom(shared_data: Path, name: str) -> np.ndarray:
    return read_image(
        shared_data / "ibsi2" / "digital_phantom" / name / "image" / f"{name}.nii.gz"
    ).array.astype(float)


def _run(shared_data: Path, config_id: str, phantom: str) -> np.ndarray:
    image = read_image(
        shared_data / "ibsi2" / "digital_phantom" / phantom / "image" / f"{phantom}.nii.gz"
    )
    (spec,) = load_image_types(REPO / "configs" / "ibsi2" / f"{config_id}.yaml")
    return apply_filter(image, spec).array.astype(np.float64)


def _brute_convolve(array: np.ndarray, kernel: np.ndarray, boundary: str) -> np.ndarray:
    """True convolution with a full kernel (odd sizes, centred), explicit numpy padding."""
    widths = [(k // 2, k // 2) for k in kernel.shape]
    padded = np.pad(array, widths, mode=NUMPY_PAD[boundary])
    return fftconvolve(padded, kernel, mode="valid")


def _permutation_invariant(array: np.ndarray, atol: float) -> bool:
    return all(
        np.allclose(array, array.transpose(p), atol=atol) for p in itertools.permutations(range(3))
    )


def test_2c_log_2d_matches_brute_force(shared_data: Path) -> None:
    out = _run(shared_data, "2C", "checkerboard")
    sigma = 2.5  # 5 mm at 2 mm spacing
    half = math.floor(4 * sigma + 0.5)
    y, x = np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1), indexing="ij")
    r2 = (x**2 + y**2) / sigma**2
    kernel = (
        -(1 / sigma**2) * (2 * math.pi * sigma**2) ** -1.0 * (2 - r2) * np.exp(-r2 / 2)
    )  # d = 2
    expected = _brute_convolve(_phantom(shared_data, "checkerboard"), kernel[np.newaxis], "mirror")
    np.testing.assert_allclose(out, expected, atol=1e-6 * np.abs(expected).max())
    # The two kinds of slices are complements (255 - p): maps add up to 255 * sum(kernel).
    np.testing.assert_allclose(out[0] + out[8], 255 * kernel.sum(), atol=1e-4)  # float32 map


def test_3c3_laws_energy_matches_brute_force(shared_data: Path) -> None:
    out = _run(shared_data, "3C3", "checkerboard")
    l5 = np.array([1, 4, 6, 4, 1]) / math.sqrt(70)
    s5 = np.array([-1, 0, 2, 0, -1]) / math.sqrt(6)
    kernel = np.outer(s5, l5)  # [y, x]: L5 along x, S5 along y
    image = _phantom(shared_data, "checkerboard")
    responses = [
        _brute_convolve(image, np.rot90(kernel, n)[np.newaxis], "mirror") for n in range(4)
    ]
    pooled = np.max(responses, axis=0)
    window = np.full((1, 15, 15), 1 / 225)
    expected = _brute_convolve(np.abs(pooled), window, "mirror")
    np.testing.assert_allclose(out, expected, atol=1e-9 * np.abs(expected).max())
    assert out.min() >= 0


def test_6a2_coif1_rotation_invariant_matches_pooled_kernel(shared_data: Path) -> None:
    out = _run(shared_data, "6A2", "sphere")
    bank = pywt.Wavelet("coif1")
    lo, hi = np.append(bank.dec_lo, 0.0), np.append(bank.dec_hi, 0.0)  # even length: append a zero
    kernel = np.einsum("z,y,x->zyx", lo, hi, hi)  # HHL: H along x and y, L along z
    probe = np.arange(kernel.size).reshape(kernel.shape)
    seen, rotated = [], []
    for turns in itertools.product(range(4), repeat=3):
        p, k = probe, kernel
        for axes, n in zip(((0, 1), (0, 2), (1, 2)), turns, strict=True):
            p, k = np.rot90(p, n, axes=axes), np.rot90(k, n, axes=axes)
        if not any(np.array_equal(p, q) for q in seen):
            seen.append(p)
            rotated.append(k)
    assert len(rotated) == 24
    expected = _brute_convolve(
        _phantom(shared_data, "sphere"), np.mean(rotated, axis=0), "periodic"
    )
    np.testing.assert_allclose(out, expected, atol=1e-9 * np.abs(expected).max())
    assert _permutation_invariant(out, atol=1e-9)


def test_4b2_gabor_pooled_over_planes_is_symmetric(shared_data: Path) -> None:
    out = _run(shared_data, "4B2", "sphere")
    single = _run(shared_data, "4B1", "sphere")
    # Pooling over the three planes and a symmetric set of 16 orientations: the sphere's symmetry
    # under axis permutations must carry over to the map (a single plane/orientation does not).
    assert _permutation_invariant(out, atol=1e-6 * out.max())
    assert not _permutation_invariant(single, atol=1e-3 * single.max())
    assert out.min() >= 0
    assert 0 < out.max() < single.max()


@pytest.mark.parametrize("config_id", ["8A1", "8A2", "8A3"])
def test_8a_simoncelli_maps_are_band_pass_and_symmetric(shared_data: Path, config_id: str) -> None:
    out = _run(shared_data, config_id, "checkerboard")
    assert abs(out.mean()) < 1e-9 * np.abs(out).max()  # no DC component
    assert _permutation_invariant(out, atol=1e-9 * np.abs(out).max())
    assert np.abs(out).max() > 1.0
