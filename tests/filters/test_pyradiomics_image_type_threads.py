"""PyRadiomics mode (LoG, Wavelet) and IBSI image_types: the features of the images computed in
threads side by side give the same bits as one thread."""

from __future__ import annotations

_SCRIPT = """
import numpy as np
from ildrad.radiomics.pyradiomics_compat import extract_pyradiomics, params_from_mapping
rng = np.random.default_rng(4)
image = np.round(rng.normal(-700, 250, size=(24, 40, 44))).astype(np.int16)
z, y, x = np.ogrid[:24, :40, :44]
mask = (((z - 12) / 10.0) ** 2 + ((y - 20) / 16.0) ** 2 + ((x - 22) / 18.0) ** 2 <= 1)
params = params_from_mapping({
    "setting": {"binWidth": 25},
    "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 2.5]}, "Wavelet": {}},
    "featureClass": {"firstorder": None, "glcm": None, "glszm": None},
})
values = extract_pyradiomics(image, mask.astype(np.uint8), (2.0, 0.7, 0.7), params)
print(repr([(k, float(v).hex()) for k, v in values.items()]))
"""


def test_image_type_features_identical_with_1_or_3_threads(outputs_by_thread_count) -> None:
    outputs = outputs_by_thread_count(_SCRIPT, ("1", "3"))
    assert outputs[0] == outputs[1]  # same names in the same order, same bits
    assert "wavelet-HHH_glszm_ZoneEntropy" in outputs[0]
    assert "log-sigma-2-5-mm-3D_firstorder_Median" in outputs[0]


def test_threaded_stationary_wavelet_level_equals_pywt_swtn() -> None:
    """The per-axis transforms run in threads are exactly ``pywt.swtn``'s (same keys, bits)."""
    import numpy as np
    import pywt

    from ildrad.radiomics.filters.pyradiomics_types import swtn_level

    rng = np.random.default_rng(2)
    for dtype, name, axes in ((np.float64, "coif1", [2, 1, 0]), (np.float32, "db2", [2, 1])):
        data = (rng.normal(size=(14, 18, 20)) * 100).astype(dtype)
        bank = pywt.Wavelet(name)
        reference = pywt.swtn(data, bank, level=1, start_level=0, axes=axes)[0]
        ours = swtn_level(data, bank, axes)
        assert list(ours) == list(reference)
        for key, band in reference.items():
            assert ours[key].dtype == band.dtype
            np.testing.assert_array_equal(ours[key], band)


_IBSI_SCRIPT = """
import numpy as np
from ildrad.image import Image
from ildrad.radiomics import extract
from ildrad.radiomics.settings import RadiomicsSettings
rng = np.random.default_rng(6)
image = Image.from_array(np.round(rng.normal(-600, 200, size=(16, 36, 40))), spacing=(2.0, 0.8, 0.8))
roi = np.zeros(image.shape, bool)
roi[3:13, 6:30, 5:34] = True
settings = RadiomicsSettings.model_validate({
    "families": ["intensity_stats", "glcm", "glszm"],
    "image_types": [
        {"filter": "log", "sigma_mm": 1.5, "boundary": "mirror"},
        {"filter": "wavelet", "wavelet": "coif1", "subband": "HLL", "boundary": "mirror"},
        {"filter": "mean", "support_vox": 3, "boundary": "nearest"},
    ],
})
print(repr([(k, float(v).hex()) for k, v in extract(image, roi, settings).items()]))
"""


def test_ibsi_image_type_features_identical_with_1_or_3_threads(outputs_by_thread_count) -> None:
    outputs = outputs_by_thread_count(_IBSI_SCRIPT, ("1", "3"))
    assert outputs[0] == outputs[1]
    assert "wavelet_coif1_HLL" in outputs[0] and "log_s1.5mm_stat_mean" in outputs[0]
