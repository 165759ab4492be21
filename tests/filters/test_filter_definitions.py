"""Filters against their definitions: hand-computed boundary cases, constant images, impulses.

Each expected value is built independently of the filter code: explicit padding with numpy,
kernels written out from the IBSI 2 formulas as full (non-separable) arrays, analytic values.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import pywt
from pydantic import TypeAdapter, ValidationError

from ildrad.image import Image, Unit
from ildrad.radiomics.filters import apply_filter, filter_array
from ildrad.radiomics.filters.boundary import pad
from ildrad.radiomics.filters.separable import convolve_separable, right_angle_rotations
from ildrad.radiomics.filters.spec import FilterSpec, ImageTypeList

SPEC = TypeAdapter(FilterSpec)
BOUNDARIES = ("zero", "nearest", "periodic", "mirror")


def spec(**settings) -> FilterSpec:
    return SPEC.validate_python(settings)


def impulse(size: int = 21, value: float = 1.0) -> np.ndarray:
    array = np.zeros((size,) * 3)
    array[(size // 2,) * 3] = value
    return array


# --- boundary conditions, by hand ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("boundary", "expected"),
    [
        ("zero", [0, 0, 1]),  # 0 0 | 1 2 3
        ("nearest", [1, 1, 1]),  # 1 1 | 1 2 3
        ("periodic", [2, 3, 1]),  # 2 3 | 1 2 3
        ("mirror", [2, 1, 1]),  # 2 1 | 1 2 3  (edge voxel repeated, IBSI 2)
    ],
)
def test_boundary_modes_1d_by_hand(boundary: str, expected: list[float]) -> None:
    # Kernel [0 0 0 0 1] as a true convolution: out[i] = a[i - 2].
    line = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3)
    shifted = convolve_separable(line, (None, None, np.array([0, 0, 0, 0, 1.0])), boundary)
    np.testing.assert_array_equal(shifted.ravel(), expected)
    padded = pad(line, {2: 2}, boundary).ravel()
    np.testing.assert_array_equal(padded[:2], expected[:2])


def test_mean_3d_periodic_corner_by_hand() -> None:
    # On a 2x2x2 periodic image a 3-voxel window at index 0 covers indices (1, 0, 1): weights (1, 2)
    # per axis for indices (0, 1), so the corner mean is sum(w_z w_y w_x v) / 27.
    values = np.arange(1.0, 9.0).reshape(2, 2, 2)
    weights = np.array([1.0, 2.0])
    expected = np.einsum("i,j,k,ijk->", weights, weights, weights, values) / 27
    out = filter_array(
        values, (1.0, 1.0, 1.0), spec(filter="mean", support_vox=3, boundary="periodic")
    )
    assert out[0, 0, 0] == pytest.approx(expected, rel=1e-12)
    zero = filter_array(
        values, (1.0, 1.0, 1.0), spec(filter="mean", support_vox=3, boundary="zero")
    )
    assert zero[0, 0, 0] == pytest.approx(values.sum() / 27, rel=1e-12)


# --- constant images --------------------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_mean_of_constant_is_the_constant(boundary: str, dims: str) -> None:
    constant = np.full((12, 13, 14), 7.5)
    out = filter_array(
        constant, (2.0, 1.0, 1.0), spec(filter="mean", support_vox=5, boundary=boundary, dims=dims)
    )
    inner = out[2:-2, 2:-2, 2:-2] if dims == "3d" else out[:, 2:-2, 2:-2]
    np.testing.assert_allclose(inner, 7.5, rtol=1e-12)
    if boundary != "zero":
        np.testing.assert_allclose(out, 7.5, rtol=1e-12)
    else:
        assert out[0, 0, 0] < 7.5


HIGH_PASS = [
    {"filter": "laws", "kernel": "E5L5S5"},
    {"filter": "laws", "kernel": "L5W5R5", "rotation_invariance": True, "pooling": "mean"},
    {"filter": "laws", "kernel": "S3E3", "dims": "2d"},
    {"filter": "wavelet", "wavelet": "db2", "subband": "LLH"},
    {"filter": "wavelet", "wavelet": "coif1", "subband": "HHL", "level": 2},
    {
        "filter": "wavelet",
        "wavelet": "haar",
        "subband": "HL",
        "dims": "2d",
        "rotation_invariance": True,
    },
    {"filter": "wavelet", "wavelet": "db3", "subband": "HHH"},
]
HIGH_PASS_CASES = [
    {**s, "boundary": b} for s in HIGH_PASS for b in ("nearest", "mirror", "periodic")
] + [
    {"filter": "simoncelli", "level": 2, "boundary": "periodic"},  # periodic by definition
]


@pytest.mark.parametrize(
    "settings", HIGH_PASS_CASES, ids=lambda s: "-".join(str(v) for v in s.values())
)
def test_high_pass_filters_give_zero_on_constant(settings: dict) -> None:
    out = filter_array(np.full((16, 17, 18), 100.0), (1.0, 1.0, 1.0), spec(**settings))
    np.testing.assert_allclose(out, 0.0, atol=1e-9)


def test_wavelet_low_pass_keeps_constant_scaled_by_filter_sums() -> None:
    # Each orthonormal low-pass sums to sqrt(2): LLL at any level multiplies a constant by 2^(3/2).
    out = filter_array(
        np.full((16, 16, 16), 3.0),
        (1.0, 1.0, 1.0),
        spec(filter="wavelet", wavelet="db2", subband="LLL", level=2, boundary="mirror"),
    )
    np.testing.assert_allclose(out, 3.0 * 2**1.5 * 2**1.5, rtol=1e-12)


def test_log_of_constant_is_constant_times_kernel_sum() -> None:
    sigma_vox = 1.5
    half = math.floor(4 * sigma_vox + 0.5)
    grid = np.arange(-half, half + 1)
    z, y, x = np.meshgrid(grid, grid, grid, indexing="ij")
    r2 = (x**2 + y**2 + z**2) / sigma_vox**2
    kernel = -(1 / sigma_vox**2) * (2 * math.pi * sigma_vox**2) ** -1.5 * (3 - r2) * np.exp(-r2 / 2)
    out = filter_array(
        np.full((20, 20, 20), 10.0),
        (2.0, 2.0, 2.0),
        spec(filter="log", sigma_mm=3.0, boundary="mirror"),
    )
    np.testing.assert_allclose(out, 10.0 * kernel.sum(), rtol=1e-9, atol=1e-12)
    assert abs(kernel.sum()) < 1e-3  # close to zero-sum, not renormalised (IBSI 2)


# --- impulse responses ----------------------------------------------------------------------


def _around_centre(out: np.ndarray, half: int) -> np.ndarray:
    c = out.shape[0] // 2
    return out[c - half : c + half + 1, c - half : c + half + 1, c - half : c + half + 1]


def test_log_impulse_response_is_the_ibsi_kernel() -> None:
    sigma_vox = 1.5  # 3 mm at 2 mm spacing
    half = math.floor(4 * sigma_vox + 0.5)
    grid = np.arange(-half, half + 1)
    z, y, x = np.meshgrid(grid, grid, grid, indexing="ij")
    r2 = (x**2 + y**2 + z**2) / sigma_vox**2
    kernel = -(1 / sigma_vox**2) * (2 * math.pi * sigma_vox**2) ** -1.5 * (3 - r2) * np.exp(-r2 / 2)
    out = filter_array(
        impulse(31), (2.0, 2.0, 2.0), spec(filter="log", sigma_mm=3.0, boundary="zero")
    )
    np.testing.assert_allclose(_around_centre(out, half), kernel, atol=1e-14)
    assert np.count_nonzero(np.abs(out) > 1e-15) == kernel.size  # support 13^3, nothing outside


def test_laws_impulse_response_is_the_outer_product_in_xyz_order() -> None:
    e5 = np.array([-1, -2, 0, 2, 1]) / math.sqrt(10)
    l5 = np.array([1, 4, 6, 4, 1]) / math.sqrt(70)
    s5 = np.array([-1, 0, 2, 0, -1]) / math.sqrt(6)
    expected = np.einsum("z,y,x->zyx", s5, l5, e5)  # E5 along x, L5 along y, S5 along z
    out = filter_array(
        impulse(), (1.0, 1.0, 1.0), spec(filter="laws", kernel="E5L5S5", boundary="zero")
    )
    np.testing.assert_allclose(_around_centre(out, 2), expected, atol=1e-15)
    assert np.abs(out).sum() == pytest.approx(np.abs(expected).sum())


def test_laws_rotation_max_pooling_matches_explicitly_rotated_kernels() -> None:
    e5 = np.array([-1, -2, 0, 2, 1]) / math.sqrt(10)
    l5 = np.array([1, 4, 6, 4, 1]) / math.sqrt(70)
    s5 = np.array([-1, 0, 2, 0, -1]) / math.sqrt(6)
    kernel = np.einsum("z,y,x->zyx", s5, l5, e5)
    rotated = _cube_rotations(kernel)
    assert len(rotated) == 24
    expected = np.max(rotated, axis=0)  # impulse response of max pooling = max over rotated kernels
    out = filter_array(
        impulse(),
        (1.0, 1.0, 1.0),
        spec(filter="laws", kernel="E5L5S5", rotation_invariance=True, boundary="zero"),
    )
    np.testing.assert_allclose(_around_centre(out, 2), expected, atol=1e-15)


def _cube_rotations(kernel: np.ndarray) -> np.ndarray:
    """The 24 proper rotations of a cube array, built with np.rot90 (independent of the filters).

    Rotations are told apart on a probe with all-distinct values, so kernel symmetries do not
    merge them.
    """
    probe = np.arange(kernel.size).reshape(kernel.shape)
    seen: list[np.ndarray] = []
    rotated: list[np.ndarray] = []
    for turns in itertools.product(range(4), repeat=3):
        p, k = probe, kernel
        for axes, n in zip(((0, 1), (0, 2), (1, 2)), turns, strict=True):
            p, k = np.rot90(p, n, axes=axes), np.rot90(k, n, axes=axes)
        if not any(np.array_equal(p, q) for q in seen):
            seen.append(p)
            rotated.append(k)
    return np.array(rotated)


def test_wavelet_impulse_response_alignment_and_filters() -> None:
    bank = pywt.Wavelet("db2")
    lo, hi = np.array(bank.dec_lo), np.array(bank.dec_hi)
    np.testing.assert_allclose(hi, [(-1) ** (m + 1) * lo[3 - m] for m in range(4)])
    out = filter_array(
        impulse(64),
        (1.0, 1.0, 1.0),
        spec(filter="wavelet", wavelet="db2", subband="LHL", boundary="zero"),
    )
    # The impulse sits at 32; coefficient m acts at offset m - 2, so the response spans 30..33.
    support = np.argwhere(np.abs(out) > 1e-12)
    assert support.min() == 30
    assert support.max() == 33
    expected = np.einsum("z,y,x->zyx", lo, hi, lo)  # L along x, H along y, L along z
    np.testing.assert_allclose(out[30:34, 30:34, 30:34], expected, atol=1e-15)


def test_wavelet_level_two_is_dilated_chain() -> None:
    # Haar level 2 HHH on an impulse: level-1 low-pass, then the high-pass dilated by 2, per axis.
    s = 1 / math.sqrt(2)
    per_axis = np.convolve([s, s], [-s, 0, s])  # offsets -1.. for lo (m - 1), -2.. for dilated hi
    out = filter_array(
        impulse(32),
        (1.0, 1.0, 1.0),
        spec(filter="wavelet", wavelet="haar", subband="HHH", level=2, boundary="zero"),
    )
    expected = np.einsum("z,y,x->zyx", per_axis, per_axis, per_axis)
    # lo occupies offsets -1..0 and dilated hi offsets -2..0, so the chain spans -3..0.
    np.testing.assert_allclose(out[13:17, 13:17, 13:17], expected, atol=1e-15)
    assert np.abs(out).sum() == pytest.approx(np.abs(expected).sum())


def test_gabor_impulse_modulus_is_the_envelope() -> None:
    sigma, lam, gamma, theta = 3.0, 2.0, 0.5, math.radians(30)
    out = filter_array(
        impulse(31),
        (1.0, 1.0, 1.0),
        spec(
            filter="gabor",
            sigma_mm=sigma,
            lambda_mm=lam,
            gamma=gamma,
            theta_deg=30.0,
            boundary="zero",
            dims="2d",
        ),
    )
    v, u = np.meshgrid(
        np.arange(-15, 16), np.arange(-15, 16), indexing="ij"
    )  # v along y, u along x
    ur = u * math.cos(theta) + v * math.sin(theta)
    vr = -u * math.sin(theta) + v * math.cos(theta)
    envelope = np.exp(-(ur**2 + gamma**2 * vr**2) / (2 * sigma**2))
    np.testing.assert_allclose(out[15], envelope, atol=1e-9)
    np.testing.assert_allclose(
        np.delete(out, 15, axis=0), 0.0, atol=1e-9
    )  # 2D: no coupling along z


def test_gabor_orientation_turns_from_x_towards_y() -> None:
    # A long thin envelope (gamma > 1 squeezes v') lies along u' = direction theta.
    out = filter_array(
        impulse(31),
        (1.0, 1.0, 1.0),
        spec(
            filter="gabor",
            sigma_mm=4.0,
            lambda_mm=3.0,
            gamma=4.0,
            theta_deg=90.0,
            boundary="zero",
            dims="2d",
        ),
    )[15]
    assert out[15 + 6, 15] > 100 * out[15, 15 + 6]  # theta = 90 deg: elongated along +y (axis 1)


def test_rotation_groups() -> None:
    cube = right_angle_rotations((0, 1, 2))
    plane = right_angle_rotations((1, 2))
    assert len(cube) == 24
    assert len(plane) == 4
    assert len({m.tobytes() for m in cube}) == 24
    assert all(round(np.linalg.det(m)) == 1 for m in cube)
    assert all(any(np.array_equal(a @ b, c) for c in cube) for a in cube for b in cube)  # closed


def test_simoncelli_passes_its_band_centre_and_blocks_dc() -> None:
    x = np.arange(32)
    wave = np.broadcast_to(np.cos(np.pi / 2 * x), (8, 8, 32)).astype(float)  # 0.5 pi rad/voxel
    level1 = filter_array(
        wave + 5.0, (1.0, 1.0, 1.0), spec(filter="simoncelli", level=1, boundary="periodic")
    )
    np.testing.assert_allclose(level1, wave, atol=1e-9)  # psi(pi/2) = cos(0) = 1, psi(0) = 0
    level2 = filter_array(
        wave, (1.0, 1.0, 1.0), spec(filter="simoncelli", level=2, boundary="periodic")
    )
    np.testing.assert_allclose(
        level2, 0.0, atol=1e-9
    )  # level 2 pass band is (pi/8, pi/2]: psi_2(pi/2) = 0


# --- settings, image wrapper --------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"filter": "mean", "support_vox": 4},
        {"filter": "mean", "support_vox": 5, "colour": "red"},
        {"filter": "laws", "kernel": "E5L5"},
        {"filter": "laws", "kernel": "E5L5X5"},
        {"filter": "wavelet", "wavelet": "db2", "subband": "LHX"},
        {"filter": "wavelet", "wavelet": "sym9", "subband": "LHL"},
        {"filter": "gabor", "sigma_mm": 1, "lambda_mm": 1, "gamma": 1, "rotation_invariance": True},
        {"filter": "simoncelli", "boundary": "mirror"},
        {"filter": "log", "sigma_mm": -1},
        {"filter": "median"},
    ],
)
def test_bad_settings_are_rejected(settings: dict) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(ImageTypeList).validate_python([settings])


def test_apply_filter_keeps_geometry_and_drops_unit() -> None:
    image = Image.from_array(
        np.ones((5, 6, 7)),
        spacing=(2.5, 0.7, 0.7),
        origin=(1.0, -2.0, 3.0),
        direction=((0, 0, 1), (0, 1, 0), (1, 0, 0)),
        unit=Unit.HU,
    )
    out = apply_filter(image, spec(filter="mean", support_vox=3, boundary="nearest"))
    assert out.grid == image.grid
    assert out.unit is Unit.NONE
    np.testing.assert_allclose(out.array, 1.0)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_log_fourier_route_equals_direct_passes(boundary: str, dims: str) -> None:
    from ildrad.radiomics.filters.laplacian_of_gaussian import (
        log_filter_direct,
        log_filter_fourier,
        log_kernel_terms,
    )

    rng = np.random.default_rng(11)
    array = rng.normal(size=(9, 23, 30)) * 100
    spacing = (2.0, 0.7, 0.9)
    axes = (1, 2) if dims == "2d" else (0, 1, 2)
    terms = {axis: log_kernel_terms(2.5 / spacing[axis], 4.0) for axis in axes}  # wider than z
    direct = log_filter_direct(array, terms, boundary)
    fourier = log_filter_fourier(array, terms, boundary)
    np.testing.assert_allclose(fourier, direct, rtol=0, atol=1e-10 * np.abs(direct).max())
