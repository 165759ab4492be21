"""The per-scan lung stage: segmentation, zones, rind, QCT, ILD extent, SSc markers, stage, flags.

:func:`analyse_lung_ct` is what ``ildrad segment`` and the cohort runner call; :func:`write_outputs`
writes ``lungs.nii.gz``, ``zones.nii.gz``, ``rind.nii.gz`` (CT grid), ``qct.json`` and ``qc.png``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from ildrad import __version__
from ildrad.image import Image, Mask
from ildrad.lung.density import feature_name, qct_density
from ildrad.lung.extent import EXTENT_CLASSES, ExtentEstimate, estimate_ild_extent
from ildrad.lung.markers import OesophagusMeasure, measure_oesophagus
from ildrad.lung.pulmonary_artery import PaAoMeasure, measure_pa_ao
from ildrad.lung.quality import quality_report
from ildrad.lung.segmentation import LungSegmentation, far_from_ribs_fraction, segment_lungs
from ildrad.lung.settings import SegmentSettings
from ildrad.lung.staging import GohStage, goh_like_stage
from ildrad.lung.zones import lung_zones, rind_core

__all__ = ["LungAnalysis", "analyse_lung_ct", "qc_title", "write_outputs"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LungAnalysis:
    """Everything the lung stage found for one CT."""

    segmentation: LungSegmentation
    zones: Mask
    rind: Mask
    extent: ExtentEstimate
    oesophagus: OesophagusMeasure
    pa_ao: PaAoMeasure
    features: dict[str, float]  #: store column name -> value
    units: dict[str, str]  #: store column name -> unit
    quality: dict[str, Any]
    stage: GohStage | None
    seconds: dict[str, float]


def analyse_lung_ct(
    ct: Image,
    settings: SegmentSettings | None = None,
    fvc_pct: float | None = None,
    visual_extent_pct: float | None = None,
    lungs_override: Mask | None = None,
) -> LungAnalysis:
    """Run the lung stage on one CT in HU (``fvc_pct`` / ``visual_extent_pct`` for the stage).

    ``lungs_override`` (1 right, 2 left, on the CT grid; e.g. an imported edited SEG) replaces the
    automatic lung mask; body and airways still come from the automatic segmentation.
    """
    settings = settings or SegmentSettings()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    segmentation = segment_lungs(ct, settings)
    if lungs_override is not None:
        # the automatic mask's rib gaps say nothing about the override: measure its own
        info = {**segmentation.info, "lungs_source": "override",
                "far_from_ribs_fraction": far_from_ribs_fraction(ct, lungs_override, settings)}
        segmentation = dataclasses.replace(segmentation, lungs=lungs_override, info=info)
    seconds["segment_seconds"] = time.perf_counter() - start
    lungs = segmentation.lungs
    start = time.perf_counter()
    zones = lung_zones(lungs)
    rind = rind_core(lungs, settings.rind_mm)
    seconds["zones_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    features = qct_density(ct, lungs, zones, rind, settings)
    units = {name: _unit_of(name) for name in features}
    extent = estimate_ild_extent(ct, lungs)
    for name, volume in extent.volumes_ml.items():
        features[feature_name("lung", f"{name}_volume_ml")] = volume
        units[feature_name("lung", f"{name}_volume_ml")] = "mL"
    features[feature_name("lung", "ild_extent_fraction")] = extent.ild_fraction
    units[feature_name("lung", "ild_extent_fraction")] = "1"
    seconds["qct_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    oesophagus = measure_oesophagus(ct, lungs, segmentation.body, segmentation.airways)
    features[feature_name("oesophagus", "air_volume_ml")] = oesophagus.volume_ml
    units[feature_name("oesophagus", "air_volume_ml")] = "mL"
    features[feature_name("oesophagus", "air_max_diameter_mm")] = oesophagus.max_diameter_mm
    units[feature_name("oesophagus", "air_max_diameter_mm")] = "mm"
    pa_ao = measure_pa_ao(ct, lungs, segmentation.body, segmentation.airways)
    for region, feature, value in (
        ("pulmonary_artery", "diameter_mm", pa_ao.pa_diameter_mm),
        ("aorta", "ascending_diameter_mm", pa_ao.aorta_diameter_mm),
        ("pulmonary_artery", "pa_ao_ratio", pa_ao.ratio),
    ):
        features[feature_name(region, feature)] = value
        units[feature_name(region, feature)] = "1" if feature == "pa_ao_ratio" else "mm"
    quality = quality_report(ct, lungs, segmentation.body, segmentation.info, pa_ao.problem)
    seconds["markers_seconds"] = time.perf_counter() - start
    extent_pct = 100.0 * extent.ild_fraction
    stage = None
    if not math.isnan(extent_pct) or visual_extent_pct is not None:
        stage = goh_like_stage(
            None if math.isnan(extent_pct) else extent_pct, fvc_pct, visual_extent_pct,
            settings.goh_fvc_threshold_pct,
        )
    return LungAnalysis(segmentation, zones, rind, extent, oesophagus, pa_ao, features, units, quality, stage, seconds)


def _unit_of(name: str) -> str:
    from ildrad.lung.density import DENSITY_FEATURES

    return DENSITY_FEATURES[name.rsplit("__", 1)[1]]


def qc_title(flags: dict[str, bool]) -> str:
    """Title of the QC picture: what it shows and the quality flags raised (review by exception
    starts from the picture)."""
    raised = [name for name, flag in flags.items() if flag]
    return (f"ildrad {__version__} lungs, zones, oesophagus, PA/Ao; "
            + (f"flags: {', '.join(raised)}" if raised else "no quality flag"))


def write_outputs(analysis: LungAnalysis, ct: Image, out_dir: str | Path, settings: SegmentSettings | None = None) -> dict[str, Path]:
    """Write the lung stage's files into ``out_dir`` and return their paths by name."""
    from ildrad.io.volume_files import write_mask
    from ildrad.lung.qc_picture import write_qc_picture

    settings = settings or SegmentSettings()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "lungs": write_mask(analysis.segmentation.lungs, out / "lungs.nii.gz"),
        "zones": write_mask(analysis.zones, out / "zones.nii.gz"),
        "rind": write_mask(analysis.rind, out / "rind.nii.gz"),
    }
    paths["qc"] = write_qc_picture(
        out / "qc.png", ct, analysis.segmentation.lungs, analysis.zones,
        analysis.oesophagus.lumen, analysis.oesophagus.measurement_slice, analysis.pa_ao,
        title=qc_title(analysis.quality["flags"]),
    )
    document = {
        "ildrad_version": __version__,
        "settings": settings.model_dump(mode="json"),
        "features": {
            name: {"value": _json_number(value), "unit": analysis.units[name]}
            for name, value in analysis.features.items()
        },
        "quality": {
            "values": {name: {"value": _json_number(v), "unit": u} for name, (v, u) in analysis.quality["values"].items()},
            "flags": {f"flag__{name}": flag for name, flag in analysis.quality["flags"].items()},
        },
        "stage": None if analysis.stage is None else {
            "name": analysis.stage.name,
            "stage": analysis.stage.stage,
            "extent_pct": analysis.stage.extent_pct,
            "extent_source": analysis.stage.extent_source,
            "fvc_pct": analysis.stage.fvc_pct,
            "rule": analysis.stage.rule,
        },
        "markers": {
            "oesophagus_measurement_slice": analysis.oesophagus.measurement_slice,
            "oesophagus_qc_picture": "qc.png",
            "pa_ao_measurement_slice": analysis.pa_ao.measurement_slice,
            "pa_ao_problem": analysis.pa_ao.problem,
            "pa_ao_sections": {
                name: None if section is None else {"centre_index_yx": section.centre, "chord_index_yx": section.chord,
                                                    "diameter_mm": section.diameter_mm}
                for name, section in (("pulmonary_artery", analysis.pa_ao.pulmonary_artery), ("aorta", analysis.pa_ao.aorta))
            },
        },
        "segmentation": analysis.segmentation.info,
        "extent_classes": EXTENT_CLASSES,
        "seconds": analysis.seconds,
    }
    paths["qct"] = out / "qct.json"
    paths["qct"].write_text(json.dumps(document, indent=1, default=_json_default))
    return paths


def _json_number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
