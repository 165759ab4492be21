"""The manifest: clinical values at each scan's date, outcomes, schema errors naming row and column."""

from __future__ import annotations

import datetime as dt

import pytest
from dicom_tree import make_tree

from ildrad.cohort.index import index_tree
from ildrad.cohort.manifest import build_manifest, read_clinical, read_visits
from ildrad.errors import InputError

CLINICAL = (
    "patient_id,sex,birth_date,smoking,death_date,last_followup_date,anti_scl70\n"
    "SSC-000123,F,1961-03-04,never,2025-01-05,2025-01-05,1\n"
)
VISITS = (
    "patient_id,date,fvc_pct,dlco_pct,dlco_cannot_perform,treatment\n"
    "SSC-000123,2022-12-01,81,60,false,MMF\n"
    "SSC-000123,2023-01-20,78,,true,MMF\n"
    "SSC-000123,2023-06-01,70,45,false,nintedanib\n"
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("dicom")
    make_tree(root)
    ws = tmp_path_factory.mktemp("ws")
    index_tree(root, ws)
    (ws / "clinical.csv").write_text(CLINICAL)
    (ws / "visits.csv").write_text(VISITS)
    return ws


def test_values_at_the_scan_date(workspace) -> None:
    manifest = build_manifest(workspace, workspace / "clinical.csv", workspace / "visits.csv", window_days=90)
    assert len(manifest) == 3  # the HRCT, the low-dose CT and the PET
    hrct = manifest[(manifest.modality == "CT") & (manifest.study_date.dt.month == 1)].iloc[0]
    # scan 2023-01-05: visits 35 days before and 15 days after -> the later one (nearest)
    assert hrct.fvc_pct == 78 and bool(hrct.dlco_cannot_perform) and hrct.visit_gap_days == 15
    assert hrct.age_years == pytest.approx((dt.date(2023, 1, 5) - dt.date(1961, 3, 4)).days / 365.25)
    # died 2025-01-05: 731 days after the HRCT
    assert hrct.followup_days == 731 and bool(hrct.death)
    assert hrct.extra_anti_scl70 == 1
    pet = manifest[manifest.modality == "PT"].iloc[0]
    assert pet.ct_scan_key in set(manifest.scan_key)
    assert pet.fvc_pct == 70 and pet.treatment == "nintedanib"
    assert (workspace / "manifest.parquet").is_file()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("patient_id,sex,birth_date,death_date\nA,F,2000-01-01,\n", r"lacks column\(s\) last_followup_date"),
        ("patient_id,sex,birth_date,death_date,last_followup_date\nA,X,2000-01-01,,2020-01-01\n",
         r"row 2 \(patient_id A\), column 'sex': 'X' is not M or F"),
        ("patient_id,sex,birth_date,death_date,last_followup_date\nA,F,2000-01-01,,2020-01-01\n"
         "B,M,1950-02-30,,2020-01-01\n", r"row 3 \(patient_id B\), column 'birth_date': '1950-02-30' is not a date"),
        ("patient_id,sex,birth_date,death_date,last_followup_date\nA,F,2000-01-01,,2020-01-01\n"
         "A,F,2000-01-01,,2020-01-01\n", r"row 3 \(patient_id A\), column 'patient_id': patient listed twice"),
    ],
)
def test_clinical_schema_errors(tmp_path, text, message) -> None:
    path = tmp_path / "clinical.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_clinical(path)


def test_visit_values_checked(tmp_path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("patient_id,date,fvc_pct,dlco_pct\nA,2020-01-01,eighty,50\n")
    with pytest.raises(InputError, match=r"column 'fvc_pct': 'eighty' is not a number"):
        read_visits(path)


def test_index_and_mapping_commands(tmp_path) -> None:
    import pandas as pd

    from ildrad.cli import main

    root = tmp_path / "dicom"
    uids = make_tree(root)
    (tmp_path / "clinical.csv").write_text(CLINICAL)
    ws = tmp_path / "ws"
    assert main(["index", str(root), "--clinical", str(tmp_path / "clinical.csv"), "--out", str(ws)]) == 0
    assert (ws / "manifest.parquet").is_file()
    assert main(["mapping", str(ws), "--out", str(tmp_path / "map.csv")]) == 0
    mapping = pd.read_csv(tmp_path / "map.csv")
    assert set(mapping.series_instance_uid) == set(uids.values())
    assert main(["index", str(tmp_path / "absent"), "--clinical", str(tmp_path / "clinical.csv"),
                 "--out", str(ws)]) == 2


def test_all_visits_written_with_pseudonymous_keys(workspace) -> None:
    import pandas as pd

    build_manifest(workspace, workspace / "clinical.csv", workspace / "visits.csv")
    visits = pd.read_parquet(workspace / "visits.parquet")
    assert len(visits) == 3 and "patient_id" not in visits.columns
    manifest = pd.read_parquet(workspace / "manifest.parquet")
    assert set(visits.patient_key) == set(manifest.patient_key)
