"""Deriche's recursive Gaussian and its Laplacian as ITK computes them (PyRadiomics' ``LoG``).

PyRadiomics' LoG image is SimpleITK's ``LaplacianRecursiveGaussianImageFilter`` with
``NormalizeAcrossScale`` on. Reproduced here operation by operation, as ITK 5.4 does it:

* one 1D pass (``RecursiveSeparableImageFilter::FilterDataArray``): 4th-order causal and
  anti-causal recursions in float64 along the line, the line's end values assumed to extend to
  infinity (boundary coefficients ``BN``/``BM``), the sum stored in float32;
* coefficients (``RecursiveGaussianImageFilter::SetUp``): Deriche's exponential series for the
  Gaussian (order 0) and its second derivative (order 2, normalised by ``alpha2`` and, across
  scale, by ``sigma^2`` in mm^2), with ``sigma / spacing`` in voxels;
* Laplacian (``LaplacianRecursiveGaussianImageFilter::GenerateData``): for each ITK axis
  x, y, z in turn, the second derivative along it followed by smoothing along the two others
  (ascending ITK axis order), added to a float32 accumulator as ``a + b / spacing^2``.

The passes along the non-contiguous axes sweep whole planes at a time (every line of a plane
advances together), which is what makes this faster than ITK's line iterators; results do not
depend on how the lines are grouped, so they are the same as ITK's up to the last bit of the
float64 arithmetic's evaluation order. Numba kernels are serial (``nogil``), so several images can
be filtered in threads with identical results.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ildrad.errors import InputError

__all__ = ["laplacian_recursive_gaussian", "recursive_gaussian_coefficients", "warm_up"]

#: Lines swept together by a pass: contiguous ones (z and y passes) and strided ones (x pass,
#: lines gathered across y); keeps the float64 scratch in cache.
_CHUNK = 64
_STRIDED_CHUNK = 32


def _n_coefficients(
    sigmad: float, a1: float, b1: float, w1: float, l1: float, a2: float, b2: float, w2: float,
    l2: float,
) -> tuple[float, float, float, float, float, float, float]:
    """ITK ``ComputeNCoefficients``: N0..N3 and their sums SN, DN, EN."""
    sin1, sin2 = math.sin(w1 / sigmad), math.sin(w2 / sigmad)
    cos1, cos2 = math.cos(w1 / sigmad), math.cos(w2 / sigmad)
    exp1, exp2 = math.exp(l1 / sigmad), math.exp(l2 / sigmad)
    n0 = a1 + a2
    n1 = exp2 * (b2 * sin2 - (a2 + 2 * a1) * cos2)
    n1 += exp1 * (b1 * sin1 - (a1 + 2 * a2) * cos1)
    n2 = (a1 + a2) * cos2 * cos1
    n2 -= b1 * cos2 * sin1 + b2 * cos1 * sin2
    n2 *= 2 * exp1 * exp2
    n2 += a2 * exp1 * exp1 + a1 * exp2 * exp2
    n3 = exp2 * exp1 * exp1 * (b2 * sin2 - a2 * cos2)
    n3 += exp1 * exp2 * exp2 * (b1 * sin1 - a1 * cos1)
    return n0, n1, n2, n3, n0 + n1 + n2 + n3, n1 + 2 * n2 + 3 * n3, n1 + 4 * n2 + 9 * n3


def recursive_gaussian_coefficients(
    sigma_mm: float, spacing_mm: float, order: int, normalize_across_scale: bool = True
) -> np.ndarray:
    """ITK ``RecursiveGaussianImageFilter::SetUp`` for ``order`` 0 or 2: the 20 coefficients
    ``N0..N3, D1..D4, M1..M4, BN1..BN4, BM1..BM4`` (float64)."""
    if order not in (0, 2):
        raise ValueError(f"order must be 0 or 2, got {order}")
    sigmad = sigma_mm / spacing_mm
    w1, l1, w2, l2 = 0.6681, -1.3932, 2.0787, -1.3732
    cos1, cos2 = math.cos(w1 / sigmad), math.cos(w2 / sigmad)
    exp1, exp2 = math.exp(l1 / sigmad), math.exp(l2 / sigmad)
    d4 = exp1 * exp1 * exp2 * exp2
    d3 = -2 * cos1 * exp1 * exp2 * exp2
    d3 += -2 * cos2 * exp2 * exp1 * exp1
    d2 = 4 * cos2 * cos1 * exp1 * exp2
    d2 += exp1 * exp1 + exp2 * exp2
    d1 = -2 * (exp2 * cos2 + exp1 * cos1)
    sd = 1.0 + d1 + d2 + d3 + d4
    dd = d1 + 2 * d2 + 3 * d3 + 4 * d4
    ed = d1 + 4 * d2 + 9 * d3 + 16 * d4
    zero = _n_coefficients(sigmad, 1.3530, 1.8151, w1, l1, -0.3531, 0.0902, w2, l2)
    if order == 0:
        n0, n1, n2, n3, sn, _, _ = zero
        alpha0 = 2 * sn / sd - n0
        n0, n1, n2, n3 = (n * (1.0 / alpha0) for n in (n0, n1, n2, n3))
    else:
        scale = sigma_mm * sigma_mm if normalize_across_scale else 1.0
        n0_0, n1_0, n2_0, n3_0, sn0, dn0, en0 = zero
        n0_2, n1_2, n2_2, n3_2, sn2, dn2, en2 = _n_coefficients(
            sigmad, -1.3563, 5.2318, w1, l1, 0.3446, -2.2355, w2, l2
        )
        beta = -(2 * sn2 - sd * n0_2) / (2 * sn0 - sd * n0_0)
        n0, n1 = n0_2 + beta * n0_0, n1_2 + beta * n1_0
        n2, n3 = n2_2 + beta * n2_0, n3_2 + beta * n3_0
        sn, dn, en = sn2 + beta * sn0, dn2 + beta * dn0, en2 + beta * en0
        alpha2 = en * sd * sd - ed * sn * sd - 2 * dn * dd * sd + 2 * dd * dd * sn
        alpha2 /= sd * sd * sd
        n0, n1, n2, n3 = (n * (scale / alpha2) for n in (n0, n1, n2, n3))
    # ComputeRemainingCoefficients(symmetric=True)
    m1, m2, m3, m4 = n1 - d1 * n0, n2 - d2 * n0, n3 - d3 * n0, -d4 * n0
    sn = n0 + n1 + n2 + n3
    sm = m1 + m2 + m3 + m4
    sd = 1.0 + d1 + d2 + d3 + d4
    bn = [d * sn / sd for d in (d1, d2, d3, d4)]
    bm = [d * sm / sd for d in (d1, d2, d3, d4)]
    return np.array([n0, n1, n2, n3, d1, d2, d3, d4, m1, m2, m3, m4, *bn, *bm], dtype=np.float64)


@njit(cache=True, nogil=True)
def _filter_lines(data, out, c, chunk):  # noqa: ANN001, ANN202 - numba kernel
    """ITK ``FilterDataArray`` along axis 1 of ``data`` (P, L, Q) into float32 ``out``, the Q
    lines of each p swept together in chunks."""
    n0, n1, n2, n3 = c[0], c[1], c[2], c[3]
    d1, d2, d3, d4 = c[4], c[5], c[6], c[7]
    m1, m2, m3, m4 = c[8], c[9], c[10], c[11]
    bn1, bn2, bn3, bn4 = c[12], c[13], c[14], c[15]
    bm1, bm2, bm3, bm4 = c[16], c[17], c[18], c[19]
    n_p, ln, n_q = data.shape
    width = min(n_q, chunk)
    x = np.empty((ln, width))
    s = np.empty((ln, width))
    a = np.empty((ln, width))
    for p in range(n_p):
        for q0 in range(0, n_q, width):
            w = min(width, n_q - q0)
            for i in range(ln):
                for k in range(w):
                    x[i, k] = data[p, i, q0 + k]
            for k in range(w):
                v = x[0, k]
                s0 = v * n0 + v * n1 + v * n2 + v * n3
                s0 -= v * bn1 + v * bn2 + v * bn3 + v * bn4
                s1 = x[1, k] * n0 + v * n1 + v * n2 + v * n3
                s1 -= s0 * d1 + v * bn2 + v * bn3 + v * bn4
                s2 = x[2, k] * n0 + x[1, k] * n1 + v * n2 + v * n3
                s2 -= s1 * d1 + s0 * d2 + v * bn3 + v * bn4
                s3 = x[3, k] * n0 + x[2, k] * n1 + x[1, k] * n2 + v * n3
                s3 -= s2 * d1 + s1 * d2 + s0 * d3 + v * bn4
                s[0, k], s[1, k], s[2, k], s[3, k] = s0, s1, s2, s3
                e = ln - 1
                v = x[e, k]
                a0 = v * m1 + v * m2 + v * m3 + v * m4
                a0 -= v * bm1 + v * bm2 + v * bm3 + v * bm4
                a1 = x[e, k] * m1 + v * m2 + v * m3 + v * m4
                a1 -= a0 * d1 + v * bm2 + v * bm3 + v * bm4
                a2 = x[e - 1, k] * m1 + x[e, k] * m2 + v * m3 + v * m4
                a2 -= a1 * d1 + a0 * d2 + v * bm3 + v * bm4
                a3 = x[e - 2, k] * m1 + x[e - 1, k] * m2 + x[e, k] * m3 + v * m4
                a3 -= a2 * d1 + a1 * d2 + a0 * d3 + v * bm4
                a[e, k], a[e - 1, k], a[e - 2, k], a[e - 3, k] = a0, a1, a2, a3
            for i in range(4, ln):
                for k in range(w):
                    t = x[i, k] * n0 + x[i - 1, k] * n1 + x[i - 2, k] * n2 + x[i - 3, k] * n3
                    t -= s[i - 1, k] * d1 + s[i - 2, k] * d2 + s[i - 3, k] * d3 + s[i - 4, k] * d4
                    s[i, k] = t
            for i in range(ln - 4, 0, -1):
                for k in range(w):
                    t = x[i, k] * m1 + x[i + 1, k] * m2 + x[i + 2, k] * m3 + x[i + 3, k] * m4
                    t -= a[i, k] * d1 + a[i + 1, k] * d2 + a[i + 2, k] * d3 + a[i + 3, k] * d4
                    a[i - 1, k] = t
            for i in range(ln):
                for k in range(w):
                    out[p, i, q0 + k] = np.float32(s[i, k] + a[i, k])


@njit(cache=True, nogil=True)
def _accumulate(total, term, factor):  # noqa: ANN001, ANN202 - numba kernel
    """``total = float32(total + term * factor)`` (ITK's add functor, in float64)."""
    flat_total = total.ravel()
    flat_term = term.ravel()
    for i in range(flat_total.size):
        flat_total[i] = np.float32(np.float64(flat_total[i]) + np.float64(flat_term[i]) * factor)


def _lines(values: np.ndarray, axis: int) -> np.ndarray:
    """A (P, L, Q) view of a C-contiguous 3D array whose axis 1 is ``axis`` (0 z, 1 y, 2 x)
    and whose axis 2 is the one to sweep along: contiguous for z and y, y for x."""
    nz, ny, nx = values.shape
    if axis == 0:
        return values.reshape(1, nz, ny * nx)
    if axis == 1:
        return values
    return values.transpose(0, 2, 1)


def _pass(values: np.ndarray, axis: int, coefficients: np.ndarray) -> np.ndarray:
    """One recursive pass along array ``axis`` (0 z, 1 y, 2 x) of a C-contiguous 3D array."""
    out = np.empty(values.shape, np.float32)
    chunk = _STRIDED_CHUNK if axis == 2 else _CHUNK
    _filter_lines(_lines(values, axis), _lines(out, axis), coefficients, chunk)
    return out


def laplacian_recursive_gaussian(
    values: np.ndarray,
    spacing: tuple[float, float, float],
    sigma_mm: float,
    region: tuple[slice, slice, slice] | None = None,
) -> np.ndarray:
    """SimpleITK ``LaplacianRecursiveGaussian(values, sigma, normalizeAcrossScale=True)`` of a
    3D array (z, y, x; spacing z, y, x mm): float32, ``sigma^2`` times the Laplacian in
    intensity / mm^2, restricted to ``region`` (slices with explicit bounds; whole array when
    None). Every axis needs at least 4 voxels.

    Lines are filtered independently, so once a term has been filtered along an axis only the
    lines crossing ``region`` are kept for the passes along the other axes: the values in the
    region are those of the whole array's filter, with less work.
    """
    if values.ndim != 3 or min(values.shape) < 4:
        raise InputError(
            f"LoG: a 3D image with at least 4 voxels per axis is needed, got {values.shape}"
        )
    values = np.ascontiguousarray(values)
    if region is None:
        region = tuple(slice(0, n) for n in values.shape)  # type: ignore[assignment]
    total = np.zeros([r.stop - r.start for r in region], np.float32)
    for itk_axis in range(3):  # x, y, z
        axis = 2 - itk_axis
        term = _pass(values, axis, recursive_gaussian_coefficients(sigma_mm, spacing[axis], 2))
        term = _cropped(term, axis, region[axis])
        for other in (2, 1, 0):  # smoothing along the other ITK axes, ascending
            if other != axis:
                coefficients = recursive_gaussian_coefficients(sigma_mm, spacing[other], 0)
                _filter_lines_inplace(term, other, coefficients)
                term = _cropped(term, other, region[other])
        _accumulate(total, term, 1.0 / (spacing[axis] * spacing[axis]))
    return total


def _cropped(term: np.ndarray, axis: int, keep: slice) -> np.ndarray:
    """``term`` restricted to ``keep`` along ``axis`` (C-contiguous; no copy when whole)."""
    if keep.start == 0 and keep.stop == term.shape[axis]:
        return term
    index = [slice(None)] * 3
    index[axis] = keep
    return np.ascontiguousarray(term[tuple(index)])


def _filter_lines_inplace(term: np.ndarray, axis: int, coefficients: np.ndarray) -> None:
    """A smoothing pass written back into ``term`` (ITK runs its smoothing filters in place:
    each line is read whole before it is written)."""
    view = _lines(term, axis)
    _filter_lines(view, view, coefficients, _STRIDED_CHUNK if axis == 2 else _CHUNK)


def warm_up() -> None:
    """Compile the kernels (numba cache) for int16, float32 and float64 images."""
    for dtype in (np.int16, np.float32, np.float64):
        laplacian_recursive_gaussian(np.zeros((4, 4, 4), dtype), (1.0, 1.0, 1.0), 1.0)
