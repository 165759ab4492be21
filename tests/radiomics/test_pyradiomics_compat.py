"""The PyRadiomics-compatible mode against PyRadiomics itself (pyradiomics-bhklab 3.1.4, run
side by side): every feature within |a - b| <= 1e-6 |a| + 1e-12, on small synthetic ROIs with
every feature class (also resampled, pre-cropped, normalised, re-segmented) and on a lung-sized ROI (over a million voxels) for shape, firstorder and
GLCM; the marching-cubes table on every single-cube configuration; the CLI; bad parameters."""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from ildrad.errors import ConfigError, EmptyMaskError, InputError
from ildrad.radiomics import pyradiomics_compat as compat
from ildrad.radiomics._morphology_kernels import CUBE_CORNERS

radiomics = pytest.importorskip("radiomics")
from radiomics import cShape, featureextractor  # noqa: E402

logging.getLogger("radiomics").setLevel(logging.ERROR)

ALL_CLASSES = {name: None for name in compat.FEATURE_CLASSES}


def _sitk_pair(image: np.ndarray, mask: np.ndarray, spacing: tuple[float, float, float]):
    picture = sitk.GetImageFromArray(image)
    picture.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    roi = sitk.GetImageFromArray(mask.astype(np.uint8))
    roi.CopyInformation(picture)
    return picture, roi


def _pyradiomics(image, mask, spacing, params) -> dict[str, float]:
    extractor = featureextractor.RadiomicsFeatureExtractor(params)
    result = extractor.execute(*_sitk_pair(image, mask, spacing))
    return {k: float(v) for k, v in result.items() if k.startswith("original_")}


def _assert_agree(ours: dict[str, float], reference: dict[str, float]) -> None:
    assert set(ours) == set(reference)
    wrong = {
        name: (value, reference[name])
        for name, value in ours.items()
        if not abs(value - reference[name]) <= 1e-6 * abs(reference[name]) + 1e-12
    }
    assert not wrong, wrong


def _textured_image(shape, seed: int, dtype) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.normal(0, 300, shape), 2)
    return (rng.normal(-700, 60, shape) + smooth).astype(dtype)


def _ellipsoid(shape, semi_axes, holes: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grids = np.indices(shape, dtype=np.float32)
    radius = sum(((g - (n - 1) / 2) / a) ** 2 for g, n, a in zip(grids, shape, semi_axes))
    return (radius < 1) & (rng.random(shape) >= holes)


SMALL_CASES = [
    # (image dtype, spacing, settings)
    (np.int16, (2.0, 0.7, 0.8), {"binWidth": 25}),
    (np.float32, (1.0, 1.0, 1.0), {"binCount": 16, "voxelArrayShift": 1000, "gldm_a": 1}),
    (np.int16, (3.0, 0.6, 0.6), {"binWidth": 10, "resegmentRange": [-900, -500]}),
    (np.float64, (1.5, 0.9, 0.9), {"binWidth": 0.5, "normalize": True, "normalizeScale": 2,
                                   "removeOutliers": 2.5}),
    # over 255 grey levels (int32 levels instead of uint8) and PyRadiomics' pre-crop
    (np.int16, (1.0, 0.8, 0.8), {"binWidth": 1, "preCrop": True}),
    # PyRadiomics' resampling: B-spline into int16, linear in-plane only (0 keeps z), and a
    # spacing equal to the image's (then only cropped)
    (np.int16, (2.0, 0.7, 0.8), {"binWidth": 25, "resampledPixelSpacing": [1, 1, 1]}),
    (np.float32, (1.5, 0.9, 0.9), {"binCount": 16, "resampledPixelSpacing": [1.2, 1.1, 0],
                                   "interpolator": "sitkLinear"}),
    (np.int16, (1.0, 1.0, 1.0), {"resampledPixelSpacing": [1, 1, 1], "interpolator": 3}),
]


@pytest.mark.parametrize(("dtype", "spacing", "settings"), SMALL_CASES)
def test_all_classes_agree_with_pyradiomics_on_small_rois(dtype, spacing, settings):
    shape = (18, 26, 24)
    image = _textured_image(shape, 1, dtype)
    mask = _ellipsoid(shape, (8, 11, 10), holes=0.15, seed=2)
    mask[3:5, 5:8, 4:7] = True  # a detached blob: several zones, an irregular hull
    params = {"setting": settings, "featureClass": ALL_CLASSES}
    ours = compat.extract_pyradiomics(image, mask, spacing, compat.params_from_mapping(params))
    assert len(ours) == sum(len(v) for v in compat.FEATURE_CLASSES.values())
    _assert_agree(ours, _pyradiomics(image, mask, spacing, params))


def test_lung_sized_roi_agrees_with_pyradiomics():
    """Over a million voxels: shape (mesh, hull diameters), firstorder and GLCM."""
    shape = (80, 172, 162)
    image = _textured_image(shape, 3, np.int16)
    mask = _ellipsoid(shape, (39.5, 85, 80), holes=0.0, seed=4)
    assert mask.sum() > 1_000_000
    spacing = (1.25, 0.7, 0.7)
    params = {
        "setting": {"binWidth": 25},
        "featureClass": {"shape": None, "firstorder": None, "glcm": None},
    }
    ours = compat.extract_pyradiomics(image, mask, spacing, compat.params_from_mapping(params))
    _assert_agree(ours, _pyradiomics(image, mask, spacing, params))


def test_every_cube_configuration_matches_pyradiomics_mesh():
    """Area and volume of each of the 254 non-trivial single-cube configurations."""
    spacing = np.array([2.5, 0.7, 0.8])
    for config in range(1, 255):
        cube = np.zeros((2, 2, 2), bool)
        for bit, corner in enumerate(CUBE_CORNERS):
            cube[tuple(corner)] = bool(config >> bit & 1)
        area, volume, _ = cShape.calculate_coefficients(cube, spacing)
        ours = compat._mesh_area_volume(cube, spacing)
        assert ours == pytest.approx((area, volume), rel=1e-12, abs=1e-15), config


def test_cli_writes_pyradiomics_names(tmp_path):
    from typer.testing import CliRunner

    from ildrad.cli import app

    shape = (12, 20, 18)
    image = _textured_image(shape, 5, np.int16)
    mask = _ellipsoid(shape, (5, 8, 7), holes=0.0, seed=6).astype(np.uint8) * 2
    picture, roi = _sitk_pair(image, mask, (2.0, 0.8, 0.8))
    sitk.WriteImage(picture, str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(roi, str(tmp_path / "roi.nii.gz"))
    params = tmp_path / "params.yaml"
    params.write_text(
        "setting:\n  binWidth: 25\n  label: 2\nfeatureClass:\n  firstorder: [Mean, Kurtosis]\n"
        "  shape:\n"
    )
    out = tmp_path / "out.csv"
    args = ["extract", str(tmp_path / "ct.nii.gz"), str(tmp_path / "roi.nii.gz"),
            "--pyradiomics-params", str(params), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(out.open()))
    values = dict(zip(header, map(float, row)))
    roi_values = image[mask == 2].astype(np.float64)
    assert values["original_firstorder_Mean"] == pytest.approx(roi_values.mean(), rel=1e-12)
    centred = roi_values - roi_values.mean()
    kurtosis = np.mean(centred**4) / np.mean(centred**2) ** 2  # not excess
    assert values["original_firstorder_Kurtosis"] == pytest.approx(kurtosis, rel=1e-12)
    assert values["original_shape_VoxelVolume"] == pytest.approx((mask == 2).sum() * 2 * 0.64)
    both = CliRunner().invoke(app, args + ["--config", str(params)])
    assert both.exit_code != 0 and isinstance(both.exception, ConfigError)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"setting": {"resampledPixelSpacing": [1, 1]}}, "resampledPixelSpacing"),
        ({"setting": {"resampledPixelSpacing": [1, 1, 1], "interpolator": "sitkCubic"}}, "sitkCubic"),
        ({"setting": {"binWith": 25}}, "binWith"),
        ({"imageType": {"Median": {}}}, "Median"),
        ({"featureClass": {"glcm": ["Contrst"]}}, "Contrst"),
        ({"featureClass": {"gldzm": None}}, "gldzm"),
    ],
)
def test_bad_parameters_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        compat.params_from_mapping(params)


