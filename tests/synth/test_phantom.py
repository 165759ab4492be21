"""Synthetic SSc-ILD chest CT phantoms: determinism, geometry, truth codes and the hard cases."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy import ndimage

from ildrad.synth.phantom import PatternMix, PhantomSpec, SyntheticCT, make_chest_ct

LUNG_CODES = {0, 1, 2}
ZONE_CODES = {0, 11, 12, 13, 21, 22, 23}
PATTERN_CODES = {0, 1, 2, 3, 4, 5}


@cache
def phantom(seed: int = 1, **fields: object) -> SyntheticCT:
    return make_chest_ct(PhantomSpec(**fields), seed)


def physical(scan: SyntheticCT, mask: np.ndarray) -> np.ndarray:
    """LPS positions (mm) of the voxels of a boolean mask on the scan's grid."""
    return scan.ct.grid.index_to_physical(np.argwhere(mask))


def test_same_seed_same_arrays_other_seed_other_patient() -> None:
    a = make_chest_ct(PhantomSpec(ild_extent=0.3), 7)
    b = make_chest_ct(PhantomSpec(ild_extent=0.3), 7)
    c = make_chest_ct(PhantomSpec(ild_extent=0.3), 8)
    np.testing.assert_array_equal(a.ct.array, b.ct.array)
    for name in a.truth:
        np.testing.assert_array_equal(a.truth[name].array, b.truth[name].array)
    assert not np.array_equal(a.ct.array, c.ct.array)
    assert not np.array_equal(a.truth["patterns"].array, c.truth["patterns"].array)


def test_tiny_geometry_and_metadata() -> None:
    scan = phantom()
    assert scan.ct.shape == (48, 96, 96)
    assert scan.ct.spacing == pytest.approx((6.0, 3.75, 3.75))
    assert scan.ct.modality.value == "CT" and scan.ct.unit.value == "HU"
    meta = scan.ct.metadata
    assert (meta["manufacturer"], meta["model"], meta["kernel"]) == ("SIEMENS", "SOMATOM Definition AS", "B30f")
    assert meta["slice_thickness_mm"] == 6.0 and meta["patient_position"] == "HFS"
    for mask in scan.truth.values():
        assert mask.grid.same_as(scan.ct.grid)


