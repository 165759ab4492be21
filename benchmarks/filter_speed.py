"""Whole-lung wavelet (8 sub-bands) + LoG (3 sigmas) filtering: ildrad vs PyRadiomics, side by side.

A synthetic chest CT (body, two textured lungs, HU values, int16 like a scanner's) and its lung
mask are built from a seed. PyRadiomics filters the whole image (``getWaveletImage`` coif1 level 1,
``getLoGImage`` sigma 1, 3, 5 mm), as its extractor does without resampling; ildrad computes the
same PyRadiomics images (``pyradiomics_filtered_images``) on the lung bounding box plus the
filters' reach, and, for reference, IBSI 2 filters (``apply_filter_in_mask_box``).

Each side runs in its own process: minimum wall time of ``--repeats`` runs (after one warm-up)
and peak resident memory above the process's state after loading the inputs. Prints ratios.

    .venv/bin/python benchmarks/filter_speed.py [--shape 160 512 512] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

SIGMAS_MM = [1.0, 3.0, 5.0]
SPACING = (1.5, 0.7, 0.7)


def synthetic_chest(shape: tuple[int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(CT in HU as int16, lung labels 1 right / 2 left) on a (z, y, x) grid with SPACING."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    z, y, x = np.ogrid[:nz, :ny, :nx]
    zc, yc, xc = (nz - 1) / 2, (ny - 1) / 2, (nx - 1) / 2
    body = ((y - yc) / (0.36 * ny)) ** 2 + ((x - xc) / (0.46 * nx)) ** 2 <= 1
    labels = np.zeros(shape, dtype=np.uint8)
    for label, side in ((1, -1), (2, 1)):
        lung = (
            ((z - zc) / (0.45 * nz)) ** 2
            + ((y - yc) / (0.27 * ny)) ** 2
            + ((x - xc - side * 0.2 * nx) / (0.15 * nx)) ** 2
        ) <= 1
        labels[lung] = label
    texture = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), 1.2) * 400
    ct = np.full(shape, -1000.0, dtype=np.float32)
    ct[np.broadcast_to(body, shape)] = 40.0
    ct[labels > 0] = -820.0
    ct += texture * (labels > 0) + rng.normal(scale=15, size=shape).astype(np.float32)
    return np.round(ct).astype(np.int16), labels


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_pyradiomics(ct: np.ndarray, labels: np.ndarray) -> None:
    import logging

    import SimpleITK as sitk
    from radiomics import imageoperations

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.GetImageFromArray(ct)
    image.SetSpacing(tuple(reversed(SPACING)))
    mask = sitk.GetImageFromArray((labels > 0).astype(np.uint8))
    mask.CopyInformation(image)
    for _, _name, _ in imageoperations.getWaveletImage(image, mask, wavelet="coif1"):
        pass
    for _, _name, _ in imageoperations.getLoGImage(image, mask, sigma=SIGMAS_MM):
        pass


def _run_ildrad_pyradiomics_types(ct: np.ndarray, labels: np.ndarray) -> None:
    from ildrad.image import Image, Mask
    from ildrad.radiomics.filters.pyradiomics_types import pyradiomics_filtered_images

    image = Image.from_array(ct, spacing=SPACING)
    mask = Mask(labels, image.grid)
    pyradiomics_filtered_images(image, "Wavelet", {"wavelet": "coif1"}, crop_to=mask)
    pyradiomics_filtered_images(image, "LoG", {"sigma": SIGMAS_MM}, crop_to=mask)


def _run_ildrad_ibsi(ct: np.ndarray, labels: np.ndarray) -> None:
    from pydantic import TypeAdapter

    from ildrad.image import Image, Mask
    from ildrad.radiomics.filters.crop import apply_filter_in_mask_box
    from ildrad.radiomics.filters.spec import ImageTypeList

    image = Image.from_array(ct, spacing=SPACING)
    mask = Mask(labels, image.grid)
    specs = [
        {"filter": "wavelet", "wavelet": "coif1", "subband": a + b + c, "boundary": "mirror"}
        for a in "LH"
        for b in "LH"
        for c in "LH"
    ] + [{"filter": "log", "sigma_mm": s, "boundary": "mirror"} for s in SIGMAS_MM]
    for spec in TypeAdapter(ImageTypeList).validate_python(specs):
        apply_filter_in_mask_box(image, mask, spec)


RUNNERS = {
    "pyradiomics": _run_pyradiomics,
    "ildrad (PyRadiomics types, cropped)": _run_ildrad_pyradiomics_types,
    "ildrad (IBSI 2 filters, cropped)": _run_ildrad_ibsi,
}


def _child(name: str, inputs: str, repeats: int, queue: mp.Queue) -> None:
    ct, labels = np.load(f"{inputs}/ct.npy"), np.load(f"{inputs}/labels.npy")
    RUNNERS[name](ct[:8, :64, :64], np.ones((8, 64, 64), dtype=np.uint8))  # imports, caches
    baseline = _peak_rss_mib()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        RUNNERS[name](ct, labels)
        times.append(time.perf_counter() - start)
    queue.put((min(times), _peak_rss_mib() - baseline))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(160, 512, 512), help="z y x voxels")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shape = tuple(args.shape)
    ct, labels = synthetic_chest(shape)
    zs, ys, xs = np.nonzero(labels)
    box = np.prod([np.ptp(a) + 1 for a in (zs, ys, xs)])
    print(
        f"synthetic chest {shape} voxels, spacing {SPACING} mm; "
        f"lung bounding box {box / ct.size:.0%} of the CT"
    )
    context = mp.get_context("spawn")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        inputs = str(Path(folder))
        np.save(f"{inputs}/ct.npy", ct)
        np.save(f"{inputs}/labels.npy", labels)
        del ct, labels
        for name in RUNNERS:
            queue: mp.Queue = context.Queue()
            process = context.Process(target=_child, args=(name, inputs, args.repeats, queue))
            process.start()
            results[name] = queue.get()
            process.join()
            seconds, mib = results[name]
            print(f"{name:38s} min {seconds:7.2f} s   peak +{mib:7.0f} MiB")
    ref_s, ref_mib = results["pyradiomics"]
    for name, (seconds, mib) in results.items():
        if name != "pyradiomics":
            print(
                f"{name:38s} {ref_s / seconds:5.1f}x faster, "
                f"memory {mib / max(ref_mib, 1):.2f}x of PyRadiomics"
            )


if __name__ == "__main__":
    main()
