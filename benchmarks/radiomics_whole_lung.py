"""Whole-lung radiomics speed and memory, ildrad side by side with PyRadiomics, in one run.

Run by hand (not a test)::

    .venv/bin/python benchmarks/radiomics_whole_lung.py [--size full|small] [--seed 3]
        [--runs 3] [--spacing native,1mm] [--families firstorder,shape,...]

Input: a synthetic chest CT (:func:`ildrad.synth.phantom.make_chest_ct`; ``full`` is
512 x 512 x 300 at 0.70 x 0.70 x 1 mm) and its whole-lung truth mask (both lungs, one label),
written once as NIfTI to a temporary folder; the "1mm" case is the same CT and mask resampled
by SimpleITK to 1 mm isotropic (linear for the CT, rounded to integers; nearest neighbour for
the mask), written as NIfTI too, so both tools read the very same files.

Configuration, PyRadiomics style: original image, binWidth 25, the classes firstorder, shape,
glcm, glrlm, glszm, gldm, ngtdm. ildrad runs its PyRadiomics-compatible mode
(``ildrad extract --pyradiomics-params``, same feature names and values as PyRadiomics).

Printed, per input:

* extraction per family: each family in its own call, after a warm-up call (ildrad's numba
  caches loaded, PyRadiomics' C extension loaded), minimum over ``--runs`` runs, CPU seconds of
  this process (the machine is shared; differences under 0.05 s are noise), image and mask
  already in memory for both tools; totals with and without the shape family;
* whole process: ``ildrad extract ... --pyradiomics-params`` against a ``python -c`` running
  PyRadiomics' ``RadiomicsFeatureExtractor.execute`` on the file paths, all families, wall and
  CPU seconds (start-up, imports, reading the NIfTI counted), minimum over ``--process-runs``,
  and each process's peak resident memory.

The other peer named by the project, pictologics, needs Python >= 3.12 and its own virtual
environment; it is run only when ``--pictologics-python`` names such an interpreter with
pictologics installed (see :func:`_pictologics_note`).
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
    """Write the CT and whole-lung mask (and their 1 mm versions) as NIfTI; return the paths."""
    import SimpleITK as sitk

    from ildrad.image import Mask
    from ildrad.io.volume_files import write_image, write_mask
    from ildrad.synth.phantom import PhantomSpec, make_chest_ct

    scan = make_chest_ct(PhantomSpec(size=size), seed)
    lungs = scan.truth["lungs"]
    whole = Mask((lungs.array > 0).astype(np.uint8), lungs.grid, {1: "lungs"})
    ct_path, mask_path = folder / "ct.nii.gz", folder / "lungs.nii.gz"
    ct = scan.ct
    write_image(type(ct)(np.round(ct.array).astype(np.float32), ct.grid, ct.modality, ct.unit, {}), ct_path)
    write_mask(whole, mask_path)
    n_voxels = int(whole.array.sum())
    litres = n_voxels * float(np.prod(lungs.grid.spacing)) / 1e6
    print(f"CT {ct.array.shape[::-1]} (x, y, z) at {tuple(round(s, 4) for s in ct.grid.spacing[::-1])} mm; "
          f"lungs {n_voxels} voxels, {litres:.2f} L")
    inputs: dict[str, tuple[Path, Path]] = {}
    if "native" in spacings:
        inputs["native"] = (ct_path, mask_path)
    if "1mm" in spacings:
        image, mask = sitk.ReadImage(str(ct_path)), sitk.ReadImage(str(mask_path))
        spacing = (1.0, 1.0, 1.0)
        size_1mm = [int(round(n * s)) for n, s in zip(image.GetSize(), image.GetSpacing())]
        resampled = []
        for volume, interpolator in ((image, sitk.sitkLinear), (mask, sitk.sitkNearestNeighbor)):
            resampled.append(
                sitk.Resample(volume, size_1mm, sitk.Transform(), interpolator, volume.GetOrigin(),
                              spacing, volume.GetDirection(), 0, volume.GetPixelID())
            )
        ct_1mm = sitk.Round(resampled[0])
        paths = (folder / "ct_1mm.nii.gz", folder / "lungs_1mm.nii.gz")
        sitk.WriteImage(ct_1mm, str(paths[0]))
        sitk.WriteImage(resampled[1], str(paths[1]))
        print(f"1 mm: {size_1mm} voxels, lungs {int(sitk.GetArrayViewFromImage(resampled[1]).sum())} voxels")
        inputs["1mm"] = paths
    return inputs


def _params(families) -> dict:
    return {"setting": {"binWidth": 25, "label": 1}, "imageType": {"Original": {}},
            "featureClass": {name: None for name in families}}


def _min_cpu(call, runs: int) -> float:
    call()  # warm-up
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


def time_families(ct: Path, mask: Path, runs: int, families) -> dict[str, tuple[float, float]]:
    """CPU seconds (ildrad, PyRadiomics) of each family, in memory, minimum over ``runs``."""
    import SimpleITK as sitk
    from radiomics import featureextractor

    from ildrad.radiomics.pyradiomics_compat import extract_pyradiomics, params_from_mapping

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image, roi = sitk.ReadImage(str(ct)), sitk.ReadImage(str(mask))
    values, labels = sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(roi)
    spacing = tuple(float(s) for s in image.GetSpacing()[::-1])
    out = {}
    for family in families:
        params = _params([family])
        ours = params_from_mapping(params)
        extractor = featureextractor.RadiomicsFeatureExtractor(params)
        mine = _min_cpu(lambda: extract_pyradiomics(values, labels, spacing, ours), runs)
        peer = _min_cpu(lambda: extractor.execute(image, roi), runs)
        out[family] = (mine, peer)
        print(f"  {family:11s} ildrad {mine:8.3f} s   PyRadiomics {peer:9.3f} s   ratio {peer / max(mine, 1e-9):7.1f}x",
              flush=True)
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


def time_processes(ct: Path, mask: Path, runs: int, families, folder: Path) -> dict[str, tuple[float, float, float]]:
    import yaml

    params_file = folder / "params.yaml"
    params_file.write_text(yaml.safe_dump(_params(families)))
    ildrad = [str(Path(sys.executable).parent / "ildrad"), "extract", str(ct), str(mask),
              "--pyradiomics-params", str(params_file), "--out", str(folder / "ildrad.csv")]
    peer = [sys.executable, "-c", _PEER_SCRIPT.format(families=tuple(families)), str(ct), str(mask)]
    out = {}
    for name, command in (("ildrad", ildrad), ("PyRadiomics", peer)):
        _run_process(command)  # warm the file cache and the numba cache
        results = [_run_process(command) for _ in range(runs)]
        wall = min(r[0] for r in results)
        cpu = min(r[1] for r in results)
        peak = max(r[2] for r in results)
        out[name] = (wall, cpu, peak)
        print(f"  process {name:11s} wall {wall:8.2f} s  CPU {cpu:8.2f} s  peak RSS {peak:7.0f} MiB", flush=True)
    return out


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
    best = float('inf')
    for _ in range(runs):
        start = time.process_time()
        pipeline.run(image, roi, config_names=[name])
        best = min(best, time.process_time() - start)
    out[name] = best
print(json.dumps(out))
"""


