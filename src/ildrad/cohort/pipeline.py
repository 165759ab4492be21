"""The per-scan pipeline: read → lungs (segment, zones, QCT, flags) → PET where paired → radiomics.

:func:`process_scan` takes one :class:`~ildrad.cohort.runner.ScanTask` and returns the scan's row
(store grammar ``{group}__{region}__{image}__{feature}``, flags ``flag__{name}``, provenance and
``{stage}_seconds`` timings). It knows nothing of Dask. Which stages run is ``run.stages``; a
failing stage raises :class:`~ildrad.cohort.runner.ScanFailure` naming it. Masks and the QC
picture are kept beside the store (``masks/<scan_key>/``) for reports and DICOM export.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ildrad.errors import IldradError

__all__ = ["process_scan", "series_hash"]

T = TypeVar("T")


def series_hash(files: tuple[str, ...]) -> str:
    """SHA-256 (16 hex digits) of a series' file contents, in sorted file order."""
    digest = hashlib.sha256()
    for path in sorted(files):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


@contextmanager
def _stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    from ildrad.cohort.runner import ScanFailure

    started = time.perf_counter()
    try:
        yield
    except ScanFailure:
        raise
    except IldradError as err:
        raise ScanFailure(name, str(err)) from err
    except Exception as err:  # noqa: BLE001 - the stage and the cause go into the failure record
        raise ScanFailure(name, f"{type(err).__name__}: {err}") from err
    finally:
        timings[f"{name}_seconds"] = time.perf_counter() - started


def _timed(name: str, timings: dict[str, float], function: Callable[[], T]) -> T:
    with _stage(name, timings):
        return function()


def _radiomics_row(image, mask, config, group: str, region: str, image_name: str) -> dict[str, float]:
    """Store columns of one ROI's radiomics: filtered images get their own image part."""
    from ildrad.radiomics.extractor import extract

    settings = config.radiomics if hasattr(config, "radiomics") else config
    filters = sorted((spec.name for spec in settings.image_types), key=len, reverse=True)
    values = extract(image, mask, settings, label=None, source=f"{group} {region}")
    row = {}
    for tag, value in values.items():
        prefix = next((name for name in filters if tag.startswith(name + "_")), None)
        column_image, feature = (prefix, tag[len(prefix) + 1:]) if prefix else (image_name, tag)
        row[f"{group}__{region}__{column_image}__{feature}"] = float(value)
    return row


def _lung_row(analysis, masks_dir: Path | None, ct, settings) -> dict[str, Any]:
    row: dict[str, Any] = dict(analysis.features)
    row.update({f"flag__{name}": bool(flag) for name, flag in analysis.quality["flags"].items()})
    row.update({f"qct__lung__original__{name}": float(value)
                for name, (value, _unit) in analysis.quality["values"].items()
                if isinstance(value, int | float) and not isinstance(value, bool)})
    if analysis.stage is not None:
        row["qct__lung__original__goh_like_extensive"] = float(analysis.stage.stage == "extensive")
    if masks_dir is not None:
        from ildrad.lung.analysis import write_outputs

        write_outputs(analysis, ct, masks_dir, settings)
    return row


def process_scan(task, masks_root: Path | None = None, overrides_root: Path | None = None) -> dict[str, Any]:
    """Process one scan (see the module docstring); ``masks_root`` keeps masks per scan;
    ``overrides_root`` holds imported lung masks that replace the segmentation (:mod:`.overrides`)."""
    from ildrad.cohort.overrides import find_override
    from ildrad.io.dicom_series import read_ct_series, read_pet_series
    from ildrad.lung.analysis import analyse_lung_ct

    config = task.config
    stages = set(config.run.stages)
    timings: dict[str, float] = {}
    row: dict[str, Any] = {"modality": task.modality}
    row["series_hash"] = _timed("hash", timings, lambda: series_hash(task.files))
    masks_dir = masks_root / task.scan_key if masks_root is not None else None
    ct_files = task.files if task.modality == "CT" else task.ct_files
    ct = _timed("read", timings, lambda: read_ct_series(list(ct_files), settings=config.io))
    row.update({"image_slices": ct.shape[0], "image_spacing_z_mm": ct.spacing[0],
                "image_spacing_xy_mm": ct.spacing[2], "kernel": str(ct.metadata.get("kernel", ""))})
    analysis = None
    if "lungs" in stages:
        fvc = task.fvc_pct if task.fvc_pct is not None and not math.isnan(task.fvc_pct) else None
        # An imported, edited lung mask of the CT replaces the segmentation (ildrad import-seg).
        override = find_override(overrides_root, task.scan_key if task.modality == "CT" else task.ct_scan_key)
        if override is not None:
            row["lung_override_hash"] = override.sha256
        analysis = _timed("lungs", timings, lambda: analyse_lung_ct(
            ct, config.segment, fvc_pct=fvc, lungs_override=override.lungs if override else None))
        with _stage("lung_outputs", timings):
            row.update(_lung_row(analysis, masks_dir if task.modality == "CT" else None, ct, config.segment))
    if task.modality == "PT":
        from ildrad.pet.measure import measure_pet

        if analysis is None:
            from ildrad.cohort.runner import ScanFailure

            raise ScanFailure("pet", "PET metrics need the 'lungs' stage (run.stages)")
        series = _timed("read_pet", timings, lambda: read_pet_series(list(task.files), settings=config.io))
        measured = _timed("pet", timings, lambda: measure_pet(
            series, ct=ct, lungs=analysis.segmentation.lungs, zones=analysis.zones, settings=config.pet))
        row.update(measured.metrics)
        if "radiomics" in stages:
            from ildrad.pet.alignment import mask_onto_grid

            lungs_on_pet = mask_onto_grid(analysis.segmentation.lungs, measured.suv_native.grid)
            pet_config = _pet_radiomics_settings(config)
            row.update(_timed("pet_radiomics", timings, lambda: _radiomics_row(
                measured.suv_native, lungs_on_pet, pet_config, "petrad", "lung", "suv")))
    elif "radiomics" in stages and analysis is not None:
        row.update(_timed("radiomics", timings, lambda: _radiomics_row(
            ct, analysis.segmentation.lungs, config, "rad", "lung", "original")))
    row.update(timings)
    return row


def _pet_radiomics_settings(config):
    """The radiomics settings on SUV: fixed bin size (``pet.radiomics_bin_size_suv``) from 0,
    no HU re-segmentation, no resampling (the PET grid)."""
    from ildrad.radiomics.settings import (
        DiscretisationSettings,
        RadiomicsSettings,
        ResegmentSettings,
    )

    radiomics = config.radiomics.model_dump()
    radiomics.update(
        resample=None,
        round_input_intensities=False,
        resegment=ResegmentSettings().model_dump(),
        discretisation=DiscretisationSettings(method="fixed_bin_size", bin_size=config.pet.radiomics_bin_size_suv,
                                              lower_bound=0.0).model_dump(),
    )
    return RadiomicsSettings.model_validate(radiomics)
