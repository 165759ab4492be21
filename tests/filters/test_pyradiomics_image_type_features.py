"""Features of PyRadiomics' image types in the PyRadiomics-compatible mode, against PyRadiomics'
own extractor (pyradiomics-bhklab 3.1.4) run side by side on small synthetic ROIs.

Every feature of every class, for each image type, on four ROIs (int16 CT-like with an
anisotropic grid and a ROI with holes; the same resampled by B-spline; float32 with binCount
and a ROI touching the image border; float64 with normalisation, resegmentation and preCrop):
same names, and ``|ours - PyRadiomics| <= 1e-4 |PyRadiomics| + 1e-9``. Also: shape only on the
original image, per-image-type settings (binWidth, wavelet, start_level), LoG sigmas that do not fit the image
skipped, the ``ildrad extract --pyradiomics-params`` command with every image type.

PyRadiomics' LBP3D needs ``scipy.special.sph_harm`` (removed in SciPy 1.17) and ``trimesh``: its
test supplies ``sph_harm`` from ``sph_harm_y`` (the documented equivalence) and needs trimesh.
"""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage, special

from ildrad.errors import ConfigError
from ildrad.radiomics import pyradiomics_compat as compat

pytest.importorskip("radiomics")
from radiomics import featureextractor  # noqa: E402

logging.getLogger("radiomics").setLevel(logging.ERROR)

TEXTURE_CLASSES = {name: None for name in compat.FEATURE_CLASSES if name != "shape"}


def _image(shape, seed, dtype):
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.normal(0, 300, shape), 1.5)
    return (rng.normal(-650, 40, shape) + smooth).astype(dtype)


def _blob(shape, centre, semi_axes, holes, seed):
    rng = np.random.default_rng(seed)
    grids = np.indices(shape, dtype=np.float64)
    radius = sum(((g - c) / a) ** 2 for g, c, a in zip(grids, centre, semi_axes, strict=True))
    return ((radius < 1) & (rng.random(shape) >= holes)).astype(np.uint8)


def _case_ct():
    shape = (16, 26, 24)
    mask = _blob(shape, (8, 13, 11), (5, 9, 8), 0.1, 1)
    mask[2:4, 3:6, 3:6] = 1  # a detached part
    return _image(shape, 2, np.int16), mask, (2.0, 0.8, 0.7), {"binWidth": 25}


def _case_border():
    shape = (14, 21, 19)  # odd sizes: PyRadiomics' wavelet pads them
    mask = _blob(shape, (3, 10, 9), (5, 7, 6), 0.0, 3)  # cut by the first slice
    return _image(shape, 4, np.float32), mask, (1.0, 1.0, 1.0), {"binCount": 16}


def _case_preprocessed():
    shape = (15, 22, 22)
    mask = _blob(shape, (7, 11, 10), (5, 7, 7), 0.05, 5) * 2
    settings = {
        "label": 2,
        "binWidth": 0.25,
        "normalize": True,
        "resegmentRange": [-2.5, 2.5],
        "preCrop": True,
        "padDistance": 3,
        "voxelArrayShift": 10,
    }
    return _image(shape, 6, np.float64), mask, (1.5, 0.9, 0.9), settings


def _case_resampled():
    image, mask, spacing, settings = _case_ct()
    return image, mask, spacing, {**settings, "resampledPixelSpacing": [1.0, 1.0, 1.5]}  # x, y, z


CASES = {"ct": _case_ct, "border": _case_border, "preprocessed": _case_preprocessed,
         "resampled": _case_resampled}

IMAGE_TYPES = [
    ("LoG", {"sigma": [1.0, 2.5, 400.0]}),  # 400 mm does not fit: skipped by both
    ("Wavelet", {}),
    ("Wavelet", {"wavelet": "haar", "start_level": 1, "level": 2, "binWidth": 40}),
    ("Square", {}),
    ("SquareRoot", {}),
    ("Logarithm", {}),
    ("Exponential", {}),
    ("Gradient", {}),
    ("LBP2D", {"binWidth": 1}),
    ("LBP3D", {"binWidth": 0.5, "lbp3DLevels": 3}),
]


def _pyradiomics(image, mask, spacing, params) -> dict[str, float]:
    picture = sitk.GetImageFromArray(image)
    picture.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    roi = sitk.GetImageFromArray(mask.astype(np.uint8))
    roi.CopyInformation(picture)
    result = featureextractor.RadiomicsFeatureExtractor(params).execute(picture, roi)
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


def _assert_agree(ours: dict[str, float], reference: dict[str, float]) -> None:
    assert set(ours) == set(reference)
    wrong = {
        name: (value, reference[name])
        for name, value in ours.items()
        if not abs(value - reference[name]) <= 1e-4 * abs(reference[name]) + 1e-9
    }
    assert not wrong, wrong