def time_pictologics(python: str, ct: Path, mask: Path, runs: int, families) -> dict[str, float]:
    """CPU seconds of pictologics per PyRadiomics class, in its own interpreter."""
    import json

    groups = {f: PICTOLOGICS_FAMILIES[f] for f in families}
    done = subprocess.run([python, "-c", _PICTOLOGICS_SCRIPT, str(ct), str(mask), str(runs),
                           json.dumps(groups)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pictologics failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pictologics_process(python: str, ct: Path, mask: Path, families) -> tuple[float, float, float]:
    import json

    groups = {"all": sorted({g for f in families for g in PICTOLOGICS_FAMILIES[f]})}
    command = [python, "-c", _PICTOLOGICS_SCRIPT, str(ct), str(mask), "0", json.dumps(groups)]
    _run_process(command)  # warm caches
    return _run_process(command)


def _pictologics_note(python: str | None) -> str:
    if python is None:
        return ("pictologics: skipped (needs Python >= 3.12 in its own environment with "
                "pictologics installed; pass --pictologics-python /path/to/python3.12)")
    return f"pictologics: {python}"


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        _measure(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="runs per family (minimum taken)")
    parser.add_argument("--process-runs", type=int, default=1)
    parser.add_argument("--spacing", default="native,1mm")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--pictologics-python", default=None)
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    print(_pictologics_note(args.pictologics_python))
    with tempfile.TemporaryDirectory(prefix="ildrad_bench_") as tmp:
        folder = Path(tmp)
        inputs = make_inputs(args.size, args.seed, folder, args.spacing.split(","))
        for label, (ct, mask) in inputs.items():
            print(f"\n== {args.size} phantom, {label} spacing: extraction CPU s per family "
                  f"(min of {args.runs}) ==")
            per_family = time_families(ct, mask, args.runs, families)
            mine = sum(v[0] for v in per_family.values())
            peer = sum(v[1] for v in per_family.values())
            print(f"  {'total':11s} ildrad {mine:8.3f} s   PyRadiomics {peer:9.3f} s   ratio {peer / mine:7.1f}x")
            if "shape" in per_family:
                mine_ns = mine - per_family["shape"][0]
                peer_ns = peer - per_family["shape"][1]
                print(f"  {'w/o shape':11s} ildrad {mine_ns:8.3f} s   PyRadiomics {peer_ns:9.3f} s   "
                      f"ratio {peer_ns / mine_ns:7.1f}x")
            if args.pictologics_python:
                picto = time_pictologics(args.pictologics_python, ct, mask, args.runs, families)
                for family, seconds in picto.items():
                    print(f"  {family:11s} pictologics {seconds:8.3f} s   ratio to ildrad "
                          f"{seconds / max(per_family[family][0], 1e-9):6.1f}x")
                total = sum(picto.values())
                print(f"  {'total':11s} pictologics {total:8.3f} s   ratio to ildrad {total / mine:6.1f}x")
            slower = [f for f, (a, b) in per_family.items() if a > b + NOISE_S]
            print(f"  families where ildrad is slower beyond {NOISE_S} s: {slower or 'none'}")
            print(f"== {label}: whole processes, all families (min of {args.process_runs}) ==")
            processes = time_processes(ct, mask, args.process_runs, families, folder)
            (w_i, c_i, m_i), (w_p, c_p, m_p) = processes["ildrad"], processes["PyRadiomics"]
            if args.pictologics_python:
                w, c, m = pictologics_process(args.pictologics_python, ct, mask, families)
                print(f"  process pictologics wall {w:8.2f} s  CPU {c:8.2f} s  peak RSS {m:7.0f} MiB; "
                      f"ratio to ildrad wall {w / w_i:.1f}x, CPU {c / c_i:.1f}x")
            print(f"  whole-process ratio: wall {w_p / w_i:.1f}x, CPU {c_p / c_i:.1f}x; "
                  f"peak memory ildrad/PyRadiomics {m_i / m_p:.2f}")
    print(f"\npeak RSS of this benchmark process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
