"""Whole-lung radiomics speed and memory, ildrad side by side with PyRadiomics, in one run.

Run by hand (not a test)::

    .venv/bin/python benchmarks/radiomics_whole_lung.py [--size full|small|tiny] [--seed 3]
        [--ct CT.nii.gz --mask lungs.nii.gz]
        [--runs 3] [--process-runs 3] [--spacing native,1mm] [--families firstorder,shape,...]
        [--pictologics-python /path/to/python3.12]

Input: a synthetic chest CT (:func:`ildrad.synth.phantom.make_chest_ct`; ``full`` is
512 x 512 x 300 at 0.70 x 0.70 x 1 mm) and its whole-lung truth mask (both lungs, one label),
written once as NIfTI to a temporary folder, or a real CT and its lung mask (``--ct CT.nii.gz
--mask lungs.nii.gz``; a right/left mask such as ``ildrad segment``'s is merged into one
label); the "1mm" case is the same CT and mask resampled by SimpleITK to 1 mm isotropic
(linear for the CT, rounded to integers; nearest neighbour for the mask), written as NIfTI
too, so every tool reads the very same files.

Configuration, PyRadiomics style: original image, binWidth 25, the classes firstorder, shape,
glcm, glrlm, glszm, gldm, ngtdm. ildrad runs its PyRadiomics-compatible mode
(``ildrad extract --pyradiomics-params``, same feature names and values as PyRadiomics).

Printed, per input, for each tool (ildrad, PyRadiomics and, when given, pictologics):

* extraction per family: each family in its own call, minimum over ``--runs`` runs after a
  warm-up call for ildrad (numba caches loaded) and pictologics (numba kernels compiled), over
  ``--pyradiomics-runs`` runs for PyRadiomics (nothing to warm: its C extension is loaded at
  import; shape alone takes minutes per run on a whole lung), of the CPU seconds of the
  process (all threads) and of the wall seconds, image and mask already in memory; totals with
  and without the shape family; ratios peer / ildrad. Both ildrad and pictologics run numba
  threads, so wall and CPU are both compared. The
  machine may be shared: the load average is printed, and differences under 0.05 s are noise.
  pictologics computes the IBSI families closest to each PyRadiomics class (firstorder:
  intensity + histogram; shape: morphology; gldm: NGLDM), with fixed bin size 25 from -1000;
* whole process, all families: ``ildrad extract ... --pyradiomics-params``, a ``python -c``
  running PyRadiomics' ``RadiomicsFeatureExtractor.execute`` on the file paths, and a pictologics
  ``RadiomicsPipeline`` run on the file paths: wall and CPU seconds (start-up, imports, reading
  the NIfTI, JIT cache loading counted), minimum over ``--process-runs`` after a warm-up run
  (``--pyradiomics-runs``, no warm-up, for PyRadiomics), and each process's peak resident memory;
* the issue's targets, met or not: no family slower than a peer beyond 0.05 s, whole process at
  least 20 times faster than PyRadiomics, peak memory no higher than PyRadiomics', extraction
  (CPU and wall) and whole process faster than pictologics.

pictologics needs Python >= 3.12 and its own virtual environment; it is run only when
``--pictologics-python`` names such an interpreter with pictologics installed (see
:func:`_pictologics_note`). Its numba kernels compile for minutes on first use: run it once on
the ``tiny`` input first.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FAMILIES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
NOISE_S = 0.05


def make_inputs(size: str, seed: int, folder: Path, spacings: list[str]) -> dict[str, tuple[Path, Path]]:
    """Write the synthetic CT and its whole-lung mask as NIfTI (once per ``folder``); return
    the paths of :func:`prepare_inputs`."""
    from ildrad.image import Mask
    from ildrad.io.volume_files import write_image, write_mask
    from ildrad.synth.phantom import PhantomSpec, make_chest_ct

    ct_path, mask_path = folder / "ct.nii.gz", folder / "lungs.nii.gz"
    if not (ct_path.exists() and mask_path.exists()):  # else kept from an earlier --inputs-dir run
        scan = make_chest_ct(PhantomSpec(size=size), seed)
        lungs = scan.truth["lungs"]
        whole = Mask((lungs.array > 0).astype(np.uint8), lungs.grid, {1: "lungs"})
        ct = scan.ct
        write_image(type(ct)(np.round(ct.array).astype(np.float32), ct.grid, ct.modality, ct.unit, {}), ct_path)
        write_mask(whole, mask_path)
    return prepare_inputs(ct_path, mask_path, folder, spacings)


def prepare_inputs(ct_path: Path, mask_path: Path, folder: Path, spacings: list[str]) -> dict[str, tuple[Path, Path]]:
    """The inputs of each spacing: ``native`` is the CT as given with its mask as one label (1 =
    every non-zero voxel: a right/left lung mask becomes a whole-lung mask, written to
    ``folder`` when it had other labels); ``1mm`` both resampled by SimpleITK to 1 mm isotropic
    (linear for the CT, rounded to integers; nearest neighbour for the mask), written as NIfTI
    too, so every tool reads the very same files."""
    import SimpleITK as sitk

    image, mask = sitk.ReadImage(str(ct_path)), sitk.ReadImage(str(mask_path))
    labels = sitk.GetArrayViewFromImage(mask)
    if set(np.unique(labels).tolist()) - {0, 1}:
        mask = sitk.Cast(mask != 0, sitk.sitkUInt8)
        mask_path = folder / "whole_lung_mask.nii.gz"
        sitk.WriteImage(mask, str(mask_path))
    n_voxels = int(sitk.GetArrayViewFromImage(mask).astype(bool).sum())
    litres = n_voxels * float(np.prod(mask.GetSpacing())) / 1e6
    print(f"CT {image.GetSize()} (x, y, z) at {tuple(round(s, 4) for s in image.GetSpacing())} mm, "
          f"{image.GetPixelIDTypeAsString()}; lungs {n_voxels} voxels, {litres:.2f} L")
    inputs: dict[str, tuple[Path, Path]] = {}
    if "native" in spacings:
        inputs["native"] = (ct_path, mask_path)
    if "1mm" in spacings:
        paths = tuple(folder / f"{path.name.split('.')[0]}_1mm.nii.gz" for path in (ct_path, mask_path))
        if not (paths[0].exists() and paths[1].exists()):
            spacing = (1.0, 1.0, 1.0)
            size_1mm = [int(round(n * s)) for n, s in zip(image.GetSize(), image.GetSpacing())]
            resampled = []
            for volume, interpolator in ((image, sitk.sitkLinear), (mask, sitk.sitkNearestNeighbor)):
                resampled.append(
                    sitk.Resample(volume, size_1mm, sitk.Transform(), interpolator, volume.GetOrigin(),
                                  spacing, volume.GetDirection(), 0, volume.GetPixelID())
                )
            sitk.WriteImage(sitk.Round(resampled[0]), str(paths[0]))
            sitk.WriteImage(resampled[1], str(paths[1]))
        mask_1mm = sitk.ReadImage(str(paths[1]))
        print(f"1 mm: {mask_1mm.GetSize()} voxels, lungs "
              f"{int(sitk.GetArrayViewFromImage(mask_1mm).astype(bool).sum())} voxels")
        inputs["1mm"] = paths
    return inputs


def _params(families) -> dict:
    return {"setting": {"binWidth": 25, "label": 1}, "imageType": {"Original": {}},
            "featureClass": {name: None for name in families}}


def _min_times(call, runs: int, warm_up: bool = True) -> tuple[float, float]:
    """(CPU s, wall s) of ``call``: minimum of each over ``runs`` runs, after a warm-up call
    (JIT caches; PyRadiomics has none: its C extension is loaded at import)."""
    if warm_up:
        call()
    cpu = wall = float("inf")
    for _ in range(runs):
        start, start_wall = time.process_time(), time.perf_counter()
        call()
        cpu = min(cpu, time.process_time() - start)
        wall = min(wall, time.perf_counter() - start_wall)
    return cpu, wall


def time_families(
    ct: Path, mask: Path, runs: int, families, with_pyradiomics: bool = True, peer_runs: int = 1
) -> dict[str, dict[str, tuple[float, float]]]:
    """(CPU s, wall s) of each family for ildrad (minimum over ``runs``) and PyRadiomics
    (minimum over ``peer_runs``), in memory."""
    import SimpleITK as sitk
    from radiomics import featureextractor

    from ildrad.radiomics.pyradiomics_compat import extract_pyradiomics, params_from_mapping

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image, roi = sitk.ReadImage(str(ct)), sitk.ReadImage(str(mask))
    values, labels = sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(roi)
    spacing = tuple(float(s) for s in image.GetSpacing()[::-1])
    out: dict[str, dict[str, tuple[float, float]]] = {"ildrad": {}}
    if with_pyradiomics:
        out["PyRadiomics"] = {}
    for family in families:
        params = _params([family])
        ours = params_from_mapping(params)
        out["ildrad"][family] = _min_times(lambda ours=ours: extract_pyradiomics(values, labels, spacing, ours), runs)
        if with_pyradiomics:
            extractor = featureextractor.RadiomicsFeatureExtractor(params)
            out["PyRadiomics"][family] = _min_times(
                lambda extractor=extractor: extractor.execute(image, roi), peer_runs, warm_up=False)
        print(f"  {family:11s} " + "   ".join(f"{name} {t[family][0]:8.3f} s" for name, t in out.items())
              + " (CPU)", flush=True)
    return out


_PEER_SCRIPT = """
import logging, sys
logging.getLogger('radiomics').setLevel(logging.ERROR)
from radiomics import featureextractor
params = {{'setting': {{'binWidth': 25, 'label': 1}}, 'imageType': {{'Original': {{}}}},
          'featureClass': {{name: None for name in {families!r}}}}}
