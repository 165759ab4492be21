"""DICOM export of a workspace's results through highdicom: SEG of lungs, zones and rind, and a
Comprehensive 3D SR measurement report (TID 1500) referencing the segments and the source series.

Layout: ``OUT/<patient_key>/<scan_key>/{lungs,zones,rind}_seg.dcm`` and ``qct_sr.dcm``.

Pseudonymous by default: the patient module carries the pseudonymous ``patient_key`` as name and
ID, and no birth date, accession number, institution or physician (type 2 attributes are left
empty). The objects reference the source Study, Series and SOP Instance UIDs (UIDs are not patient
identifiers in ildrad's design, and keeping them lets a viewer place the objects on the source
images); the new objects' own UIDs are derived deterministically from the scan key, so exporting
twice gives the same UIDs. ``identified=True`` copies the source headers unchanged (read from the
files listed in ``WORKSPACE/private/``) to return results to a PACS; the export's README says so.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ildrad import __version__
from ildrad.errors import GridMismatchError, InputError
from ildrad.image import IDENTIFYING_KEYS, Mask

__all__ = ["ExportSummary", "SEG_SEGMENTS", "SR_MEASUREMENTS", "export_workspace", "export_scan"]

log = logging.getLogger(__name__)

_SCT = "SCT"
_RIGHT_LUNG = ("3341006", _SCT, "Right lung")
_LEFT_LUNG = ("44029006", _SCT, "Left lung")
_LUNG = ("39607008", _SCT, "Lung")
#: Segments per exported mask file: label in the NIfTI -> (segment label, anatomic code).
SEG_SEGMENTS: dict[str, dict[int, tuple[str, tuple[str, str, str]]]] = {
    "lungs": {1: ("right lung", _RIGHT_LUNG), 2: ("left lung", _LEFT_LUNG)},
    "zones": {
        11: ("right upper zone", _RIGHT_LUNG),
        12: ("right middle zone", _RIGHT_LUNG),
        13: ("right lower zone", _RIGHT_LUNG),
        21: ("left upper zone", _LEFT_LUNG),
        22: ("left middle zone", _LEFT_LUNG),
        23: ("left lower zone", _LEFT_LUNG),
    },
    "rind": {1: ("lung rind", _LUNG), 2: ("lung core", _LUNG)},
}
_REGION_OF_SEGMENT = {
    ("lungs", 1): "right",
    ("lungs", 2): "left",
    ("zones", 11): "right_upper",
    ("zones", 12): "right_middle",
    ("zones", 13): "right_lower",
    ("zones", 21): "left_upper",
    ("zones", 22): "left_middle",
    ("zones", 23): "left_lower",
    ("rind", 1): "rind",
    ("rind", 2): "core",
}
#: Store feature (``qct__{region}__original__{name}``) -> (code value, meaning, UCUM unit, unit meaning).
#: Volume uses SNOMED CT; the density measures have no standard code and use ildrad's private
#: coding scheme ``99ILDRAD``.
SR_MEASUREMENTS: dict[str, tuple[str, str, str, str, str]] = {
    "volume_ml": ("118565006", _SCT, "Volume", "ml", "milliliter"),
    "mld_hu": ("mld_hu", "99ILDRAD", "Mean lung density", "[hnsf'U]", "Hounsfield unit"),
    "haa_fraction": ("haa_fraction", "99ILDRAD", "High attenuation area fraction", "1", "no units"),
    "laa_fraction": (
        "laa_fraction",
        "99ILDRAD",
        "Low attenuation area fraction",
        "1",
        "no units",
    ),
    "ild_extent_fraction": (
        "ild_extent_fraction",
        "99ILDRAD",
        "ILD extent fraction (QCT)",
        "1",
        "no units",
    ),
}
_TYPE2_BLANKED = ("PatientBirthDate", "AccessionNumber", "ReferringPhysicianName", "StudyID")


@dataclasses.dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_workspace` wrote."""

    out: Path
    scans: int
    files: list[Path]
    identified: bool
    skipped: dict[str, str]


def _uid(*parts: str) -> str:
    from pydicom.uid import generate_uid

    return generate_uid(prefix=None, entropy_srcs=["ildrad", __version__, *parts])


def _code(code: tuple[str, str, str]):
    import highdicom as hd

    return hd.sr.CodedConcept(*code)


