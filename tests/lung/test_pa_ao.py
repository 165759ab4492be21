"""PA/Ao ratio on synthetic chest CT with known vessel diameters (ildrad.synth truth numbers).

The phantom's main pulmonary artery and ascending aorta are tubes of known radius (truth numbers
``pa_diameter_mm`` / ``aorta_diameter_mm`` and masks ``pulmonary_artery`` / ``aorta``); the PA
trunk runs obliquely, so its axial section is an ellipse whose minor axis is the true diameter.
The masks given to the measure are the truth masks, so these tests check the marker itself.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ildrad.image import Image, Mask
from ildrad.lung.pulmonary_artery import measure_pa_ao
from ildrad.lung.zones import slice_superior_mm
from ildrad.synth.phantom import PhantomSpec, make_chest_ct

RATIOS = (0.8, 1.0, 1.3)


def _airway_lumen(scan) -> Mask:
    lumen = (scan.truth["airways"].array > 0) & (scan.ct.array < -500)
    return Mask(lumen.astype(np.uint8), scan.ct.grid, {1: "airways"})


def _measure(scan):
    return measure_pa_ao(scan.ct, scan.truth["lungs"], scan.truth["body"], _airway_lumen(scan))


def _check_against_truth(scan, tolerance_mm: float, ratio_tolerance: float) -> None:
    measure = _measure(scan)
    assert measure.measured, measure.problem
    true_pa, true_aorta = scan.numbers["pa_diameter_mm"], scan.numbers["aorta_diameter_mm"]
    assert abs(measure.pa_diameter_mm - true_pa) <= tolerance_mm, (measure.pa_diameter_mm, true_pa)
    assert abs(measure.aorta_diameter_mm - true_aorta) <= tolerance_mm, (measure.aorta_diameter_mm, true_aorta)
    assert abs(measure.ratio - true_pa / true_aorta) <= ratio_tolerance, (measure.ratio, true_pa / true_aorta)
    # the measurement plane is at the level of the PA trunk: both measured centres lie in the
    # truth vessels on that slice, which is at most 20 mm below the truth bifurcation (the slice
    # where the truth PA is widest left to right: both branches in plane) and not above it
    k = measure.measurement_slice
    for name, section in (("pulmonary_artery", measure.pulmonary_artery), ("aorta", measure.aorta)):
        row, column = (int(round(c)) for c in section.centre)
        assert scan.truth[name].array[k, row, column] == 1, name
    superior = slice_superior_mm(scan.ct.grid)
    widths = scan.truth["pulmonary_artery"].array.any(axis=1).sum(axis=1)
    bifurcation_mm = superior[int(np.argmax(widths))]
    assert bifurcation_mm - 20.0 <= superior[k] <= bifurcation_mm + scan.ct.grid.spacing[0]


@pytest.mark.parametrize("contrast", [False, True], ids=["plain", "contrast"])
@pytest.mark.parametrize("ratio", RATIOS)
def test_tiny_phantom_diameters_and_ratio(ratio: float, contrast: bool) -> None:
    """6 x 3.75 x 3.75 mm voxels: diameters within 1.5 in-plane voxels; the ratio within 0.15
    (0.1 of a 25 mm PA is 2.5 mm, less than one 3.75 mm voxel; 0.1 is checked on the small grid)."""
    scan = make_chest_ct(PhantomSpec(size="tiny", pa_to_aorta_ratio=ratio, contrast=contrast), seed=1)
    _check_against_truth(scan, 1.5 * scan.ct.grid.spacing[1], 0.15)


@pytest.mark.parametrize(("ratio", "contrast"), [(1.3, False), (0.8, True)], ids=["plain-1.3", "contrast-0.8"])
def test_small_phantom_diameters_and_ratio(ratio: float, contrast: bool) -> None:
    """2 x 1.41 x 1.41 mm voxels: diameters within 2 mm, ratio within 0.1, another patient."""
    scan = make_chest_ct(PhantomSpec(size="small", pa_to_aorta_ratio=ratio, contrast=contrast), seed=2)
    _check_against_truth(scan, 2.0, 0.1)


def test_ratio_orders_patients() -> None:
    """A dilated PA (truth 1.3) reads above 1, a normal one (truth 0.8) below 1."""
    ratios = [_measure(make_chest_ct(PhantomSpec(size="tiny", pa_to_aorta_ratio=r), seed=3)).ratio for r in (0.8, 1.3)]
    assert ratios[0] < 1.0 < ratios[1]


def _crop_slices(scan, keep: np.ndarray):
    """The scan restricted to the slices ``keep`` (contiguous), masks alike."""
    grid = scan.ct.grid
    start = int(keep[0])
    origin = tuple(grid.index_to_physical(np.array([float(start), 0.0, 0.0])))
    sub = dataclasses.replace(grid, shape=(len(keep),) + grid.shape[1:], origin=origin)
    ct = Image(scan.ct.array[keep], sub, scan.ct.modality, scan.ct.unit, scan.ct.metadata)
    truth = {name: Mask(mask.array[keep], sub, mask.labels) for name, mask in scan.truth.items()}
    return dataclasses.replace(scan, ct=ct, truth=truth)


def test_above_the_arch_gives_nan_and_reason() -> None:
    """A scan cropped above the aortic arch (lung apices only) has no PA: NaN, never a number."""
    scan = make_chest_ct(PhantomSpec(size="tiny"), seed=1)
    superior = slice_superior_mm(scan.ct.grid)
    top = _crop_slices(scan, np.flatnonzero(superior >= 245.0))
    assert (top.truth["lungs"].array == 1).any() and (top.truth["lungs"].array == 2).any()
    assert not top.truth["pulmonary_artery"].array.any()
    measure = _measure(top)
    assert not measure.measured and measure.problem
    assert math.isnan(measure.pa_diameter_mm) and math.isnan(measure.ratio)
    assert measure.measurement_slice is None


def test_missing_great_vessels_gives_nan_and_reason() -> None:
    """Ascending aorta and PA replaced by fat (the descending aorta kept): NaN with a reason."""
    scan = make_chest_ct(PhantomSpec(size="tiny", contrast=True), seed=1)
    grid = scan.ct.grid
    rows = np.arange(grid.shape[1])
    posterior_mm = grid.index_to_physical(np.column_stack([np.zeros_like(rows), rows, np.zeros_like(rows)]))[:, 1]
    anterior = (posterior_mm < 10.0)[None, :, None]
    vessels = ((scan.truth["aorta"].array > 0) | (scan.truth["pulmonary_artery"].array > 0)) & anterior
    vessels |= (scan.ct.array > 150.0) & (scan.truth["heart"].array == 0) & anterior & (scan.truth["lungs"].array == 0) \
        & (scan.truth["body"].array > 0) & (np.abs(scan.ct.array - 260.0) < 120.0)
    hu = scan.ct.array.copy()
    hu[vessels] = -100.0
    emptied = dataclasses.replace(scan, ct=scan.ct.with_array(hu))
    measure = _measure(emptied)
    assert not measure.measured, (measure.pa_diameter_mm, measure.aorta_diameter_mm)
    assert measure.problem and math.isnan(measure.ratio)


def test_air_image_gives_nan() -> None:
    """An image of air with lung masks: no blood anywhere, NaN and the reason."""
    scan = make_chest_ct(PhantomSpec(size="tiny"), seed=1)
    air = dataclasses.replace(scan, ct=scan.ct.with_array(np.full(scan.ct.shape, -1000.0, np.float32)))
    measure = _measure(air)
    assert not measure.measured and "blood" in measure.problem


def test_analysis_stores_names_units_and_flag(tmp_path) -> None:
    """analyse_lung_ct stores the three columns with units; qct.json holds the plane; QC has the panel."""
    import json

    from ildrad.lung.analysis import analyse_lung_ct, write_outputs

    scan = make_chest_ct(PhantomSpec(size="tiny", pa_to_aorta_ratio=1.3, contrast=True), seed=1)
    analysis = analyse_lung_ct(scan.ct)
    names = {
        "qct__pulmonary_artery__original__diameter_mm": "mm",
        "qct__aorta__original__ascending_diameter_mm": "mm",
        "qct__pulmonary_artery__original__pa_ao_ratio": "1",
    }
    for name, unit in names.items():
        assert analysis.units[name] == unit
    flag = analysis.quality["flags"]["pa_ao_not_measured"]
    assert flag == (not analysis.pa_ao.measured)
    if analysis.pa_ao.measured:  # automatic masks: the value must still be right
        assert abs(analysis.features["qct__pulmonary_artery__original__pa_ao_ratio"] - 1.3) <= 0.1
    paths = write_outputs(analysis, scan.ct, tmp_path)
    document = json.loads(paths["qct"].read_text())
    assert document["markers"]["pa_ao_measurement_slice"] == analysis.pa_ao.measurement_slice
    assert document["quality"]["flags"]["flag__pa_ao_not_measured"] == flag
    assert set(names) <= set(document["features"])