@pytest.fixture
def lbp3d_reference(monkeypatch):
    """Let PyRadiomics' LBP3D run on SciPy >= 1.17: ``sph_harm`` from ``sph_harm_y``."""
    pytest.importorskip("trimesh")
    if not hasattr(special, "sph_harm"):
        monkeypatch.setattr(
            special, "sph_harm", lambda m, n, theta, phi: special.sph_harm_y(n, m, phi, theta),
            raising=False,
        )


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("image_type", "custom"), IMAGE_TYPES, ids=lambda v: str(v))
def test_image_type_features_match_pyradiomics(image_type, custom, case, request):
    if image_type == "LBP3D":
        request.getfixturevalue("lbp3d_reference")
    image, mask, spacing, settings = CASES[case]()
    params = {
        "setting": settings,
        "imageType": {image_type: custom},
        "featureClass": {"shape": ["VoxelVolume", "Sphericity"], **TEXTURE_CLASSES},
    }
    ours = compat.extract_pyradiomics(image, mask, spacing, compat.params_from_mapping(params))
    reference = _pyradiomics(image, mask, spacing, params)
    _assert_agree(ours, reference)
    prefixes = {name.split("_")[0] for name in ours}
    assert "original" in prefixes  # shape, and only shape, on the original image
    assert {n for n in ours if n.startswith("original_")} == {
        "original_shape_VoxelVolume", "original_shape_Sphericity"
    }
    assert not any("_shape_" in n for n in ours if not n.startswith("original_"))
    per_image = sum(len(v) for v in compat.FEATURE_CLASSES.values()) - len(
        compat.FEATURE_CLASSES["shape"]
    )
    assert (len(ours) - 2) % per_image == 0
    assert len(ours) > 2


def test_names_and_per_type_settings():
    image, mask, spacing, settings = _case_ct()
    params = compat.params_from_mapping({
        "setting": {"binWidth": 25, "sigma": [3.0]},
        "imageType": {
            "Original": {},
            "LoG": {},  # sigma from the setting section
            "Wavelet": {"binWidth": 10},
            "Square": {},
        },
        "featureClass": {"firstorder": ["Mean", "Entropy"], "glcm": ["Contrast"]},
    })
    values = compat.extract_pyradiomics(image, mask, spacing, params)
    assert "log-sigma-3-0-mm-3D_firstorder_Mean" in values
    assert "wavelet-HLL_glcm_Contrast" in values
    assert "wavelet-LLL_firstorder_Entropy" in values
    assert "square_firstorder_Mean" in values
    assert "original_glcm_Contrast" in values
    assert len(values) == 3 * (1 + 1 + 8 + 1)
    coarse = compat.extract_pyradiomics(
        image, mask, spacing,
        compat.params_from_mapping({**{"setting": {"binWidth": 25}},
                                    "imageType": {"Wavelet": {}},
                                    "featureClass": {"firstorder": ["Entropy"]}}),
    )
    # binWidth 10 on the wavelet images: finer bins, higher entropy than with the global 25
    assert values["wavelet-HHH_firstorder_Entropy"] > coarse["wavelet-HHH_firstorder_Entropy"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"imageType": {"Median": {}}}, "Median"),
        ({"imageType": {"Wavelet": {"wavlet": "haar"}}}, "wavlet"),
        ({"imageType": {"LoG": {"sigma": 3.0}}}, "list"),
        ({"imageType": {"Square": {"label": 2}}}, "label"),
        ({"imageType": {"Wavelet": {"force2D": True}}}, "force2D"),
    ],
)
def test_bad_image_type_parameters_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        compat.params_from_mapping(params)


def test_cli_every_image_type(tmp_path, lbp3d_reference):
    from typer.testing import CliRunner

    from ildrad.cli import app

    image, mask, spacing, _ = _case_ct()
    picture = sitk.GetImageFromArray(image)
    picture.SetSpacing(spacing[::-1])
    roi = sitk.GetImageFromArray(mask)
    roi.CopyInformation(picture)
    sitk.WriteImage(picture, str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(roi, str(tmp_path / "roi.nii.gz"))
    params_file = tmp_path / "params.yaml"
    params_file.write_text(
        "imageType:\n  LoG: {sigma: [1.0, 3.0]}\n  Wavelet: {}\n  Square: {}\n  SquareRoot: {}\n"
        "  Logarithm: {}\n  Exponential: {}\n  Gradient: {}\n  LBP2D: {}\n  LBP3D: {}\n"
        "featureClass:\n  firstorder:\n  glcm: [Contrast, Idmn]\n"
    )
    out = tmp_path / "out.csv"
    args = ["extract", str(tmp_path / "ct.nii.gz"), str(tmp_path / "roi.nii.gz"),
            "--pyradiomics-params", str(params_file), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(out.open()))
    ours = dict(zip(header, map(float, row), strict=True))
    reference = _pyradiomics(
        sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "ct.nii.gz"))), mask, spacing,
        {"imageType": {"LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}, "Square": {},
                       "SquareRoot": {}, "Logarithm": {}, "Exponential": {}, "Gradient": {},
                       "LBP2D": {}, "LBP3D": {}},
         "featureClass": {"firstorder": None, "glcm": ["Contrast", "Idmn"]}},
    )
    assert {"wavelet-HLL_glcm_Contrast", "log-sigma-3-0-mm-3D_firstorder_Mean",
            "square_firstorder_Mean", "lbp-3D-k_glcm_Idmn"} <= set(ours)
    assert len(ours) == 20 * (2 + 8 + 6 + 3)  # LoG 2, wavelet 8, voxel-wise + LBP2D 6, LBP3D 3
    _assert_agree({k: ours[k] for k in reference}, reference)
    assert set(ours) == set(reference)
