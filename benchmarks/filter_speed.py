"""Whole-lung wavelet (8 sub-bands) + LoG (3 sigmas) radiomics: ildrad vs PyRadiomics, side by side.

A synthetic chest CT (body, two textured lungs, HU values, int16 like a scanner's) and its lung
mask are built from a seed. Compared, each in its own process:

* extraction (default): PyRadiomics' ``RadiomicsFeatureExtractor`` with
  ``imageType: {Wavelet: {}, LoG: {sigma: [1, 3, 5]}}``, ``binWidth: 25`` and every default
  feature class (shape once on the original, the other classes on the 11 derived images), against
  ildrad's PyRadiomics-compatible mode (``extract_pyradiomics``, the engine of
  ``ildrad extract --pyradiomics-params``) with the same parameters (names and values compared:
  maximum relative difference printed), and ildrad's own IBSI mode (``radiomics.image_types``:
  8 coif1 sub-bands + 3 LoG, IBSI 2 filters, the texture and intensity families);
* filters (``--part filters``): the derived images only (PyRadiomics' ``getWaveletImage`` and
  ``getLoGImage`` on the whole CT, ildrad's ``pyradiomics_derived_arrays`` and IBSI 2 filters
  on the lung bounding box plus the filters' reach).

Minimum wall time of ``--repeats`` runs after one warm-up on a small crop (imports, JIT
caches), and peak resident memory above the process's state after loading the inputs.

    .venv/bin/python benchmarks/filter_speed.py [--shape 160 512 512] [--repeats 3]
        [--peer-repeats N] [--part extraction|filters|both]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SIGMAS_MM = [1.0, 3.0, 5.0]
SPACING = (1.5, 0.7, 0.7)
PYRADIOMICS_PARAMS: dict[str, Any] = {
    "imageType": {"Wavelet": {}, "LoG": {"sigma": SIGMAS_MM}},
    "setting": {"binWidth": 25},
}
#: ildrad's own mode: the intensity and texture families (morphology and its Moran/Geary indices
#: are timed by benchmarks/radiomics_whole_lung.py, not here).
IBSI_FAMILIES = (
    "intensity_stats", "intensity_histogram", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm",
)


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


def _sitk_pair(ct: np.ndarray, labels: np.ndarray):  # noqa: ANN202 - SimpleITK images
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(ct)
    image.SetSpacing(tuple(reversed(SPACING)))
    mask = sitk.GetImageFromArray((labels > 0).astype(np.uint8))
    mask.CopyInformation(image)
    return image, mask


# --- extraction ---------------------------------------------------------------------------------


def _extract_pyradiomics(ct: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    import logging

    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(PYRADIOMICS_PARAMS)
    result = extractor.execute(*_sitk_pair(ct, labels))
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


def _extract_ildrad_compat(ct: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from ildrad.radiomics.pyradiomics_compat import extract_pyradiomics, params_from_mapping

    params = params_from_mapping(PYRADIOMICS_PARAMS)
    return extract_pyradiomics(ct, (labels > 0).astype(np.uint8), SPACING, params)


def _ibsi_filters() -> list[dict[str, Any]]:
    return [
        {"filter": "wavelet", "wavelet": "coif1", "subband": a + b + c, "boundary": "mirror"}
        for a in "LH"
        for b in "LH"
        for c in "LH"
    ] + [{"filter": "log", "sigma_mm": s, "boundary": "mirror"} for s in SIGMAS_MM]


def _extract_ildrad_ibsi(ct: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from ildrad.image import Image
    from ildrad.radiomics.extractor import extract
    from ildrad.radiomics.settings import RadiomicsSettings

    settings = RadiomicsSettings.model_validate(
        {"families": IBSI_FAMILIES, "image_types": _ibsi_filters()}
    )
    return extract(Image.from_array(ct, spacing=SPACING), labels > 0, settings)


# --- filters only -------------------------------------------------------------------------------


def _filter_pyradiomics(ct: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    import logging

    from radiomics import imageoperations

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image, mask = _sitk_pair(ct, labels)
    for _ in imageoperations.getWaveletImage(image, mask, wavelet="coif1"):
        pass
    for _ in imageoperations.getLoGImage(image, mask, sigma=SIGMAS_MM):
        pass
    return {}


def _filter_ildrad_compat(ct: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from ildrad.radiomics.filters.pyradiomics_types import pyradiomics_derived_arrays

    inside = np.nonzero(labels)
    box = tuple(slice(int(a.min()), int(a.max()) + 1) for a in inside)
    pyradiomics_derived_arrays(ct, SPACING, "Wavelet", {"wavelet": "coif1"}, box)
    pyradiomics_derived_arrays(ct, SPACING, "LoG", {"sigma": SIGMAS_MM}, box)
    return {}


def _filter_ildrad_ibsi(ct: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from pydantic import TypeAdapter

    from ildrad.image import Image, Mask
    from ildrad.radiomics.filters.crop import apply_filter_in_mask_box
    from ildrad.radiomics.filters.spec import ImageTypeList

    image = Image.from_array(ct, spacing=SPACING)
    mask = Mask(labels, image.grid)
    for spec in TypeAdapter(ImageTypeList).validate_python(_ibsi_filters()):
        apply_filter_in_mask_box(image, mask, spec)
    return {}


RUNNERS = {
    "extraction": {
        "pyradiomics": _extract_pyradiomics,
        "ildrad --pyradiomics-params": _extract_ildrad_compat,
        "ildrad IBSI image_types": _extract_ildrad_ibsi,
    },
    "filters": {
        "pyradiomics": _filter_pyradiomics,
        "ildrad PyRadiomics types": _filter_ildrad_compat,
        "ildrad IBSI 2 filters": _filter_ildrad_ibsi,
    },
}


def _child(part: str, name: str, inputs: str, repeats: int, queue: mp.Queue) -> None:
    try:
        ct, labels = np.load(f"{inputs}/ct.npy"), np.load(f"{inputs}/labels.npy")
        nz, ny, nx = ct.shape
        z, y, x = nz // 2, ny // 2, int(0.3 * nx)  # inside the right lung
        piece = (slice(z - 6, z + 6), slice(y - 16, y + 16), slice(x - 16, x + 16))
        warm = np.zeros((12, 32, 32), dtype=np.uint8)
        warm[2:10, 4:28, 4:28] = 1
        RUNNERS[part][name](np.ascontiguousarray(ct[piece]), warm)  # imports, JIT caches
        baseline = _peak_rss_mib()
        times = []
        features: dict[str, float] = {}
        for _ in range(repeats):
            start = time.perf_counter()
            features = RUNNERS[part][name](ct, labels)
            times.append(time.perf_counter() - start)
        queue.put((min(times), _peak_rss_mib() - baseline, features))
    except BaseException as err:
        queue.put(err)
        raise


def _agreement(ours: dict[str, float], reference: dict[str, float]) -> str:
    if set(ours) != set(reference):
        return f"NAMES DIFFER ({len(set(ours) ^ set(reference))} not shared)"
    relative = [
        abs(ours[k] - v) / abs(v) if v != 0 else abs(ours[k]) for k, v in reference.items()
    ]
    worst = int(np.argmax(relative))
    return (
        f"{len(reference)} features, same names; max relative difference "
        f"{relative[worst]:.1e} ({list(reference)[worst]}), "
        f"{sum(r > 1e-4 for r in relative)} above 1e-4"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(160, 512, 512), help="z y x voxels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--peer-repeats", type=int, default=None,
        help="timed PyRadiomics runs (default --repeats; a full-size extraction takes PyRadiomics "
        "over an hour per run on a shared 2-core machine)",
    )
    parser.add_argument("--part", choices=("extraction", "filters", "both"), default="extraction")
    args = parser.parse_args()
    shape = tuple(args.shape)
    ct, labels = synthetic_chest(shape)
    zs, ys, xs = np.nonzero(labels)
    box = np.prod([np.ptp(a) + 1 for a in (zs, ys, xs)])
    print(
        f"synthetic chest {shape} voxels, spacing {SPACING} mm; {len(zs)} lung voxels, "
        f"lung bounding box {box / ct.size:.0%} of the CT; {args.repeats} timed runs each"
        + (f" ({args.peer_repeats} for PyRadiomics)" if args.peer_repeats is not None else "")
    )
    context = mp.get_context("spawn")
    parts = ("extraction", "filters") if args.part == "both" else (args.part,)
    with tempfile.TemporaryDirectory() as folder:
        inputs = str(Path(folder))
        np.save(f"{inputs}/ct.npy", ct)
        np.save(f"{inputs}/labels.npy", labels)
        del ct, labels
        for part in parts:
            print(f"-- {part}")
            results = {}
            for name in RUNNERS[part]:
                queue: mp.Queue = context.Queue()
                repeats = args.repeats
                if name == "pyradiomics" and args.peer_repeats is not None:
                    repeats = args.peer_repeats
                process = context.Process(target=_child, args=(part, name, inputs, repeats, queue))
                process.start()
                results[name] = queue.get()
                process.join()
                if isinstance(results[name], BaseException):
                    raise SystemExit(f"{name} failed: {results[name]!r}")
                seconds, mib, features = results[name]
                count = f"{len(features)} features" if features else ""
                print(f"{name:30s} min {seconds:8.2f} s   peak +{mib:7.0f} MiB   {count}")
            ref_s, ref_mib, ref_features = results["pyradiomics"]
            for name, (seconds, mib, features) in results.items():
                if name == "pyradiomics":
                    continue
                print(
                    f"{name:30s} {ref_s / seconds:5.1f}x faster, "
                    f"peak memory {mib / max(ref_mib, 1):.2f}x PyRadiomics'"
                )
                if part == "extraction" and "pyradiomics" in name:
                    print(f"{'':30s} {_agreement(features, ref_features)}")


if __name__ == "__main__":
    main()
