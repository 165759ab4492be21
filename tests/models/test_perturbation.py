"""Perturbation chain (Zwanenburg 2019), ICC stability table, ``ildrad perturb``, ICC filter."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ildrad.image import Grid, Image, Mask
from ildrad.models.perturbation import (
    PerturbationParameters,
    PerturbationSettings,
    adapt_volume,
    add_noise,
    estimate_noise_sd,
    perturb,
    randomise_contour,
    rotate_about_z,
    sample_parameters,
    stability_table,
)
from ildrad.models.settings import ModelsSettings
from ildrad.models.training import stable_columns


def _ct(array, spacing=(2.0, 1.0, 1.0)):
    return Image(np.asarray(array, np.float32), Grid(np.shape(array), spacing), "CT", "HU")


def _ball(shape, centre, radius_vox):
    z, y, x = np.indices(shape)
    return (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius_vox**2


def test_sampling_is_reproducible_by_seed_and_key_and_differs_otherwise():
    settings = PerturbationSettings(n=5, seed=3)
    first = sample_parameters("scan_a", 12.0, settings)
    assert first == sample_parameters("scan_a", 12.0, settings)
    assert first != sample_parameters("scan_b", 12.0, settings)
    assert first != sample_parameters("scan_a", 12.0, settings.model_copy(update={"seed": 4}))
    assert all(abs(p.angle_deg) <= 10 and abs(p.volume_fraction) <= 0.1 for p in first)
    assert all(p.noise_sd == pytest.approx(12.0) for p in first)


def test_recorded_parameters_regenerate_the_same_image_and_mask():
    rng = np.random.default_rng(0)
    image = _ct(rng.normal(-800, 30, (6, 40, 40)))
    mask = _ball(image.shape, (3, 20, 21), 12)
    parameters = sample_parameters("k", 30.0, PerturbationSettings(n=2, seed=9))[1]
    record = dataclasses.asdict(parameters)  # what parameters.parquet stores
    again = PerturbationParameters(**record)
    a_image, a_mask = perturb(image, mask, parameters)
    b_image, b_mask = perturb(image, mask, again)
    np.testing.assert_array_equal(a_image.array, b_image.array)
    np.testing.assert_array_equal(a_mask, b_mask)
    assert not np.array_equal(a_mask, mask)  # it did perturb


def test_rotation_moves_a_point_by_the_angle_about_the_centre():
    shape, spacing = (3, 61, 81), (2.0, 0.8, 1.0)  # anisotropic in-plane on purpose
    centre = ((shape[1] - 1) / 2, (shape[2] - 1) / 2)
    y, x = np.indices(shape[1:])
    dx_mm, dy_mm = 12.0, 4.0  # offset of a Gaussian spot from the grid centre
    spot = np.exp(
        -(((x - centre[1]) * spacing[2] - dx_mm) ** 2 + ((y - centre[0]) * spacing[1] - dy_mm) ** 2)
        / (2 * 2.0**2)
    )
    image = _ct(np.repeat(spot[None], shape[0], axis=0) * 1000.0, spacing)
    theta = 25.0
    rotated, _ = rotate_about_z(image, np.zeros(shape, bool), theta)
    plane = rotated.array[1]
    cx = ((x - centre[1]) * spacing[2] * plane).sum() / plane.sum()
    cy = ((y - centre[0]) * spacing[1] * plane).sum() / plane.sum()
    t = np.deg2rad(theta)
    assert cx == pytest.approx(dx_mm * np.cos(t) - dy_mm * np.sin(t), abs=0.1)
    assert cy == pytest.approx(dx_mm * np.sin(t) + dy_mm * np.cos(t), abs=0.1)


def test_rotation_moves_the_mask_with_the_image():
    image = _ct(np.zeros((2, 41, 41)))
    mask = np.zeros(image.shape, bool)
    mask[:, 20, 30] = True  # 10 voxels along +x from the centre (20, 20)
    _, rotated = rotate_about_z(image, mask, 90.0)
    assert np.argwhere(rotated[0]).tolist() == [[30, 20]]  # +x rotated by 90 degrees -> +y


@pytest.mark.parametrize("fraction", [-0.1, -0.03, 0.05, 0.1])
def test_volume_adaptation_changes_the_volume_by_the_fraction(fraction):
    mask = _ball((20, 40, 40), (10, 20, 20), 8) & ~_ball((20, 40, 40), (10, 14, 20), 3)
    adapted = adapt_volume(mask, (2.0, 0.7, 0.7), fraction)
    assert abs(adapted.sum() - mask.sum() * (1 + fraction)) <= 1  # within a voxel
    if fraction > 0:
        assert adapted[mask].all()  # growth keeps the original ROI
    else:
        assert not adapted[~mask].any()  # shrinkage stays inside it


def test_noise_has_the_requested_sd_and_the_estimator_finds_it():
    flat = _ct(np.full((8, 64, 64), -800.0))
    noisy = add_noise(flat, 20.0, seed=5)
    assert (noisy.array - flat.array).std() == pytest.approx(20.0, rel=0.02)
    np.testing.assert_array_equal(noisy.array, add_noise(flat, 20.0, seed=5).array)
    # Smooth structure plus noise of SD 15: the high-pass MAD estimate recovers 15.
    z, y, x = np.indices(flat.shape)
    smooth = _ct(-800 + 100 * np.sin(x / 9.0) + 50 * np.cos(y / 7.0))
    assert estimate_noise_sd(add_noise(smooth, 15.0, seed=1)) == pytest.approx(15.0, rel=0.05)


def test_contour_randomisation_moves_only_the_boundary_by_about_its_amplitude():
    mask = _ball((24, 48, 48), (12, 24, 24), 10)
    spacing = (1.0, 1.0, 1.0)
    moved = randomise_contour(mask, spacing, 1.0, 4.0, seed=2)
    np.testing.assert_array_equal(moved, randomise_contour(mask, spacing, 1.0, 4.0, seed=2))
    changed = moved != mask
    assert changed.any()
    from scipy import ndimage

    distance = np.where(
        mask, ndimage.distance_transform_edt(mask), ndimage.distance_transform_edt(~mask)
    )
    assert distance[changed].max() <= 5.0  # at most ~4 SD of the 1 mm displacement
    assert abs(moved.sum() / mask.sum() - 1) < 0.15


def test_icc_separates_stable_from_unstable_features_on_synthetic_scans():
    """Large homogeneous ROIs whose means differ between scans: mean intensity is stable (ICC near
    1). Tiny ROIs of the same size in every scan: their volume varies only by perturbation (ICC
    near 0)."""
    from ildrad.radiomics.extractor import extract
    from ildrad.radiomics.settings import RadiomicsSettings

    config = RadiomicsSettings(families=("intensity_stats", "morphology"))
    settings = PerturbationSettings(n=4, seed=1)
    shape, rows = (12, 36, 36), []
    big = _ball(shape, (6, 18, 18), 9)
    tiny = np.zeros(shape, bool)
    tiny[4:8, 4:8, 4:8] = True
    for subject in range(6):
        rng = np.random.default_rng(subject)
        values = np.where(big, -800.0 + 60.0 * subject, 40.0) + rng.normal(0, 10, shape)
        image = _ct(values, (1.0, 1.0, 1.0))
        for parameters in sample_parameters(f"s{subject}", 10.0, settings):
            for name, roi in (("big", big), ("tiny", tiny)):
                p_image, p_roi = perturb(image, roi, parameters)
                features = extract(p_image, Mask(p_roi.astype(np.uint8), p_image.grid), config)
                rows.append(
                    {
                        "scan_key": f"{name}{subject}",
                        "perturbation": parameters.perturbation,
                        "roi": name,
                        "mean": features["stat_mean"],
                        "volume": features["morph_volume"],
                    }
                )
    table = pd.DataFrame(rows)
    big_icc = stability_table(table[table.roi == "big"], ["mean", "volume"]).set_index("feature")
    tiny_icc = stability_table(table[table.roi == "tiny"], ["mean", "volume"]).set_index("feature")
    assert big_icc.loc["mean", "icc_2_1"] > 0.9
    assert big_icc.loc["mean", "icc_3_1"] > 0.9
    assert tiny_icc.loc["volume", "icc_2_1"] < 0.5
    assert (big_icc.n_scans == 6).all()
    assert (big_icc.n_perturbations == 4).all()


def test_stability_filter_drops_unstable_listed_features_and_keeps_unlisted(tmp_path):
    path = tmp_path / "icc.parquet"
    pd.DataFrame(
        {
            "feature": ["rad__a", "rad__b", "rad__c"],
            "icc_2_1": [0.95, 0.5, np.nan],
            "icc_3_1": [0.96, 0.8, np.nan],
            "n_scans": 3,
            "n_perturbations": 4,
        }
    ).to_parquet(path)
    columns = ["rad__a", "rad__b", "rad__c", "delta__rad__b", "qct__x", "clin__age_years"]
    off = ModelsSettings()
    assert stable_columns(columns, off) == columns
    on = ModelsSettings(icc_threshold=0.75, stability_file=str(path))
    assert stable_columns(columns, on) == ["rad__a", "qct__x", "clin__age_years"]
    consistency = ModelsSettings(icc_threshold=0.75, icc_form="3,1", stability_file=str(path))
    assert stable_columns(columns, consistency) == [
        "rad__a",
        "rad__b",
        "delta__rad__b",
        "qct__x",
        "clin__age_years",
    ]
    with pytest.raises(ValidationError, match="stability_file"):
        ModelsSettings(icc_threshold=0.75)
    from ildrad.errors import InputError

    with pytest.raises(InputError, match="stability file not found"):
        stable_columns(
            columns, ModelsSettings(icc_threshold=0.75, stability_file=str(tmp_path / "no"))
        )


# ---------------------------------------------------------------- CLI on a tiny workspace

_CONFIG = "radiomics:\n  families: [intensity_stats, morphology]\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Three small CT scans written as DICOM, a stored lung mask each, manifest and private paths
    (built directly: `ildrad synth cohort` + `run` take minutes on a shared machine)."""
    from ildrad.cohort.store import result_set_name
    from ildrad.config import config_hash, load_config
    from ildrad.io.dicom_write import write_dicom_series
    from ildrad.io.volume_files import write_mask

    root = tmp_path_factory.mktemp("perturb")
    ws = root / "ws"
    config = root / "config.yaml"
    config.write_text(_CONFIG)
    masks = ws / "store" / result_set_name(config_hash(load_config(config))) / "masks"
    shape, spacing = (8, 40, 48), (2.5, 1.5, 1.5)
    rows, paths = [], []
    for i in range(3):
        rng = np.random.default_rng(i)
        lungs = _ball(shape, (4, 20, 14), 9 + i) | _ball(shape, (4, 20, 34), 8)
        values = np.where(lungs, -860.0 + 40 * i, 30.0) + rng.normal(0, 15, shape)
        image = _ct(np.round(values), spacing)
        key = f"{i:016x}"
        files = write_dicom_series(image, root / "dicom" / key)
        write_mask(Mask(lungs.astype(np.uint8), image.grid), masks / key / "lungs.nii.gz")
        rows.append({"scan_key": key, "patient_key": f"p{i}", "modality": "CT"})
        paths.append({"scan_key": key, "files": [str(f) for f in files]})
    (ws / "private").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(ws / "manifest.parquet", index=False)
    pd.DataFrame(paths).to_parquet(ws / "private" / "series_paths.parquet", index=False)
    return ws, config, masks.parent