result = featureextractor.RadiomicsFeatureExtractor(params).execute(sys.argv[1], sys.argv[2])
print(len(result))
"""


def _run_process(command: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one child process.

    Launched through a small fresh interpreter (``--measure``): on Linux a child's peak RSS
    includes the memory of the process it was forked from, here the benchmark holding the CT.
    """
    launcher = subprocess.run(
        [sys.executable, __file__, "--measure", *command], capture_output=True, text=True
    )
    if launcher.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {launcher.stderr[-2000:]}")
    wall, cpu, peak = map(float, launcher.stdout.split()[-3:])
    return wall, cpu, peak


def _measure(command: list[str]) -> None:
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(child.stderr.read().decode()[-2000:])
    print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def time_processes(
    ct: Path, mask: Path, runs: int, families, folder: Path, with_pyradiomics: bool = True,
    peer_runs: int = 1,
) -> dict[str, tuple[float, float, float]]:
    """(wall s, CPU s, peak RSS MiB) of whole ildrad and PyRadiomics processes, all families."""
    import yaml

    params_file = folder / "params.yaml"
    params_file.write_text(yaml.safe_dump(_params(families)))
    ildrad = [str(Path(sys.executable).parent / "ildrad"), "extract", str(ct), str(mask),
              "--pyradiomics-params", str(params_file), "--out", str(folder / "ildrad.csv")]
    peer = [sys.executable, "-c", _PEER_SCRIPT.format(families=tuple(families)), str(ct), str(mask)]
    out = {"ildrad": _best_process(ildrad, runs)}
    if with_pyradiomics:
        out["PyRadiomics"] = _best_process(peer, peer_runs, warm_up=False)
    return out


