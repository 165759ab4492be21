"""The PyRadiomics-compatible mode gives the same bits with 1 or 2 numba/BLAS threads (the IBSI
mode's check is in test_ibsi_families.py)."""

from __future__ import annotations

_SCRIPT = """
import numpy as np
from ildrad.radiomics.pyradiomics_compat import extract_pyradiomics, params_from_mapping
rng = np.random.default_rng(8)
image = np.round(rng.normal(-700, 250, size=(30, 48, 52))).astype(np.int16)
z, y, x = np.ogrid[:30, :48, :52]
mask = (((z - 15) / 13.0) ** 2 + ((y - 24) / 20.0) ** 2 + ((x - 26) / 23.0) ** 2 <= 1).astype(np.uint8)
mask[rng.random(mask.shape) < 0.05] = 0
params = params_from_mapping({"setting": {"binWidth": 25, "label": 1}})
values = extract_pyradiomics(image, mask, (2.0, 0.7, 0.7), params)
print(repr(sorted((k, float(v).hex()) for k, v in values.items())))
"""


def test_pyradiomics_mode_bitwise_identical_whatever_the_thread_count(outputs_by_thread_count) -> None:
    outputs = outputs_by_thread_count(_SCRIPT)
    assert outputs[0] == outputs[1]
    assert "original_shape_Maximum3DDiameter" in outputs[0]
    assert "original_glrlm_RunEntropy" in outputs[0]
