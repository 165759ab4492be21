"""PyRadiomics-compatible extraction: PyRadiomics' parameter files, names and definitions.

Users switching from PyRadiomics (3.1) keep their parameter file and get the same numbers
under the same names (``original_firstorder_Mean``, ``original_glcm_Contrast``, ...), so that
their studies need no re-validation. Where PyRadiomics' definitions differ from IBSI's (see
:mod:`ildrad.radiomics` for the IBSI ones), its own are reproduced here:

* discretisation: bin edges ``arange(min - min % binWidth, max + 2 binWidth, binWidth)`` from
  the ROI minimum (or ``numpy.histogram`` edges for ``binCount``), levels numbered from the
  lowest bin (``numpy.digitize``); empty grey levels are removed from the texture matrices, so
  the grey level values ``i`` in the formulas are the (non-contiguous) levels present while
  ``Ng`` (used by Idn, Idmn and the sum/difference ranges) is the highest level present;
* firstorder: kurtosis not excess, ``voxelArrayShift`` added for Energy, TotalEnergy and
  RootMeanSquared, entropy and uniformity of the discretised intensities, ``log2(p + eps)``;
* GLCM and GLRLM: one matrix per direction of the 13 (symmetric GLCM), features computed per
  direction and averaged over the directions whose matrix is not empty; GLSZM (26-connected
  zones), GLDM (dependence ``1 + #{neighbours with |i - j| <= gldm_a}``), NGTDM (26
  neighbours, voxels without a neighbour in the ROI ignored);
* shape: PyRadiomics' marching cubes on the mask padded by one voxel (corner configurations
  above 127 use the triangulation of their complement, as ``radiomics/src/cshape.c`` does;
  vertices at edge midpoints), volume by signed tetrahedra, principal axes from the voxel
  centres' covariance; maximum diameters over the mesh vertices, found among the vertices of
  their convex hull (3D) or of the per-plane 2D hulls (Slice: same z, Column: same y, Row:
  same x).

* pre-processing, in PyRadiomics' order: ``normalize``, then resampling
  (``resampledPixelSpacing`` with ``interpolator``, PyRadiomics' grid aligned to the input and
  cut to the ROI's box plus ``padDistance``; see :func:`_resampled`) or ``preCrop``, then
  ``resegmentRange``. Not reproduced, and refused with a message: ``force2D``, other
  ``distances``, ``weightingNorm``, an asymmetric GLCM, ``resegmentShape``.

* image types (``imageType``): ``Original`` and PyRadiomics' derived images (``LoG``,
  ``Wavelet``, ``Square``, ``SquareRoot``, ``Logarithm``, ``Exponential``, ``Gradient``,
  ``LBP2D``, ``LBP3D``; :mod:`ildrad.radiomics.filters.pyradiomics_types`), named
  ``<image type>_<class>_<Feature>``: shape once on the original mask, every other class on each
  image with the settings merged with the type's own, as ``RadiomicsFeatureExtractor.execute``.

The mesh triangulation table is built at import from scikit-image's classic (Lorensen)
marching cubes run on each single-cube configuration (see :func:`_configuration_triangles`),
and checked against PyRadiomics in ``tests/radiomics/test_pyradiomics_compat.py``.

Entry points: :func:`read_params` (parameter file -> :class:`PyRadiomicsParams`) and
:func:`extract_pyradiomics` (arrays -> ``{name: value}``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, prange

from ildrad.errors import ConfigError, EmptyMaskError, InputError

__all__ = [
    "FEATURE_CLASSES",
    "PyRadiomicsParams",
    "extract_pyradiomics",
    "load_kernels",
    "pyradiomics_bin_levels",
    "read_params",
    "shape_features",
]

log = logging.getLogger(__name__)

EPS = float(np.spacing(1))

#: PyRadiomics' default (non-deprecated) features of each class, in PyRadiomics' order.
FEATURE_CLASSES: dict[str, tuple[str, ...]] = {
    "firstorder": (
        "10Percentile", "90Percentile", "Energy", "Entropy", "InterquartileRange", "Kurtosis",
        "Maximum", "Mean", "MeanAbsoluteDeviation", "Median", "Minimum", "Range",
        "RobustMeanAbsoluteDeviation", "RootMeanSquared", "Skewness", "TotalEnergy",
        "Uniformity", "Variance",
    ),
    "shape": (
        "Elongation", "Flatness", "LeastAxisLength", "MajorAxisLength", "Maximum2DDiameterColumn",
        "Maximum2DDiameterRow", "Maximum2DDiameterSlice", "Maximum3DDiameter", "MeshVolume",
        "MinorAxisLength", "Sphericity", "SurfaceArea", "SurfaceVolumeRatio", "VoxelVolume",
    ),
    "glcm": (
        "Autocorrelation", "ClusterProminence", "ClusterShade", "ClusterTendency", "Contrast",
        "Correlation", "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance", "Id",
        "Idm", "Idmn", "Idn", "Imc1", "Imc2", "InverseVariance", "JointAverage", "JointEnergy",
        "JointEntropy", "MCC", "MaximumProbability", "SumAverage", "SumEntropy", "SumSquares",
    ),
    "glrlm": (
        "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized", "GrayLevelVariance",
        "HighGrayLevelRunEmphasis", "LongRunEmphasis", "LongRunHighGrayLevelEmphasis",
        "LongRunLowGrayLevelEmphasis", "LowGrayLevelRunEmphasis", "RunEntropy",
        "RunLengthNonUniformity", "RunLengthNonUniformityNormalized", "RunPercentage",
        "RunVariance", "ShortRunEmphasis", "ShortRunHighGrayLevelEmphasis",
        "ShortRunLowGrayLevelEmphasis",
    ),
    "glszm": (
        "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized", "GrayLevelVariance",
        "HighGrayLevelZoneEmphasis", "LargeAreaEmphasis", "LargeAreaHighGrayLevelEmphasis",
        "LargeAreaLowGrayLevelEmphasis", "LowGrayLevelZoneEmphasis", "SizeZoneNonUniformity",
        "SizeZoneNonUniformityNormalized", "SmallAreaEmphasis", "SmallAreaHighGrayLevelEmphasis",
        "SmallAreaLowGrayLevelEmphasis", "ZoneEntropy", "ZonePercentage", "ZoneVariance",
    ),
    "gldm": (
        "DependenceEntropy", "DependenceNonUniformity", "DependenceNonUniformityNormalized",
        "DependenceVariance", "GrayLevelNonUniformity", "GrayLevelVariance",
        "HighGrayLevelEmphasis", "LargeDependenceEmphasis", "LargeDependenceHighGrayLevelEmphasis",
        "LargeDependenceLowGrayLevelEmphasis", "LowGrayLevelEmphasis", "SmallDependenceEmphasis",
        "SmallDependenceHighGrayLevelEmphasis", "SmallDependenceLowGrayLevelEmphasis",
    ),
    "ngtdm": ("Busyness", "Coarseness", "Complexity", "Contrast", "Strength"),
}

#: Generic grey-level x size features -> PyRadiomics name per class (GLRLM, GLSZM, GLDM).
_SIZE_NAMES = {
    "glrlm": {
        "short": "ShortRunEmphasis", "long": "LongRunEmphasis",
        "grey_nu": "GrayLevelNonUniformity", "grey_nun": "GrayLevelNonUniformityNormalized",
        "size_nu": "RunLengthNonUniformity", "size_nun": "RunLengthNonUniformityNormalized",
        "percentage": "RunPercentage", "grey_var": "GrayLevelVariance", "size_var": "RunVariance",
        "entropy": "RunEntropy", "low": "LowGrayLevelRunEmphasis",
        "high": "HighGrayLevelRunEmphasis", "short_low": "ShortRunLowGrayLevelEmphasis",
        "short_high": "ShortRunHighGrayLevelEmphasis", "long_low": "LongRunLowGrayLevelEmphasis",
        "long_high": "LongRunHighGrayLevelEmphasis",
    },
    "glszm": {
        "short": "SmallAreaEmphasis", "long": "LargeAreaEmphasis",
        "grey_nu": "GrayLevelNonUniformity", "grey_nun": "GrayLevelNonUniformityNormalized",
        "size_nu": "SizeZoneNonUniformity", "size_nun": "SizeZoneNonUniformityNormalized",
        "percentage": "ZonePercentage", "grey_var": "GrayLevelVariance", "size_var": "ZoneVariance",
        "entropy": "ZoneEntropy", "low": "LowGrayLevelZoneEmphasis",
        "high": "HighGrayLevelZoneEmphasis", "short_low": "SmallAreaLowGrayLevelEmphasis",
        "short_high": "SmallAreaHighGrayLevelEmphasis", "long_low": "LargeAreaLowGrayLevelEmphasis",
        "long_high": "LargeAreaHighGrayLevelEmphasis",
    },
    "gldm": {
        "short": "SmallDependenceEmphasis", "long": "LargeDependenceEmphasis",
        "grey_nu": "GrayLevelNonUniformity", "size_nu": "DependenceNonUniformity",
        "size_nun": "DependenceNonUniformityNormalized", "grey_var": "GrayLevelVariance",
        "size_var": "DependenceVariance", "entropy": "DependenceEntropy",
        "low": "LowGrayLevelEmphasis", "high": "HighGrayLevelEmphasis",
        "short_low": "SmallDependenceLowGrayLevelEmphasis",
        "short_high": "SmallDependenceHighGrayLevelEmphasis",
        "long_low": "LargeDependenceLowGrayLevelEmphasis",
        "long_high": "LargeDependenceHighGrayLevelEmphasis",
    },
}

#: Settings understood here, with PyRadiomics' defaults.
_DEFAULT_SETTINGS: dict[str, Any] = {
    "binWidth": 25.0,
    "binCount": None,
    "label": 1,
    "voxelArrayShift": 0.0,
    "resegmentRange": None,
    "resegmentMode": "absolute",
    "resegmentShape": False,
    "normalize": False,
    "normalizeScale": 1.0,
    "removeOutliers": None,
    "gldm_a": 0,
    "distances": [1],
    "symmetricalGLCM": True,
    "weightingNorm": None,
    "force2D": False,
    "force2Ddimension": 0,
    "geometryTolerance": None,
    "correctMask": False,
    "minimumROIDimensions": 2,
    "minimumROISize": None,
    "additionalInfo": True,
    "padDistance": 5,
    "preCrop": False,
    "interpolator": "sitkBSpline",
    "resampledPixelSpacing": None,
    "enableCExtensions": True,
    "verbose": False,
}

#: Settings read only by PyRadiomics' image types (``imageType`` or ``setting`` section).
_IMAGE_TYPE_SETTINGS = frozenset({
    "sigma", "wavelet", "level", "start_level", "gradientUseSpacing", "lbp2DRadius",
    "lbp2DSamples", "lbp2DMethod", "lbp3DLevels", "lbp3DIcosphereRadius",
    "lbp3DIcosphereSubdivision",
})

#: Settings acting before any image type is derived: PyRadiomics ignores them per image type.
_IMAGE_LEVEL_SETTINGS = frozenset({
    "normalize", "normalizeScale", "removeOutliers", "resegmentRange", "resegmentMode",
    "resegmentShape", "preCrop", "padDistance", "geometryTolerance", "correctMask",
    "minimumROIDimensions", "minimumROISize", "additionalInfo", "interpolator",
    "resampledPixelSpacing", "enableCExtensions", "verbose",
})

#: Settings whose non-default values change the numbers in ways not reproduced here.
_UNSUPPORTED = {
    "force2D": False,
    "weightingNorm": None,
    "distances": [1],
    "symmetricalGLCM": True,
    "resegmentShape": False,
}


@dataclasses.dataclass(frozen=True)
class PyRadiomicsParams:
    """A PyRadiomics parameter file: ``setting``, ``imageType`` and ``featureClass`` sections.

    ``feature_classes`` maps each enabled class to its features (all defaults when the file
    gives an empty list or ``null``).
    """

    setting: Mapping[str, Any]
    image_types: Mapping[str, Mapping[str, Any]]
    feature_classes: Mapping[str, tuple[str, ...]]


def read_params(path: str | Path) -> PyRadiomicsParams:
    """Read and check a PyRadiomics parameter file (YAML or JSON)."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: PyRadiomics parameter file not found") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not a valid YAML/JSON parameter file ({err})") from err
    return params_from_mapping(raw or {}, str(path))


