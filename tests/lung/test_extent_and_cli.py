"""ILD extent against phantom truth, the ``ildrad segment`` command, and real chest CT data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lung_cases import phantom

from ildrad.image import Grid, Image, Mask, Modality, Unit
from ildrad.lung.extent import estimate_ild_extent

EXTENT_CASES = [
    dict(size="tiny", ild_extent=0.0),
    dict(size="tiny", ild_extent=0.2, kernel="sharp", noise_hu=30.0),
    dict(size="tiny", ild_extent=0.4, noise_hu=60.0),
    dict(size="tiny", ild_extent=0.6, kernel="sharp"),
    dict(size="tiny", ild_extent=0.3, breath="expiratory"),
    # noisy sharp kernel on the 3.75 mm grid (lung voxel SD about 135 HU): 14.4 points over
    # before the local mean widened with the noise, 5.6 then, 5.2 now
    dict(size="tiny", ild_extent=0.05, kernel="sharp", noise_hu=45.0),
    # honeycombing-dominant (UIP-like) lung on the 1.4 mm grid: 19.7 points under before thin
    # honeycomb walls stopped being taken for vessels, 3.4 then, 3.9 with the vessel tube test
    # (which takes a little of the wall), 0.5 now that walled air cysts are honeycombing
    dict(size="small", ild_extent=0.5,
         pattern_mix=dict(ground_glass=0.05, reticulation=0.05, honeycombing=0.9,
                          consolidation=0.0)),
]


def test_ild_extent_within_5_points_on_average_and_10_for_every_case() -> None:
    """The bar of issue 5 on phantoms across extent, kernels, noise, breath and pattern mix."""
    from ildrad.lung.segmentation import segment_lungs

    errors = []
    for spec in EXTENT_CASES:
        case = phantom(**spec)
        estimate = estimate_ild_extent(case.ct, segment_lungs(case.ct).lungs)
        errors.append(100.0 * (estimate.ild_fraction - case.numbers["ild_extent"]))
    assert max(abs(e) for e in errors) <= 10.0, errors
    assert np.mean(np.abs(errors)) <= 5.0, errors


def test_segment_command_writes_masks_metrics_and_a_small_picture(tmp_path) -> None:
    from ildrad.cli import main
    from ildrad.io.volume_files import read_mask, write_image

    case = phantom(size="tiny", ild_extent=0.3)
    write_image(case.ct, tmp_path / "ct.nii.gz")
    out = tmp_path / "out"
    assert main(["-q", "segment", str(tmp_path / "ct.nii.gz"), "--out", str(out), "--fvc", "65"]) == 0
    lungs = read_mask(out / "lungs.nii.gz")
    assert lungs.grid.same_as(case.ct.grid)
    assert set(np.unique(lungs.array)) == {0, 1, 2}
    assert set(np.unique(read_mask(out / "zones.nii.gz").array)) == {0, 11, 12, 13, 21, 22, 23}
    assert set(np.unique(read_mask(out / "rind.nii.gz").array)) == {0, 1, 2}
    document = json.loads((out / "qct.json").read_text())
    feature = document["features"]["qct__right_lower__original__haa_fraction"]
    assert feature["unit"] == "1" and 0.0 <= feature["value"] <= 1.0
    assert document["features"]["qct__lung__original__volume_ml"]["unit"] == "mL"
    assert "flag__truncated_apex" in document["quality"]["flags"]
    assert document["stage"]["name"] == "quantitative_goh_stage"
    assert (out / "qc.png").stat().st_size < 300_000


def test_segment_command_rejects_a_missing_input(tmp_path) -> None:
    from ildrad.cli import main

    assert main(["segment", str(tmp_path / "nothing.nii.gz"), "--out", str(tmp_path / "o")]) == 2


def test_two_real_chest_slices_give_two_plausible_lungs(shared_data) -> None:
    pydicom = pytest.importorskip("pydicom")
    from ildrad.lung.segmentation import segment_lungs

    files = sorted((shared_data / "chest_slices").glob("*.dcm"))
    datasets = [pydicom.dcmread(f) for f in files]
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in datasets])
    dy, dx = (float(v) for v in datasets[0].PixelSpacing)
    dz = float(datasets[1].ImagePositionPatient[2]) - float(datasets[0].ImagePositionPatient[2])
    ct = Image.from_array(hu, spacing=(dz, dy, dx), origin=tuple(float(v) for v in datasets[0].ImagePositionPatient),
                          direction=[[0, 0, 1], [0, 1, 0], [1, 0, 0]], modality="CT", unit="HU")
    lungs = segment_lungs(ct).lungs.array[0]
    pixel_cm2 = dy * dx / 100.0
    centre_x = hu.shape[2] / 2
    for label, side in ((1, -1), (2, 1)):  # LPS: right lung at lower x (array columns here)
        region = lungs == label
        area = region.sum() * pixel_cm2
        assert 30.0 < area < 250.0, f"lung {label}: {area:.0f} cm2"
        assert side * (np.argwhere(region)[:, 1].mean() - centre_x) > 30, "lung on the wrong side"
    assert ((lungs > 0) & (hu[0] > 0)).sum() * pixel_cm2 < 10.0  # no chest wall or heart


def test_real_ibsi_ct_gives_one_right_lung_around_its_tumour(shared_data) -> None:
    from ildrad.io.volume_files import read_image, read_mask
    from ildrad.lung.segmentation import segment_lungs

    folder = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    ct = read_image(folder / "image.nii.gz", modality="CT", unit="HU")
    tumour = read_mask(folder / "mask.nii.gz").array > 0
    lungs = segment_lungs(ct).lungs.array
    volume_ml = (lungs == 1).sum() * ct.grid.voxel_volume_mm3 / 1000
    assert (lungs == 2).sum() == 0  # the crop holds the right lung only
    assert 900 < volume_ml < 1600, volume_ml
    assert ((lungs > 0) & tumour).sum() / tumour.sum() < 0.35  # the mass is mostly left out


def test_quality_flags_say_prone_expiratory_and_cut_apex() -> None:
    from ildrad.lung.quality import quality_report
    from ildrad.lung.segmentation import segment_lungs

    expected = {
        "prone_suspected": dict(size="tiny", ild_extent=0.3, position="prone", noise_hu=40.0),
        "expiratory_suspected": dict(size="tiny", ild_extent=0.3, breath="expiratory"),
        "truncated_apex": dict(size="tiny", ild_extent=0.3, coverage="cut_apex"),
        "thick_slices": dict(size="tiny", ild_extent=0.3, slice_thickness_mm=8.0),
    }
    for flag, spec in expected.items():
        case = phantom(**spec)
        seg = segment_lungs(case.ct)
        flags = quality_report(case.ct, seg.lungs, seg.body, seg.info)["flags"]
        assert flags[flag], f"{flag} not raised for {spec}"
    normal = phantom(size="tiny", ild_extent=0.0)
    seg = segment_lungs(normal.ct)
    flags = quality_report(normal.ct, seg.lungs, seg.body, seg.info)["flags"]
    assert not any(flags.values()), {k: v for k, v in flags.items() if v}


def test_contrast_is_told_from_density_on_sharp_noisy_scans() -> None:
    """Without the DICOM contrast attribute, the flag reads the mediastinal blood pool.

    Sharp-kernel noise puts single voxels of unenhanced blood (40 HU) at 150 HU and more: on this
    phantom 322 mL were counted as enhanced before the mediastinum was smoothed (the limit is
    30 mL), 4.7 mL after; with contrast (blood at 260 HU) 526 mL are counted.
    """
    import dataclasses

    from ildrad.lung.quality import quality_report
    from ildrad.lung.segmentation import segment_lungs

    for contrast in (False, True):
        case = phantom(size="tiny", ild_extent=0.2, kernel="sharp", noise_hu=41.0, contrast=contrast)
        metadata = {k: v for k, v in case.ct.metadata.items() if k != "contrast_agent"}
        ct = dataclasses.replace(case.ct, metadata=metadata)
        seg = segment_lungs(ct)
        report = quality_report(ct, seg.lungs, seg.body, seg.info)
        enhanced_ml = report["values"]["mediastinal_enhanced_ml"][0]
        assert report["flags"]["contrast_suspected"] is contrast, f"contrast={contrast}: {enhanced_ml:.1f} mL"


def test_air_filled_oesophagus_is_found_and_measured() -> None:
    from ildrad.lung.markers import measure_oesophagus
    from ildrad.lung.segmentation import segment_lungs

    case = phantom(size="tiny", ild_extent=0.0)  # dilated, air-filled oesophagus by default
    seg = segment_lungs(case.ct)
    measure = measure_oesophagus(case.ct, seg.lungs, seg.body, seg.airways)
    truth_air = case.truth["oesophagus"].array == 2
    found = measure.lumen.array > 0
    assert (found & truth_air).sum() > 0.5 * truth_air.sum()
    assert (found & ~truth_air).sum() < 0.5 * found.sum()
    # 3.75 mm voxels: the caliper diameter is within about one voxel of the truth
    assert abs(measure.max_diameter_mm - case.numbers["oesophagus_air_diameter_mm"]) < 5.0
    assert measure.measurement_slice is not None and found[measure.measurement_slice].any()


def test_air_at_the_skin_is_not_the_oesophagus() -> None:
    """On sub-millimetre pixels the body mask (decided on the ~2 mm grid) holds a rim of outside
    air along the skin. A strip of it in front of the mediastinum is a long air "tube" between
    the lungs, longer than the oesophagus: it was measured instead (42 mm, 4.5 mL on the
    full-size phantom, whose oesophagus is 19 mm wide)."""
    from ildrad.lung.markers import measure_oesophagus

    shape, axial = (60, 120, 120), [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    hu = np.full(shape, -1000.0, dtype=np.float32)
    body = np.zeros(shape, np.uint8)
    body[:, 10:110, 10:110] = 1
    hu[body > 0] = 40.0
    lungs = np.zeros(shape, np.uint8)
    lungs[:, 30:90, 20:50], lungs[:, 30:90, 70:100] = 1, 2
    hu[lungs > 0] = -850.0
    rows, cols = np.ogrid[:120, :120]
    lumen = (rows - 80) ** 2 + (cols - 60) ** 2 <= 36  # 9 mm wide, deep in the mediastinum
    hu[5:45][:, lumen] = -1000.0
    hu[:, 10:12, 45:75] = -1000.0  # air at the skin, inside the body mask, all 60 slices
    ct = Image.from_array(hu, spacing=(1.0, 0.7, 0.7), direction=axial, modality="CT", unit="HU")
    measure = measure_oesophagus(ct, Mask(lungs, ct.grid), Mask(body, ct.grid),
                                 Mask(np.zeros(shape, np.uint8), ct.grid))
    found = measure.lumen.array > 0
    assert not found[:, 10:12].any(), "the air at the skin was taken for the oesophagus"
    assert found[20:45][:, lumen].all()
    assert measure.max_diameter_mm == pytest.approx(12 * 0.7 + 0.7, abs=0.3)  # caliper + 1 voxel


def _lattice_lung(spacing=(4.0, 3.75, 3.75)):
    """A box of lung on a 3-4 mm grid: normal lung (-850 HU) in the left half, and in the right
    half a honeycomb lattice of air cysts (-960 HU, 2 x 2 x 2 voxels) in cells of 3 voxels whose
    walls read -450 HU (a wall of about 1 mm, partial volume on this grid)."""
    rng = np.random.default_rng(0)
    hu = np.full((24, 48, 48), -850.0) + rng.normal(0.0, 15.0, (24, 48, 48))
    z, y, x = np.indices(hu.shape)
    honeycomb = x >= 24
    cyst = honeycomb & (z % 3 > 0) & (y % 3 > 0) & (x % 3 > 0) & (x >= 26)
    hu[honeycomb] = -450.0
    hu[cyst] = -960.0
    lungs = np.zeros(hu.shape, np.uint8)
    lungs[2:-2, 2:-2, 2:-2] = 1
    grid = Grid(hu.shape, spacing)
    ct = Image(hu.astype(np.float32), grid, Modality.CT, Unit.HU)
    return ct, Mask(lungs, grid, {1: "right"}), honeycomb & (lungs > 0)


def test_air_cysts_among_fibrosis_count_as_honeycombing_on_coarse_grids() -> None:
    """Cysts whose walls are too faint for the bright-wall test are ILD when their neighbourhood is
    mostly ILD; normal lung beside them stays normal. Without the cyst rule 0.747 of the lattice
    read as ILD (the walls), the cysts as normal lung or emphysema."""
    ct, lungs, honeycomb = _lattice_lung()
    classes = estimate_ild_extent(ct, lungs).classes.array
    ild = np.isin(classes, (1, 2, 3, 4))
    inside = honeycomb & (classes > 0)
    assert ild[inside].mean() > 0.95, f"{ild[inside].mean():.3f} of the honeycomb lattice read as ILD"
    normal_side = (lungs.array > 0) & ~honeycomb
    far = normal_side.copy()
    far[:, :, 18:] = False  # beyond the context of the lattice
    assert ild[far].mean() < 0.02, f"{ild[far].mean():.3f} of the normal lung read as ILD"


def test_local_mean_widens_with_noise_only() -> None:
    """Normal lung (-850 HU) on a 3.75 mm grid with white noise: at 10 HU the local mean keeps
    LOCAL_SIGMA_MM; at 150 HU the 2 mm mean's noise is about 150 / sqrt((4 pi)^1.5 sigma^3) =
    58 HU (sigma in voxels), so the sigma widens by about (58 / 40)^(2/3) (2.55 mm; measured
    2.74: a Gaussian under one voxel wide averages less than the continuous formula says)."""
    from ildrad.lung import extent

    rng = np.random.default_rng(3)
    spacing = (3.75, 3.75, 3.75)
    parenchyma = np.ones((40, 40, 40), bool)
    quiet = (-850.0 + rng.normal(0.0, 10.0, parenchyma.shape)).astype(np.float32)
    noisy = (-850.0 + rng.normal(0.0, 150.0, parenchyma.shape)).astype(np.float32)
    def widened_sigma(fine):
        sigma = extent._sigma(extent.LOCAL_SIGMA_MM, spacing)
        local = extent._smooth_within(fine, parenchyma, sigma)
        return extent._local_sigma_mm(fine, parenchyma, local, spacing)

    assert widened_sigma(quiet) == extent.LOCAL_SIGMA_MM
    sigma = 2.0 / 3.75
    local_noise = 150.0 / np.sqrt((4 * np.pi) ** 1.5 * sigma**3)  # white noise under a Gaussian
    expected = extent.LOCAL_SIGMA_MM * (local_noise / extent.LOCAL_NOISE_MAX_HU) ** (2.0 / 3.0)
    widened = widened_sigma(noisy)
    assert widened > extent.LOCAL_SIGMA_MM
    assert widened == pytest.approx(min(expected, 3 * extent.LOCAL_SIGMA_MM), rel=0.25)