def test_empty_label_is_an_error():
    image = np.zeros((4, 4, 4), np.int16)
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[1:3, 1:3, 1:3] = 2
    with pytest.raises(EmptyMaskError):
        compat.extract_pyradiomics(image, mask, (1, 1, 1), compat.params_from_mapping({}))


def test_label_outside_the_mask_type_is_an_empty_mask():
    image = np.zeros((4, 4, 4), np.int16)
    mask = np.ones((4, 4, 4), np.uint8)
    params = compat.params_from_mapping({"setting": {"label": 257}})  # 257 would wrap to 1 in uint8
    with pytest.raises(EmptyMaskError, match="label 257"):
        compat.extract_pyradiomics(image, mask, (1, 1, 1), params)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinity_inside_the_roi_is_an_error_and_outside_it_is_ignored(bad):
    image = _textured_image((6, 8, 8), 5, np.float32)
    mask = np.zeros(image.shape, np.uint8)
    mask[1:5, 2:6, 2:6] = 1
    mask[1, 2, 2] = 0  # a voxel inside the ROI's box, outside the ROI
    params = compat.params_from_mapping({"featureClass": {"firstorder": None, "glcm": None}})
    outside = image.copy()
    outside[0, 0, 0] = outside[1, 2, 2] = bad
    assert compat.extract_pyradiomics(outside, mask, (1, 1, 1), params) == \
        compat.extract_pyradiomics(image, mask, (1, 1, 1), params)
    inside = image.copy()
    inside[2, 3, 3] = bad
    with pytest.raises(InputError, match="NaN or infinite values inside the ROI"):
        compat.extract_pyradiomics(inside, mask, (1, 1, 1), params)


def test_ct_stored_as_floats_gives_the_features_of_its_integers():
    # counted in the box when every ROI value is an integer (CT written as float32), gathered
    # and sorted when one is not: the same firstorder either way
    image = np.round(_textured_image((10, 14, 12), 6, np.float64))
    mask = _ellipsoid(image.shape, (4, 6, 5), holes=0.1, seed=7)
    params = compat.params_from_mapping({"featureClass": {"firstorder": None, "glcm": None}})
    as_int = compat.extract_pyradiomics(image.astype(np.int16), mask, (1, 1, 1), params)
    assert compat.extract_pyradiomics(image.astype(np.float32), mask, (1, 1, 1), params) == as_int
    one_fraction = image.copy()
    one_fraction[5, 7, 6] += 0.5  # inside the ROI: no longer all integers
    assert mask[5, 7, 6]
    mixed = compat.extract_pyradiomics(one_fraction, mask, (1, 1, 1), params)
    _assert_agree(mixed, _pyradiomics(one_fraction, mask, (1, 1, 1),
                                      {"featureClass": {"firstorder": None, "glcm": None}}))