def params_from_mapping(raw: Mapping[str, Any], source: str = "parameters") -> PyRadiomicsParams:
    """Check a parsed PyRadiomics parameter mapping (see :func:`read_params`)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the parameter file must be a mapping")
    unknown = set(raw) - {"setting", "imageType", "featureClass", "voxelSetting"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level keys {sorted(unknown)}")
    if raw.get("voxelSetting"):
        raise ConfigError(f"{source}: voxel-based extraction (voxelSetting) is not supported")
    given = dict(raw.get("setting") or {})
    setting = {**_DEFAULT_SETTINGS, **_checked_settings(given, f"{source}: setting")}
    image_types = _checked_image_types(raw.get("imageType") or {"Original": {}}, source)
    classes_raw = raw.get("featureClass")
    classes_raw = dict(classes_raw) if classes_raw else {name: None for name in FEATURE_CLASSES}
    classes: dict[str, tuple[str, ...]] = {}
    for name, features in classes_raw.items():
        if name not in FEATURE_CLASSES:
            raise ConfigError(
                f"{source}: feature class '{name}' is not supported "
                f"(supported: {', '.join(FEATURE_CLASSES)})"
            )
        if not features:
            classes[name] = FEATURE_CLASSES[name]
            continue
        wrong = [f for f in features if f not in FEATURE_CLASSES[name]]
        if wrong:
            raise ConfigError(f"{source}: unknown {name} features {wrong}")
        classes[name] = tuple(features)
    return PyRadiomicsParams(setting, image_types, classes)


def _checked_image_types(
    image_types_raw: Any, source: str
) -> dict[str, dict[str, Any]]:
    """The ``imageType`` section: known types, each with its own checked settings."""
    if not isinstance(image_types_raw, Mapping):
        raise ConfigError(f"{source}: imageType must be a mapping of image type names")
    image_types: dict[str, dict[str, Any]] = {}
    for name, custom in image_types_raw.items():
        if name != "Original":
            from ildrad.radiomics.filters.pyradiomics_types import PYRADIOMICS_IMAGE_TYPES

            if name not in PYRADIOMICS_IMAGE_TYPES:
                raise ConfigError(
                    f"{source}: unknown image type '{name}' "
                    f"(supported: Original, {', '.join(PYRADIOMICS_IMAGE_TYPES)})"
                )
        if custom is not None and not isinstance(custom, Mapping):
            raise ConfigError(f"{source}: imageType '{name}' settings must be a mapping")
        custom = _checked_settings(dict(custom or {}), f"{source}: imageType '{name}'")
        if "label" in custom:
            raise ConfigError(
                f"{source}: imageType '{name}': a label per image type is not supported"
            )
        ignored = sorted(set(custom) & _IMAGE_LEVEL_SETTINGS)
        if ignored:
            log.warning(
                "%s: imageType '%s' settings %s act before filtering; PyRadiomics ignores them "
                "per image type, and so does ildrad", source, name, ignored,
            )
        image_types[name] = {k: v for k, v in custom.items() if k not in _IMAGE_LEVEL_SETTINGS}
    return image_types


def _checked_settings(given: dict[str, Any], where: str) -> dict[str, Any]:
    """``given`` settings (a ``setting`` section or one image type's), checked."""
    bad = set(given) - set(_DEFAULT_SETTINGS) - _IMAGE_TYPE_SETTINGS
    if bad:
        raise ConfigError(f"{where}: unknown or unsupported settings {sorted(bad)}")
    for key, default in _UNSUPPORTED.items():
        value = given.get(key, default)
        if value != default and not (key == "distances" and list(value) == [1]):
            raise ConfigError(
                f"{where}: setting {key}={value!r} is not supported by ildrad's "
                "PyRadiomics-compatible mode"
            )
    spacing = given.get("resampledPixelSpacing")
    if spacing is not None and (len(spacing) != 3 or any(float(v) < 0 for v in spacing)):
        raise ConfigError(f"{where}: resampledPixelSpacing must be 3 spacings >= 0 in mm (x, y, z; "
                          f"0 keeps the axis), got {spacing!r}")
    if given.get("interpolator") is not None:
        _interpolator(given["interpolator"], where)
    if given.get("binCount") is None and "binWidth" in given and not float(given["binWidth"]) > 0:
        raise ConfigError(f"{where}: binWidth must be > 0, got {given['binWidth']}")
    if "sigma" in given and not isinstance(given["sigma"], list | tuple):
        raise ConfigError(f"{where}: sigma must be a list of values in mm, got {given['sigma']!r}")
    return given


# --- pre-processing ---------------------------------------------------------------------------


def _normalised(image: np.ndarray, setting: Mapping[str, Any]) -> np.ndarray:
    """PyRadiomics ``normalizeImage``: SimpleITK ``Normalize`` (whole image, sample SD, real
    pixel type), values beyond ``removeOutliers`` clipped, then times ``normalizeScale``."""
    import SimpleITK as sitk

    values = sitk.GetArrayFromImage(sitk.Normalize(sitk.GetImageFromArray(image)))
    outliers = setting["removeOutliers"]
    if outliers is not None:
        values = np.clip(values, -outliers, outliers).astype(values.dtype)
    return values * values.dtype.type(setting["normalizeScale"])


def _interpolator(name: Any, where: str) -> int:
    """SimpleITK interpolator of a PyRadiomics ``interpolator`` setting (a name such as
    ``sitkBSpline`` or its integer code)."""
    import SimpleITK as sitk

    code = getattr(sitk, name, None) if isinstance(name, str) else name
    if not isinstance(code, int) or isinstance(code, bool):
        raise ConfigError(f"{where}: interpolator {name!r} is not a SimpleITK interpolator "
                          "(sitkBSpline, sitkLinear, sitkNearestNeighbor, ...)")
    return code


def _resampled(
    image: np.ndarray, mask: np.ndarray, spacing: np.ndarray, setting: Mapping[str, Any],
    low: np.ndarray, high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """PyRadiomics ``resampleImage``: image and mask on a grid of ``resampledPixelSpacing``
    aligned to the input grid, over the label's bounding box (``low``..``high``, z/y/x indices)
    grown by ``padDistance`` new voxels; the image with ``interpolator`` in its own pixel type,
    the mask by nearest neighbour. Arrays are resampled in index space (origin 0, identity
    direction), which gives the grid of any origin and direction. Returns (image, mask,
    spacing), or None when the spacing stays the same (PyRadiomics then only crops).
    """
    import SimpleITK as sitk

    target = np.asarray(setting["resampledPixelSpacing"], np.float64)[::-1]  # x, y, z -> z, y, x
    target = np.where(target == 0, spacing, target)
    target = np.where(high - low != 1, target, spacing)  # an axis of one slice stays
    if np.allclose(spacing[::-1], target[::-1]):
        return None
    ratio = spacing / target
    new_low = np.maximum(np.floor((low - 0.5) * ratio - setting["padDistance"]), 0)
    new_high = np.minimum(np.ceil((high - 0.5) * ratio + setting["padDistance"]),
                          np.ceil(np.array(mask.shape) * ratio) - 1)
    size = (new_high - new_low + 1).astype(int)
    origin_index = 0.5 * (target - spacing) / spacing + new_low / ratio
    out = []
    for array, interpolator in ((image, _interpolator(setting["interpolator"], "setting")),
                                (mask, sitk.sitkNearestNeighbor)):
        array = np.ascontiguousarray(array)
        volume = sitk.GetImageFromArray(array.view(np.uint8) if array.dtype == bool else array)
        volume.SetSpacing(tuple(spacing[::-1].tolist()))
        resampled = sitk.Resample(
            volume, tuple(size[::-1].tolist()), sitk.Transform(), interpolator,
            tuple((origin_index * spacing)[::-1].tolist()), tuple(target[::-1].tolist()),
            volume.GetDirection(), 0, volume.GetPixelID(),
        )
        out.append(sitk.GetArrayFromImage(resampled))
    return out[0], out[1], target


def pyradiomics_bin_levels(values: np.ndarray, setting: Mapping[str, Any]) -> np.ndarray:
    """PyRadiomics' grey levels (>= 1) of ROI ``values`` (``imageoperations.binImage``)."""
    edges = _bin_edges(values.min(), values.max(), values, setting)
    flat = np.ascontiguousarray(values).ravel()
    return _digitize(flat, edges.astype(np.float64)).reshape(np.shape(values))


def _bin_edges(minimum: Any, maximum: Any, values: np.ndarray | None, setting: Mapping[str, Any]) -> np.ndarray:
    """PyRadiomics' bin edges from the ROI's ``minimum`` and ``maximum`` (numpy scalars of the
    image's dtype, in which PyRadiomics computes them): ``arange(min - min % binWidth,
    max + 2 binWidth, binWidth)``, or ``numpy.histogram``'s edges of ``values`` for ``binCount``."""
    if setting.get("binCount") is not None:
        edges = np.histogram(values, int(setting["binCount"]))[1]
        edges[-1] += 1
        return edges
    width = setting["binWidth"]
    low = minimum - minimum % width
    edges = np.arange(low, maximum + 2 * width, width)
    if len(edges) == 1:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return edges


@njit(cache=True, nogil=True)
def _bin_of(value, edges, low, width):  # noqa: ANN001, ANN202 - numba kernel
    """``numpy.digitize(value, edges)``: ``k`` with ``edges[k - 1] <= value < edges[k]``; guessed
    by division (``low``, ``width``: the first edge and the first step) and moved until it holds
    (uneven, rounded or low-precision edges), without a binary search. NaN: after every edge."""
    last = edges.size
    if value != value:
        return last
    guess = math.floor((value - low) / width) + 1.0
    k = 0 if guess < 0 else (last if guess > last else int(guess))
    while k > 0 and value < edges[k - 1]:
        k -= 1
    while k < last and value >= edges[k]:
        k += 1
    return k


@njit(cache=True, nogil=True)
def _digitize(values, edges):  # noqa: ANN001, ANN202 - numba kernel
    """:func:`_bin_of` of each of the 1D ``values``."""
    low, width = float(edges[0]), float(edges[1] - edges[0])
    out = np.empty(values.size, np.intp)
    for i in range(values.size):
        out[i] = _bin_of(values[i], edges, low, width)
    return out


@njit(cache=True, nogil=True, parallel=True)
def _roi_range(picture, roi):  # noqa: ANN001, ANN202 - numba kernel
    """(all finite and ROI not empty, minimum, maximum) of ``picture`` over ``roi`` (3D), as
    float64; slices in parallel, without branches (SIMD)."""
    nz, ny, nx = picture.shape
    lowest = np.full(nz, np.inf)
    highest = np.full(nz, -np.inf)
    finite = np.ones(nz, np.bool_)
    for z in prange(nz):
        low, high, ok = np.inf, -np.inf, True
        for y in range(ny):
            for x in range(nx):
                v = np.float64(picture[z, y, x])
                inside = roi[z, y, x]
                low = min(low, v if inside else np.inf)
                high = max(high, v if inside else -np.inf)
                ok &= (not inside) | (v - v == 0)  # NaN and infinities fail
        lowest[z], highest[z], finite[z] = low, high, ok
    low, high = lowest.min(), highest.max()
    return finite.all() and low <= high, low, high


@njit(cache=True, nogil=True, parallel=True)
def _levels_in_box(picture, roi, edges, levels):  # noqa: ANN001, ANN202 - numba kernel
    """Write the grey levels into ``levels`` (0 outside ``roi``) and return the voxel count of
    each level; slices in parallel (integer counts: the same whatever the thread count)."""
    nz, ny, nx = picture.shape
    low, width = float(edges[0]), float(edges[1] - edges[0])
    counts = np.zeros((nz, edges.size + 1), np.int64)
    for z in prange(nz):
        for y in range(ny):
            for x in range(nx):
                k = 0
                if roi[z, y, x]:
                    k = _bin_of(picture[z, y, x], edges, low, width)
                    counts[z, k] += 1
                levels[z, y, x] = k
    return counts.sum(axis=0)


def _binned_roi(picture: np.ndarray, roi: np.ndarray, edges: np.ndarray) -> _BinnedROI:
    """The grey levels of ``roi`` in ``picture`` (uint8 when every level fits: a quarter of the
    memory traffic of int32 for the texture kernels)."""
    dtype = np.uint8 if edges.size < np.iinfo(np.uint8).max else np.int32
    levels = np.empty(picture.shape, dtype)
    by_level = _levels_in_box(picture, roi, edges, levels)
    return _BinnedROI(levels, roi, by_level[: np.flatnonzero(by_level)[-1] + 1])


def _box(low: np.ndarray, high: np.ndarray) -> tuple[slice, slice, slice]:
    """The slices ``low[a]:high[a]`` of the three axes."""
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))  # type: ignore[return-value]


