"""Cohort runs: resume after SIGKILL of the client or of a worker, external Dask cluster,
identifier-free workspace, failures recorded without stopping the batch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ildrad.cli import main
from ildrad.cohort.privacy import identifier_terms, scan_for_identifiers
from ildrad.cohort.store import load_failures, load_features

pytestmark = pytest.mark.slow
ILDRAD = [sys.executable, "-m", "ildrad.cli"]
FAST_CONFIG = "run:\n  stages: [lungs]\n  keep_masks: false\n"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """A small synthetic cohort indexed once; tests copy the workspace."""
    root = tmp_path_factory.mktemp("cohort")
    assert main(["synth", "cohort", "--patients", "2", "--seed", "4", "--size", "tiny", "--out",
                 str(root / "data")]) == 0
    workspace = root / "ws"
    assert main(["index", str(root / "data" / "dicom"), "--clinical", str(root / "data" / "clinical.csv"),
                 "--visits", str(root / "data" / "visits.csv"), "--out", str(workspace)]) == 0
    (root / "fast.yaml").write_text(FAST_CONFIG)
    return root


def _copy(indexed: Path, name: str) -> Path:
    target = indexed / name
    shutil.copytree(indexed / "ws", target)
    return target


def _comparable(workspace: Path) -> pd.DataFrame:
    table = load_features(workspace)
    return table.drop(columns=[c for c in table.columns if c.endswith("_seconds")]).sort_values("scan_key") \
        .reset_index(drop=True)


@pytest.fixture(scope="module")
def clean_run(indexed) -> Path:
    workspace = _copy(indexed, "clean")
    assert main(["run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "1"]) == 0
    return workspace


def _wait_for_rows(workspace: Path, count: int, timeout: float = 300.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = list(workspace.glob("store/*/scans/*.parquet"))
        if len(rows) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"no {count} finished rows after {timeout} s")


def test_clean_run_is_complete_and_identifier_free(clean_run) -> None:
    manifest = pd.read_parquet(clean_run / "manifest.parquet")
    features = load_features(clean_run)
    assert set(features.scan_key) == set(manifest.scan_key)
    assert features["qct__lung__original__volume_ml"].gt(500).all()
    assert load_failures(clean_run).empty
    assert scan_for_identifiers(clean_run, identifier_terms(clean_run)) == []


def test_sigkill_of_the_client_then_resume_equals_a_clean_run(indexed, clean_run) -> None:
    workspace = _copy(indexed, "killed_client")
    command = [*ILDRAD, "run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_rows(workspace, 1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # client and its workers, mid-run
        process.wait()
    done_before = {p.name for p in workspace.glob("store/*/scans/*.parquet")}
    assert 0 < len(done_before) < len(pd.read_parquet(workspace / "manifest.parquet"))
    assert main(["run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "1"]) == 0
    pd.testing.assert_frame_equal(_comparable(workspace), _comparable(clean_run))


def test_sigkill_of_a_worker_mid_run(indexed, clean_run) -> None:
    import psutil

    workspace = _copy(indexed, "killed_worker")
    command = [*ILDRAD, "run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_rows(workspace, 1)
        workers = [p for p in psutil.Process(process.pid).children(recursive=True)
                   if "python" in p.name().lower()]
        assert workers, "no worker process found"
        workers[-1].kill()  # the nanny restarts it; its task is retried elsewhere
        code = process.wait(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    if code != 0:  # a task that died with its worker too often is recorded; the rerun completes it
        assert main(["run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "1"]) == 0
    pd.testing.assert_frame_equal(_comparable(workspace), _comparable(clean_run))


def test_external_scheduler_runs_the_same_job(indexed, clean_run, tmp_path) -> None:
    workspace = _copy(indexed, "external")
    scheduler_file = tmp_path / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    worker = None
    try:
        deadline = time.time() + 60
        while not scheduler_file.is_file() and time.time() < deadline:
            time.sleep(0.2)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                   "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        assert main(["run", str(workspace), "--config", str(indexed / "fast.yaml"), "--scheduler", address]) == 0
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    pd.testing.assert_frame_equal(_comparable(workspace), _comparable(clean_run))


def test_a_bad_scan_is_recorded_and_the_batch_goes_on(indexed) -> None:
    workspace = _copy(indexed, "bad_scan")
    private = pd.read_parquet(workspace / "private" / "series_paths.parquet")
    manifest = pd.read_parquet(workspace / "manifest.parquet")
    victim = manifest.scan_key.iloc[0]
    first_file = Path(private.set_index("scan_key").files[victim][0])
    backup = first_file.read_bytes()
    try:
        first_file.write_bytes(backup[:400])  # truncated
        code = main(["run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "1"])
    finally:
        first_file.write_bytes(backup)
    assert code == 3
    failures = load_failures(workspace)
    assert list(failures.scan_key) == [victim]
    assert failures.stage.iloc[0] == "read"
    assert len(load_features(workspace)) == len(manifest) - 1
    # the rerun retries only the failed scan
    assert main(["run", str(workspace), "--config", str(indexed / "fast.yaml"), "--workers", "1"]) == 0
    assert load_failures(workspace).empty


def test_a_new_config_makes_a_new_result_set(indexed, clean_run) -> None:
    workspace = indexed / "other_config"
    shutil.copytree(clean_run, workspace)  # finished under fast.yaml
    config = indexed / "other.yaml"
    config.write_text(FAST_CONFIG + "segment:\n  rind_mm: 5.0\n")
    assert main(["run", str(workspace), "--config", str(config), "--workers", "1"]) == 0
    sets = sorted(p.name for p in (workspace / "store").iterdir())
    assert len(sets) == 2
    for name in sets:
        assert len(load_features(workspace, name)) == len(pd.read_parquet(workspace / "manifest.parquet"))
