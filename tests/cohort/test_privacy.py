"""The decoded identifier scan finds identifiers hidden in every encoding, and none in a workspace."""

from __future__ import annotations

import base64
import gzip
import io

import numpy as np
import pandas as pd
import pytest
from dicom_tree import PATIENT, make_tree

from ildrad.cohort.index import index_tree
from ildrad.cohort.manifest import build_manifest
from ildrad.cohort.privacy import identifier_terms, scan_for_identifiers

CLINICAL = "patient_id,sex,birth_date,death_date,last_followup_date\nSSC-000123,F,1961-03-04,,2025-01-05\n"


@pytest.fixture
def workspace(tmp_path):
    make_tree(tmp_path / "dicom")
    ws = tmp_path / "ws"
    index_tree(tmp_path / "dicom", ws)
    (tmp_path / "clinical.csv").write_text(CLINICAL)
    build_manifest(ws, tmp_path / "clinical.csv")
    return ws


def _png_with_text(text: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig = plt.figure(figsize=(1, 1))
    fig.savefig(buffer, format="png", metadata={"Description": text})
    plt.close(fig)
    return buffer.getvalue()


def test_terms_include_name_parts_and_date_forms(workspace) -> None:
    terms = identifier_terms(workspace)
    assert {"Doe^Jane", "SSC-000123", "19610304", "1961-03-04", "ACC998877", "Hopital Test"} <= terms


def test_clean_workspace_has_no_identifier(workspace) -> None:
    assert scan_for_identifiers(workspace, identifier_terms(workspace)) == []


def test_identifiers_found_in_every_encoding(workspace) -> None:
    import SimpleITK as sitk

    export = workspace / "export"
    export.mkdir()
    pd.DataFrame({"who": ["x", PATIENT["PatientName"]]}).to_parquet(export / "leak.parquet")
    (export / "log.txt.gz").write_bytes(gzip.compress(b"processing SSC-000123"))
    itk = sitk.GetImageFromArray(np.zeros((2, 2, 2), np.uint8))
    itk.SetMetaData("ITK_FileNotes", "ACC998877")  # written to the NIfTI descrip field
    sitk.WriteImage(itk, str(export / "mask.nii.gz"))
    (export / "qc.png").write_bytes(_png_with_text("born 1961-03-04"))
    embedded = base64.b64encode(_png_with_text("Hopital Test")).decode()
    (export / "report.html").write_text(f'<html><img src="data:image/png;base64,{embedded}"></html>')
    found = {(f.path, f.term) for f in scan_for_identifiers(workspace, identifier_terms(workspace))}
    assert ("export/leak.parquet", "Doe^Jane") in found
    assert ("export/log.txt.gz", "SSC-000123") in found
    assert ("export/mask.nii.gz", "ACC998877") in found
    assert ("export/qc.png", "1961-03-04") in found
    assert ("export/report.html", "Hopital Test") in found


def test_numeric_ids_match_whole_numbers_only(tmp_path) -> None:
    pd.DataFrame({"volume_ml": [1234.681250, 17.0], "other": [681250, 3]}).to_parquet(tmp_path / "f.parquet")
    found = scan_for_identifiers(tmp_path, {"681250"})
    assert [(f.where, f.term) for f in found] == [("parquet column other", "681250")]


def test_report_phrases_and_base64_noise_are_not_findings(tmp_path) -> None:
    noise = base64.b64encode(bytes(range(256)) * 40).decode()
    (tmp_path / "r.html").write_text(f"<p>Kaplan-Meier curves</p><img src='data:image/png;base64,{noise}'>")
    in_payload = noise[100:108]  # a string that the raw base64 text certainly contains
    assert scan_for_identifiers(tmp_path, {"Meier", in_payload}) == []
    (tmp_path / "s.html").write_text("<p>patient Meier</p>")
    assert [f.path for f in scan_for_identifiers(tmp_path, {"Meier"})] == ["s.html"]