@njit(cache=True, nogil=True, parallel=True)
def _label_bounds(mask, label):  # noqa: ANN001, ANN202 - numba kernel
    """(z0, z1, y0, y1, x0, x1) of the voxels of ``mask`` equal to ``label`` (z0 = -1: none);
    slices in parallel, rows without branches (SIMD)."""
    nz, ny, nx = mask.shape
    bounds = np.empty((nz, 4), np.int64)
    for z in prange(nz):
        y0, y1, x0, x1 = ny, -1, nx, -1
        for y in range(ny):
            first, last = nx, -1
            for x in range(nx):
                hit = mask[z, y, x] == label
                first = min(first, x if hit else nx)
                last = max(last, x if hit else -1)
            if last >= 0:
                y0, y1 = min(y0, y), y
                x0, x1 = min(x0, first), max(x1, last)
        bounds[z] = y0, y1, x0, x1
    present = np.flatnonzero(bounds[:, 1] >= 0)
    if present.size == 0:
        return -1, 0, 0, 0, 0, 0
    return (present[0], present[-1] + 1, bounds[:, 0].min(), bounds[:, 1].max() + 1,
            bounds[:, 2].min(), bounds[:, 3].max() + 1)


# --- extraction -------------------------------------------------------------------------------


def extract_pyradiomics(
    image: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    params: PyRadiomicsParams,
    source: str = "image",
) -> dict[str, float]:
    """PyRadiomics' features of ``image`` inside ``mask == label`` (arrays (z, y, x), spacing
    (z, y, x) mm), named ``<image type>_<class>_<Feature>`` (``original_firstorder_Mean``,
    ``wavelet-HLL_glcm_Contrast``, ``log-sigma-3-0-mm-3D_firstorder_Mean``).

    As PyRadiomics' ``RadiomicsFeatureExtractor.execute``: shape once, on the original mask; the
    other classes on every image type, with the settings merged with that type's own (e.g. a
    ``binWidth`` per image type), inside the (re-segmented) ROI. Derived images are computed on
    the ROI's bounding box plus the filter's reach only (see
    :mod:`ildrad.radiomics.filters.pyradiomics_types`), after ``normalize`` and ``preCrop``.

    ``image`` keeps its stored dtype (as PyRadiomics reads it with SimpleITK): the bin edges
    are computed in that dtype, and derived images have PyRadiomics' pixel types.
    """
    setting = params.setting
    if image.ndim != 3 or image.shape != mask.shape:
        raise InputError(
            f"{source}: image {image.shape} and mask {mask.shape} must be 3D and equal"
        )
    label = int(setting["label"])
    low, high = _label_box(mask, label, source)
    if setting["normalize"]:
        image = _normalised(image, setting)
    spacing_arr = np.asarray(spacing, np.float64)
    crop = setting["preCrop"]  # PyRadiomics filters the cropped image then
    if setting["interpolator"] is not None and setting["resampledPixelSpacing"] is not None:
        resampled = _resampled(image, np.asarray(mask), spacing_arr, setting, low, high)
        crop = resampled is None  # the same spacing: only cropped, as with preCrop
        if resampled is not None:
            image, mask, spacing_arr = resampled
            low, high = _label_box(mask, label, f"{source} (resampled)")
    shape_roi = np.asarray(mask[_box(low, high)]) == label
    if crop:
        pad = int(setting["padDistance"])
        start = np.maximum(low - pad, 0)
        image = image[_box(start, np.minimum(high + pad, mask.shape))]
        low, high = low - start, high - start
    box = _box(low, high)
    roi = shape_roi
    if setting["resegmentRange"] is not None:
        roi = shape_roi & _resegment_range(np.asarray(image[box]), setting, source)
        if not roi.any():
            raise EmptyMaskError(f"{source}: no voxel of label {label} left after resegmentRange")
    out: dict[str, float] = {}
    if "shape" in params.feature_classes:
        computed = shape_features(shape_roi, spacing_arr)
        wanted = params.feature_classes["shape"]
        out.update({f"original_shape_{f}": float(computed[f]) for f in wanted})
    classes = {name: f for name, f in params.feature_classes.items() if name != "shape"}
    if not classes:
        return out
    return out | _image_type_features(image, tuple(spacing_arr), box, roi, params, classes, source)


