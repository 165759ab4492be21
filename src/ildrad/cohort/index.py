"""Index a DICOM tree: group files into series without reading pixel data, and choose scans.

``index_tree`` walks a folder of any depth (PACS exports, nested studies, DICOMDIR, non-DICOM
files), reads each file's header up to the pixel data, groups files by SeriesInstanceUID (copies
of one instance, same SOPInstanceUID, counted once) and describes each series. A CT series
*qualifies* for analysis when it is an axial CT image volume (not a localizer, not a dose report
or secondary capture) with at least ``min_slices`` distinct, evenly spaced positions and slices no
thicker than ``max_slice_thickness_mm``; otherwise the reason is recorded.

One CT series per study is then *chosen* by this rule (``SeriesSelection``): preferred patient
position (supine first), inspiratory before expiratory (series description), thinnest slices,
the kernel preference list, most slices, then the series UID for a stable order. A PET series
qualifies when it has enough slices, and is paired with the chosen CT of its own study that
shares its FrameOfReferenceUID (the low-dose CT of the PET/CT).

The public table (``series.parquet``) holds keyed hashes only; identifiers and file paths go to
``private/series_paths.parquet``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydicom
from pydicom.errors import InvalidDicomError

from ildrad.cohort.keys import PRIVATE_DIR, Keyer
from ildrad.cohort.settings import SeriesSelection
from ildrad.errors import InputError
from ildrad.image import IDENTIFYING_KEYS

__all__ = ["SeriesIndex", "index_tree", "read_series_table"]

log = logging.getLogger(__name__)

SERIES_FILE = "series.parquet"
PRIVATE_SERIES_FILE = "series_paths.parquet"
PRIVATE_BAD_FILES = "unreadable_files.parquet"
#: Every identifying header value met while indexing (for the identifier scan of exports).
PRIVATE_IDENTIFIERS = "identifiers.parquet"

_DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
_IMAGE_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.128": "PET Image Storage",
    "1.2.840.10008.5.1.4.1.1.130": "Enhanced PET Image Storage",
}
_HEADER_TAGS = [
    "SOPClassUID", "SOPInstanceUID", "Modality", "PatientID", "StudyInstanceUID", "SeriesInstanceUID",
    "StudyDate", "SeriesDate", "SeriesDescription", "SeriesNumber", "ImageType", "SliceThickness",
    "ConvolutionKernel", "Manufacturer", "ManufacturerModelName", "PatientPosition", "ContrastBolusAgent",
    "ImagePositionPatient", "ImageOrientationPatient", "FrameOfReferenceUID", "NumberOfFrames",
    "MediaStorageSOPClassUID", "BodyPartExamined", "Units",
]
_IDENTIFYING = sorted(IDENTIFYING_KEYS)


@dataclasses.dataclass
class _SeriesAccumulator:
    first: pydicom.Dataset
    files: list[str] = dataclasses.field(default_factory=list)
    instances: set[str] = dataclasses.field(default_factory=set)
    positions: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)
    frames: int = 0


@dataclasses.dataclass(frozen=True)
class SeriesIndex:
    """Result of indexing: the public table, the private mapping and unreadable files."""

    series: pd.DataFrame
    private: pd.DataFrame
    unreadable: pd.DataFrame


def _iter_files(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def _has_dicm_preamble(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def _read_header(path: Path) -> pydicom.Dataset | None | str:
    """The header (None for a non-DICOM file, a message for an unreadable DICOM file)."""
    preamble = _has_dicm_preamble(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=not preamble)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as err:
        return f"unreadable DICOM ({type(err).__name__}: {err})" if preamble else None
    for warning in caught:  # pydicom's guesses about a file it was asked to probe
        log.debug("%s: %s", path, warning.message)
    if "SOPClassUID" not in ds and "SeriesInstanceUID" not in ds:
        return "DICOM preamble but no SOP class nor series" if preamble else None
    return ds


def _text(ds: pydicom.Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value or "").strip()


def _float_or_nan(ds: pydicom.Dataset, keyword: str) -> float:
    try:
        return float(ds.get(keyword))
    except (TypeError, ValueError):
        return float("nan")


def _orientation(ds: pydicom.Dataset) -> str:
    iop = ds.get("ImageOrientationPatient")
    if iop is None or len(iop) != 6:
        return "unknown"
    normal = np.abs(np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float)))
    axis = int(np.argmax(normal))
    if normal[axis] < 0.9:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _identifying_values(ds: pydicom.Dataset, found: set[tuple[str, str]]) -> None:
    for keyword in _IDENTIFYING:
        value = _text(ds, keyword)
        if value:
            found.add((keyword, value))


def _collect(root: Path) -> tuple[dict[str, _SeriesAccumulator], list[tuple[str, str]], int, set[tuple[str, str]]]:
    series: dict[str, _SeriesAccumulator] = {}
    identifiers: set[tuple[str, str]] = set()
    unreadable: list[tuple[str, str]] = []
    non_dicom = 0
    for path in _iter_files(root):
        header = _read_header(path)
        if header is None:
            non_dicom += 1
            continue
        if isinstance(header, str):
            unreadable.append((str(path), header))
            continue
        media_class = str(getattr(getattr(header, "file_meta", None), "MediaStorageSOPClassUID", ""))
        if media_class == _DICOMDIR_SOP_CLASS or _text(header, "MediaStorageSOPClassUID") == _DICOMDIR_SOP_CLASS:
            continue  # the files a DICOMDIR lists are walked anyway
        uid = _text(header, "SeriesInstanceUID")
        if not uid:
            unreadable.append((str(path), "no SeriesInstanceUID"))
            continue
        _identifying_values(header, identifiers)
        entry = series.setdefault(uid, _SeriesAccumulator(first=header))
        instance = _text(header, "SOPInstanceUID") or str(path)
        if instance in entry.instances:
            continue  # a copy of an instance already seen (duplicated export)
        entry.instances.add(instance)
        entry.files.append(str(path))
        frames = int(header.get("NumberOfFrames", 1) or 1)
        entry.frames += frames
        position = header.get("ImagePositionPatient")
        if position is not None and len(position) == 3 and frames == 1:
            entry.positions.append(tuple(float(p) for p in position))
    return series, unreadable, non_dicom, identifiers


def _spacing_facts(entry: _SeriesAccumulator) -> tuple[int, float, str]:
    """(distinct slice positions, median spacing mm, problem or '') along the slice normal."""
    if entry.frames > len(entry.files):  # enhanced multi-frame: one file holds the volume
        return entry.frames, float("nan"), ""
    iop = entry.first.get("ImageOrientationPatient")
    if iop is None or len(iop) != 6 or not entry.positions:
        return len(entry.files), float("nan"), "no image position/orientation"
    normal = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
    along = np.sort(np.asarray(entry.positions) @ normal)
    distinct = np.unique(np.round(along, 3))
    if distinct.size < along.size:
        return distinct.size, float("nan"), f"{along.size - distinct.size} duplicated slice positions"
    if along.size < 2:
        return along.size, float("nan"), ""
    steps = np.diff(along)
    median = float(np.median(steps))
    if median <= 0 or np.max(np.abs(steps - median)) > 0.1 * median + 0.01:
        return along.size, median, "non-uniform slice spacing (missing slices?)"
    return along.size, median, ""


def _qualification(row: dict[str, Any], problem: str, rule: SeriesSelection) -> str:
    """'' when the series qualifies for analysis, else why not."""
    if row["modality"] not in ("CT", "PT"):
        return f"modality {row['modality'] or 'missing'} is not CT or PT"
    if row["sop_class"] not in _IMAGE_SOP_CLASSES.values():
        return f"not an image volume (SOP class {row['sop_class'] or 'missing'})"
    if "LOCALIZER" in row["image_type"].upper():
        return "localizer (scout)"
    if row["orientation"] != "axial":
        return f"{row['orientation']} orientation, not axial"
    if problem:
        return problem
    if row["n_slices"] < rule.min_slices:
        return f"{row['n_slices']} slices, fewer than {rule.min_slices}"
    thickness = row["slice_thickness_mm"]
    if row["modality"] == "CT" and np.isfinite(thickness) and thickness > rule.max_slice_thickness_mm:
        return f"slices {thickness:g} mm thick, thicker than {rule.max_slice_thickness_mm:g} mm"
    return ""


def _kernel_rank(kernel: str, rule: SeriesSelection) -> int:
    for rank, pattern in enumerate(rule.kernel_preference):
        if re.search(pattern, kernel, flags=re.IGNORECASE):
            return rank
    return len(rule.kernel_preference)


def _choose(table: pd.DataFrame, rule: SeriesSelection) -> pd.DataFrame:
    table = table.assign(chosen=False, choice_reason="", paired_ct_scan_key=None)
    ct = table[(table.modality == "CT") & table.qualifies]
    for _, study in ct.groupby("study_key", sort=True):
        ranked = study.assign(
            _position=[rule.position_preference.index(p) if p in rule.position_preference
                       else len(rule.position_preference) for p in study.patient_position],
            _expiratory=study.expiratory.astype(int),
            _thickness=study.slice_thickness_mm.fillna(np.inf),
            _kernel=[_kernel_rank(k, rule) for k in study.kernel],
            _slices=-study.n_slices,
        ).sort_values(["_position", "_expiratory", "_thickness", "_kernel", "_slices", "scan_key"])
        best = ranked.index[0]
        table.loc[best, "chosen"] = True
        table.loc[best, "choice_reason"] = (
            f"best of {len(ranked)} qualifying CT series of the study by position, inspiration, "
            "slice thickness, kernel preference, slice count")
        for other in ranked.index[1:]:
            table.loc[other, "choice_reason"] = "another CT series of the study ranks higher"
    chosen_ct = table[table.chosen]
    for index, pet in table[(table.modality == "PT") & table.qualifies].iterrows():
        partners = chosen_ct[(chosen_ct.study_key == pet.study_key)
                             & (chosen_ct.frame_of_reference_key == pet.frame_of_reference_key)]
        if partners.empty:
            table.loc[index, "choice_reason"] = "no CT of the same study and frame of reference to pair with"
            continue
        table.loc[index, "chosen"] = True
        table.loc[index, "paired_ct_scan_key"] = partners.scan_key.iloc[0]
        table.loc[index, "choice_reason"] = "PET paired with the chosen CT of its own study (same frame of reference)"
    return table


def index_tree(root: str | Path, workspace: str | Path, rule: SeriesSelection | None = None) -> SeriesIndex:
    """Index the DICOM tree under ``root`` into ``workspace`` (see the module docstring)."""
    root, workspace = Path(root), Path(workspace)
    rule = rule or SeriesSelection()
    if not root.is_dir():
        raise InputError(f"{root}: DICOM root folder not found")
    keyer = Keyer.for_workspace(workspace)
    expiratory = re.compile(rule.expiratory_pattern, flags=re.IGNORECASE)
    collected, unreadable, non_dicom, identifiers = _collect(root)
    public_rows, private_rows = [], []
    for uid, entry in sorted(collected.items()):
        ds = entry.first
        n_slices, spacing, problem = _spacing_facts(entry)
        kernel = _text(ds, "ConvolutionKernel")
        row: dict[str, Any] = {
            "scan_key": keyer.scan_key(uid),
            "patient_key": keyer.patient_key(_text(ds, "PatientID")),
            "study_key": keyer.study_key(_text(ds, "StudyInstanceUID")),
            "study_date": pd.to_datetime(_text(ds, "StudyDate") or _text(ds, "SeriesDate"),
                                         format="%Y%m%d", errors="coerce"),
            "modality": _text(ds, "Modality"),
            "sop_class": _IMAGE_SOP_CLASSES.get(_text(ds, "SOPClassUID"), _text(ds, "SOPClassUID")),
            "description": _text(ds, "SeriesDescription"),
            "image_type": _text(ds, "ImageType"),
            "n_files": len(entry.files),
            "n_slices": int(n_slices),
            "slice_thickness_mm": _float_or_nan(ds, "SliceThickness"),
            "slice_spacing_mm": spacing,
            "orientation": _orientation(ds),
            "kernel": kernel,
            "manufacturer": _text(ds, "Manufacturer"),
            "model": _text(ds, "ManufacturerModelName"),
            "patient_position": _text(ds, "PatientPosition"),
            "contrast": bool(_text(ds, "ContrastBolusAgent")),
            "expiratory": bool(expiratory.search(_text(ds, "SeriesDescription"))),
            "frame_of_reference_key": keyer.study_key(_text(ds, "FrameOfReferenceUID")),
            "scanner_batch": " | ".join([_text(ds, "Manufacturer"), _text(ds, "ManufacturerModelName"), kernel]),
        }
        reason = _qualification(row, problem, rule)
        row["qualifies"], row["not_qualified_reason"] = not reason, reason
        public_rows.append(row)
        private_rows.append({"scan_key": row["scan_key"], "patient_key": row["patient_key"],
                             "patient_id": _text(ds, "PatientID"),
                             "study_instance_uid": _text(ds, "StudyInstanceUID"),
                             "series_instance_uid": uid, "files": sorted(entry.files)})
    if not public_rows:
        raise InputError(f"{root}: no DICOM series found ({non_dicom} non-DICOM files, "
                         f"{len(unreadable)} unreadable DICOM files)")
    series = _choose(pd.DataFrame(public_rows), rule)
    private = pd.DataFrame(private_rows)
    bad = pd.DataFrame(unreadable, columns=["path", "problem"])
    private_dir = workspace / PRIVATE_DIR
    private_dir.mkdir(parents=True, exist_ok=True)
    series.to_parquet(workspace / SERIES_FILE, index=False)
    private.to_parquet(private_dir / PRIVATE_SERIES_FILE, index=False)
    bad.to_parquet(private_dir / PRIVATE_BAD_FILES, index=False)
    _merge_identifiers(private_dir / PRIVATE_IDENTIFIERS, identifiers)
    log.info("indexed %d series (%d chosen), %d non-DICOM and %d unreadable files",
             len(series), int(series.chosen.sum()), non_dicom, len(bad))
    return SeriesIndex(series, private, bad)


def _merge_identifiers(path: Path, found: set[tuple[str, str]]) -> None:
    table = pd.DataFrame(sorted(found), columns=["keyword", "value"])
    if path.is_file():
        table = pd.concat([pd.read_parquet(path), table]).drop_duplicates()
    table.to_parquet(path, index=False)


def read_series_table(workspace: str | Path) -> pd.DataFrame:
    """``WORKSPACE/series.parquet`` (an :class:`InputError` when the workspace was not indexed)."""
    path = Path(workspace) / SERIES_FILE
    if not path.is_file():
        raise InputError(f"{workspace}: no {SERIES_FILE}; run `ildrad index` first")
    return pd.read_parquet(path)
