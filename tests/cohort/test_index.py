"""Indexing a DICOM tree with decoys: grouping, qualification, choice, pairing, privacy."""

from __future__ import annotations

import pandas as pd
import pytest
from dicom_tree import PATIENT, make_tree

from ildrad.cohort.index import index_tree, read_series_table
from ildrad.cohort.keys import Keyer
from ildrad.errors import InputError


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("dicom")
    uids = make_tree(root)
    workspace = tmp_path_factory.mktemp("ws")
    result = index_tree(root, workspace)
    keyer = Keyer.for_workspace(workspace)
    keys = {name: keyer.scan_key(uid) for name, uid in uids.items()}
    return result, keys, workspace


def row(result, keys, name):
    table = result.series.set_index("scan_key")
    return table.loc[keys[name]]


def test_every_series_found_once_duplicates_collapsed(indexed) -> None:
    result, keys, _ = indexed
    assert set(result.series.scan_key) == set(keys.values())
    main = row(result, keys, "main")
    assert main.n_files == 30  # the duplicated export's copies are the same instances
    assert main.n_slices == 30
    assert main.slice_spacing_mm == pytest.approx(1.0)


def test_one_ct_chosen_per_study_by_the_rule(indexed) -> None:
    result, keys, _ = indexed
    chosen = result.series[result.series.chosen]
    assert set(chosen.scan_key) == {keys["main"], keys["ldct"], keys["pet"]}
    # the smooth kernel wins over the sharp one at equal thickness; prone loses to supine
    assert "ranks higher" in row(result, keys, "sharp").choice_reason
    assert row(result, keys, "prone").qualifies


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("scout", "localizer"),
        ("dose", "modality SR"),
        ("thick", "fewer than 20"),
        ("gappy", "non-uniform slice spacing"),
    ],
)
def test_decoys_do_not_qualify_and_say_why(indexed, name, reason) -> None:
    result, keys, _ = indexed
    entry = row(result, keys, name)
    assert not entry.qualifies
    assert reason in entry.not_qualified_reason


def test_pet_paired_with_the_low_dose_ct_of_its_study(indexed) -> None:
    result, keys, _ = indexed
    assert row(result, keys, "pet").paired_ct_scan_key == keys["ldct"]


def test_corrupt_file_recorded_privately(indexed) -> None:
    result, _, workspace = indexed
    assert len(result.unreadable) == 1
    assert result.unreadable.path.iloc[0].endswith("corrupt.dcm")
    assert (workspace / "private" / "unreadable_files.parquet").is_file()


def test_public_table_holds_no_identifier(indexed) -> None:
    _, _, workspace = indexed
    table = read_series_table(workspace)
    text = table.astype(str).to_csv()
    for value in [*PATIENT.values(), "ACC998877", "Hopital Test"]:
        assert value not in text
    private = pd.read_parquet(workspace / "private" / "series_paths.parquet")
    assert PATIENT["PatientID"] in set(private.patient_id)


def test_empty_or_missing_root(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        index_tree(tmp_path / "absent", tmp_path / "ws")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="no DICOM series found .1 non-DICOM"):
        index_tree(tmp_path / "empty", tmp_path / "ws")