def _label_box(mask: np.ndarray, label: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last (z, y, x) indices of the voxels of ``label``."""
    bounds = _label_bounds(np.asarray(mask), label)
    if bounds[0] < 0:
        raise EmptyMaskError(f"{source}: no voxel has label {label}")
    return np.array(bounds[::2]), np.array(bounds[1::2])


def _image_type_features(
    image: np.ndarray,
    spacing: tuple[float, float, float],
    box: tuple[slice, slice, slice],
    roi: np.ndarray,
    params: PyRadiomicsParams,
    classes: Mapping[str, tuple[str, ...]],
    source: str,
) -> dict[str, float]:
    """The non-shape ``classes`` of every image type, in PyRadiomics' order. Images are derived
    one type after the other while threads (``filter_threads``) compute the features of the
    images already derived."""
    from ildrad.radiomics.filters.threads import filter_threads

    spacing_arr = np.asarray(spacing, np.float64)
    workers = filter_threads()
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    pending: list[Any] = []
    try:
        for image_type, custom in params.image_types.items():
            merged = {**params.setting, **custom}
            derived = _derived_images(image, spacing, box, roi, image_type, merged)
            for name in list(derived):
                task = functools.partial(
                    _class_features, derived.pop(name), roi, merged, spacing_arr, classes, name,
                    source,
                )
                pending.append(pool.submit(task) if pool is not None else task())
            del derived
        out: dict[str, float] = {}
        for result in pending:
            out.update(result.result() if pool is not None else result)
        return out
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _derived_images(
    image: np.ndarray,
    spacing: tuple[float, float, float],
    box: tuple[slice, slice, slice],
    roi: np.ndarray,
    image_type: str,
    setting: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """PyRadiomics' images of ``image_type`` (name -> array over ``box``, PyRadiomics' dtype)."""
    if image_type == "Original":
        return {"original": np.asarray(image[box])}
    from ildrad.radiomics.filters.pyradiomics_types import pyradiomics_derived_arrays

    whole_roi = None
    if image_type == "LBP3D":  # computed at the ROI voxels only
        whole_roi = np.zeros(image.shape, dtype=bool)
        whole_roi[box] = roi
    return pyradiomics_derived_arrays(image, spacing, image_type, setting, box, whole_roi)


def _class_features(
    picture: np.ndarray,
    roi: np.ndarray,
    setting: Mapping[str, Any],
    spacing: np.ndarray,
    classes: Mapping[str, tuple[str, ...]],
    image_name: str,
    source: str,
) -> dict[str, float]:
    """The non-shape classes of one (derived) image inside ``roi``, named ``image_class_F``."""
    finite, lowest, highest = _roi_range(picture, roi)
    if not finite:
        raise InputError(
            f"{source}: the {image_name} image holds NaN or infinite values inside the ROI"
        )
    lowest, highest = picture.dtype.type(lowest), picture.dtype.type(highest)  # as PyRadiomics
    values = picture[roi] if setting.get("binCount") is not None else None
    binned = _binned_roi(picture, roi, _bin_edges(lowest, highest, values, setting).astype(np.float64))
    out: dict[str, float] = {}
    for name, wanted in classes.items():
        if name == "firstorder":
            distinct, counts = _roi_value_counts(picture, roi, lowest, highest)
            computed = firstorder_features(distinct, counts, binned.by_level, spacing, setting)
        else:
            computed = _TEXTURE[name](binned, setting)
        out.update({f"{image_name}_{name}_{f}": float(computed[f]) for f in wanted})
    return out


def _resegment_range(picture: np.ndarray, setting: Mapping[str, Any], source: str) -> np.ndarray:
    bounds = list(setting["resegmentRange"])
    if setting["resegmentMode"] != "absolute" or len(bounds) not in (1, 2):
        raise ConfigError(
            f"{source}: only resegmentMode 'absolute' with 1 or 2 bounds is supported"
        )
    keep = picture >= bounds[0]
    if len(bounds) == 2:
        keep &= picture <= bounds[1]
    return keep


# --- firstorder -------------------------------------------------------------------------------


#: Integer pictures spanning fewer values than this are counted in the box (else gathered).
_COUNTED_SPAN = 1 << 16


@njit(cache=True, nogil=True, parallel=True)
def _count_values_in_box(picture, roi, lowest, span):  # noqa: ANN001, ANN202 - numba kernel
    """(all integers, number of ``roi`` voxels of each value ``lowest + k``, k < ``span``) of
    ``picture`` (integers, or floats holding integers such as CT written as float32); slabs of
    slices in parallel (integer counts: the same whatever the threads)."""
    nz, ny, nx = picture.shape
    n_slabs = min(nz, 16)
    counts = np.zeros((n_slabs, span), np.int64)
    integral = np.ones(n_slabs, np.bool_)
    for slab in prange(n_slabs):
        for z in range(slab * nz // n_slabs, (slab + 1) * nz // n_slabs):
            for y in range(ny):
                for x in range(nx):
                    if roi[z, y, x]:
                        v = picture[z, y, x]
                        k = np.int64(v) - lowest
                        if k != v - lowest or k >= span:
                            integral[slab] = False
                        else:
                            counts[slab, k] += 1
    return integral.all(), counts.sum(axis=0)


def _roi_value_counts(
    picture: np.ndarray, roi: np.ndarray, lowest: Any, highest: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ROI values (ascending, float64) and their counts: integer values (CT, also when
    stored as floats) are counted in the box without gathering the ROI; others by
    :func:`~ildrad.radiomics._moments.value_counts`."""
    from ildrad.radiomics._moments import value_counts

    if float(lowest).is_integer() and float(highest) - float(lowest) < _COUNTED_SPAN:
        start = int(lowest)
        integral, counts = _count_values_in_box(picture, roi, start, int(float(highest) - start) + 1)
        if integral:
            present = np.flatnonzero(counts)
            return (present + start).astype(np.float64), counts[present]
    return value_counts(picture[roi])


