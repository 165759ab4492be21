"""Cohort-run throughput: scans per hour with 1 and 2 workers, scaling, peak memory per worker,
and the projected time of a 2,125-scan registry.

Usage::

    .venv/bin/python benchmarks/cohort_throughput.py --sizes small full --patients 2 --out /tmp/bench

For each phantom size a synthetic cohort is generated once and indexed; each worker count then
runs on a fresh copy of the indexed workspace (same scans, same configuration), timed as a whole
``ildrad run`` process while the resident memory of every worker process is sampled.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

REGISTRY_SCANS = 2125


def _sample_worker_memory(process: psutil.Process, peaks: dict[int, int], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            for child in process.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                peaks[child.pid] = max(peaks.get(child.pid, 0), rss)
        except psutil.Error:
            return
        stop.wait(0.2)


def timed_run(workspace: Path, workers: int, config: Path | None) -> tuple[float, float]:
    """(seconds, peak RSS of the largest worker process in MB) of one ``ildrad run``."""
    command = [sys.executable, "-m", "ildrad.cli", "-q", "run", str(workspace), "--workers", str(workers)]
    if config is not None:
        command += ["--config", str(config)]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    peaks: dict[int, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_worker_memory, args=(psutil.Process(process.pid), peaks, stop))
    sampler.start()
    code = process.wait()
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"ildrad run failed with exit code {code}")
    return time.perf_counter() - started, max(peaks.values(), default=0) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "full"])
    parser.add_argument("--patients", type=int, default=2)
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--config", type=Path, default=None, help="ildrad configuration for the runs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        data = args.out / size / "data"
        base = args.out / size / "ws"
        if not base.exists():
            subprocess.run([sys.executable, "-m", "ildrad.cli", "-q", "synth", "cohort", "--patients",
                            str(args.patients), "--seed", "7", "--size", size, "--out", str(data)], check=True)
            subprocess.run([sys.executable, "-m", "ildrad.cli", "-q", "index", str(data / "dicom"), "--clinical",
                            str(data / "clinical.csv"), "--visits", str(data / "visits.csv"), "--out", str(base)],
                           check=True)
        scans = len(pd.read_parquet(base / "manifest.parquet"))
        for workers in args.workers:
            workspace = args.out / size / f"ws_{workers}"
            shutil.rmtree(workspace, ignore_errors=True)
            shutil.copytree(base, workspace)
            seconds, peak_mb = timed_run(workspace, workers, args.config)
            rows.append({"size": size, "workers": workers, "scans": scans, "seconds": seconds,
                         "scans_per_hour": 3600.0 * scans / seconds, "peak_worker_mb": peak_mb})
    table = pd.DataFrame(rows)
    for _, group in table.groupby("size"):
        by_workers = group.set_index("workers")
        if 1 in by_workers.index and 2 in by_workers.index:
            table.loc[group.index, "scaling_2_vs_1"] = by_workers.loc[2, "scans_per_hour"] / by_workers.loc[1, "scans_per_hour"]
    table["registry_hours"] = REGISTRY_SCANS / table["scans_per_hour"]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"\nregistry projection: {REGISTRY_SCANS} scans; registry_hours = {REGISTRY_SCANS} / scans_per_hour")


if __name__ == "__main__":
    main()
