"""Feature store: atomic rows, ownership tokens, exclusive runs, result sets by config."""

from __future__ import annotations

import pytest

from ildrad.cohort.store import ResultSet, load_failures, load_features, result_set_name
from ildrad.errors import InputError


def test_rows_are_written_only_by_the_owning_run(tmp_path) -> None:
    results = ResultSet(tmp_path, result_set_name("abc123"))
    with results.exclusive_run() as first:
        assert results.write_row("k1", {"scan_key": "k1", "patient_key": "p1", "qct__lung__original__mld_hu": -850.0}, first)
        assert results.write_failure("k2", {"scan_key": "k2", "patient_key": "p1", "stage": "read", "error": "x"}, first)
    with results.exclusive_run() as second:
        # a worker orphaned by the first run cannot write into the second
        assert not results.write_row("k3", {"scan_key": "k3", "patient_key": "p2"}, first)
        assert results.write_row("k2", {"scan_key": "k2", "patient_key": "p1", "qct__lung__original__mld_hu": -700.0}, second)
    features = load_features(tmp_path)
    assert list(features.scan_key) == ["k1", "k2"]
    assert load_failures(tmp_path).empty  # the retried scan replaced its failure
    assert results.done_keys() == {"k1", "k2"}


def test_a_second_live_run_is_refused(tmp_path) -> None:
    results = ResultSet(tmp_path, "set")
    with results.exclusive_run(), pytest.raises(InputError, match="another run"):
        with ResultSet(tmp_path, "set").exclusive_run():
            pass


def test_partial_writes_are_cleared_and_never_read(tmp_path) -> None:
    results = ResultSet(tmp_path, "set")
    results.scans_dir.mkdir(parents=True)
    (results.scans_dir / ".k9.deadbeef.tmp").write_bytes(b"PAR1 half a file")
    with results.exclusive_run() as token:
        assert not list(results.scans_dir.glob("*.tmp"))
        results.write_row("k1", {"scan_key": "k1", "patient_key": "p"}, token)
    assert list(load_features(tmp_path).scan_key) == ["k1"]


def test_result_sets_are_keyed_by_config_and_version() -> None:
    assert result_set_name("h1", "0.1.0") != result_set_name("h2", "0.1.0")
    assert result_set_name("h1", "0.1.0") != result_set_name("h1", "0.2.0")
