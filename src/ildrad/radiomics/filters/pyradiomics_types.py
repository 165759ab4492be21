"""PyRadiomics' image types, reproducing ``radiomics.imageoperations`` (PyRadiomics 3.1) images.

Two entry points:

* :func:`pyradiomics_derived_arrays` (arrays, used by the PyRadiomics-compatible extraction):
  ``{PyRadiomics image type name: array}`` covering a requested region of the image, in the
  pixel type PyRadiomics' image has (its bin edges are computed in that type);
* :func:`pyradiomics_filtered_images` (:class:`~ildrad.image.Image` in, images out).

Names are PyRadiomics' (``log-sigma-3-0-mm-3D``, ``wavelet-HLL``, ``wavelet2-LLL``, ``square``,
``lbp-2D``, ``lbp-3D-m1``...), settings PyRadiomics' setting names. Only the requested region plus
the filter's reach is filtered; inside the region the values equal PyRadiomics' whole-image
result (PyRadiomics filters the whole image and crops afterwards; that is where its time and
memory go on a lung inside a chest CT).

What PyRadiomics computes (and so what is reproduced here):

* ``LoG``: SimpleITK ``LaplacianRecursiveGaussianImageFilter`` (Deriche recursive Gaussian,
  normalised across scale, sigma in mm, float32 result); reproduced operation by operation by
  :mod:`ildrad.radiomics.filters.recursive_gaussian` (same float32 values as SimpleITK on the
  same array, about 4 times faster), on the region with a margin of :data:`LOG_MARGIN_SD`
  sigmas, beyond which the recursive filter's response is negligible (< 1e-6 of the map's
  magnitude, see tests). Sigmas that are not
  positive or too large for the image (``size >= ceil(sigma / spacing) + 1`` fails on an axis),
  and every sigma of an image smaller than 4 voxels on an axis, are skipped with a warning, as
  PyRadiomics does.
* ``Wavelet``: ``pywt.swtn(level=1)`` applied repeatedly to the approximation: the *same*,
  undilated filters at every level (not the à trous dilation of IBSI 2), periodic extension
  after padding odd-sized axes with one wrapped voxel; ``start_level`` approximation passes
  come first. The sub-band letters give the filter along x, y, z.
* ``Square``, ``SquareRoot``, ``Logarithm``, ``Exponential``: voxel-wise, rescaled with the
  maximum absolute intensity of the whole image.
* ``Gradient``: gradient magnitude by central differences (edge voxel repeated), in intensity
  per mm unless ``gradientUseSpacing`` is false (SimpleITK ``GradientMagnitude``, float32).
* ``LBP2D``: scikit-image ``local_binary_pattern`` slice by slice, stored in the image's type.
* ``LBP3D``: Banerjee et al.'s rotation-invariant 3D LBP as PyRadiomics implements it, at the ROI
  voxels only (others 0): the image sampled (cubic spline, ``scipy.ndimage.map_coordinates`` in
  the image's type) at the vertices of an icosphere around each voxel, the sign pattern projected
  on spherical harmonics up to degree ``lbp3DLevels - 1`` and its per-degree energy
  (``lbp-3D-m<degree+1>``), plus the spherical kurtosis of the samples (``lbp-3D-k``).
  PyRadiomics evaluates ``scipy.special.sph_harm(m, n, polar, azimuth)``, i.e. with the angles
  in each other's place; that is reproduced (``sph_harm_y(n, m, azimuth, polar)`` in SciPy >=
  1.15, which removed ``sph_harm``; PyRadiomics' own LBP3D cannot run there).
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np
import pywt
from scipy import ndimage

from ildrad.errors import ConfigError, InputError
from ildrad.image import Image, Mask, Unit, assert_same_grid
from ildrad.radiomics.filters.crop import crop_grid, mask_box
from ildrad.radiomics.filters.threads import filter_threads

__all__ = [
    "LOG_MARGIN_SD",
    "PYRADIOMICS_IMAGE_TYPES",
    "exponential_arrays",
    "gradient_arrays",
    "icosphere_vertices",
    "image_type_arguments",
    "lbp2d_arrays",
    "lbp3d_arrays",
    "log_arrays",
    "logarithm_arrays",
    "pyradiomics_derived_arrays",
    "pyradiomics_filtered_images",
    "square_arrays",
    "square_root_arrays",
    "swtn_level",
    "wavelet_arrays",
]

log = logging.getLogger(__name__)

#: Crop margin of the recursive LoG, in sigmas (see the module docstring).
LOG_MARGIN_SD = 8.0

#: Extra margin (voxels) for the cubic spline pre-filter of LBP3D's sampling (decays as 0.27^n).
_SPLINE_MARGIN = 16

#: ROI voxels processed at once by LBP3D (bounds its memory: ~ 42 vertices x harmonics each).
_LBP3D_CHUNK = 8192

Box = tuple[slice, slice, slice]
Spacing = tuple[float, float, float]


def _grown(region: Box, reach: Sequence[int], shape: tuple[int, ...]) -> tuple[Box, Box]:
    """``region`` grown by ``reach`` voxels per axis (clipped), and ``region`` inside it."""
    outer = tuple(
        slice(max(r.start - m, 0), min(r.stop + m, n))
        for r, m, n in zip(region, reach, shape, strict=True)
    )
    inner = tuple(
        slice(r.start - o.start, r.stop - o.start) for r, o in zip(region, outer, strict=True)
    )
    return outer, inner  # type: ignore[return-value]


def _max_abs(values: np.ndarray, purpose: str) -> float:
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        raise InputError(f"{purpose}: the image is zero everywhere, the rescaling is undefined")
    return peak


# --- LoG --------------------------------------------------------------------------------------


def log_arrays(
    values: np.ndarray, spacing: Spacing, region: Box, sigma: Sequence[float] = ()
) -> dict[str, np.ndarray]:
    """PyRadiomics ``LoG``: one float32 map per usable sigma (mm), ``log-sigma-<s>-mm-3D``."""
    from ildrad.radiomics.filters.recursive_gaussian import laplacian_recursive_gaussian

    size = np.asarray(values.shape)
    spacing_arr = np.asarray(spacing, dtype=float)
    if size.min() < 4:
        log.warning("LoG skipped: the image (%s voxels) is smaller than 4 voxels on an axis", size)
        return {}
    arrays: dict[str, np.ndarray] = {}
    for value in sigma:
        if not (value > 0 and np.all(size >= np.ceil(value / spacing_arr) + 1)):
            log.warning("LoG sigma %g mm skipped: not > 0 or too large for %s voxels", value, size)
            continue
        reach = [int(math.ceil(LOG_MARGIN_SD * value / s)) for s in spacing]
        outer, inner = _grown(region, reach, values.shape)
        filtered = laplacian_recursive_gaussian(values[outer], spacing, float(value), inner)
        arrays["log-sigma-{}-mm-3D".format(str(value).replace(".", "-"))] = filtered
    return arrays


# --- Wavelet ----------------------------------------------------------------------------------


def _periodic_indices(start: int, stop: int, size: int) -> np.ndarray:
    """Indices ``start..stop-1`` into PyRadiomics' periodic extension of an axis of ``size``.

    Odd sizes are first padded with one wrapped voxel (period ``size + 1``, extra voxel = 0).
    """
    period = size + size % 2
    indices = np.arange(start, stop) % period
    indices[indices == size] = 0
    return indices


def wavelet_arrays(
    values: np.ndarray,
    spacing: Spacing,
    region: Box,
    wavelet: str = "coif1",
    level: int = 1,
    start_level: int = 0,
    force2D: bool = False,  # noqa: N803 - PyRadiomics' setting name
    force2Ddimension: int = 0,  # noqa: N803
) -> dict[str, np.ndarray]:
    """PyRadiomics ``Wavelet``: every sub-band of levels ``start_level+1 .. start_level+level``.

    Names ``wavelet-HLL`` (first returned level), ``wavelet2-HLL``..., and the last
    approximation ``wavelet-LLL`` / ``wavelet<level>-LLL``; letters for x, y, z. Computed, as
    PyRadiomics does, with ``pywt.swtn(level=1)`` (float32 for a float32 image, float64
    otherwise: PyRadiomics' rounding is part of its numbers), here on the region plus
    ``passes x filter length`` voxels gathered from the periodic extension: inside the region
    every output voxel sees the same input voxels, in the same order, as on the whole image.
    """
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ConfigError(f"wavelet '{wavelet}' is not a PyWavelets discrete wavelet")
    if level < 1 or start_level < 0:
        raise ConfigError(
            f"wavelet level must be >= 1 and start_level >= 0, got {level}, {start_level}"
        )
    bank = pywt.Wavelet(wavelet)
    axes = [2, 1, 0]
    if force2D:
        axes.remove(force2Ddimension)
    passes = start_level + level
    reach = [passes * bank.dec_len if axis in axes else 0 for axis in range(3)]
    data = values
    for axis in range(3):
        stop = region[axis].stop + reach[axis]
        length = stop - region[axis].start + reach[axis]
        stop += length % 2 if axis in axes else 0  # pywt.swt needs even lengths
        indices = _periodic_indices(region[axis].start - reach[axis], stop, values.shape[axis])
        data = np.take(data, indices, axis=axis)
    inner = tuple(slice(m, m + r.stop - r.start) for m, r in zip(reach, region, strict=True))
    approximation = "a" * len(axes)
    for _ in range(start_level):
        data = swtn_level(data, bank, axes)[approximation]
    arrays: dict[str, np.ndarray] = {}
    for index in range(1, level + 1):
        bands = swtn_level(data, bank, axes)
        data = bands.pop(approximation)
        prefix = "wavelet-" if index == 1 else f"wavelet{index}-"
        for name, band in bands.items():
            letters = name.replace("a", "L").replace("d", "H")
            arrays[prefix + letters] = np.ascontiguousarray(band[inner])
    prefix = "wavelet-" if level == 1 else f"wavelet{level}-"
    arrays[prefix + "L" * len(axes)] = np.ascontiguousarray(data[inner])
    return arrays


def swtn_level(data: np.ndarray, bank: pywt.Wavelet, axes: list[int]) -> dict[str, np.ndarray]:
    """``pywt.swtn(data, bank, level=1, start_level=0, axes=axes)[0]``, made of the same
    ``pywt.swt`` calls as ``swtn`` (so the same values, bit for bit), the independent
    transforms along each axis run in threads (:func:`filter_threads`)."""

    def split(band: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        low, high = pywt.swt(band, bank, level=1, start_level=0, axis=axis)[0]
        return low, high

    bands = [("", data)]
    workers = filter_threads()
    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        mapper = pool.map if pool is not None else map
        for axis in axes:
            pairs = list(mapper(split, [band for _, band in bands], [axis] * len(bands)))
            bands = [
                (key + letter, coefficients)
                for (key, _), pair in zip(bands, pairs, strict=True)
                for letter, coefficients in zip("ad", pair, strict=True)
            ]
    return dict(bands)


# --- voxel-wise types ---------------------------------------------------------------------------


def square_arrays(values: np.ndarray, spacing: Spacing, region: Box) -> dict[str, np.ndarray]:
    """PyRadiomics ``Square``: ``(c x)^2`` with ``c = 1 / sqrt(max|x|)``."""
    coefficient = 1.0 / math.sqrt(_max_abs(values, "square image"))
    return {"square": (coefficient * values[region].astype(np.float64)) ** 2}


def square_root_arrays(values: np.ndarray, spacing: Spacing, region: Box) -> dict[str, np.ndarray]:
    """PyRadiomics ``SquareRoot``: ``sign(x) sqrt(|x| c)`` with ``c = max|x|``."""
    coefficient = _max_abs(values, "square-root image")
    x = values[region].astype(np.float64)
    return {"squareroot": np.sign(x) * np.sqrt(np.abs(x) * coefficient)}


def logarithm_arrays(values: np.ndarray, spacing: Spacing, region: Box) -> dict[str, np.ndarray]:
    """PyRadiomics ``Logarithm``: ``sign(x) log(|x| + 1)``, rescaled to the original max|x|."""
    peak = _max_abs(values, "logarithm image")
    x = values[region].astype(np.float64)
    logs = np.sign(x) * np.log(np.abs(x) + 1.0)
    return {"logarithm": logs * (peak / math.log(peak + 1.0))}


def exponential_arrays(values: np.ndarray, spacing: Spacing, region: Box) -> dict[str, np.ndarray]:
    """PyRadiomics ``Exponential``: ``exp(c x)`` with ``c = log(max|x|) / max|x|``."""
    peak = _max_abs(values, "exponential image")
    return {"exponential": np.exp(math.log(peak) / peak * values[region].astype(np.float64))}


def gradient_arrays(
    values: np.ndarray,
    spacing: Spacing,
    region: Box,
    gradientUseSpacing: bool = True,  # noqa: N803 - PyRadiomics' setting name
) -> dict[str, np.ndarray]:
    """PyRadiomics ``Gradient``: central-difference gradient magnitude (edge voxel repeated)."""
    outer, inner = _grown(region, (1, 1, 1), values.shape)
    x = values[outer].astype(np.float64)
    squares = np.zeros(x.shape)
    for axis in range(3):
        padded = np.pad(x, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
        forward = np.take(padded, np.arange(2, x.shape[axis] + 2), axis=axis)
        backward = np.take(padded, np.arange(0, x.shape[axis]), axis=axis)
        step = spacing[axis] if gradientUseSpacing else 1.0
        squares += ((forward - backward) / (2.0 * step)) ** 2
    return {"gradient": np.sqrt(squares[inner]).astype(np.float32)}


def lbp2d_arrays(
    values: np.ndarray,
    spacing: Spacing,
    region: Box,
    lbp2DRadius: float = 1,  # noqa: N803 - PyRadiomics' setting names
    lbp2DSamples: int = 8,  # noqa: N803
    lbp2DMethod: str = "uniform",  # noqa: N803
    force2Ddimension: int = 0,  # noqa: N803
) -> dict[str, np.ndarray]:
    """PyRadiomics ``LBP2D``: scikit-image local binary patterns, slice by slice along an axis,
    stored in the image's pixel type."""
    from skimage.feature import local_binary_pattern

    margin = int(math.ceil(lbp2DRadius)) + 1
    reach = [0 if a == force2Ddimension else margin for a in range(3)]
    outer, inner = _grown(region, reach, values.shape)
    slices = np.moveaxis(values[outer].copy(), force2Ddimension, 0)
    for index in range(slices.shape[0]):
        slices[index] = local_binary_pattern(
            slices[index], P=lbp2DSamples, R=lbp2DRadius, method=lbp2DMethod
        )
    return {"lbp-2D": np.moveaxis(slices, 0, force2Ddimension)[inner]}


def _midpoint(
    points: list[np.ndarray], midpoints: dict[tuple[int, int], int], a: int, b: int
) -> int:
    """Index of the unit vector halfway between points ``a`` and ``b`` (added once)."""
    key = (min(a, b), max(a, b))
    if key not in midpoints:
        middle = (points[a] + points[b]) / 2.0
        points.append(middle / np.linalg.norm(middle))
        midpoints[key] = len(points) - 1
    return midpoints[key]


@cache
def icosphere_vertices(subdivisions: int, radius: float) -> np.ndarray:
    """Vertices (v, 3) of the geodesic icosphere: the icosahedron's faces split in four
    ``subdivisions`` times, every vertex pushed onto the sphere of ``radius`` (as
    ``trimesh.creation.icosphere``)."""
    golden = (1.0 + math.sqrt(5.0)) / 2.0
    pairs = [(s1, s2 * golden) for s1, s2 in itertools.product((-1.0, 1.0), repeat=2)]
    vertices = np.array(
        [(a, b, 0.0) for a, b in pairs]
        + [(0.0, a, b) for a, b in pairs]
        + [(b, 0.0, a) for a, b in pairs]
    )
    vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    # The 20 faces: vertex triples at mutual distance of the (shortest) edge length.
    distance = np.linalg.norm(vertices[:, None] - vertices[None], axis=-1)
    edge = distance[distance > 1e-9].min()
    near = np.abs(distance - edge) < 1e-6
    faces = [
        (a, b, c)
        for a, b, c in itertools.combinations(range(12), 3)
        if near[a, b] and near[b, c] and near[a, c]
    ]
    points = list(vertices)
    for _ in range(subdivisions):
        midpoints: dict[tuple[int, int], int] = {}
        split = []
        for a, b, c in faces:
            ab, bc, ca = (_midpoint(points, midpoints, p, q) for p, q in ((a, b), (b, c), (c, a)))
            split += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = split
    return np.asarray(points) * radius


def _pyradiomics_spherical_harmonic(
    m: int, n: int, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """``scipy.special.sph_harm(m, n, first, second)`` (azimuth first, polar second), from
    ``sph_harm_y`` when SciPy no longer has it."""
    from scipy import special

    if hasattr(special, "sph_harm_y"):
        return special.sph_harm_y(n, m, second, first)
    return special.sph_harm(m, n, first, second)  # pragma: no cover - SciPy < 1.15


def lbp3d_arrays(
    values: np.ndarray,
    spacing: Spacing,
    region: Box,
    roi: np.ndarray,
    lbp3DLevels: int = 2,  # noqa: N803 - PyRadiomics' setting names
    lbp3DIcosphereRadius: float = 1,  # noqa: N803
    lbp3DIcosphereSubdivision: int = 1,  # noqa: N803
) -> dict[str, np.ndarray]:
    """PyRadiomics ``LBP3D`` at the voxels of the boolean ``roi`` (whole-image shape): float64
    maps ``lbp-3D-m1`` .. ``lbp-3D-m<levels>`` and ``lbp-3D-k``, zero outside the ROI."""
    from scipy.stats import kurtosis

    if lbp3DLevels < 1:
        raise ConfigError(f"lbp3DLevels must be >= 1, got {lbp3DLevels}")
    vertices = icosphere_vertices(int(lbp3DIcosphereSubdivision), float(lbp3DIcosphereRadius))
    polar = np.arccos(vertices[:, 2] / lbp3DIcosphereRadius)
    azimuth = np.arctan2(vertices[:, 1], vertices[:, 0])
    degree = [0]
    harmonics = [_pyradiomics_spherical_harmonic(0, 0, polar, azimuth)]
    for n in range(1, lbp3DLevels):
        for m in range(-n, n + 1):
            degree.append(n)
            harmonics.append(_pyradiomics_spherical_harmonic(m, n, polar, azimuth))
    y = np.stack(harmonics, axis=1)  # (vertices, harmonics)
    degree_arr = np.asarray(degree)
    reach = [int(math.ceil(lbp3DIcosphereRadius)) + _SPLINE_MARGIN] * 3
    outer, _ = _grown(region, reach, values.shape)
    picture = values[outer]
    start = np.array([o.start for o in outer])
    coordinates = np.argwhere(roi[region]) + np.array([r.start for r in region]) - start
    maps = np.zeros((lbp3DLevels + 1, *roi[region].shape))
    local = tuple(np.argwhere(roi[region]).T)
    for first in range(0, len(coordinates), _LBP3D_CHUNK):
        points = coordinates[first : first + _LBP3D_CHUNK]
        sampled = ndimage.map_coordinates(
            picture, (points[None, :, :] + vertices[:, None, :]).T, order=3
        )  # (points, vertices), in the image's type
        centres = picture[tuple(points.T)]
        spherical_kurtosis = np.real(kurtosis(sampled, axis=1))
        signs = np.greater_equal(sampled, centres[:, None]).astype(int)
        # Same operations, in the same order, as PyRadiomics: ties at the percentiles of these
        # discrete-valued maps make even the last bit matter.
        c = np.multiply(signs[:, :, None], y[None, :, :]).sum(axis=1)  # (points, harmonics)
        per_degree = np.concatenate(
            [
                np.sum(np.multiply(c[:, None, degree_arr == n], y[None, :, degree_arr == n]),
                       axis=2, keepdims=True)
                for n in range(lbp3DLevels)
            ],
            axis=2,
        )  # (points, vertices, levels)
        energy = np.real(np.sqrt(np.sum(per_degree**2, axis=1)))  # (points, levels)
        target = tuple(axis[first : first + _LBP3D_CHUNK] for axis in local)
        for n in range(lbp3DLevels):
            maps[n][target] = energy[:, n]
        maps[lbp3DLevels][target] = spherical_kurtosis
    names = [f"lbp-3D-m{n + 1}" for n in range(lbp3DLevels)] + ["lbp-3D-k"]
    return dict(zip(names, maps, strict=True))


#: PyRadiomics image type name -> function(values, spacing, region, **PyRadiomics settings).
PYRADIOMICS_IMAGE_TYPES: dict[str, Callable[..., dict[str, np.ndarray]]] = {
    "LoG": log_arrays,
    "Wavelet": wavelet_arrays,
    "Square": square_arrays,
    "SquareRoot": square_root_arrays,
    "Logarithm": logarithm_arrays,
    "Exponential": exponential_arrays,
    "Gradient": gradient_arrays,
    "LBP2D": lbp2d_arrays,
    "LBP3D": lbp3d_arrays,
}

#: Arguments that are not PyRadiomics settings.
_POSITIONAL = {"values", "spacing", "region", "roi"}


def _known_settings(image_type: str) -> set[str]:
    if image_type not in PYRADIOMICS_IMAGE_TYPES:
        raise ConfigError(
            f"unknown PyRadiomics image type '{image_type}' "
            f"(known: {', '.join(PYRADIOMICS_IMAGE_TYPES)})"
        )
    return set(inspect.signature(PYRADIOMICS_IMAGE_TYPES[image_type]).parameters) - _POSITIONAL


def image_type_arguments(image_type: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings among ``settings`` (PyRadiomics' names) that ``image_type`` reads."""
    known = _known_settings(image_type)
    return {key: value for key, value in settings.items() if key in known}


def pyradiomics_derived_arrays(
    values: np.ndarray,
    spacing: Spacing,
    image_type: str,
    settings: Mapping[str, Any] | None = None,
    region: Box | None = None,
    roi: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The images PyRadiomics derives from ``values`` (z, y, x; stored pixel type) for
    ``image_type`` with ``settings`` (only the ones it reads), inside ``region`` (whole image
    when None). ``roi`` (boolean, whole-image shape) is needed by ``LBP3D`` only."""
    arguments = image_type_arguments(image_type, settings or {})
    function = PYRADIOMICS_IMAGE_TYPES[image_type]
    if region is None:
        region = tuple(slice(0, n) for n in values.shape)  # type: ignore[assignment]
    if image_type == "LBP3D":
        if roi is None:
            roi = np.ones(values.shape, dtype=bool)
        return function(values, spacing, region, roi, **arguments)
    return function(values, spacing, region, **arguments)


def pyradiomics_filtered_images(
    image: Image,
    image_type: str,
    settings: dict[str, Any] | None = None,
    crop_to: Mask | None = None,
) -> dict[str, Image]:
    """The images PyRadiomics derives for ``image_type`` with ``settings`` (its setting names).

    With ``crop_to`` the images cover the mask's bounding box only (on that sub-grid); LBP3D is
    computed at the mask's voxels (every voxel without a mask). Unknown settings are errors.
    The image's values are taken in float64, as PyRadiomics handles an integer CT.
    """
    unknown = set(settings or {}) - _known_settings(image_type)
    if unknown:
        raise ConfigError(
            f"image type '{image_type}': unknown settings {sorted(unknown)} "
            f"(known: {', '.join(sorted(_known_settings(image_type)))})"
        )
    region: Box = tuple(slice(0, n) for n in image.shape)  # type: ignore[assignment]
    roi = None
    if crop_to is not None:
        assert_same_grid(image, crop_to, "mask and image to filter")
        region = mask_box(crop_to, (0, 0, 0))
        roi = crop_to.array != 0
    arrays = pyradiomics_derived_arrays(
        image.array.astype(np.float64), image.spacing, image_type, settings, region, roi
    )
    grid = crop_grid(image.grid, region)
    return {
        name: Image(values, grid, image.modality, Unit.NONE, image.metadata)
        for name, values in arrays.items()
    }
