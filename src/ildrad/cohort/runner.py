"""Map the per-scan pipeline over a workspace's scans with Dask distributed, resumably.

The client builds one self-contained task per scan still to do (scan key, file paths read from
``private/``, the configuration), submits them to an embedded ``LocalCluster`` (one thread per
worker process, BLAS/OpenMP threads pinned to 1 so results do not depend on the worker count) or
to an existing scheduler, and shows done, failed, rate and ETA. Each worker writes its scan's row
itself, atomically (:mod:`ildrad.cohort.store`), so nothing finished is lost when the client or a
worker is killed, and a rerun skips finished scans. Failed scans record their stage and error and
are retried by the next run. The per-scan function never knows it is distributed.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ildrad import __version__
from ildrad.cohort.index import PRIVATE_SERIES_FILE
from ildrad.cohort.keys import PRIVATE_DIR
from ildrad.cohort.manifest import read_manifest
from ildrad.cohort.store import MASKS_DIR, ResultSet, result_set_name
from ildrad.config import Config, config_hash
from ildrad.errors import InputError

__all__ = ["RunSummary", "ScanTask", "run_cohort"]

log = logging.getLogger(__name__)

#: Environment of worker processes: single-threaded numerical libraries.
WORKER_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                      "NUMBA_NUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")}


@dataclasses.dataclass(frozen=True)
class ScanTask:
    """Everything one scan's processing needs (picklable; file paths never reach the store)."""

    scan_key: str
    patient_key: str
    modality: str
    files: tuple[str, ...]
    config: Config
    ct_scan_key: str | None = None
    ct_files: tuple[str, ...] = ()
    fvc_pct: float | None = None


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """Outcome of one run."""

    result_set: str
    total: int
    skipped: int
    succeeded: int
    failed: int
    seconds: float


class ScanFailure(Exception):
    """A stage of the per-scan pipeline failed (``stage`` names it)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message


def _tasks(workspace: Path, config: Config, done: set[str]) -> tuple[list[ScanTask], int]:
    manifest = read_manifest(workspace)
    private_path = workspace / PRIVATE_DIR / PRIVATE_SERIES_FILE
    files = pd.read_parquet(private_path).set_index("scan_key").files.to_dict()
    tasks = []
    for scan in manifest.itertuples():
        if scan.scan_key in done:
            continue
        ct_key = scan.ct_scan_key if isinstance(scan.ct_scan_key, str) else None
        tasks.append(ScanTask(
            scan_key=scan.scan_key, patient_key=scan.patient_key, modality=scan.modality,
            files=tuple(files[scan.scan_key]), config=config, ct_scan_key=ct_key,
            ct_files=tuple(files[ct_key]) if ct_key else (),
            fvc_pct=None if pd.isna(scan.fvc_pct) else float(scan.fvc_pct),
        ))
    return tasks, len(manifest) - len(tasks)


def execute_task(task: ScanTask, results: ResultSet, token: str,
                 scan_function: Callable[[ScanTask], dict[str, Any]]) -> dict[str, Any]:
    """Run one scan and store its row or its failure (runs on a worker)."""
    from ildrad.log import disable_progress

    disable_progress()
    started = time.perf_counter()
    provenance = {"scan_key": task.scan_key, "patient_key": task.patient_key}
    try:
        row = scan_function(task)
    except ScanFailure as failure:
        stored = results.write_failure(task.scan_key, {**provenance, "stage": failure.stage,
                                                       "error": failure.message}, token)
        return {"scan_key": task.scan_key, "status": "failed", "stored": stored, "error": str(failure)}
    except Exception as err:  # noqa: BLE001 - a batch never dies for one bad scan
        message = f"{type(err).__name__}: {err}"
        log.debug("scan %s failed:\n%s", task.scan_key, traceback.format_exc())
        stored = results.write_failure(task.scan_key, {**provenance, "stage": "unexpected", "error": message},
                                       token)
        return {"scan_key": task.scan_key, "status": "failed", "stored": stored, "error": message}
    row = {**provenance, **row, "config_hash": config_hash(task.config), "ildrad_version": __version__,
           "total_seconds": time.perf_counter() - started}
    stored = results.write_row(task.scan_key, row, token)
    return {"scan_key": task.scan_key, "status": "done" if stored else "orphaned", "stored": stored}


def _client(workers: int | None, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s"), None
    cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                           dashboard_address=None, env=WORKER_ENV, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def run_cohort(workspace: str | Path, config: Config | None = None, *, workers: int | None = None,
               scheduler: str | None = None,
               scan_function: Callable[[ScanTask], dict[str, Any]] | None = None) -> RunSummary:
    """Process every scan of the manifest not yet in the result set of ``config``."""
    from distributed import as_completed

    from ildrad.cohort.overrides import OVERRIDES_DIR
    from ildrad.cohort.pipeline import process_scan
    from ildrad.progress import RunProgress

    workspace = Path(workspace)
    config = config or Config()
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    results = ResultSet(workspace, result_set_name(config_hash(config)))
    masks_root = results.root / MASKS_DIR if config.run.keep_masks else None
    function = scan_function or functools.partial(process_scan, masks_root=masks_root,
                                                  overrides_root=workspace / OVERRIDES_DIR)
    started = time.perf_counter()
    with results.exclusive_run() as token:
        tasks, skipped = _tasks(workspace, config, results.done_keys())
        succeeded = failed = 0
        if tasks:
            client, cluster = _client(workers, scheduler)
            try:
                futures = [client.submit(execute_task, task, results, token, function, pure=False,
                                         key=f"scan-{task.scan_key}-{token[:8]}") for task in tasks]
                with RunProgress(len(tasks), "scans") as progress:
                    for future in as_completed(futures):
                        try:
                            outcome = future.result()
                        except Exception as err:  # noqa: BLE001 - e.g. a worker killed repeatedly
                            key = future.key.split("-")[1]
                            results.write_failure(key, {"scan_key": key, "stage": "worker",
                                                        "error": f"{type(err).__name__}: {err}"}, token)
                            outcome = {"status": "failed"}
                        ok = outcome["status"] == "done"
                        succeeded, failed = succeeded + ok, failed + (not ok)
                        progress.advance(ok)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    summary = RunSummary(results.name, skipped + len(tasks), skipped, succeeded, failed,
                         time.perf_counter() - started)
    log.info("run %s: %d scans, %d already done, %d processed, %d failed in %.1f s", summary.result_set,
             summary.total, summary.skipped, summary.succeeded, summary.failed, summary.seconds)
    return summary
