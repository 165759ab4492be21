"""PyRadiomics image types against ``radiomics.imageoperations`` run side by side.

Agreement: max |ours - PyRadiomics| <= 1e-4 x max |PyRadiomics| over the compared region, for
the whole image and, with ``crop_to=mask``, inside the mask's bounding box. PyRadiomics gets the
same voxel values as a float64 SimpleITK image (the precision it uses for an integer CT).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from ildrad.errors import ConfigError, InputError
from ildrad.image import Image, Mask
from ildrad.io.sitk_bridge import mask_to_sitk
from ildrad.radiomics.filters.crop import mask_box
from ildrad.radiomics.filters.pyradiomics_types import pyradiomics_filtered_images

imageoperations = pytest.importorskip("radiomics.imageoperations")
logging.getLogger("radiomics").setLevel(logging.ERROR)

CASES = [
    ("LoG", {"sigma": [1.0, 3]}),
    ("Wavelet", {}),
    ("Wavelet", {"wavelet": "db2", "level": 2, "start_level": 1}),
    ("Wavelet", {"wavelet": "haar", "force2D": True, "force2Ddimension": 0}),
    ("Wavelet", {"wavelet": "sym4", "level": 3}),
    ("Square", {}),
    ("SquareRoot", {}),
    ("Logarithm", {}),
    ("Exponential", {}),
    ("Gradient", {}),
    ("Gradient", {"gradientUseSpacing": False}),
    ("LBP2D", {}),
    ("LBP2D", {"lbp2DRadius": 2, "lbp2DSamples": 16, "lbp2DMethod": "default"}),
]


@pytest.fixture(scope="module")
def roi() -> tuple[Image, Mask]:
    rng = np.random.default_rng(0)
    values = (
        ndimage.gaussian_filter(rng.normal(size=(41, 46, 51)), 1.5) * 300 - 500
    )  # odd sizes on purpose
    image = Image.from_array(np.round(values), spacing=(2.0, 0.8, 0.8), origin=(3.0, 4.0, 5.0))
    labels = np.zeros(image.shape, dtype=np.uint8)
    labels[12:30, 10:37, 8:40] = 1
    return image, Mask(labels, image.grid)


def _pyradiomics(
    image: Image, mask: Mask, image_type: str, settings: dict
) -> dict[str, np.ndarray]:
    itk = sitk.GetImageFromArray(image.array.astype(np.float64))
    itk.SetSpacing(tuple(reversed(image.spacing)))
    itk.SetOrigin(image.origin)
    generator = getattr(imageoperations, f"get{image_type}Image")
    return {
        name: sitk.GetArrayFromImage(im)
        for im, name, _ in generator(itk, mask_to_sitk(mask), **settings)
    }


@pytest.mark.parametrize(("image_type", "settings"), CASES, ids=lambda v: str(v))
def test_matches_pyradiomics(roi: tuple[Image, Mask], image_type: str, settings: dict) -> None:
    image, mask = roi
    reference = _pyradiomics(image, mask, image_type, settings)
    whole = pyradiomics_filtered_images(image, image_type, settings)
    cropped = pyradiomics_filtered_images(image, image_type, settings, crop_to=mask)
    assert set(whole) == set(reference) == set(cropped)
    box = mask_box(mask, (0, 0, 0))
    for name, expected in reference.items():
        scale = np.abs(expected).max()
        assert whole[name].grid == image.grid
        np.testing.assert_allclose(
            whole[name].array, expected, rtol=0, atol=1e-4 * scale, err_msg=name
        )
        start = np.rint(image.grid.physical_to_index(np.asarray(cropped[name].origin))).astype(int)
        inside = tuple(slice(b.start - s, b.stop - s) for b, s in zip(box, start, strict=True))
        region = expected[box]
        np.testing.assert_allclose(
            cropped[name].array[inside],
            region,
            rtol=0,
            atol=1e-4 * np.abs(region).max(),
            err_msg=f"{name} crop",
        )
        if image_type != "LoG" and settings.get("level", 1) < 3:  # else the reach covers the image
            assert np.prod(cropped[name].shape) < np.prod(image.shape)


def test_names_follow_pyradiomics(roi: tuple[Image, Mask]) -> None:
    image, _ = roi
    assert set(pyradiomics_filtered_images(image, "LoG", {"sigma": [3.0, 1]})) == {
        "log-sigma-3-0-mm-3D",
        "log-sigma-1-mm-3D",
    }
    names = set(pyradiomics_filtered_images(image, "Wavelet", {"wavelet": "haar", "level": 2}))
    assert {"wavelet-HLL", "wavelet2-HHH", "wavelet2-LLL"} <= names
    assert len(names) == 15


def test_bad_settings_are_config_errors(roi: tuple[Image, Mask]) -> None:
    image, _ = roi
    with pytest.raises(ConfigError, match="unknown settings"):
        pyradiomics_filtered_images(image, "LoG", {"sigma": [1.0], "sigmas": [2.0]})
    with pytest.raises(ConfigError, match="unknown PyRadiomics image type"):
        pyradiomics_filtered_images(image, "Median", {})
    with pytest.raises(ConfigError, match="not a PyWavelets"):
        pyradiomics_filtered_images(image, "Wavelet", {"wavelet": "coif99"})
    with pytest.raises(InputError, match="zero everywhere"):
        pyradiomics_filtered_images(image.with_array(np.zeros(image.shape)), "Square", {})
