"""ITK's recursive Gaussian Laplacian (PyRadiomics' LoG) against SimpleITK run side by side."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from ildrad.errors import InputError
from ildrad.radiomics.filters.recursive_gaussian import (
    laplacian_recursive_gaussian,
    recursive_gaussian_coefficients,
)


def _sitk_log(values: np.ndarray, spacing: tuple[float, float, float], sigma: float) -> np.ndarray:
    itk = sitk.GetImageFromArray(values)
    itk.SetSpacing(tuple(reversed(spacing)))
    log_filter = sitk.LaplacianRecursiveGaussianImageFilter()
    log_filter.SetNormalizeAcrossScale(True)
    log_filter.SetSigma(sigma)
    return sitk.GetArrayFromImage(log_filter.Execute(itk))


@pytest.mark.parametrize(
    ("shape", "dtype", "spacing"),
    [
        ((20, 30, 70), np.int16, (1.5, 0.7, 0.8)),  # more lines than a sweep's chunk on x and y
        ((4, 5, 6), np.float32, (1.0, 2.0, 3.0)),  # the smallest image ITK filters
        ((10, 12, 9), np.float64, (0.5, 0.6, 0.7)),
    ],
)
@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0, 5.0])
def test_laplacian_equals_simpleitk(shape, dtype, spacing, sigma) -> None:
    rng = np.random.default_rng(3)
    values = (rng.normal(size=shape) * 300 - 400).astype(dtype)
    ours = laplacian_recursive_gaussian(values, spacing, sigma)
    reference = _sitk_log(values, spacing, sigma)
    assert ours.dtype == np.float32
    np.testing.assert_array_max_ulp(ours, reference, maxulp=2)
    assert np.abs(ours.astype(np.float64) - reference).max() <= 1e-6 * np.abs(reference).max()


def test_laplacian_of_a_linear_ramp_and_of_a_quadratic() -> None:
    """The LoG of a linear ramp is 0 away from the ends; of x^2 (mm) it is 2 sigma^2."""
    x = np.arange(120) * 0.7
    ramp = np.broadcast_to(3.0 * x, (6, 6, 120)).astype(np.float64)
    quadratic = np.broadcast_to(x**2, (6, 6, 120)).astype(np.float64)
    sigma = 2.0
    centre = (slice(None), slice(None), slice(40, 80))
    assert np.abs(laplacian_recursive_gaussian(ramp, (1.0, 1.0, 0.7), sigma)[centre]).max() < 1e-3
    curved = laplacian_recursive_gaussian(quadratic, (1.0, 1.0, 0.7), sigma)[centre]
    np.testing.assert_allclose(curved, 2 * sigma**2, rtol=1e-2)


def test_smoothing_coefficients_preserve_a_constant() -> None:
    """Order 0: the filter's DC gain (N sums + anti-causal M sums over 1 + D sums) is 1."""
    c = recursive_gaussian_coefficients(2.0, 0.7, 0)
    gain = (c[0:4].sum() + c[8:12].sum()) / (1 + c[4:8].sum())
    assert gain == pytest.approx(1.0, abs=1e-9)


def test_too_small_image_is_refused() -> None:
    with pytest.raises(InputError, match="at least 4 voxels"):
        laplacian_recursive_gaussian(np.zeros((3, 8, 8)), (1.0, 1.0, 1.0), 1.0)


def test_region_equals_the_whole_array_filtered_then_cropped() -> None:
    rng = np.random.default_rng(9)
    values = np.round(rng.normal(size=(18, 26, 31)) * 200).astype(np.int16)
    region = (slice(3, 12), slice(0, 20), slice(7, 31))
    whole = laplacian_recursive_gaussian(values, (1.5, 0.7, 0.8), 2.0)
    part = laplacian_recursive_gaussian(values, (1.5, 0.7, 0.8), 2.0, region)
    np.testing.assert_array_equal(part, whole[region])
    np.testing.assert_array_equal(part, _sitk_log(values, (1.5, 0.7, 0.8), 2.0)[region])
