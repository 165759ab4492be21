"""The feature store: one Parquet file per scan, written atomically, in a result set per config.

Layout (``docs/workspace.md``): ``WORKSPACE/store/<result_set>/scans/<scan_key>.parquet`` and
``failures/<scan_key>.json``, where ``result_set = <config hash>-v<ildrad version>``: a change of
configuration or version starts a new result set instead of mixing results.

A row is written to a temporary name in the same folder and renamed into place (atomic on POSIX),
so a process killed mid-write leaves at most a ``*.tmp`` file, never a partial row. Before the
rename the writer checks that its run still owns the result set (``run.token``): workers orphaned
by a killed run cannot write into the next run. A run holds an exclusive ``flock`` on
``run.lock`` for its lifetime; the kernel releases it when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ildrad import __version__
from ildrad.errors import InputError

__all__ = [
    "MASKS_DIR",
    "ResultSet",
    "load_failures",
    "load_features",
    "mask_result_set_dir",
    "result_set_name",
    "stored_lung_mask",
]

STORE_DIR = "store"
#: Folder of a result set holding each scan's masks (``masks/<scan_key>/lungs.nii.gz``), written
#: when ``run.keep_masks`` is on.
MASKS_DIR = "masks"
_SCANS, _FAILURES, _TOKEN, _LOCK = "scans", "failures", "run.token", "run.lock"


def result_set_name(config_hash: str, version: str = __version__) -> str:
    """Folder name of the result set of one configuration hash and ildrad version."""
    return f"{config_hash}-v{version}"


class ResultSet:
    """One result set of a workspace's store (paths and atomic writes; picklable)."""

    def __init__(self, workspace: str | Path, name: str) -> None:
        self.root = Path(workspace) / STORE_DIR / name
        self.name = name

    @property
    def scans_dir(self) -> Path:
        return self.root / _SCANS

    @property
    def failures_dir(self) -> Path:
        return self.root / _FAILURES

    def done_keys(self) -> set[str]:
        """Scan keys with a finished row."""
        if not self.scans_dir.is_dir():
            return set()
        return {p.name[: -len(".parquet")] for p in self.scans_dir.glob("*.parquet")}

    @contextlib.contextmanager
    def exclusive_run(self) -> Iterator[str]:
        """Hold the result set for one run; yields the run token that writers must present."""
        for folder in (self.scans_dir, self.failures_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for leftover in [*self.scans_dir.glob("*.tmp"), *self.failures_dir.glob("*.tmp")]:
            leftover.unlink(missing_ok=True)  # partial writes of a killed run
        handle = (self.root / _LOCK).open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            handle.close()
            raise InputError(f"{self.root}: another run is writing this result set") from err
        token = uuid.uuid4().hex
        self._atomic_write(self.root / _TOKEN, token.encode())
        try:
            yield token
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _owns(self, token: str) -> bool:
        try:
            return (self.root / _TOKEN).read_text() == token
        except FileNotFoundError:
            return False

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def write_row(self, scan_key: str, row: dict[str, Any], token: str) -> bool:
        """Write a finished scan's row; False (nothing written) when the run lost ownership."""
        if not self._owns(token):
            return False
        frame = pd.DataFrame([row])
        temporary = self.scans_dir / f".{scan_key}.{uuid.uuid4().hex}.tmp"
        frame.to_parquet(temporary, index=False)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        if not self._owns(token):
            temporary.unlink(missing_ok=True)
            return False
        os.replace(temporary, self.scans_dir / f"{scan_key}.parquet")
        (self.failures_dir / f"{scan_key}.json").unlink(missing_ok=True)
        return True

    def write_failure(self, scan_key: str, failure: dict[str, Any], token: str) -> bool:
        """Record why a scan failed (replaced by its row once it succeeds)."""
        if not self._owns(token):
            return False
        self._atomic_write(self.failures_dir / f"{scan_key}.json", json.dumps(failure, sort_keys=True).encode())
        return True


def _newest_result_set_dir(workspace: Path, holding: str) -> Path | None:
    """The most recently modified result set folder that has a ``holding`` subfolder, if any."""
    store = workspace / STORE_DIR
    if not store.is_dir():
        return None
    holders = (p for p in store.glob("*") if (p / holding).is_dir())
    candidates = sorted(holders, key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def _latest_result_set(workspace: Path) -> ResultSet:
    newest = _newest_result_set_dir(workspace, _SCANS)
    if newest is None:
        raise InputError(f"{workspace}: no feature store yet; run `ildrad run` first")
    return ResultSet(workspace, newest.name)


def mask_result_set_dir(workspace: Path, result_set: str | None) -> Path:
    """The folder of result set ``result_set``, or of the newest one keeping lung masks; an
    InputError when it keeps none."""
    store = workspace / STORE_DIR
    if result_set:
        folder = store / result_set
        if not (folder / MASKS_DIR).is_dir():
            raise InputError(f"{folder}: result set has no {MASKS_DIR}/ folder (run `ildrad run` first)")
        return folder
    newest = _newest_result_set_dir(workspace, MASKS_DIR)
    if newest is None:
        raise InputError(f"{workspace}: no lung masks in the feature store; run `ildrad run` first")
    return newest


def stored_lung_mask(result_set_dir: Path, scan_key: str) -> Path:
    """The lung mask a result set keeps for ``scan_key`` (``masks/<scan_key>/lungs.nii.gz``)."""
    return result_set_dir / MASKS_DIR / scan_key / "lungs.nii.gz"


def load_features(workspace: str | Path, result_set: str | None = None) -> pd.DataFrame:
    """The feature table (one row per finished scan) of a result set (default: the latest)."""
    workspace = Path(workspace)
    results = ResultSet(workspace, result_set) if result_set else _latest_result_set(workspace)
    files = sorted(results.scans_dir.glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["scan_key", "patient_key"])
    frames = [pd.read_parquet(f) for f in files]
    table = pd.concat(frames, ignore_index=True).sort_values("scan_key").reset_index(drop=True)
    return table.copy()  # one block per dtype: rows with differing columns leave many blocks


def load_failures(workspace: str | Path, result_set: str | None = None) -> pd.DataFrame:
    """Failed scans of a result set: scan_key, stage, error."""
    workspace = Path(workspace)
    results = ResultSet(workspace, result_set) if result_set else _latest_result_set(workspace)
    rows = [json.loads(p.read_text()) for p in sorted(results.failures_dir.glob("*.json"))]
    return pd.DataFrame(rows, columns=["scan_key", "patient_key", "stage", "error"]) if rows else \
        pd.DataFrame(columns=["scan_key", "patient_key", "stage", "error"])
