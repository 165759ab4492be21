"""Image-level synthetic cohorts: the PACS-like tree with its decoys, tables, truth and CLI.

The tree is read back with pydicom and SimpleITK (independent of the writer) and checked against
the truth tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
import yaml

from ildrad.cli import main
from ildrad.synth.cohort_spec import parse_cohort_spec
from ildrad.synth.outcome_model import simulate_cohort_tables

SMALL_SPEC = {"name": "test", "schedule": {"max_scans": 2}}


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cohort")
    spec_file = root / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SMALL_SPEC))
    out = root / "out"
    code = main(
        [
            "synth",
            "cohort",
            "--patients",
            "3",
            "--seed",
            "7",
            "--size",
            "tiny",
            "--spec",
            str(spec_file),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def _headers(root: Path) -> list[tuple[Path, pydicom.Dataset]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                found.append((path, pydicom.dcmread(path, stop_before_pixels=True)))
            except pydicom.errors.InvalidDicomError:
                continue
    return found


def test_tables_have_the_contract_columns(cohort_dir) -> None:
    clinical = pd.read_csv(cohort_dir / "clinical.csv", dtype=str, keep_default_na=False)
    visits = pd.read_csv(cohort_dir / "visits.csv", dtype=str, keep_default_na=False)
    scans = pd.read_csv(cohort_dir / "truth" / "scans.csv", dtype=str, keep_default_na=False)
    assert list(clinical.columns) == [
        "patient_id",
        "sex",
        "birth_date",
        "smoking",
        "death_date",
        "last_followup_date",
    ]
    assert list(visits.columns) == [
        "patient_id",
        "date",
        "fvc_pct",
        "dlco_pct",
        "dlco_cannot_perform",
        "treatment",
    ]
    for column in (
        "patient_id",
        "study_instance_uid",
        "series_instance_uid",
        "study_date",
        "linear_predictor",
        "frailty",
        "extent_honeycombing",
        "extent_reticulation",
        "extent_ground_glass",
        "extent_consolidation",
        "lung_volume_ml",
        "scanner_batch",
        "image_extent_ild",
        "image_lung_volume_ml",
    ):
        assert column in scans.columns, column
    assert len(clinical) == 3
    assert set(visits["dlco_cannot_perform"]) <= {"true", "false"}
    assert clinical["birth_date"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    spec = yaml.safe_load((cohort_dir / "truth" / "spec.yaml").read_text())
    assert spec["name"] == "test"
    assert spec["schedule"]["max_scans"] == 2
    # the written tables are those of the table-level simulation with the same spec and seed
    tables = simulate_cohort_tables(parse_cohort_spec(SMALL_SPEC), 3, seed=7)
    assert list(scans["series_instance_uid"]) == list(tables.scans["series_instance_uid"])
    assert np.allclose(scans["linear_predictor"].astype(float), tables.scans["linear_predictor"])


def test_tree_holds_every_truth_series_and_the_decoys(cohort_dir) -> None:
    dicom = cohort_dir / "dicom"
    for name in ("README.txt", "export.xml", "EXPORT_COMPLETE.marker"):
        assert (dicom / name).is_file()
    scans = pd.read_csv(cohort_dir / "truth" / "scans.csv", dtype=str, keep_default_na=False)
    clinical = pd.read_csv(cohort_dir / "clinical.csv", dtype=str, keep_default_na=False).set_index(
        "patient_id"
    )
    headers = _headers(dicom)
    by_series: dict[str, list[pydicom.Dataset]] = {}
    for _, ds in headers:
        by_series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    for row in scans.itertuples():
        study = [ds for _, ds in headers if ds.StudyInstanceUID == row.study_instance_uid]
        assert study, row.study_instance_uid
        main_series = by_series[row.series_instance_uid]
        assert len(main_series) >= 20
        first = main_series[0]
        assert first.PatientID == row.patient_id
        assert first.PatientBirthDate == clinical.loc[row.patient_id, "birth_date"].replace("-", "")
        assert str(first.PatientName)
        assert first.StudyDate == row.study_date.replace("-", "")
        assert "LOCALIZER" not in first.ImageType
        frame = first.FrameOfReferenceUID
        second = by_series[row.second_kernel_series_instance_uid]
        assert second[0].ConvolutionKernel != first.ConvolutionKernel
        assert second[0].FrameOfReferenceUID == frame
        assert len(second) == len(main_series)
        thick = by_series[row.thick_series_instance_uid]
        assert float(thick[0].SliceThickness) >= 5.0
        assert float(thick[0].SliceThickness) > float(first.SliceThickness)
        scouts = [ds for ds in study if "LOCALIZER" in ds.get("ImageType", [])]
        assert 1 <= len(scouts) <= 2
        dose = [ds for ds in study if ds.get("SeriesDescription") == "Dose Report"]
        assert len(dose) == 1
        assert dose[0].Modality in ("SR", "CT")
        if dose[0].Modality == "CT":
            assert "SECONDARY" in dose[0].ImageType
        folder = Path(
            next(p for p, ds in headers if ds.SeriesInstanceUID == row.series_instance_uid)
        ).parents[1]
        assert (folder / "DIRFILE").is_file()
        assert folder.parent.name == row.patient_id


def test_analysed_series_reads_back_with_the_truth_geometry(cohort_dir) -> None:
    scans = pd.read_csv(cohort_dir / "truth" / "scans.csv")
    row = scans.iloc[0]
    reader = sitk.ImageSeriesReader()
    folders = {p.parent for p in (cohort_dir / "dicom").rglob("IM*.dcm")}
    folder = next(
        f for f in folders if row["series_instance_uid"] in reader.GetGDCMSeriesIDs(str(f))
    )
    image = sitk.ReadImage(reader.GetGDCMSeriesFileNames(str(folder), row["series_instance_uid"]))
    lungs = sitk.ReadImage(
        str(cohort_dir / "truth" / "masks" / row["series_instance_uid"] / "lungs.nii.gz")
    )
    assert image.GetSize() == lungs.GetSize()
    assert np.allclose(image.GetSpacing(), lungs.GetSpacing(), atol=1e-3)
    assert np.allclose(image.GetOrigin(), lungs.GetOrigin(), atol=1e-2)
    lung = sitk.GetArrayFromImage(lungs) > 0
    voxel_ml = np.prod(lungs.GetSpacing()) / 1000.0
    assert lung.sum() * voxel_ml == pytest.approx(row["image_lung_volume_ml"], rel=1e-6)
    hu = sitk.GetArrayFromImage(image)
    assert -950 < hu[lung].mean() < -500  # aerated lung with disease


def test_cli_tables_only_and_bad_spec(tmp_path) -> None:
    out = tmp_path / "tables"
    assert (
        main(
            ["synth", "cohort", "--patients", "50", "--seed", "3", "--no-images", "--out", str(out)]
        )
        == 0
    )
    assert not (out / "dicom").exists()
    assert len(pd.read_csv(out / "clinical.csv")) == 50
    assert "linear_predictor" in (out / "truth" / "README.txt").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("hazard:\n  coefficients:\n    mean_density: 1.0\n")
    assert (
        main(
            [
                "synth",
                "cohort",
                "--patients",
                "5",
                "--no-images",
                "--spec",
                str(bad),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert (
        main(["synth", "cohort", "--patients", "5", "--size", "huge", "--out", str(tmp_path / "y")])
        == 2
    )
    assert (
        main(["synth", "cohort", "--patients", "5", "--no-images", "--out", str(out)]) == 2
    )  # not empty


def test_pet_ct_study_and_prone_expiratory_decoys(tmp_path) -> None:
    from ildrad.synth.cohort import write_cohort

    out = tmp_path / "pet"
    tables = write_cohort(
        out,
        n_patients=1,
        seed=11,
        size="tiny",
        pet=True,
        spec=parse_cohort_spec(
            {
                "schedule": {"max_scans": 1},
                "protocol": {"prone_probability": 1.0, "expiratory_probability": 1.0},
            }
        ),
    )
    hrct_row = tables.scans[tables.scans["study_kind"] == "hrct"].iloc[0]
    by_series = {ds.SeriesInstanceUID: ds for _, ds in _headers(out / "dicom")}
    prone = by_series[hrct_row["prone_series_instance_uid"]]
    expiratory = by_series[hrct_row["expiratory_series_instance_uid"]]
    assert prone.PatientPosition == "HFP"
    assert "Prone" in prone.SeriesDescription
    assert "Exp" in expiratory.SeriesDescription
    assert expiratory.PatientPosition == "HFS"
    assert prone.StudyInstanceUID == expiratory.StudyInstanceUID == hrct_row["study_instance_uid"]
    pet_row = tables.scans[tables.scans["study_kind"] == "petct"].iloc[0]
    assert pet_row["prone_series_instance_uid"] == ""
    headers = [
        ds
        for _, ds in _headers(out / "dicom")
        if ds.StudyInstanceUID == pet_row["study_instance_uid"]
    ]
    pet = [ds for ds in headers if ds.Modality == "PT"]
    ct = [ds for ds in headers if ds.SeriesInstanceUID == pet_row["series_instance_uid"]]
    assert pet
    assert ct
    assert all(ds.SeriesInstanceUID == pet_row["pet_series_instance_uid"] for ds in pet)
    assert {ds.FrameOfReferenceUID for ds in pet} == {ds.FrameOfReferenceUID for ds in ct}
    assert ct[0].Modality == "CT"
    assert pet[0].Units == "BQML"
    assert pet[0].DecayCorrection == "START"
    radio = pet[0].RadiopharmaceuticalInformationSequence[0]
    assert float(radio.RadionuclideTotalDose) > 1e8
    assert float(radio.RadionuclideHalfLife) == pytest.approx(6586.2)
    assert float(pet[0].PatientWeight) > 40
    assert (
        out / "truth" / "pet" / pet_row["pet_series_instance_uid"] / "truth_suv.nii.gz"
    ).is_file()
    # SUV recomputed from the header alone (body weight, dose decayed to the series start) matches
    # the generator's noise-free SUV on average (PSF and noise preserve the mean)
    files = sorted((p for p in (out / "dicom").rglob("*.dcm")), key=str)
    slices = [pydicom.dcmread(p) for p in files]
    slices = [ds for ds in slices if ds.get("Modality") == "PT"]
    bqml = np.stack(
        [ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in slices]
    )
    uptake = (
        pd.Timestamp(f"{pet[0].SeriesDate} {pet[0].SeriesTime}")
        - pd.Timestamp(f"{pet[0].SeriesDate} {radio.RadiopharmaceuticalStartTime}")
    ).total_seconds()
    dose = float(radio.RadionuclideTotalDose) * 2.0 ** (-uptake / float(radio.RadionuclideHalfLife))
    suv = bqml * float(pet[0].PatientWeight) * 1000.0 / dose
    truth = sitk.GetArrayFromImage(
        sitk.ReadImage(
            str(out / "truth" / "pet" / pet_row["pet_series_instance_uid"] / "truth_suv.nii.gz")
        )
    )
    assert suv.shape == truth.shape
    assert suv.mean() == pytest.approx(truth.mean(), rel=0.05)


def test_cli_phantom_writes_ct_and_truth(tmp_path) -> None:
    import json

    out = tmp_path / "phantom"
    assert (
        main(
            [
                "synth",
                "phantom",
                "--size",
                "tiny",
                "--extent",
                "0.3",
                "--honeycombing",
                "0.5",
                "--kernel",
                "sharp",
                "--seed",
                "2",
                "--dicom",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    numbers = json.loads((out / "truth.json").read_text())["numbers"]
    assert numbers["ild_extent"] == pytest.approx(0.3, abs=0.03)
    reader = sitk.ImageSeriesReader()
    image = sitk.ReadImage(reader.GetGDCMSeriesFileNames(str(out / "dicom")))
    patterns = sitk.ReadImage(str(out / "truth" / "patterns.nii.gz"))
    lungs = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "truth" / "lungs.nii.gz"))) > 0
    assert image.GetSize() == patterns.GetSize()
    assert np.allclose(image.GetOrigin(), patterns.GetOrigin(), atol=1e-2)
    labels = sitk.GetArrayFromImage(patterns)
    assert ((labels > 0) & (labels < 5)).sum() / lungs.sum() == pytest.approx(
        numbers["ild_extent"], abs=1e-6
    )
    assert main(["synth", "phantom", "--extent", "0.9", "--out", str(tmp_path / "bad")]) == 2


def test_cli_phantom_from_a_spec_file_and_again_from_its_truth(tmp_path, capsys) -> None:
    """Every PhantomSpec field can be given in a spec file (here body and lung size, an effusion,
    5 mm slices); truth.json of the result, given as the spec with the same seed, writes the same
    CT; a spec file and phantom options together, or an unknown key, are errors naming the file."""
    import json

    spec = {"size": "tiny", "ild_extent": 0.45, "kernel": "sharp", "noise_hu": 25.0,
            "body_scale": 1.1, "lung_scale": 0.9, "pleural_effusion_mm": 30.0,
            "slice_thickness_mm": 5.0,
            "pattern_mix": {"ground_glass": 0.3, "reticulation": 0.3, "honeycombing": 0.25,
                            "consolidation": 0.15}}
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["synth", "phantom", "--spec", str(spec_path), "--seed", "5", "--out", str(first)]) == 0
    written = json.loads((first / "truth.json").read_text())["spec"]
    for key in ("ild_extent", "body_scale", "lung_scale", "pleural_effusion_mm", "slice_thickness_mm"):
        assert written[key] == spec[key], key
    assert written["pattern_mix"] == spec["pattern_mix"]
    effusion = sitk.GetArrayFromImage(sitk.ReadImage(str(first / "truth" / "pleural_effusion.nii.gz")))
    assert effusion.any()
    truth_json = first / "truth.json"
    assert main(["synth", "phantom", "--spec", str(truth_json), "--seed", "5", "--out", str(second)]) == 0
    ct_a = sitk.GetArrayFromImage(sitk.ReadImage(str(first / "ct.nii.gz")))
    ct_b = sitk.GetArrayFromImage(sitk.ReadImage(str(second / "ct.nii.gz")))
    assert np.array_equal(ct_a, ct_b)
    capsys.readouterr()
    assert main(["synth", "phantom", "--spec", str(spec_path), "--extent", "0.3",
                 "--out", str(tmp_path / "c")]) == 2
    assert "not both" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("bogus: 1\n")
    assert main(["synth", "phantom", "--spec", str(bad), "--out", str(tmp_path / "d")]) == 2
    assert "bad.yaml" in capsys.readouterr().err