def _source_datasets(files: list[str], patient_key: str, identified: bool) -> list:
    import pydicom

    datasets = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    datasets = [d for d in datasets if "ImagePositionPatient" in d]
    if not identified:
        for ds in datasets:
            for keyword in IDENTIFYING_KEYS:
                if keyword in ds:
                    delattr(ds, keyword)
            for keyword in _TYPE2_BLANKED:
                setattr(ds, keyword, "")
            ds.PatientName = f"{patient_key}^"  # one component: the family-name slot
            ds.PatientID = patient_key
            ds.PatientIdentityRemoved = "YES"
            ds.DeidentificationMethod = "ildrad pseudonymous export: patient_key as name and ID"
    return datasets


def _slice_order(datasets: list, mask: Mask) -> list[int]:
    """Array slice index of each source dataset (checked against the mask's grid)."""
    grid = mask.grid
    direction = grid.direction_matrix
    origin = np.asarray(grid.origin, float)
    indices = []
    for ds in datasets:
        offset = np.asarray(ds.ImagePositionPatient, float) - origin
        position = offset @ direction / np.asarray(grid.spacing, float)
        k = int(round(position[0]))
        if (
            abs(position[0] - k) > 0.05
            or np.abs(position[1:]).max() > 0.05
            or not 0 <= k < grid.shape[0]
        ):
            raise GridMismatchError(
                f"source slice at {list(ds.ImagePositionPatient)} is not slice of the "
                f"workspace mask grid (offset in voxels {np.round(position, 3).tolist()})"
            )
        indices.append(k)
    if sorted(indices) != list(range(grid.shape[0])):
        raise GridMismatchError(
            f"the source series has {len(datasets)} slices covering {len(set(indices))} of the "
            f"mask's {grid.shape[0]} slices"
        )
    return indices


def _segmentation(
    kind: str, mask: Mask, sources: list, order: list[int], scan_key: str, identified: bool
):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    segments = SEG_SEGMENTS[kind]
    present = [label for label in segments if np.any(mask.array == label)]
    if not present:
        raise InputError(f"{kind} mask of scan {scan_key} is empty: nothing to export")
    stack = np.stack([mask.array[order] == label for label in present], axis=-1).astype(np.uint8)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=segments[label][0],
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=_code(segments[label][1]),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=hd.AlgorithmIdentificationSequence(
                name="ildrad", version=__version__, family=codes.DCM.ArtificialIntelligence
            ),
        )
        for number, label in enumerate(present, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=stack,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=_uid(scan_key, kind, "series", str(identified)),
        series_number=900 + list(SEG_SEGMENTS).index(kind),
        sop_instance_uid=_uid(scan_key, kind, str(identified)),
        instance_number=1,
        manufacturer="ildrad",
        manufacturer_model_name="ildrad",
        software_versions=__version__,
        device_serial_number="0",
        series_description=f"ildrad {kind}",
        omit_empty_frames=False,
    )
    return seg, {label: number for number, label in enumerate(present, start=1)}


def _measurement_report(row: pd.Series, segs: dict, numbers: dict, sources: list, scan_key: str):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    groups = []
    series_uid = sources[0].SeriesInstanceUID
    for (kind, label), region in _REGION_OF_SEGMENT.items():
        if kind not in segs or label not in numbers[kind]:
            continue
        measurements = []
        for name, (value_code, scheme, meaning, unit, unit_meaning) in SR_MEASUREMENTS.items():
            value = row.get(f"qct__{region}__original__{name}")
            if value is None or not math.isfinite(float(value)):
                continue
            measurements.append(
                hd.sr.Measurement(
                    name=hd.sr.CodedConcept(value_code, scheme, meaning),
                    value=float(value),
                    unit=hd.sr.CodedConcept(unit, "UCUM", unit_meaning),
                )
            )
        if not measurements:
            continue
        seg = segs[kind]
        referenced = hd.sr.ReferencedSegment(
            sop_class_uid=seg.SOPClassUID,
            sop_instance_uid=seg.SOPInstanceUID,
            segment_number=numbers[kind][label],
            source_series=hd.sr.SourceSeriesForSegmentation(series_uid),
        )
        groups.append(
            hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(
                    uid=_uid(scan_key, region, "tracking"), identifier=f"{region} ({scan_key})"
                ),
                referenced_segment=referenced,
                finding_type=_code(SEG_SEGMENTS[kind][label][1]),
                measurements=measurements,
            )
        )
    if not groups:
        raise InputError(f"scan {scan_key}: no QCT measurement in the feature store to report")
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=_uid("device"), name="ildrad", manufacturer_name="ildrad", model_name=__version__
        ),
    )
    context = hd.sr.ObservationContext(observer_device_context=observer)
    return hd.sr.MeasurementReport(
        observation_context=context,
        procedure_reported=hd.sr.CodedConcept("25045-6", "LN", "CT unspecified body region"),
        imaging_measurements=groups,
    )


