"""Speed of the six IBSI texture families on a lung-sized ROI, side by side with PyRadiomics.

Run by hand (not a test)::

    .venv/bin/python benchmarks/texture_speed.py [--voxels 2000000] [--repeats 3] [--no-peer]

The ROI is two ellipsoids (a pair of lungs, about ``--voxels`` voxels in a bounding box about
2.3 times larger) filled with smoothed noise at lung density plus dense strands, binned at
25 HU (about 70-80 grey levels). Every family is timed on its own after a warm-up call
(JIT caches loaded), minimum of ``--repeats`` runs, for ildrad in the IBSI 3D configuration
(GLCM/GLRLM: 13 directions, averaged and merged) and for PyRadiomics' corresponding class
(GLCM, GLRLM, GLSZM, NGTDM, GLDM; PyRadiomics has no GLDZM) on the same grey levels
(binWidth 1 on the binned image, so both count the same matrices). Times are wall-clock and
CPU seconds of this process; differences under 0.05 s are noise on a shared machine.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
from scipy import ndimage

from ildrad.radiomics import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from ildrad.radiomics.texture_settings import TextureSettings

FAMILIES = {
    "glcm": (glcm, "RadiomicsGLCM"),
    "glrlm": (glrlm, "RadiomicsGLRLM"),
    "glszm": (glszm, "RadiomicsGLSZM"),
    "gldzm": (gldzm, None),
    "ngtdm": (ngtdm, "RadiomicsNGTDM"),
    "ngldm": (ngldm, "RadiomicsGLDM"),
}
PEER_MODULES = {
    "RadiomicsGLCM": "radiomics.glcm",
    "RadiomicsGLRLM": "radiomics.glrlm",
    "RadiomicsGLSZM": "radiomics.glszm",
    "RadiomicsNGTDM": "radiomics.ngtdm",
    "RadiomicsGLDM": "radiomics.gldm",
}


def synthetic_lungs(n_voxels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Binned grey levels (int32, 0 outside) and ROI of two lung-like ellipsoids."""
    rng = np.random.default_rng(seed)
    scale = (n_voxels / 2.0e6) ** (1 / 3)
    semi = np.array([57.0, 78.0, 53.0]) * scale  # (z, y, x) semi-axes of one lung, voxels
    shape = tuple(int(v) for v in np.ceil(np.array([2.1, 2.1, 4.8]) * semi))
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    centre = np.array(shape) / 2

    def ellipsoid(cx: float) -> np.ndarray:
        return (
            ((z - centre[0]) / semi[0]) ** 2
            + ((y - centre[1]) / semi[1]) ** 2
            + ((x - cx) / semi[2]) ** 2
        ) <= 1

    roi = ellipsoid(centre[2] - 1.2 * semi[2]) | ellipsoid(centre[2] + 1.2 * semi[2])
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 2.0)
    field /= field.std()
    hu = -820 + 120 * field + 35 * rng.standard_normal(shape).astype(np.float32)
    hu = np.clip(np.where(field > 2.2, hu + 900, hu), -1024, 1000)  # vessels, dense strands
    lowest = hu[roi].min()
    binned = np.where(roi, np.floor((hu - lowest) / 25).astype(np.int32) + 1, 0)
    box = ndimage.find_objects(roi.astype(np.uint8))[0]
    return np.ascontiguousarray(binned[box], dtype=np.int32), np.ascontiguousarray(roi[box])


def best_time(run, repeats: int) -> tuple[float, float]:
    """Minimum wall and CPU seconds over ``repeats`` calls (after one warm-up call)."""
    run()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def peer_runner(class_name: str, binned: np.ndarray, roi: np.ndarray):
    import importlib

    import SimpleITK as sitk

    cls = getattr(importlib.import_module(PEER_MODULES[class_name]), class_name)
    logging.getLogger("radiomics").setLevel(logging.ERROR)  # after import: radiomics sets it
    image = sitk.GetImageFromArray(binned.astype(np.float32))
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))

    def run() -> None:
        extractor = cls(image, mask, binWidth=1)
        extractor.enableAllFeatures()
        extractor.execute()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voxels", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="time ildrad only")
    args = parser.parse_args()

    binned, roi = synthetic_lungs(args.voxels)
    n_bins = int(binned.max())
    print(
        f"ROI {int(roi.sum()):,} voxels, bounding box {roi.shape} ({roi.size:,} voxels), "
        f"{n_bins} grey levels; min of {args.repeats} runs after warm-up"
    )
    settings = TextureSettings()  # 3D; GLCM/GLRLM averaged and merged over 13 directions
    header = (
        f"{'family':8s} {'ildrad wall':>11s} {'cpu':>7s} {'PyRadiomics wall':>17s} {'cpu':>7s}"
        f" {'ratio wall':>10s} {'cpu':>6s}"
    )
    print(header)
    print("-" * len(header))
    totals = np.zeros(4)  # ildrad wall, cpu (families PyRadiomics has), PyRadiomics wall, cpu
    all_six = np.zeros(2)
    for name, (module, peer_class) in FAMILIES.items():
        extra = {"morph_roi": roi} if module is gldzm else {}
        ours = best_time(
            lambda m=module, e=extra: m.features(binned, roi, n_bins, settings, **e), args.repeats
        )
        all_six += ours
        line = f"{name:8s} {ours[0]:11.3f} {ours[1]:7.3f}"
        if peer_class is not None and not args.no_peer:
            peer = best_time(peer_runner(peer_class, binned, roi), args.repeats)
            totals += (*ours, *peer)
            line += (
                f" {peer[0]:17.3f} {peer[1]:7.3f} {peer[0] / ours[0]:9.1f}x"
                f" {peer[1] / ours[1]:5.1f}x"
            )
        print(line, flush=True)
    print("-" * len(header))
    print(f"{'all six':8s} {all_six[0]:11.3f} {all_six[1]:7.3f}")
    if totals[2]:
        print(
            f"{'paired':8s} {totals[0]:11.3f} {totals[1]:7.3f} {totals[2]:17.3f} {totals[3]:7.3f}"
            f" {totals[2] / totals[0]:9.1f}x {totals[3] / totals[1]:5.1f}x"
            "  (the five families PyRadiomics has)"
        )


if __name__ == "__main__":
    main()