def firstorder_features(
    distinct: np.ndarray,
    counts: np.ndarray,
    by_level: np.ndarray,
    spacing: np.ndarray,
    setting: Mapping[str, Any],
) -> dict[str, float]:
    """PyRadiomics ``firstorder`` of the ROI intensities (the values ``distinct`` occurring
    ``counts`` times) and the voxel count of each of their grey levels ``by_level``
    (the IBSI statistics of :mod:`ildrad.radiomics._moments`, kurtosis not in excess, plus the
    energies shifted by ``voxelArrayShift``)."""
    from ildrad.radiomics._moments import counted_distribution_features, weighted_sum

    stat = counted_distribution_features(distinct, counts, "stat")
    n = int(counts.sum())
    shifted = distinct + float(setting["voxelArrayShift"])
    energy = weighted_sum(counts.astype(np.float64), shifted * shifted)
    p = by_level[by_level > 0] / n
    return {
        "Energy": energy,
        "TotalEnergy": energy * float(np.prod(spacing)),
        "Entropy": -float(np.sum(p * np.log2(p + EPS))),
        "Minimum": stat["stat_min"],
        "10Percentile": stat["stat_p10"],
        "90Percentile": stat["stat_p90"],
        "Maximum": stat["stat_max"],
        "Mean": stat["stat_mean"],
        "Median": stat["stat_median"],
        "InterquartileRange": stat["stat_iqr"],
        "Range": stat["stat_range"],
        "MeanAbsoluteDeviation": stat["stat_mad"],
        "RobustMeanAbsoluteDeviation": stat["stat_rmad"],
        "RootMeanSquared": float(np.sqrt(energy / n)),
        "Skewness": stat["stat_skew"],
        "Kurtosis": stat["stat_kurt"] + 3.0 if stat["stat_var"] != 0 else 0.0,
        "Variance": stat["stat_var"],
        "Uniformity": float(np.sum(p**2)),
    }


