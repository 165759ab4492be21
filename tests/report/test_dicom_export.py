"""DICOM SEG and TID 1500 SR export: validated by dciodvfy (dicom3tools), read back by ildrad's own
SEG reader and by highdicom, pseudonymous by default; an imported edited SEG overrides the lungs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from report_decoding import decoded_copy

from ildrad.cli import main
from ildrad.cohort.privacy import identifier_terms, scan_for_identifiers

DCIODVFY = shutil.which("dciodvfy")


def _private(workspace: Path) -> pd.DataFrame:
    return pd.read_parquet(workspace / "private" / "series_paths.parquet").set_index("scan_key")


def _masks(workspace: Path, scan_key: str) -> Path:
    return next((workspace / "store").glob(f"*/masks/{scan_key}"))


#: Scans exported by the module fixture (two keep the suite fast; the CLI exports all by default).
EXPORTED_SCANS = 2


def _exported_keys(workspace: Path) -> list[str]:
    from ildrad.cohort.store import load_features

    features = load_features(workspace)
    return sorted(features[features.modality == "CT"].scan_key)[:EXPORTED_SCANS]


@pytest.fixture(scope="module")
def exported(report_workspace, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    scans = [a for key in _exported_keys(report_workspace) for a in ("--scan", key)]
    assert main(["export", str(report_workspace), "--out", str(out), *scans]) == 0
    return out


def _objects(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm"))


def test_every_exported_ct_scan_has_three_segs_and_an_sr(exported, report_workspace) -> None:
    keys = set(_exported_keys(report_workspace))
    assert {p.parent.name for p in _objects(exported)} == keys
    for key in keys:
        names = sorted(p.name for p in _objects(exported) if p.parent.name == key)
        assert names == ["lungs_seg.dcm", "qct_sr.dcm", "rind_seg.dcm", "zones_seg.dcm"]


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian dicom3tools) is not installed")
def test_dciodvfy_finds_no_error(exported) -> None:
    for path in _objects(exported):
        result = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
        errors = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if line.startswith("Error")
        ]
        assert errors == [], f"{path.name}: {errors[:5]}"


def test_segs_read_back_onto_the_ct_grid_equal_the_workspace_masks(
    exported, report_workspace
) -> None:
    from ildrad.io.dicom_seg import read_seg
    from ildrad.io.volume_files import read_mask
    from ildrad.report.dicom_export import SEG_SEGMENTS

    for seg_path in [p for p in _objects(exported) if p.name.endswith("_seg.dcm")]:
        kind = seg_path.name.removesuffix("_seg.dcm")
        mask = read_mask(_masks(report_workspace, seg_path.parent.name) / f"{kind}.nii.gz")
        back = read_seg(
            seg_path, mask.grid
        )  # ildrad's reader: frames placed by their plane positions
        labels = {
            number: label
            for number, label in enumerate(
                [lab for lab in SEG_SEGMENTS[kind] if np.any(mask.array == lab)], start=1
            )
        }
        expected = np.zeros_like(back.array)
        for number, label in labels.items():
            expected[mask.array == label] = number
        np.testing.assert_array_equal(back.array, expected)


def test_sr_holds_the_store_values_and_references_the_source_series(
    exported, report_workspace
) -> None:
    import highdicom as hd

    from ildrad.cohort.store import load_features

    features = load_features(report_workspace).set_index("scan_key")
    private = _private(report_workspace)
    for sr_path in [p for p in _objects(exported) if p.name == "qct_sr.dcm"]:
        key = sr_path.parent.name
        sr = hd.sr.srread(sr_path)
        assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
        groups = sr.content.get_volumetric_roi_measurement_groups()
        assert groups
        values = {}
        for group in groups:
            region = str(group.tracking_identifier).split(" ")[0]
            for measurement in group.get_measurements():
                values[(region, measurement.name.meaning)] = measurement.value
        assert values[("right", "Volume")] == pytest.approx(
            features.loc[key, "qct__right__original__volume_ml"]
        )
        assert values[("left", "Mean lung density")] == pytest.approx(
            features.loc[key, "qct__left__original__mld_hu"]
        )
        text = str(pydicom.dcmread(sr_path))
        assert private.loc[key, "series_instance_uid"] in text  # the source series is referenced


def test_export_is_pseudonymous(exported, report_workspace, tmp_path) -> None:
    patient_keys = set(pd.read_parquet(report_workspace / "manifest.parquet").patient_key)
    for path in _objects(exported):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert str(ds.PatientName).rstrip("^") == str(ds.PatientID) == path.parent.parent.name
        assert ds.PatientID in patient_keys
        assert not ds.get("PatientBirthDate") and not ds.get("AccessionNumber")
        assert "InstitutionName" not in ds
    terms = identifier_terms(report_workspace)
    uids = decoded_copy(exported, tmp_path / "decoded")
    assert scan_for_identifiers(tmp_path / "decoded", terms) == []
    assert uids and not uids & terms


def test_identified_export_copies_the_source_headers_and_says_so(
    report_workspace, tmp_path
) -> None:
    private = _private(report_workspace)
    key = next(p.parent.name for p in (report_workspace / "store").glob("*/masks/*/lungs.nii.gz"))
    assert (
        main(
            ["export", str(report_workspace), "--out", str(tmp_path), "--identified", "--scan", key]
        )
        == 0
    )
    source = pydicom.dcmread(private.loc[key, "files"][0], stop_before_pixels=True)
    seg = pydicom.dcmread(next(tmp_path.rglob("lungs_seg.dcm")), stop_before_pixels=True)
    assert seg.PatientID == source.PatientID and seg.PatientName == source.PatientName
    assert "IDENTIFIED" in (tmp_path / "README.txt").read_text()


def test_imported_edited_seg_overrides_the_lungs_in_the_next_run(
    report_workspace, tmp_path
) -> None:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from ildrad.cohort.store import load_features
    from ildrad.io.volume_files import read_mask
    from ildrad.report.dicom_export import _slice_order, _source_datasets

    workspace = tmp_path / "ws"
    shutil.copytree(report_workspace, workspace)
    private = _private(workspace)
    key = next(p.parent.name for p in (workspace / "store").glob("*/masks/*/lungs.nii.gz"))
    before = load_features(workspace).set_index("scan_key").loc[key]
    lungs = read_mask(_masks(workspace, key) / "lungs.nii.gz")
    edited = lungs.array.copy()
    middle = int(np.median(np.argwhere(edited == 1)[:, 0]))
    edited[:middle][edited[:middle] == 1] = (
        0  # the right lung's slices before its median slice removed
    )
    sources = _source_datasets(list(private.loc[key, "files"]), "x", identified=True)
    order = _slice_order(sources, lungs)
    stack = np.stack([edited[order] == 1, edited[order] == 2], axis=-1).astype(np.uint8)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=label,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Lung,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for n, label in ((1, "Right lung (edited)"), (2, "Left lung"))
    ]
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=stack,
        segmentation_type="BINARY",
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=7,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Slicer-like",
        manufacturer_model_name="test",
        software_versions="0",
        device_serial_number="0",
    )
    seg.save_as(tmp_path / "edited.dcm")
    assert main(["import-seg", str(workspace), str(tmp_path / "edited.dcm")]) == 0
    assert key not in set(load_features(workspace).scan_key)  # the finished row was dropped
    assert main(
        [
            "-q",
            "run",
            str(workspace),
            "--workers",
            "1",
            "--config",
            str(report_workspace.parent / "config.yaml"),
        ]
    ) in (0, 3)
    after = load_features(workspace).set_index("scan_key").loc[key]
    voxel_ml = float(np.prod(lungs.grid.spacing)) / 1000.0
    assert isinstance(after["lung_override_hash"], str)
    assert after["qct__right__original__volume_ml"] == pytest.approx(
        (edited == 1).sum() * voxel_ml, rel=1e-6
    )
    assert (
        after["qct__right__original__volume_ml"] < 0.8 * before["qct__right__original__volume_ml"]
    )
    assert after["qct__left__original__volume_ml"] == pytest.approx(
        before["qct__left__original__volume_ml"]
    )