def _best_process(command: list[str], runs: int, warm_up: bool = True) -> tuple[float, float, float]:
    """Minimum wall and CPU seconds and maximum peak RSS over ``runs`` runs, after a warm-up run
    (file cache, JIT caches)."""
    if warm_up:
        _run_process(command)
    results = [_run_process(command) for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results), max(r[2] for r in results)


#: pictologics feature families timed for each PyRadiomics class (GLDM ~ IBSI NGLDM).
PICTOLOGICS_FAMILIES = {
    "firstorder": ["intensity", "histogram"],
    "shape": ["morphology"],
    "glcm": ["glcm"],
    "glrlm": ["glrlm"],
    "glszm": ["glszm"],
    "gldm": ["ngldm"],
    "ngtdm": ["ngtdm"],
}

_PICTOLOGICS_SCRIPT = """
import json, sys, time
import pictologics
from pictologics import RadiomicsPipeline, load_image
ct, mask, runs, groups = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
image, roi = load_image(ct), load_image(mask)
pipeline = RadiomicsPipeline()
for name, families in groups.items():
    pipeline.add_config(name, steps=[
        {'step': 'discretise', 'params': {'method': 'FBS', 'bin_width': 25, 'min_val': -1000}},
        {'step': 'extract_features', 'params': {'families': families}}])
out = {}
for name in groups:
    if runs == 0:
        pipeline.run(ct, mask, config_names=[name])
        continue
    pipeline.run(image, roi, config_names=[name])
    cpu = wall = float('inf')
    for _ in range(runs):
        start, start_wall = time.process_time(), time.perf_counter()
        pipeline.run(image, roi, config_names=[name])
        cpu = min(cpu, time.process_time() - start)
        wall = min(wall, time.perf_counter() - start_wall)
    out[name] = (cpu, wall)
print(json.dumps(out))
"""


