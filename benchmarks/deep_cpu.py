"""CPU cost of the deep models at the default inputs: training throughput, inference, memory.

For each architecture and input kind (2.5D 3 x 96 x 96, 3D 48^3): scans per second for one
training epoch over synthetic inputs (forward + backward + AdamW step, batch 8), inference
milliseconds per scan, peak resident memory of the process, and the projected time of one epoch
and of a 5-fold cross-validation (30 epochs per fold, 80 % of the scans training) for the
2,125-scan registry (the default ``views_per_scan`` augmented views per scan and epoch).
Usage: ``.venv/bin/python benchmarks/deep_cpu.py [--threads 1] [--scans 32]``.

``--texture`` instead trains the reference-size networks at their configuration defaults on the
synthetic texture cohort of ``tests/deep`` (honeycombing vs ground glass at equal mean density; 64
training scans, 32 held out) and prints the held-out AUC and the training time of each.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from ildrad.models.deep.heads import horizon_loss
from ildrad.models.deep.inputs import input_shape
from ildrad.models.deep.training import build_model, peak_learning_rate, predict
from ildrad.models.settings import DeepSettings

REGISTRY_SCANS = 2125


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(arch: str, dims: str, scans: int) -> dict:
    settings = DeepSettings(arch=arch, dims=dims)
    rng = np.random.default_rng(0)
    x = rng.random((scans, *input_shape(settings)), dtype=np.float32)
    y = torch.as_tensor(rng.integers(0, 2, (scans, 3)).astype(np.float32))
    model = build_model(settings, 3)
    optimiser = torch.optim.AdamW(model.parameters(), lr=peak_learning_rate(settings))
    model.train()
    start = time.perf_counter()
    for i in range(0, scans, settings.batch_size):
        loss = horizon_loss(model(torch.as_tensor(x[i : i + settings.batch_size])), y[i : i + settings.batch_size])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    train_rate = scans / (time.perf_counter() - start)
    start = time.perf_counter()
    predict(model, x, settings.batch_size)
    infer_ms = 1000 * (time.perf_counter() - start) / scans
    epoch_h = settings.views_per_scan * REGISTRY_SCANS / train_rate / 3600
    cv_h = 5 * settings.epochs * 0.8 * epoch_h
    return {"arch": arch, "dims": dims, "train_scans_per_s": train_rate, "infer_ms_per_scan": infer_ms,
            "peak_mib": peak_mib(), "registry_epoch_h": epoch_h, "registry_5fold_30ep_h": cv_h}


def texture_check(archs: list[str]) -> None:
    """Held-out AUC of each architecture trained at its defaults on the texture cohort."""
    import sys
    from pathlib import Path

    from ildrad.evaluate.metrics import roc_auc

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "deep"))
    from conftest import N_TRAIN, train_on_first
    from deep_cases import texture_cohort_arrays

    cohort = texture_cohort_arrays()  # the cohort of tests/deep/conftest.py::texture_cohort
    y = cohort["y"]
    print(f"{'arch':12} {'held-out AUC':>12} {'train s':>8}")
    for arch in archs:
        start = time.perf_counter()
        model = train_on_first(cohort, N_TRAIN, DeepSettings(arch=arch, dims="2.5d"))
        seconds = time.perf_counter() - start
        auc = roc_auc(y[N_TRAIN:], predict(model, cohort["x"][N_TRAIN:])[:, 0])
        print(f"{arch:12} {auc:12.3f} {seconds:8.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scans", type=int, default=32)
    parser.add_argument("--arch", nargs="*", default=["resnet18", "densenet121", "swin"])
    parser.add_argument("--dims", nargs="*", default=["2.5d", "3d"])
    parser.add_argument("--texture", action="store_true", help="held-out AUC at the defaults on the texture cohort")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.texture:
        texture_check(args.arch)
        return
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.scans} synthetic scans per run")
    print(f"{'arch':12} {'dims':5} {'train scans/s':>13} {'infer ms/scan':>13} {'peak MiB':>9} "
          f"{'2125-scan epoch h':>17} {'5-fold x 30 ep h':>16}")
    for arch in args.arch:
        for dims in args.dims:
            r = bench(arch, dims, args.scans)
            print(f"{r['arch']:12} {r['dims']:5} {r['train_scans_per_s']:13.2f} {r['infer_ms_per_scan']:13.1f} "
                  f"{r['peak_mib']:9.0f} {r['registry_epoch_h']:17.2f} {r['registry_5fold_30ep_h']:16.1f}")


if __name__ == "__main__":
    main()
