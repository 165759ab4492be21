"""PyRadiomics' image types, reproducing ``radiomics.imageoperations`` (PyRadiomics 3.1) images.

Each function returns ``{pyradiomics image type name: Image}`` with PyRadiomics' names
(``log-sigma-3-0-mm-3D``, ``wavelet-HLL``, ``wavelet2-LLL``, ``square``, ``lbp-2D``...), and takes
PyRadiomics' setting names as keywords. With ``crop_to=mask`` only the mask's bounding box plus
the filter's reach is filtered: the returned images sit on that sub-grid and, inside the
bounding box, equal PyRadiomics' whole-image result (PyRadiomics filters the whole image and
crops afterwards; that is where its time and memory go on a lung inside a chest CT).

What PyRadiomics computes (and so what is reproduced here):

* ``LoG``: SimpleITK ``LaplacianRecursiveGaussianImageFilter`` (Deriche recursive Gaussian,
  normalised across scale, sigma in mm); run here through SimpleITK too, on the crop with a
  margin of :data:`LOG_MARGIN_SD` sigmas, beyond which the recursive filter's response is
  negligible (< 1e-6 of the map's magnitude, see tests).
* ``Wavelet``: ``pywt.swtn(level=1)`` applied repeatedly to the approximation: the *same*,
  undilated filters at every level (not the à trous dilation of IBSI 2), periodic extension
  after padding odd-sized axes with one wrapped voxel; ``start_level`` approximation passes
  come first. The sub-band letters give the filter along x, y, z.
* ``Square``, ``SquareRoot``, ``Logarithm``, ``Exponential``: voxel-wise, rescaled with the
  maximum absolute intensity of the whole image.
* ``Gradient``: gradient magnitude by central differences (edge voxel repeated), in intensity
  per mm unless ``gradientUseSpacing`` is false.
* ``LBP2D``: scikit-image ``local_binary_pattern`` slice by slice.

``LBP3D`` is not provided: PyRadiomics' implementation needs ``scipy.special.sph_harm``
(removed in SciPy 1.17) and ``trimesh``, so it cannot run as a reference here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pywt
from scipy import ndimage

from ildrad.errors import ConfigError, InputError
from ildrad.image import Image, Mask, Unit, assert_same_grid
from ildrad.radiomics.filters.crop import crop_grid, crop_image, mask_box
from ildrad.radiomics.filters.wavelets import centred_filter

__all__ = [
    "LOG_MARGIN_SD",
    "PYRADIOMICS_IMAGE_TYPES",
    "exponential_image",
    "gradient_image",
    "lbp2d_image",
    "log_images",
    "logarithm_image",
    "pyradiomics_filtered_images",
    "square_image",
    "square_root_image",
    "wavelet_images",
]

#: Crop margin of the recursive LoG, in sigmas (see the module docstring).
LOG_MARGIN_SD = 8.0

Box = tuple[slice, slice, slice]


def _region(image: Image, crop_to: Mask | None, reach: tuple[int, int, int] | None) -> Box:
    if crop_to is None:
        return tuple(slice(0, n) for n in image.shape)  # type: ignore[return-value]
    assert_same_grid(image, crop_to, "mask and image to filter")
    return mask_box(crop_to, reach)


def _result(image: Image, box: Box, values: np.ndarray) -> Image:
    return Image(
        values.astype(np.float32),
        crop_grid(image.grid, box),
        image.modality,
        Unit.NONE,
        image.metadata,
    )


def _max_abs(image: Image, purpose: str) -> float:
    peak = float(np.max(np.abs(image.array)))
    if peak == 0.0:
        raise InputError(f"{purpose}: the image is zero everywhere, the rescaling is undefined")
    return peak


# --- LoG --------------------------------------------------------------------------------------


def log_images(
    image: Image, sigma: Sequence[float], crop_to: Mask | None = None
) -> dict[str, Image]:
    """PyRadiomics ``LoG``: one image per sigma (mm), named ``log-sigma-<s>-mm-3D``.

    Sigmas PyRadiomics would skip (not positive, or too large for the image) are errors here.
    """
    import SimpleITK as sitk

    from ildrad.io.sitk_bridge import image_from_sitk, image_to_sitk

    size = np.asarray(image.shape)
    spacing = np.asarray(image.spacing)
    if size.min() < 4:
        raise InputError(f"LoG needs at least 4 voxels along every axis, got {image.shape}")
    images: dict[str, Image] = {}
    for value in sigma:
        if value <= 0 or not np.all(size >= np.ceil(value / spacing) + 1):
            raise ConfigError(
                f"LoG sigma {value} mm must be > 0 and fit the image ({image.shape} voxels)"
            )
        reach = tuple(int(math.ceil(LOG_MARGIN_SD * value / s)) for s in image.spacing)
        box = _region(image, crop_to, reach)  # type: ignore[arg-type]
        log_filter = sitk.LaplacianRecursiveGaussianImageFilter()
        log_filter.SetNormalizeAcrossScale(True)
        log_filter.SetSigma(float(value))
        filtered = image_from_sitk(log_filter.Execute(image_to_sitk(crop_image(image, box))))
        images["log-sigma-{}-mm-3D".format(str(value).replace(".", "-"))] = _result(
            image, box, filtered.array
        )
    return images


# --- Wavelet ----------------------------------------------------------------------------------


def _periodic_indices(start: int, stop: int, size: int) -> np.ndarray:
    """Indices ``start..stop-1`` into PyRadiomics' periodic extension of an axis of ``size``.

    Odd sizes are first padded with one wrapped voxel (period ``size + 1``, extra voxel = 0).
    """
    period = size + size % 2
    indices = np.arange(start, stop) % period
    indices[indices == size] = 0
    return indices


def _split_bands(
    bands: dict[str, np.ndarray], axes: Sequence[int], low: np.ndarray, high: np.ndarray
) -> dict[str, np.ndarray]:
    """Filter every band with low and high pass along each axis in turn (letters in axes order)."""
    for axis in axes:
        split: dict[str, np.ndarray] = {}
        for name, values in bands.items():
            split[name + "L"] = ndimage.convolve1d(values, low, axis=axis, mode="nearest")
            split[name + "H"] = ndimage.convolve1d(values, high, axis=axis, mode="nearest")
        bands = split
    return bands


def wavelet_images(
    image: Image,
    wavelet: str = "coif1",
    level: int = 1,
    start_level: int = 0,
    force2D: bool = False,  # noqa: N803 - PyRadiomics' setting name
    force2Ddimension: int = 0,  # noqa: N803
    crop_to: Mask | None = None,
) -> dict[str, Image]:
    """PyRadiomics ``Wavelet``: every sub-band of levels ``start_level+1 .. start_level+level``.

    Names ``wavelet-HLL`` (first returned level), ``wavelet2-HLL``..., and the last
    approximation ``wavelet-LLL`` / ``wavelet<level>-LLL``; letters for x, y, z.
    """
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ConfigError(f"wavelet '{wavelet}' is not a PyWavelets discrete wavelet")
    if level < 1 or start_level < 0:
        raise ConfigError(
            f"wavelet level must be >= 1 and start_level >= 0, got {level}, {start_level}"
        )
    bank = pywt.Wavelet(wavelet)
    low, high = centred_filter(tuple(bank.dec_lo), 1), centred_filter(tuple(bank.dec_hi), 1)
    half = len(low) // 2
    axes = [2, 1, 0]
    if force2D:
        axes.remove(force2Ddimension)
    passes = start_level + level
    reach = tuple(passes * half if axis in axes else 0 for axis in range(3))
    box = _region(image, crop_to, reach)  # type: ignore[arg-type]
    # Gather the box plus its reach from PyRadiomics' periodic extension, axis by axis.
    data = np.asarray(image.array, dtype=np.float64)
    for axis in range(3):
        indices = _periodic_indices(
            box[axis].start - reach[axis], box[axis].stop + reach[axis], image.shape[axis]
        )
        data = np.take(data, indices, axis=axis)

    def trimmed(values: np.ndarray) -> np.ndarray:
        """The box: after k passes only ``k * half`` voxels at each end are wrong, k <= passes."""
        return values[tuple(slice(m, values.shape[a] - m) for a, m in enumerate(reach))]

    images: dict[str, Image] = {}
    approximation = "L" * len(axes)
    for index in range(passes):
        if index < start_level:
            for axis in axes:
                data = ndimage.convolve1d(data, low, axis=axis, mode="nearest")
            continue
        bands = _split_bands({"": data}, axes, low, high)
        data = bands.pop(approximation)
        idx = index - start_level + 1
        prefix = "wavelet-" if idx == 1 else f"wavelet{idx}-"
        for name, values in bands.items():
            images[prefix + name] = _result(image, box, trimmed(values))
    prefix = "wavelet-" if level == 1 else f"wavelet{level}-"
    images[prefix + approximation] = _result(image, box, trimmed(data))
    return images


# --- voxel-wise types ---------------------------------------------------------------------------


def square_image(image: Image, crop_to: Mask | None = None) -> dict[str, Image]:
    """PyRadiomics ``Square``: ``(c x)^2`` with ``c = 1 / sqrt(max|x|)``."""
    coefficient = 1.0 / math.sqrt(_max_abs(image, "square image"))
    box = _region(image, crop_to, (0, 0, 0))
    return {"square": _result(image, box, (coefficient * image.array[box].astype(np.float64)) ** 2)}


def square_root_image(image: Image, crop_to: Mask | None = None) -> dict[str, Image]:
    """PyRadiomics ``SquareRoot``: ``sign(x) sqrt(|x| c)`` with ``c = max|x|``."""
    coefficient = _max_abs(image, "square-root image")
    box = _region(image, crop_to, (0, 0, 0))
    values = image.array[box].astype(np.float64)
    return {
        "squareroot": _result(image, box, np.sign(values) * np.sqrt(np.abs(values) * coefficient))
    }


def logarithm_image(image: Image, crop_to: Mask | None = None) -> dict[str, Image]:
    """PyRadiomics ``Logarithm``: ``sign(x) log(|x| + 1)``, rescaled to the original max|x|."""
    peak = _max_abs(image, "logarithm image")
    box = _region(image, crop_to, (0, 0, 0))
    values = image.array[box].astype(np.float64)
    logs = np.sign(values) * np.log(np.abs(values) + 1.0)
    return {"logarithm": _result(image, box, logs * (peak / math.log(peak + 1.0)))}


def exponential_image(image: Image, crop_to: Mask | None = None) -> dict[str, Image]:
    """PyRadiomics ``Exponential``: ``exp(c x)`` with ``c = log(max|x|) / max|x|``."""
    peak = _max_abs(image, "exponential image")
    box = _region(image, crop_to, (0, 0, 0))
    return {
        "exponential": _result(
            image, box, np.exp(math.log(peak) / peak * image.array[box].astype(np.float64))
        )
    }


def gradient_image(
    image: Image, gradientUseSpacing: bool = True, crop_to: Mask | None = None
) -> dict[str, Image]:  # noqa: N803
    """PyRadiomics ``Gradient``: central-difference gradient magnitude (edge voxel repeated)."""
    box = _region(image, crop_to, (1, 1, 1))
    values = image.array[box].astype(np.float64)
    squares = np.zeros(values.shape)
    for axis in range(3):
        padded = np.pad(values, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
        forward = np.take(padded, np.arange(2, values.shape[axis] + 2), axis=axis)
        backward = np.take(padded, np.arange(0, values.shape[axis]), axis=axis)
        step = image.spacing[axis] if gradientUseSpacing else 1.0
        squares += ((forward - backward) / (2.0 * step)) ** 2
    return {"gradient": _result(image, box, np.sqrt(squares))}


def lbp2d_image(
    image: Image,
    lbp2DRadius: float = 1,  # noqa: N803 - PyRadiomics' setting names
    lbp2DSamples: int = 8,  # noqa: N803
    lbp2DMethod: str = "uniform",  # noqa: N803
    force2Ddimension: int = 0,  # noqa: N803
    crop_to: Mask | None = None,
) -> dict[str, Image]:
    """PyRadiomics ``LBP2D``: scikit-image local binary patterns, slice by slice along an axis."""
    from skimage.feature import local_binary_pattern

    margin = int(math.ceil(lbp2DRadius)) + 1
    box = _region(image, crop_to, tuple(0 if a == force2Ddimension else margin for a in range(3)))  # type: ignore[arg-type]
    values = np.moveaxis(image.array[box].copy(), force2Ddimension, 0)
    for index in range(values.shape[0]):
        values[index] = local_binary_pattern(
            values[index], P=lbp2DSamples, R=lbp2DRadius, method=lbp2DMethod
        )
    return {"lbp-2D": _result(image, box, np.moveaxis(values, 0, force2Ddimension))}


#: PyRadiomics image type name -> function(image, crop_to=..., **PyRadiomics settings).
PYRADIOMICS_IMAGE_TYPES: dict[str, Callable[..., dict[str, Image]]] = {
    "LoG": log_images,
    "Wavelet": wavelet_images,
    "Square": square_image,
    "SquareRoot": square_root_image,
    "Logarithm": logarithm_image,
    "Exponential": exponential_image,
    "Gradient": gradient_image,
    "LBP2D": lbp2d_image,
}


def pyradiomics_filtered_images(
    image: Image,
    image_type: str,
    settings: dict[str, Any] | None = None,
    crop_to: Mask | None = None,
) -> dict[str, Image]:
    """The images PyRadiomics derives for ``image_type`` with ``settings`` (its setting names)."""
    if image_type not in PYRADIOMICS_IMAGE_TYPES:
        raise ConfigError(
            f"unknown PyRadiomics image type '{image_type}' "
            f"(known: {', '.join(PYRADIOMICS_IMAGE_TYPES)})"
        )
    function = PYRADIOMICS_IMAGE_TYPES[image_type]
    known = set(inspect.signature(function).parameters) - {"image", "crop_to"}
    unknown = set(settings or {}) - known
    if unknown:
        raise ConfigError(
            f"image type '{image_type}': unknown settings {sorted(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    return function(image, crop_to=crop_to, **(settings or {}))