@pytest.fixture(scope="module")
def perturbed(workspace):
    from ildrad.cli import main

    ws, config, results = workspace
    assert main(["perturb", str(ws), "--config", str(config), "--n", "3", "--seed", "7"]) == 0
    return ws / "stability" / results.name


def test_cli_writes_icc_and_parameters(perturbed):
    table = pd.read_parquet(perturbed / "icc.parquet")
    assert list(table.columns) == ["feature", "icc_2_1", "icc_3_1", "n_scans", "n_perturbations"]
    assert table.feature.str.startswith("rad__lung__original__").all()
    assert (table.n_scans == 3).all()
    assert (table.n_perturbations == 3).all()
    icc = table.set_index("feature").icc_2_1
    # Lungs 40 HU apart between scans, noise 15 HU: the median ignores the up to 10 % of body
    # voxels (+30 HU) that volume adaptation adds; the mean does not.
    assert icc["rad__lung__original__stat_median"] > 0.9
    assert icc["rad__lung__original__stat_mean"] < icc["rad__lung__original__stat_median"]
    parameters = pd.read_parquet(perturbed / "parameters.parquet")
    assert len(parameters) == 9
    assert parameters.noise_level.between(10, 20).all()  # the noise added to the phantoms: 15 HU


def test_cli_parameters_regenerate_the_perturbed_features(workspace, perturbed):
    from ildrad.cohort.pipeline import _radiomics_row
    from ildrad.config import load_config
    from ildrad.io.dicom_series import read_ct_series
    from ildrad.io.volume_files import read_mask

    ws, config, results = workspace
    record = pd.read_parquet(perturbed / "parameters.parquet").iloc[4].to_dict()
    key = record["scan_key"]
    files = (
        pd.read_parquet(ws / "private" / "series_paths.parquet").set_index("scan_key").files[key]
    )
    ct = read_ct_series(list(files))
    lungs = read_mask(results / "masks" / key / "lungs.nii.gz").array != 0
    fields = {f.name for f in dataclasses.fields(PerturbationParameters)}
    image, roi = perturb(ct, lungs, PerturbationParameters(**{k: record[k] for k in fields}))
    assert int(roi.sum()) == record["roi_voxels"]
    row = _radiomics_row(
        image,
        Mask(roi.astype(np.uint8), image.grid),
        load_config(config),
        "rad",
        "lung",
        "original",
    )
    stored = pd.read_parquet(perturbed / "features.parquet").set_index(["scan_key", "perturbation"])
    stored_row = stored.loc[(key, record["perturbation"])]
    for column in ("rad__lung__original__stat_mean", "rad__lung__original__morph_volume"):
        assert row[column] == pytest.approx(stored_row[column], rel=1e-9)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    from ildrad.cli import main

    assert main(["perturb", str(tmp_path), "--n", "2"]) == 2
    assert "run `ildrad run` first" in capsys.readouterr().err


def test_assemble_inputs_applies_the_stability_filter(tmp_path):
    from ildrad.models.training import assemble_inputs

    path = tmp_path / "icc.parquet"
    pd.DataFrame(
        {"feature": ["rad__a", "rad__b"], "icc_2_1": [0.9, 0.2], "icc_3_1": [0.9, 0.2]}
    ).to_parquet(path)
    manifest = pd.DataFrame({"scan_key": ["s1", "s2"], "patient_key": ["p1", "p2"]})
    features = manifest.assign(**{"rad__a": [1.0, 2.0], "rad__b": [3.0, 4.0], "qct__c": [5.0, 6.0]})
    settings = ModelsSettings(icc_threshold=0.75, stability_file=str(path))
    inputs = assemble_inputs(manifest, features, ["rad", "qct"], settings)
    assert list(inputs.columns) == ["scan_key", "patient_key", "rad__a", "qct__c"]
