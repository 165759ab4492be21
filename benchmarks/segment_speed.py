"""Lung segmentation speed and memory on a full-size synthetic chest CT (512 x 512 x 300).

The CT comes from ``ildrad.synth.phantom`` (size ``full``, 0.70 x 0.70 x 1 mm) and is written to
a temporary NIfTI first, so that reading it is timed apart (as DICOM reading would be). Each
method then runs in its own process (peak resident memory: the kernel's peak mark is reset after
reading, so ``peak MB`` is the step's own peak, ``extra MB`` that above the process's state after
reading): ``ildrad segment_lungs``, the whole lung stage ``analyse_lung_ct`` (segmentation,
zones, rind, QCT, extent, oesophagus, flags), and the classical baseline that issue 5 quotes
(threshold at -500 HU, outside air removed, two largest components, midline split), with the
Dice of each lung against the phantom's truth. Target: under 15 s and 4 GB on 2 cores.
CPU seconds of the process are printed beside the wall time, with the machine's load average
before and after, so that a run on a shared (loaded) machine can still be judged: the
segmentation is single-threaded, so on an idle machine wall time is about the CPU time.

    .venv/bin/python benchmarks/segment_speed.py [--extent 0.3] [--seed 3] [--size full]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _status_mb(field: str) -> float | None:
    """A memory field of ``/proc/self/status`` (``VmHWM``, ``VmRSS``) in MB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    """Peak resident memory (MB) since the last :func:`_reset_peak` (Linux), else since start."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _resident_mb() -> float:
    resident = _status_mb("VmRSS")
    return resident if resident is not None else _peak_mb()


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5), so reading is not counted."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _baseline(ct) -> np.ndarray:
    """Threshold-plus-largest-components lungs with a midline split (the naive peer)."""
    import cc3d
    from scipy import ndimage

    air = ct.array < -500
    labels = cc3d.connected_components(air.astype(np.uint8), connectivity=6)
    border = np.unique(np.concatenate([labels[:, 0].ravel(), labels[:, -1].ravel(),
                                       labels[:, :, 0].ravel(), labels[:, :, -1].ravel()]))
    inside = air & ~np.isin(labels, border)
    inside = cc3d.largest_k(inside.astype(np.uint8), k=2, connectivity=6) > 0
    for k in range(inside.shape[0]):
        inside[k] = ndimage.binary_fill_holes(inside[k])
    out = np.zeros(ct.shape, dtype=np.uint8)
    middle = ct.shape[2] // 2
    out[:, :, :middle][inside[:, :, :middle]] = 1  # array x increases to the patient's left
    out[:, :, middle:][inside[:, :, middle:]] = 2
    return out


def _run(method: str, path: str, truth_path: str, queue: mp.Queue) -> None:
    from ildrad.io.volume_files import read_image, read_mask

    start = time.perf_counter()
    ct = read_image(path, modality="CT", unit="HU")
    read_seconds = time.perf_counter() - start
    truth = read_mask(truth_path).array
    gc.collect()
    _reset_peak()
    base_mb = _resident_mb()
    if method == "ildrad segment_lungs":
        from ildrad.lung.segmentation import segment_lungs

        def run(image):
            return segment_lungs(image).lungs.array
    elif method == "ildrad analyse_lung_ct":
        from ildrad.lung.analysis import analyse_lung_ct

        def run(image):
            return analyse_lung_ct(image).segmentation.lungs.array
    else:
        run = _baseline
    start = time.perf_counter()
    cpu_start = time.process_time()
    labels = run(ct)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak_mb = _peak_mb()
    dice = [2.0 * ((labels == k) & (truth == k)).sum() / ((labels == k).sum() + (truth == k).sum()) for k in (1, 2)]
    queue.put((method, read_seconds, seconds, cpu_seconds, peak_mb - base_mb, peak_mb, dice))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--extent", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    from ildrad.io.volume_files import write_image, write_mask
    from ildrad.synth.phantom import make_chest_ct
    from ildrad.synth.phantom_spec import PhantomSpec

    start = time.perf_counter()
    case = make_chest_ct(PhantomSpec(size=args.size, ild_extent=args.extent), seed=args.seed)
    print(f"phantom {args.size} {case.ct.shape} generated in {time.perf_counter() - start:.1f} s "
          f"(true ILD extent {case.numbers['ild_extent']:.3f})")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "ct.nii.gz")
        truth_path = str(Path(folder) / "lungs.nii.gz")
        write_image(case.ct, path)
        write_mask(case.truth["lungs"], truth_path)
        del case
        load_before = os.getloadavg()[0]
        context = mp.get_context("spawn")
        rows = []
        for method in ("baseline threshold+components", "ildrad segment_lungs", "ildrad analyse_lung_ct"):
            queue: mp.Queue = context.Queue()
            process = context.Process(target=_run, args=(method, path, truth_path, queue))
            process.start()
            rows.append(queue.get())
            process.join()
    print(f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs")
    print(f"{'method':32s} {'read s':>7s} {'run s':>7s} {'CPU s':>7s} {'extra MB':>9s} {'peak MB':>8s}  Dice right / left")
    for method, read_s, run_s, cpu_s, extra_mb, peak_mb, dice in rows:
        print(f"{method:32s} {read_s:7.2f} {run_s:7.2f} {cpu_s:7.2f} {extra_mb:9.0f} {peak_mb:8.0f}  "
              f"{dice[0]:.4f} / {dice[1]:.4f}")
    base_cpu = rows[0][3]
    for method, _, _, cpu_s, *_ in rows[1:]:
        print(f"{method}: {cpu_s / base_cpu:.1f} x the baseline's CPU time; target < 15 s, < 4096 MB peak")


if __name__ == "__main__":
    main()
