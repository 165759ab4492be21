"""Edited lung masks that override the automatic segmentation of a scan in the next ``ildrad run``.

``ildrad import-seg WORKSPACE SEG.dcm`` reads a DICOM SEG (e.g. an ildrad export edited in 3D
Slicer) onto the scan's CT grid and stores it as ``WORKSPACE/overrides/<scan_key>/lungs.nii.gz``
(1 right, 2 left) with ``override.json`` (the mask's SHA-256 and the segments used). The scan's
finished rows are removed from every result set, so the next run recomputes it with the override;
the row's ``lung_override_hash`` column records which mask was used.

Segments are chosen by label: one labelled with "right" and one with "left" (case-insensitive)
become labels 1 and 2; a SEG with a single segment is split at the patient's midline (the
mid-point of the mask's extent along the patient's left-right axis).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ildrad.errors import InputError
from ildrad.image import Grid, Mask

__all__ = ["OVERRIDES_DIR", "LungOverride", "find_override", "import_seg", "mask_sha256"]

log = logging.getLogger(__name__)

OVERRIDES_DIR = "overrides"
_MASK_FILE, _INFO_FILE = "lungs.nii.gz", "override.json"


@dataclasses.dataclass(frozen=True)
class LungOverride:
    """An imported lung mask (1 right, 2 left) and its SHA-256 (16 hex digits)."""

    lungs: Mask
    sha256: str


def mask_sha256(mask: Mask) -> str:
    """SHA-256 (16 hex digits) of a mask's labels, shape and spacing."""
    digest = hashlib.sha256(np.ascontiguousarray(mask.array, dtype=np.uint8).tobytes())
    digest.update(repr((mask.array.shape, tuple(round(s, 6) for s in mask.grid.spacing))).encode())
    return digest.hexdigest()[:16]


def find_override(overrides_root: Path | None, scan_key: str) -> LungOverride | None:
    """The override of ``scan_key`` under ``overrides_root`` (``WORKSPACE/overrides``), if any."""
    if overrides_root is None:
        return None
    folder = Path(overrides_root) / scan_key
    if not (folder / _MASK_FILE).is_file():
        return None
    from ildrad.io.volume_files import read_mask

    info = json.loads((folder / _INFO_FILE).read_text())
    return LungOverride(read_mask(folder / _MASK_FILE), info["sha256"])


def _scan_of_seg(ds, private: pd.DataFrame, path: Path) -> str:
    uids = {str(item.SeriesInstanceUID) for item in ds.get("ReferencedSeriesSequence", [])}
    rows = private[private.series_instance_uid.isin(uids)]
    if rows.empty:
        raise InputError(
            f"{path}: the SEG references series {sorted(uids) or 'none'}, none of which is a scan of "
            "this workspace (give --scan KEY to choose the scan)"
        )
    return str(rows.scan_key.iloc[0])


def _ct_grid(workspace: Path, scan_key: str, files: list[str]) -> Grid:
    from ildrad.cohort.store import STORE_DIR, stored_lung_mask
    from ildrad.io.volume_files import read_mask

    sets = sorted((workspace / STORE_DIR).glob("*"))
    existing = [path for path in (stored_lung_mask(s, scan_key) for s in sets) if path.is_file()]
    if existing:
        return read_mask(existing[-1]).grid
    from ildrad.config import Config
    from ildrad.io.dicom_series import read_ct_series

    return read_ct_series(files, settings=Config().io).grid


def _lung_labels(segments: dict[str, Mask], grid: Grid, path: Path) -> np.ndarray:
    by_side = {
        side: [m for name, m in segments.items() if side in name.casefold()]
        for side in ("right", "left")
    }
    labels = np.zeros(grid.shape, np.uint8)
    if len(by_side["right"]) == 1 and len(by_side["left"]) == 1:
        labels[by_side["right"][0].array > 0] = 1
        labels[by_side["left"][0].array > 0] = 2
        return labels
    if len(segments) != 1:
        raise InputError(
            f"{path}: expected one segment labelled 'right' and one 'left', or a single lung segment; "
            f"found {sorted(segments)}"
        )
    inside = next(iter(segments.values())).array > 0
    if not inside.any():
        raise InputError(f"{path}: the lung segment is empty")
    index = np.argwhere(inside).astype(float)
    points = np.asarray(grid.origin) + (index * np.asarray(grid.spacing)) @ grid.direction_matrix.T
    left = points[:, 0] > 0.5 * (
        points[:, 0].min() + points[:, 0].max()
    )  # LPS: +x is the patient's left
    labels[tuple(index[~left].astype(int).T)] = 1
    labels[tuple(index[left].astype(int).T)] = 2
    return labels


def import_seg(
    workspace: str | Path, seg_path: str | Path, scan_key: str | None = None
) -> tuple[str, str]:
    """Store ``seg_path`` as the lung override of its scan; returns (scan_key, mask hash)."""
    import pydicom

    from ildrad.cohort.index import PRIVATE_SERIES_FILE
    from ildrad.cohort.keys import PRIVATE_DIR
    from ildrad.io.dicom_seg import read_seg_segments
    from ildrad.io.volume_files import write_mask

    workspace, seg_path = Path(workspace), Path(seg_path)
    private = pd.read_parquet(workspace / PRIVATE_DIR / PRIVATE_SERIES_FILE)
    try:
        header = pydicom.dcmread(seg_path, stop_before_pixels=True)
    except Exception as err:  # noqa: BLE001 - pydicom raises many types on corrupt files
        raise InputError(f"{seg_path}: not a readable DICOM file ({err})") from err
    scan_key = scan_key or _scan_of_seg(header, private, seg_path)
    if scan_key not in set(private.scan_key):
        raise InputError(f"{workspace}: no scan with key '{scan_key}'")
    files = list(private.set_index("scan_key").loc[scan_key, "files"])
    grid = _ct_grid(workspace, scan_key, files)
    segments = read_seg_segments(seg_path, grid)
    labels = _lung_labels(segments, grid, seg_path)
    mask = Mask(labels, grid, {1: "right", 2: "left"})
    folder = workspace / OVERRIDES_DIR / scan_key
    folder.mkdir(parents=True, exist_ok=True)
    write_mask(mask, folder / _MASK_FILE)
    sha = mask_sha256(mask)
    (folder / _INFO_FILE).write_text(
        json.dumps(
            {"sha256": sha, "source_file": seg_path.name, "segments": sorted(segments)}, indent=1
        )
    )
    from ildrad.cohort.manifest import read_manifest

    manifest = read_manifest(workspace)
    paired = (
        manifest[manifest.get("ct_scan_key", pd.Series(dtype=str)) == scan_key].scan_key.tolist()
        if "ct_scan_key" in manifest.columns
        else []
    )
    for key in [scan_key, *paired]:  # a PET scan's lung metrics use its CT's lung mask
        for row in (workspace / "store").glob(f"*/scans/{key}.parquet"):
            row.unlink()
            log.info("removed %s: the next run recomputes the scan with the override", row)
    return scan_key, sha