def export_scan(
    scan_key: str,
    patient_key: str,
    files: list[str],
    masks_dir: Path,
    row: pd.Series,
    out: Path,
    identified: bool = False,
) -> list[Path]:
    """Write the SEGs and the SR of one CT scan into ``out`` and return the paths."""
    import highdicom as hd

    from ildrad.io.volume_files import read_mask

    sources = _source_datasets(files, patient_key, identified)
    if not sources:
        raise InputError(f"scan {scan_key}: no image slice among its source files")
    out.mkdir(parents=True, exist_ok=True)
    segs, numbers, written = {}, {}, []
    order = None
    for kind in SEG_SEGMENTS:
        path = masks_dir / f"{kind}.nii.gz"
        if not path.is_file():
            log.warning("scan %s: no %s mask to export", scan_key, kind)
            continue
        mask = read_mask(path)
        order = order or _slice_order(sources, mask)
        segs[kind], numbers[kind] = _segmentation(kind, mask, sources, order, scan_key, identified)
        written.append(out / f"{kind}_seg.dcm")
        segs[kind].save_as(written[-1])
    report = _measurement_report(row, segs, numbers, sources, scan_key)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[*sources, *segs.values()],
        content=report,
        series_instance_uid=_uid(scan_key, "sr", "series", str(identified)),
        series_number=910,
        sop_instance_uid=_uid(scan_key, "sr", str(identified)),
        instance_number=1,
        manufacturer="ildrad",
        series_description="ildrad QCT measurement report",
        is_complete=True,
        is_final=False,
        is_verified=False,
    )
    written.append(out / "qct_sr.dcm")
    sr.save_as(written[-1])
    return written


def _readme(identified: bool) -> str:
    if identified:
        return (
            "IDENTIFIED export written by ildrad: these DICOM objects carry the source images' patient "
            "name, ID, birth date and study identifiers, re-read from the workspace's private files, for "
            "returning results to a PACS. Handle them as patient data.\n"
        )
    return (
        "Pseudonymous export written by ildrad: patient name and ID are the pseudonymous patient_key; no birth "
        "date, accession number, institution or physician. The objects reference the source Study, Series "
        "and SOP Instance UIDs so that viewers place them on the source images.\n"
    )


def export_workspace(
    workspace: str | Path,
    out: str | Path,
    identified: bool = False,
    scan_keys: list[str] | None = None,
) -> ExportSummary:
    """Export SEG + SR of every analysed CT scan (or of ``scan_keys``) of ``workspace`` into ``out``."""
    from ildrad.cohort.index import PRIVATE_SERIES_FILE
    from ildrad.cohort.keys import PRIVATE_DIR
    from ildrad.cohort.store import load_features
    from ildrad.models.workflow import load_scan_tables

    workspace, out = Path(workspace), Path(out)
    ct, _ = load_scan_tables(workspace, need_features=False)
    features = load_features(workspace).set_index("scan_key")
    private = pd.read_parquet(workspace / PRIVATE_DIR / PRIVATE_SERIES_FILE).set_index("scan_key")
    wanted = ct if scan_keys is None else ct[ct.scan_key.isin(scan_keys)]
    if scan_keys is not None and len(wanted) < len(set(scan_keys)):
        missing = sorted(set(scan_keys) - set(wanted.scan_key))
        raise InputError(f"{workspace}: scan key(s) {missing} are not CT scans of the manifest")
    masks_root = sorted((workspace / "store").glob("*/masks"), key=lambda p: p.stat().st_mtime)
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.txt").write_text(_readme(identified))
    written, skipped = [], {}
    for scan in wanted.itertuples():
        masks_dir = next(
            (
                root / scan.scan_key
                for root in reversed(masks_root)
                if (root / scan.scan_key).is_dir()
            ),
            None,
        )
        if masks_dir is None or scan.scan_key not in features.index:
            skipped[scan.scan_key] = (
                "no masks or feature row (failed, not run, or run.keep_masks false)"
            )
            continue
        files = list(private.loc[scan.scan_key, "files"])
        written += export_scan(
            scan.scan_key,
            scan.patient_key,
            files,
            masks_dir,
            features.loc[scan.scan_key],
            out / scan.patient_key / scan.scan_key,
            identified,
        )
    if identified:
        log.warning(
            "identified DICOM export in %s: patient identifiers copied from the source headers", out
        )
    return ExportSummary(out, len(wanted) - len(skipped), written, identified, skipped)