# --- texture ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _BinnedROI:
    """Grey levels over the ROI's bounding box (0 outside the ROI), the ROI, and the number of
    voxels of each level (index = level; index 0 unused), shared by the texture classes."""

    levels: np.ndarray
    roi: np.ndarray
    by_level: np.ndarray

    @property
    def n_g(self) -> int:
        """The highest grey level present (PyRadiomics' ``Ng``)."""
        return len(self.by_level) - 1

    @property
    def present(self) -> np.ndarray:
        """Indices (level - 1) of the grey levels present."""
        return np.flatnonzero(self.by_level[1:])

    @property
    def n_voxels(self) -> float:
        return float(self.by_level.sum())


def glcm_features(binned: _BinnedROI, setting: Mapping[str, Any]) -> dict[str, float]:
    """PyRadiomics GLCM: 13 symmetric matrices of distance 1, features averaged over the
    non-empty ones (``radiomics.glcm``)."""
    from ildrad.radiomics import _texture_kernels as kernels
    from ildrad.radiomics._texture_common import DIRECTIONS_3D

    n_g, present = binned.n_g, binned.present
    raw = kernels.cooccurrence_counts(binned.levels, DIRECTIONS_3D, n_g, False)[0]
    raw = raw[:, present][:, :, present]
    counts = (raw + raw.swapaxes(1, 2)).astype(np.float64)
    totals = counts.sum(axis=(1, 2))
    p = counts[totals > 0] / totals[totals > 0, None, None]  # (angles, G, G)
    g = (present + 1).astype(np.float64)
    i, j = g[:, None], g[None, :]
    px, py = p.sum(axis=2), p.sum(axis=1)  # (angles, G)
    ux = (px * g).sum(axis=1)[:, None, None]
    uy = (py * g).sum(axis=1)[:, None, None]
    diff = np.abs(i - j)
    add = i + j
    k_sum = np.arange(2, 2 * n_g + 1, dtype=np.float64)
    k_diff = np.arange(0, n_g, dtype=np.float64)
    p_sum = np.stack([p[:, add == k].sum(axis=1) for k in k_sum], axis=1)
    p_diff = np.stack([p[:, diff == k].sum(axis=1) for k in k_diff], axis=1)
    hxy = -np.sum(p * np.log2(p + EPS), axis=(1, 2))
    sig_x = np.sqrt(np.sum(p * (i - ux) ** 2, axis=(1, 2)))
    sig_y = np.sqrt(np.sum(p * (j - uy) ** 2, axis=(1, 2)))
    cov = np.sum(p * (i - ux) * (j - uy), axis=(1, 2))
    corr = cov / (sig_x * sig_y + EPS)
    corr[sig_x * sig_y == 0] = 1
    hx = -np.sum(px * np.log2(px + EPS), axis=1)
    hy = -np.sum(py * np.log2(py + EPS), axis=1)
    pxy = px[:, :, None] * py[:, None, :]
    hxy1 = -np.sum(p * np.log2(pxy + EPS), axis=(1, 2))
    hxy2 = -np.sum(pxy * np.log2(pxy + EPS), axis=(1, 2))
    div = np.fmax(hx, hy)
    imc1 = np.where(div != 0, (hxy - hxy1) / np.where(div != 0, div, 1), 0.0)
    imc2 = np.sqrt(1 - np.exp(-2 * (hxy2 - hxy)))
    imc2[hxy2 == hxy] = 0
    cluster = add[None] - ux - uy
    diff_avg = np.sum(k_diff * p_diff, axis=1)
    # MCC: second largest eigenvalue of Q_ij = sum_k p_ik p_jk / (px_i py_k)
    q = np.einsum("aik,ajk->aij", p / (px[:, :, None] * py[:, None, :] + EPS), p)
    if p.shape[1] < 2:
        mcc = np.ones(len(p))
    else:
        eig = np.sort(np.linalg.eigvals(q), axis=1)
        mcc = np.sqrt(eig[:, -2]).real
    per_angle = {
        "Autocorrelation": np.sum(p * (i * j), axis=(1, 2)),
        "JointAverage": ux[:, 0, 0],
        "ClusterProminence": np.sum(p * cluster**4, axis=(1, 2)),
        "ClusterShade": np.sum(p * cluster**3, axis=(1, 2)),
        "ClusterTendency": np.sum(p * cluster**2, axis=(1, 2)),
        "Contrast": np.sum(p * diff**2, axis=(1, 2)),
        "Correlation": corr,
        "DifferenceAverage": diff_avg,
        "DifferenceEntropy": -np.sum(p_diff * np.log2(p_diff + EPS), axis=1),
        "DifferenceVariance": np.sum(p_diff * (k_diff - diff_avg[:, None]) ** 2, axis=1),
        "JointEnergy": np.sum(p**2, axis=(1, 2)),
        "JointEntropy": hxy,
        "Imc1": imc1,
        "Imc2": imc2,
        "Idm": np.sum(p_diff / (1 + k_diff**2), axis=1),
        "MCC": mcc,
        "Idmn": np.sum(p_diff / (1 + k_diff**2 / n_g**2), axis=1),
        "Id": np.sum(p_diff / (1 + k_diff), axis=1),
        "Idn": np.sum(p_diff / (1 + k_diff / n_g), axis=1),
        "InverseVariance": np.sum(p_diff[:, 1:] / k_diff[1:] ** 2, axis=1),
        "MaximumProbability": p.max(axis=(1, 2)),
        "SumAverage": np.sum(k_sum * p_sum, axis=1),
        "SumEntropy": -np.sum(p_sum * np.log2(p_sum + EPS), axis=1),
        "SumSquares": np.sum(p * (i - ux) ** 2, axis=(1, 2)),
    }
    return {name: float(np.nanmean(v)) for name, v in per_angle.items()}