def test_truth_label_codes_follow_design() -> None:
    scan = phantom(ild_extent=0.3, emphysema_extent=0.05)
    lungs = scan.truth["lungs"].array
    zones = scan.truth["zones"].array
    patterns = scan.truth["patterns"].array
    assert set(np.unique(lungs)) == LUNG_CODES
    assert set(np.unique(zones)) == ZONE_CODES
    assert set(np.unique(patterns)) == PATTERN_CODES
    np.testing.assert_array_equal(zones > 0, lungs > 0)
    np.testing.assert_array_equal(zones[lungs > 0] // 10, lungs[lungs > 0])
    assert not np.any(patterns[lungs == 0])
    # zones are thirds of each lung's height: upper above middle above lower
    for side in (1, 2):
        z_of = {zone: physical(scan, zones == 10 * side + zone)[:, 2].mean() for zone in (1, 2, 3)}
        assert z_of[1] > z_of[2] > z_of[3]


@pytest.mark.parametrize("position", ["supine", "prone"])
def test_right_lung_is_on_the_patient_right(position: str) -> None:
    scan = phantom(position=position)
    lungs = scan.truth["lungs"].array
    right_x = physical(scan, lungs == 1)[:, 0].mean()
    left_x = physical(scan, lungs == 2)[:, 0].mean()
    assert right_x < -40.0 and left_x > 40.0  # LPS: +x is the patient's left


def test_prone_flips_anterior_posterior_in_the_array_and_puts_the_table_in_front() -> None:
    supine, prone = phantom(position="supine", noise_hu=0.0), phantom(position="prone", noise_hu=0.0)
    assert prone.ct.direction[1, 1] == -1.0 and supine.ct.direction[1, 1] == 1.0
    assert prone.ct.metadata["patient_position"] == "HFP"
    ny = supine.ct.shape[1]
    heart_row = {name: np.argwhere(s.truth["heart"].array > 0)[:, 1].mean() for name, s in (("supine", supine), ("prone", prone))}
    assert heart_row["supine"] < ny / 2 < heart_row["prone"]  # heart is anterior
    # physical anatomy is the same patient: lung centroids agree within a few mm
    for side in (1, 2):
        a = physical(supine, supine.truth["lungs"].array == side).mean(axis=0)
        b = physical(prone, prone.truth["lungs"].array == side).mean(axis=0)
        assert np.abs(a - b).max() < 6.0
    for scan, sign in ((supine, 1.0), (prone, -1.0)):
        dense_outside = (scan.ct.array > 150) & (scan.truth["body"].array == 0)
        y = physical(scan, dense_outside)[:, 1]
        assert y.size > 0 and np.all(sign * y > 100.0)  # the table: behind supine, in front prone


def test_lungs_touch_anteriorly_with_no_tissue_between() -> None:
    scan = phantom()
    lungs = scan.truth["lungs"].array
    touching = (lungs[:, :, :-1] > 0) & (lungs[:, :, 1:] > 0) & (lungs[:, :, :-1] != lungs[:, :, 1:])
    k, j, i = np.nonzero(touching)
    assert k.size > 0
    y = scan.ct.grid.index_to_physical(np.stack([k, j, i], axis=1))[:, 1]
    assert (y < -20.0).any()  # the anterior junction line
    assert np.unique(k[y < -20.0]).size >= 2  # over several slices


@pytest.mark.parametrize("extent", [0.0, 0.2, 0.4, 0.6])
def test_realised_extent_matches_request_and_truth_map(extent: float) -> None:
    scan = phantom(ild_extent=extent)
    lungs = scan.truth["lungs"].array > 0
    patterns = scan.truth["patterns"].array
    realised = np.isin(patterns, [1, 2, 3, 4]).sum() / lungs.sum()
    assert realised == pytest.approx(scan.numbers["ild_extent"], abs=1e-12)
    assert abs(realised - extent) < 0.01
    mix = PhantomSpec().pattern_mix.fractions()
    for code, name in ((1, "ground_glass"), (2, "reticulation"), (3, "honeycombing"), (4, "consolidation")):
        share = (patterns == code).sum() / lungs.sum()
        assert share == pytest.approx(scan.numbers[f"extent_{name}"], abs=1e-12)
        assert abs(share - extent * mix[name]) < 0.005


def test_disease_is_basal_and_subpleural() -> None:
    scan = phantom(ild_extent=0.2)
    zones = scan.truth["zones"].array
    ill = np.isin(scan.truth["patterns"].array, [1, 2, 3, 4])
    for side in (1, 2):
        upper = ill[zones == 10 * side + 1].mean()
        lower = ill[zones == 10 * side + 3].mean()
        assert lower > 2.0 * upper
    # distance from the edge of the lungs: disease lies nearer the pleura than normal lung
    depth = ndimage.distance_transform_edt(scan.truth["lungs"].array > 0, sampling=scan.ct.spacing)
    normal = (scan.truth["patterns"].array == 0) & (scan.truth["lungs"].array > 0)
    assert np.median(depth[ill]) < 0.6 * np.median(depth[normal])


def test_consolidation_touches_the_chest_wall_without_an_edge() -> None:
    scan = phantom(ild_extent=0.4, noise_hu=0.0)
    cons = scan.truth["patterns"].array == 4
    lungs = scan.truth["lungs"].array > 0
    hu = scan.ct.array
    # soft-tissue neighbours outside the lungs (chest wall, diaphragm) of consolidation voxels
    wall = ndimage.binary_dilation(cons) & ~lungs & (scan.truth["body"].array > 0) & (hu > -200)
    assert wall.sum() > 20
    touching = cons & ndimage.binary_dilation(wall)
    assert touching.sum() > 20
    assert abs(np.median(hu[touching]) - np.median(hu[wall])) < 40.0  # no intensity edge


def test_pattern_hu_bands_noise_free() -> None:
    scan = phantom(ild_extent=0.4, emphysema_extent=0.05, noise_hu=0.0)
    hu, patterns = scan.ct.array, scan.truth["patterns"].array
    interior = ndimage.binary_erosion(scan.truth["lungs"].array > 0) & (scan.truth["vessels"].array == 0)
    median = {code: np.median(hu[(patterns == code) & interior]) for code in range(6)}
    assert -900 < median[0] < -780  # normal inspiratory lung
    assert -650 < median[1] < -430  # ground glass
    assert -650 < median[2] < -250  # reticulation: lines over lung
    assert -100 < median[4] < 100  # consolidation at soft-tissue density
    assert median[5] < -930  # emphysema
    cysts = hu[(patterns == 3) & interior]
    assert np.percentile(cysts, 10) < -600  # cysts hold air (walls resolved only at small size)


def test_texture_versus_density_at_equal_mean() -> None:
    ggo = phantom(ild_extent=0.3, noise_hu=0.0, pattern_mix=PatternMix(ground_glass=1, reticulation=0, honeycombing=0, consolidation=0))
    hc = phantom(
        ild_extent=0.3,
        noise_hu=0.0,
        honeycomb_wall_fraction=0.6,  # walls thick enough for the mean density of ground glass
        pattern_mix=PatternMix(ground_glass=0, reticulation=0, honeycombing=1, consolidation=0),
    )
    values = {}
    for name, scan in (("ggo", ggo), ("hc", hc)):
        region = np.isin(scan.truth["patterns"].array, [1, 3])
        values[name] = (scan.ct.array[region].mean(), scan.ct.array[region].std())
    assert abs(values["ggo"][0] - values["hc"][0]) < 30.0
    assert values["hc"][1] > 2.0 * values["ggo"][1]


def test_expiratory_lungs_are_smaller_and_denser() -> None:
    insp, exp = phantom(noise_hu=0.0, ild_extent=0.0), phantom(noise_hu=0.0, ild_extent=0.0, breath="expiratory")
    assert exp.numbers["lung_volume_ml"] < 0.85 * insp.numbers["lung_volume_ml"]
    inside = {n: ndimage.binary_erosion(s.truth["lungs"].array > 0) for n, s in (("i", insp), ("e", exp))}
    assert np.median(exp.ct.array[inside["e"]]) > np.median(insp.ct.array[inside["i"]]) + 80


def test_cut_apex_and_cut_base_cover_less_lung() -> None:
    full, apex, base = phantom(), phantom(coverage="cut_apex"), phantom(coverage="cut_base")
    assert not full.truth["lungs"].array[-1].any() and not full.truth["lungs"].array[0].any()
    assert apex.truth["lungs"].array[-1].any()  # the lung runs out of the top of the scan
    assert base.truth["lungs"].array[0].any()  # and out of the bottom
    assert apex.numbers["lung_volume_ml"] < 0.95 * full.numbers["lung_volume_ml"]
    assert base.numbers["lung_volume_ml"] < 0.95 * full.numbers["lung_volume_ml"]


def test_dilated_oesophagus_holds_air_behind_the_trachea() -> None:
    dilated, normal = phantom(noise_hu=0.0), phantom(noise_hu=0.0, oesophagus_dilated=False)
    air = dilated.truth["oesophagus"].array == 2
    assert air.sum() > 0
    assert np.median(dilated.ct.array[ndimage.binary_erosion(air)]) < -900
    assert not (normal.truth["oesophagus"].array == 2).any()
    assert dilated.numbers["oesophagus_air_diameter_mm"] > 15.0
    oes_y = physical(dilated, air)[:, 1].mean()
    trachea_y = physical(dilated, dilated.truth["airways"].array > 0)[:, 1].mean()
    assert oes_y > trachea_y  # posterior
    assert not np.any((dilated.truth["oesophagus"].array > 0) & (dilated.truth["lungs"].array > 0))
    assert not np.any((dilated.truth["airways"].array > 0) & (dilated.truth["lungs"].array > 0))


def test_stomach_gas_under_the_left_dome_outside_the_lungs() -> None:
    scan = phantom(noise_hu=0.0)
    gas = scan.truth["stomach_gas"].array > 0
    lungs = scan.truth["lungs"].array
    assert gas.sum() > 10 and not np.any(gas & (lungs > 0))
    assert physical(scan, gas)[:, 0].mean() > 20.0  # patient left
    assert np.median(scan.ct.array[ndimage.binary_erosion(gas)]) < -900
    # under the left lung: in columns holding both, the gas lies below the lung
    k = np.arange(lungs.shape[0])[:, None, None]
    lowest_lung = np.where(lungs == 2, k, 10**6).min(axis=0)
    highest_gas = np.where(gas, k, -1).max(axis=0)
    both = (lowest_lung < 10**6) & (highest_gas >= 0)
    assert both.sum() > 5 and np.all(highest_gas[both] < lowest_lung[both])


def test_kernel_noise_and_fov_padding() -> None:
    smooth, sharp = phantom(kernel="smooth"), phantom(kernel="sharp", vendor="GE")
    assert sharp.ct.metadata["kernel"] == "LUNG" and sharp.ct.metadata["manufacturer"] == "GE"
    assert smooth.ct.array[0, 0, 0] == -2048 and sharp.ct.array[0, 0, 0] == -3024  # outside the circle
    liver = {n: ndimage.binary_erosion(s.truth["liver"].array > 0, iterations=2) for n, s in (("a", smooth), ("b", sharp))}
    sd_smooth = smooth.ct.array[liver["a"]].std()
    sd_sharp = sharp.ct.array[liver["b"]].std()
    assert 12.0 < sd_smooth < 30.0
    assert sd_sharp > 2.0 * sd_smooth


def test_small_size_same_patient_finer_grid() -> None:
    tiny, small = phantom(seed=5, ild_extent=0.3), phantom(seed=5, ild_extent=0.3, size="small", noise_hu=0.0)
    assert small.ct.shape == (150, 256, 256)
    assert small.ct.spacing == pytest.approx((2.0, 1.40625, 1.40625))
    # the same anatomy: lung volumes within 5 %, the same extent
    assert small.numbers["lung_volume_ml"] == pytest.approx(tiny.numbers["lung_volume_ml"], rel=0.05)
    assert small.numbers["ild_extent"] == pytest.approx(0.3, abs=0.005)
    assert 3000 < small.numbers["lung_volume_ml"] < 7500
    # vessels branch and taper: many separate small cross-sections in a mid-lung slice
    vessels = small.truth["vessels"].array
    k = int(np.argmax((small.truth["lungs"].array > 0).sum(axis=(1, 2))))
    _, count = ndimage.label(vessels[k])
    assert count > 15
    # honeycomb walls are resolved at this size: cysts and walls both present
    hc = small.ct.array[small.truth["patterns"].array == 3]
    assert np.percentile(hc, 10) < -850 and np.percentile(hc, 90) > -300


def test_contrast_brightens_blood_only() -> None:
    plain, enhanced = phantom(noise_hu=0.0), phantom(noise_hu=0.0, contrast=True)
    aorta = ndimage.binary_erosion(plain.truth["aorta"].array > 0)
    assert 20 < np.median(plain.ct.array[aorta]) < 60
    assert np.median(enhanced.ct.array[aorta]) > 200
    assert enhanced.ct.metadata["contrast_agent"] and "contrast_agent" not in plain.ct.metadata
    lung = ndimage.binary_erosion(plain.truth["lungs"].array > 0) & (plain.truth["patterns"].array == 0)
    lung &= plain.truth["vessels"].array == 0
    assert abs(np.median(enhanced.ct.array[lung]) - np.median(plain.ct.array[lung])) < 30


def test_identical_arrays_whatever_the_thread_count(outputs_by_thread_count) -> None:
    import hashlib

    script = (
        "import hashlib; from ildrad.synth.phantom import PhantomSpec, make_chest_ct; "
        "s = make_chest_ct(PhantomSpec(ild_extent=0.3, kernel='sharp'), 4); "
        "print(hashlib.sha256(s.ct.array.tobytes() + s.truth['patterns'].array.tobytes()).hexdigest())"
    )
    digests = {out.strip() for out in outputs_by_thread_count(script)}
    scan = phantom(seed=4, ild_extent=0.3, kernel="sharp")
    digests.add(hashlib.sha256(scan.ct.array.tobytes() + scan.truth["patterns"].array.tobytes()).hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize("position", ["supine", "prone"])
def test_pleural_effusion_layers_on_the_dependent_wall_outside_the_lung(position: str) -> None:
    plain = phantom(ild_extent=0.0, noise_hu=0.0, position=position)
    wet = phantom(ild_extent=0.0, noise_hu=0.0, position=position, pleural_effusion_mm=40.0)
    fluid = wet.truth["pleural_effusion"].array > 0
    lungs_before, lungs_after = plain.truth["lungs"].array, wet.truth["lungs"].array
    # taken from the right lung only (the default side), which it displaces voxel for voxel
    assert fluid.sum() > 200 and not (fluid & (lungs_after > 0)).any()
    assert np.array_equal(lungs_before == 2, lungs_after == 2)
    assert np.array_equal(lungs_before == 1, (lungs_after == 1) | fluid)
    assert np.all(np.abs(wet.ct.array[fluid & ~ndimage.binary_dilation(~fluid)] - 10.0) < 1.0)
    # dependent (posterior supine, anterior prone) and basal: below the right lung's mid-height
    y_fluid, y_lung = physical(wet, fluid)[:, 1].mean(), physical(wet, lungs_before == 1)[:, 1].mean()
    assert (y_fluid - y_lung) * (1.0 if position == "supine" else -1.0) > 30.0
    z_fluid, z_lung = physical(wet, fluid)[:, 2], physical(wet, lungs_before == 1)[:, 2]
    assert np.median(z_fluid) < np.median(z_lung)
    both = phantom(ild_extent=0.0, noise_hu=0.0, position=position, pleural_effusion_mm=40.0,
                   pleural_effusion_side="both")
    sides = np.bincount(lungs_before[both.truth["pleural_effusion"].array > 0], minlength=3)
    assert sides[0] == 0 and sides[1] > 200 and sides[2] > 200