def time_pictologics(python: str, ct: Path, mask: Path, runs: int, families) -> dict[str, tuple[float, float]]:
    """(CPU s, wall s) of pictologics per PyRadiomics class, in its own interpreter."""
    import json

    groups = {f: PICTOLOGICS_FAMILIES[f] for f in families}
    done = subprocess.run([python, "-c", _PICTOLOGICS_SCRIPT, str(ct), str(mask), str(runs),
                           json.dumps(groups)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pictologics failed: {done.stderr[-2000:]}")
    return {name: tuple(times) for name, times in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def pictologics_process(python: str, ct: Path, mask: Path, runs: int, families) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of a whole pictologics process reading the NIfTI files."""
    import json

    groups = {"all": sorted({g for f in families for g in PICTOLOGICS_FAMILIES[f]})}
    command = [python, "-c", _PICTOLOGICS_SCRIPT, str(ct), str(mask), "0", json.dumps(groups)]
    return _best_process(command, runs)


def _pictologics_note(python: str | None) -> str:
    if python is None:
        return ("pictologics: skipped (needs Python >= 3.12 in its own environment with "
                "pictologics installed; pass --pictologics-python /path/to/python3.12)")
    return f"pictologics: {python}"


def _ratio(peer: float, mine: float) -> str:
    return f"{peer / mine:7.1f}x" if mine > 0 else "    inf"


def report_families(times: dict[str, dict[str, tuple[float, float]]], families) -> list[str]:
    """Print the per-family table (CPU and wall s, ratios peer / ildrad) with totals; return the
    families where ildrad is slower than a peer beyond the noise floor (CPU or wall)."""
    peers = [name for name in times if name != "ildrad"]
    header = "  family        " + "".join(f"{n:>24s}" for n in times) + "".join(f"{'/ ' + n:>16s}" for n in peers)
    print(header + "\n  " + " " * 14 + "".join(f"{'CPU s   wall s':>24s}" for _ in times)
          + "".join(f"{'CPU    wall':>16s}" for _ in peers))
    rows = list(families) + ["total"] + (["w/o shape"] if "shape" in families else [])
    slower = []
    for row in rows:
        chosen = {"total": families, "w/o shape": [f for f in families if f != "shape"]}.get(row, [row])
        sums = {name: tuple(sum(times[name][f][k] for f in chosen) for k in (0, 1)) for name in times}
        line = f"  {row:12s}" + "".join(f"{c:14.3f}{w:10.3f}" for c, w in sums.values())
        line += "".join(f"{_ratio(sums[p][0], sums['ildrad'][0]):>9s}{_ratio(sums[p][1], sums['ildrad'][1]):>8s}" for p in peers)
        print(line)
        if row in families and any(sums["ildrad"][k] > sums[p][k] + NOISE_S for p in peers for k in (0, 1)):
            slower.append(row)
    print(f"  families where ildrad is slower than a peer beyond {NOISE_S} s: {slower or 'none'}")
    return slower


def report_processes(processes: dict[str, tuple[float, float, float]]) -> None:
    """Print whole-process wall, CPU and peak RSS, with the ratios peer / ildrad."""
    w_i, c_i, m_i = processes["ildrad"]
    for name, (wall, cpu, peak) in processes.items():
        ratios = "" if name == "ildrad" else (
            f"   ratio to ildrad: wall {wall / w_i:5.1f}x, CPU {cpu / c_i:5.1f}x, memory {peak / m_i:4.2f}")
        print(f"  {name:12s} wall {wall:8.2f} s  CPU {cpu:8.2f} s  peak RSS {peak:6.0f} MiB{ratios}")


def verdict(slower: list[str], totals: dict[str, float], processes: dict[str, tuple[float, float, float]]) -> None:
    """The issue's targets, met or not, on this input."""
    mine = processes["ildrad"]
    checks = {"no family slower than a peer beyond the noise": not slower}
    if "PyRadiomics" in processes:
        checks["whole process >= 20x faster than PyRadiomics (wall)"] = processes["PyRadiomics"][0] >= 20 * mine[0]
        checks["peak memory <= PyRadiomics'"] = mine[2] <= processes["PyRadiomics"][2]
    if "pictologics" in processes:
        checks["extraction faster than pictologics (CPU and wall)"] = all(
            totals["ildrad"][k] < totals["pictologics"][k] for k in (0, 1))
        checks["whole process faster than pictologics (wall and CPU)"] = (
            mine[0] < processes["pictologics"][0] and mine[1] < processes["pictologics"][1])
    for text, met in checks.items():
        print(f"  [{'met' if met else 'NOT MET'}] {text}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        _measure(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="runs per family (minimum taken)")
    parser.add_argument("--process-runs", type=int, default=3)
    parser.add_argument("--spacing", default="native,1mm")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--pictologics-python", default=None)
    parser.add_argument("--pyradiomics-runs", type=int, default=1,
                        help="PyRadiomics runs per family and whole process (minimum taken; its "
                             "shape family alone takes minutes per run on full size)")
    parser.add_argument("--no-pyradiomics", action="store_true",
                        help="skip PyRadiomics (its shape family takes minutes per run on full size)")
    parser.add_argument("--inputs-dir", type=Path, default=None,
                        help="keep the NIfTI inputs here and reuse them in later runs")
    parser.add_argument("--ct", type=Path, default=None,
                        help="a real CT (NIfTI/NRRD) instead of the synthetic one; needs --mask")
    parser.add_argument("--mask", type=Path, default=None,
                        help="its lung mask (every non-zero label counts as lung)")
    args = parser.parse_args()
    if (args.ct is None) != (args.mask is None):
        parser.error("--ct and --mask go together")
    families = [f for f in args.families.split(",") if f]
    print(_pictologics_note(args.pictologics_python))
    print(f"load average at start: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    with_pyradiomics = not args.no_pyradiomics
    with tempfile.TemporaryDirectory(prefix="ildrad_bench_") as tmp:
        folder = Path(tmp)
        inputs_dir = args.inputs_dir or folder
        inputs_dir.mkdir(parents=True, exist_ok=True)
        spacings = args.spacing.split(",")
        if args.ct is not None:
            inputs, subject = prepare_inputs(args.ct, args.mask, inputs_dir, spacings), args.ct.name
        else:
            inputs, subject = make_inputs(args.size, args.seed, inputs_dir, spacings), f"{args.size} phantom"
        for label, (ct, mask) in inputs.items():
            print(f"\n== {subject}, {label} spacing: extraction per family, in memory "
                  f"(min of {args.runs}) ==")
            times = time_families(ct, mask, args.runs, families, with_pyradiomics, args.pyradiomics_runs)
            if args.pictologics_python:
                times["pictologics"] = time_pictologics(args.pictologics_python, ct, mask, args.runs, families)
            slower = report_families(times, families)
            totals = {name: tuple(sum(t[f][k] for f in families) for k in (0, 1))
                      for name, t in times.items()}
            print(f"== {label}: whole processes, all families (min of {args.process_runs}) ==")
            processes = time_processes(ct, mask, args.process_runs, families, folder, with_pyradiomics,
                                       args.pyradiomics_runs)
            if args.pictologics_python:
                processes["pictologics"] = pictologics_process(
                    args.pictologics_python, ct, mask, args.process_runs, families)
            report_processes(processes)
            print(f"  load average now: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
            verdict(slower, totals, processes)
    print(f"\npeak RSS of this benchmark process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