def _size_features(
    counts: np.ndarray, grey: np.ndarray, sizes: np.ndarray, n_voxels: np.ndarray
) -> dict[str, np.ndarray]:
    """PyRadiomics' grey-level x size features of each matrix of ``counts`` (m, G, J): grey
    levels ``grey`` (G), sizes ``sizes`` (J), voxel counts ``n_voxels`` (m)."""
    counts = counts.astype(np.float64)
    total = counts.sum(axis=(1, 2))
    pg = counts.sum(axis=2)
    ps = counts.sum(axis=1)
    i2 = grey[None, :, None] ** 2
    j2 = sizes[None, None, :] ** 2
    pgn = pg / total[:, None]
    psn = ps / total[:, None]
    u_i = np.sum(pgn * grey, axis=1, keepdims=True)
    u_j = np.sum(psn * sizes, axis=1, keepdims=True)
    pn = counts / total[:, None, None]
    return {
        "short": np.sum(ps / sizes**2, axis=1) / total,
        "long": np.sum(ps * sizes**2, axis=1) / total,
        "grey_nu": np.sum(pg**2, axis=1) / total,
        "grey_nun": np.sum(pg**2, axis=1) / total**2,
        "size_nu": np.sum(ps**2, axis=1) / total,
        "size_nun": np.sum(ps**2, axis=1) / total**2,
        "percentage": total / n_voxels,
        "grey_var": np.sum(pgn * (grey - u_i) ** 2, axis=1),
        "size_var": np.sum(psn * (sizes - u_j) ** 2, axis=1),
        "entropy": -np.sum(pn * np.log2(pn + EPS), axis=(1, 2)),
        "low": np.sum(pg / grey**2, axis=1) / total,
        "high": np.sum(pg * grey**2, axis=1) / total,
        "short_low": np.sum(counts / (i2 * j2), axis=(1, 2)) / total,
        "short_high": np.sum(counts * i2 / j2, axis=(1, 2)) / total,
        "long_low": np.sum(counts * j2 / i2, axis=(1, 2)) / total,
        "long_high": np.sum(counts * i2 * j2, axis=(1, 2)) / total,
    }


def _named(family: str, values: Mapping[str, np.ndarray]) -> dict[str, float]:
    return {name: float(np.mean(values[key])) for key, name in _SIZE_NAMES[family].items()}


def glrlm_features(binned: _BinnedROI, setting: Mapping[str, Any]) -> dict[str, float]:
    """PyRadiomics GLRLM: runs along the 13 directions, features averaged over directions."""
    from ildrad.radiomics import glrlm

    present = binned.present
    matrix, _ = glrlm._counts(binned.levels, binned.roi, binned.n_g, "3D")
    counts = matrix.counts[0][:, present]
    keep = counts.sum(axis=(1, 2)) > 0
    counts = counts[keep]
    n_voxels = np.sum(counts * matrix.values, axis=(1, 2)).astype(np.float64)
    values = _size_features(
        counts, (present + 1).astype(np.float64), matrix.values.astype(np.float64), n_voxels
    )
    return _named("glrlm", values)


def glszm_features(binned: _BinnedROI, setting: Mapping[str, Any]) -> dict[str, float]:
    """PyRadiomics GLSZM: 26-connected zones of equal grey level."""
    from ildrad.radiomics._texture_common import compact_size_matrix, zone_records

    present = binned.present
    grey, size, _, _ = zone_records(binned.levels, False)
    matrix = compact_size_matrix(grey, size, binned.n_g)
    n_voxels = np.array([binned.n_voxels])
    values = _size_features(
        matrix.counts[None][:, present],
        (present + 1).astype(np.float64),
        matrix.values.astype(np.float64),
        n_voxels,
    )
    return _named("glszm", values)


def gldm_features(binned: _BinnedROI, setting: Mapping[str, Any]) -> dict[str, float]:
    """PyRadiomics GLDM: dependence ``1 + #{26 neighbours in the ROI with |i - j| <= gldm_a}``."""
    from ildrad.radiomics import _texture_kernels as kernels

    present = binned.present
    counts = kernels.dependence_counts(binned.levels, 1, binned.n_g, int(setting["gldm_a"]), False)
    counts = counts[:, present]
    sizes = np.arange(1, counts.shape[-1] + 1, dtype=np.float64)
    n_voxels = np.array([binned.n_voxels])
    values = _size_features(counts, (present + 1).astype(np.float64), sizes, n_voxels)
    return _named("gldm", values)


def ngtdm_features(binned: _BinnedROI, setting: Mapping[str, Any]) -> dict[str, float]:
    """PyRadiomics NGTDM: 26 neighbours in the ROI, voxels without one left out."""
    from ildrad.radiomics import _texture_kernels as kernels

    s, n = kernels.grey_tone_differences(binned.levels, 1, binned.n_g, False)
    s, n = s[0], n[0].astype(np.float64)
    present = n > 0
    s, n = s[present], n[present]
    i = (np.flatnonzero(present) + 1).astype(np.float64)
    n_vp = n.sum()
    p = n / n_vp
    n_gp = present.sum()
    ps = p * s
    coarse = ps.sum()
    coarseness = 1 / coarse if coarse != 0 else 1.0e6
    di = i[:, None] - i[None, :]
    div = n_gp * (n_gp - 1)
    contrast = np.sum(p[:, None] * p[None, :] * di**2) * s.sum() / n_vp
    contrast = contrast / div if div != 0 else 0.0
    ip = i * p
    absdiff = np.sum(np.abs(ip[:, None] - ip[None, :]))
    busyness = coarse / absdiff if absdiff != 0 else 0.0
    complexity = np.sum(np.abs(di) * (ps[:, None] + ps[None, :]) / (p[:, None] + p[None, :])) / n_vp
    sum_s = s.sum()
    strength = np.sum((p[:, None] + p[None, :]) * di**2)
    strength = strength / sum_s if sum_s != 0 else 0.0
    return {
        "Coarseness": coarseness,
        "Contrast": contrast,
        "Busyness": busyness,
        "Complexity": complexity,
        "Strength": strength,
    }


