"""Quality values on constructed volumes whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.image import Grid, Image, Mask, Modality, Unit
from ildrad.lung.quality import quality_report

_FLIP_Y = ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0))  # array rows run towards the front


@pytest.mark.parametrize("rows_towards_back", [True, False])
def test_anterior_minus_posterior_density_is_the_difference_of_the_outer_thirds(rows_towards_back) -> None:
    # Lungs over rows 10-39 in three equal blocks of constant density: rows 10-19 at -700 HU,
    # 20-29 at -800, 30-39 at -900. The 33.3th and 66.7th percentiles of the row index fall in
    # rows 19 and 30, so the outer thirds are exactly the first and last blocks.
    shape = (6, 50, 40)
    hu = np.full(shape, 40.0, np.float32)
    for first, value in ((10, -700.0), (20, -800.0), (30, -900.0)):
        hu[:, first: first + 10, 5:35] = value
    lungs = np.zeros(shape, np.uint8)
    lungs[:, 10:40, 5:20] = 1
    lungs[:, 10:40, 20:35] = 2
    grid = Grid(shape, (2.0, 1.0, 1.0)) if rows_towards_back else Grid(shape, (2.0, 1.0, 1.0), direction=_FLIP_Y)
    ct = Image(hu, grid, Modality.CT, Unit.HU, {})
    body = Mask(np.ones(shape, np.uint8), grid, {1: "body"})
    report = quality_report(ct, Mask(lungs, grid, {1: "right", 2: "left"}), body, {})
    gradient, unit = report["values"]["anterior_minus_posterior_hu"]
    # rows 10-19 are the front when rows run towards the back, the back otherwise
    assert unit == "HU"
    assert gradient == (200.0 if rows_towards_back else -200.0)
    # -700 HU in front of -900 HU: denser in front, the gravity gradient of a prone patient (no
    # position in the metadata)
    assert report["flags"]["prone_suspected"] is rows_towards_back