_TEXTURE: dict[str, Callable[[_BinnedROI, Mapping[str, Any]], dict[str, float]]] = {
    "glcm": glcm_features,
    "glrlm": glrlm_features,
    "glszm": glszm_features,
    "gldm": gldm_features,
    "ngtdm": ngtdm_features,
}


# --- shape ------------------------------------------------------------------------------------

def _configuration_triangles() -> list[np.ndarray]:
    """Triangles (t, 3 vertices, 3 coordinates in voxels, relative to the cube origin) of each
    corner configuration 0..127, from scikit-image's classic marching cubes on that single cube.

    Configurations above 127 use their complement's triangles (the surface is the same).
    """
    from skimage.measure import marching_cubes

    from ildrad.radiomics._morphology_kernels import CUBE_CORNERS

    table = [np.zeros((0, 3, 3))]
    for config in range(1, 128):
        cube = np.zeros((2, 2, 2), np.float32)
        for bit, corner in enumerate(CUBE_CORNERS):
            if config >> bit & 1:
                cube[tuple(corner)] = 1.0
        verts, faces, _, _ = marching_cubes(cube, 0.5, method="lorensen")
        table.append(verts[faces].astype(np.float64))
    return table


_TRIANGLES: tuple[np.ndarray, np.ndarray] | None = None


def _mesh_sums(spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per configuration: area, det(u, v, w) sum and (u x v + v x w + w x u) sum, in mm."""
    global _TRIANGLES
    if _TRIANGLES is None:
        table = _configuration_triangles()
        owner = np.repeat(np.arange(128), [len(t) for t in table])
        _TRIANGLES = (np.concatenate(table), owner)
    triangles, owner = _TRIANGLES
    t = triangles * spacing
    u, v, w = t[:, 0], t[:, 1], t[:, 2]
    area = np.bincount(owner, 0.5 * np.linalg.norm(np.cross(u - w, v - w), axis=1), 128)
    det = np.bincount(owner, np.einsum("ij,ij->i", np.cross(u, v), w), 128)
    normals = np.cross(u, v) + np.cross(v, w) + np.cross(w, u)
    normal = np.stack([np.bincount(owner, normals[:, a], 128) for a in range(3)], axis=1)
    return area, det, normal


def _mesh_area_volume(padded: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Surface area (mm2) and volume (mm3) of PyRadiomics' marching-cubes mesh of ``padded``."""
    from ildrad.radiomics._morphology_kernels import cube_configurations

    count, signed, weighted = cube_configurations(padded)
    area_c, det_c, normal_c = _mesh_sums(spacing)
    area = float(count.astype(np.float64) @ area_c)
    volume = float(signed.astype(np.float64) @ det_c)
    for axis in range(3):
        volume += float((weighted[axis] * spacing[axis]) @ normal_c[:, axis])
    return area, -volume / 6.0  # scikit-image orients faces the other way round


def shape_features(roi: np.ndarray, spacing: np.ndarray) -> dict[str, float]:
    """PyRadiomics ``shape`` of the boolean ``roi`` (z, y, x) with ``spacing`` (z, y, x) mm."""
    from ildrad.radiomics._moments import position_moments
    from ildrad.radiomics._morphology_kernels import mesh_diameters

    padded = np.pad(np.ascontiguousarray(roi, dtype=bool), 1)
    area, volume = _mesh_area_volume(padded, spacing)
    slice_d, column_d, row_d, diameter = mesh_diameters(padded, spacing)
    total, _, covariance = position_moments(roi, spacing)
    n = int(total)
    eig = np.linalg.eigvals(covariance * ((n - 1) / n))  # population covariance, as PyRadiomics
    eig[(eig < 0) & (eig > -1e-10)] = 0
    eig = np.sort(eig)
    axis = np.sqrt(np.maximum(eig, 0)) * 4
    axis[eig < 0] = np.nan
    return {
        "MeshVolume": volume,
        "VoxelVolume": n * float(np.prod(spacing)),
        "SurfaceArea": area,
        "SurfaceVolumeRatio": area / volume,
        "Sphericity": (36 * np.pi * volume**2) ** (1.0 / 3.0) / area,
        "Maximum3DDiameter": diameter,
        "Maximum2DDiameterSlice": slice_d,
        "Maximum2DDiameterColumn": column_d,
        "Maximum2DDiameterRow": row_d,
        "MajorAxisLength": axis[2],
        "MinorAxisLength": axis[1],
        "LeastAxisLength": axis[0],
        "Elongation": np.sqrt(eig[1] / eig[2]) if eig[1] >= 0 and eig[2] > 0 else np.nan,
        "Flatness": np.sqrt(eig[0] / eig[2]) if eig[0] >= 0 and eig[2] > 0 else np.nan,
    }


def load_kernels() -> None:
    """Load numba's compiler target and a cached kernel (about a second of start-up, mostly
    holding the GIL): called while the input files are read in other threads."""
    _label_bounds(np.zeros((1, 1, 1), np.uint8), 1)


def warm_up() -> None:
    """Compile the kernels (numba cache) of a PyRadiomics extraction: the binning kernels for
    the image types PyRadiomics produces (integer CT, float32 LoG and Gradient, float64 Wavelet
    maps), the bounding box for the usual mask types, and every class on uint8 grey levels."""
    setting = {"binWidth": 25.0, "binCount": None}
    roi = np.ones((1, 1, 3), np.bool_)
    for dtype in (np.int16, np.uint16, np.int32, np.float32, np.float64):
        values = np.array([-1000.5, 3.25, 40.0]).astype(dtype)
        pyradiomics_bin_levels(values, setting)
        picture = values.reshape(roi.shape)
        _, lowest, highest = (picture.dtype.type(v) for v in _roi_range(picture, roi))
        _binned_roi(picture, roi, _bin_edges(lowest, highest, values, setting).astype(np.float64))
        _roi_value_counts(picture, roi, lowest, highest)
    image = (np.arange(120).reshape(4, 5, 6) * 7 % 97).astype(np.int16)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.float32, np.float64, np.bool_):
        mask = np.zeros(image.shape, dtype)
        mask[1:3, 1:4, 1:5] = 1
        _label_bounds(mask, 1)
    params = params_from_mapping({"setting": {"binWidth": 25, "label": 1},
                                  "featureClass": {name: None for name in FEATURE_CLASSES}})
    extract_pyradiomics(image, mask.astype(np.uint8), (1.0, 1.0, 1.0), params)
