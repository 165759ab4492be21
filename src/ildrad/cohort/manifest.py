"""The manifest: scans to analyse joined with the clinical tables at each scan's date.

Clinical table (one row per patient): ``patient_id``, ``sex`` (M/F), ``birth_date``,
``death_date`` (empty when alive), ``last_followup_date``; optional ``smoking``, ``site``; any
other column is carried as ``extra_<name>`` (clinical or molecular covariates). Visits table
(optional): ``patient_id``, ``date``, ``fvc_pct``, ``dlco_pct`` (empty when not performed),
``dlco_cannot_perform`` (true/false), ``treatment``; each scan takes the visit nearest its date
within ``visit_window_days`` (ties: the earlier visit). Errors name the file, row and column.
The manifest's columns are listed in ``docs/workspace.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ildrad.cohort.index import PRIVATE_SERIES_FILE, read_series_table
from ildrad.cohort.keys import PRIVATE_DIR
from ildrad.errors import InputError

__all__ = ["MANIFEST_FILE", "build_manifest", "read_clinical", "read_manifest", "read_visits"]

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.parquet"
#: Pulmonary function of every visit, keyed by patient_key (progression targets need all visits).
VISITS_FILE = "visits.parquet"
CLINICAL_REQUIRED = ("patient_id", "sex", "birth_date", "death_date", "last_followup_date")
CLINICAL_OPTIONAL = ("smoking", "site")
VISITS_REQUIRED = ("patient_id", "date", "fvc_pct", "dlco_pct")
VISITS_OPTIONAL = ("dlco_cannot_perform", "treatment")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _read_table(path: str | Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} table not found")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False) if path.suffix.lower() != ".parquet" \
            else pd.read_parquet(path).astype(str)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: unreadable {what} table ({err})") from err
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: {what} table lacks column(s) {', '.join(missing)} "
                         f"(has {', '.join(table.columns)})")
    return table.apply(lambda column: column.str.strip())


def _where(path: Path, index: int, column: str, table: pd.DataFrame) -> str:
    patient = table.at[index, "patient_id"] if "patient_id" in table.columns else "?"
    return f"{path}: row {index + 2} (patient_id {patient}), column '{column}'"


def _dates(table: pd.DataFrame, column: str, path: Path, required: bool) -> pd.Series:
    parsed = pd.to_datetime(table[column], format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna() & (table[column] != "") | (parsed.isna() & required)
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{_where(path, index, column, table)}: {table[column].iloc[index]!r} is not a "
                         "date (YYYY-MM-DD)")
    return parsed


def _numbers(table: pd.DataFrame, column: str, path: Path, low: float, high: float) -> pd.Series:
    parsed = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
    bad = parsed.isna() & (table[column] != "") | (parsed < low) | (parsed > high)
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{_where(path, index, column, table)}: {table[column].iloc[index]!r} is not a "
                         f"number in [{low:g}, {high:g}]")
    return parsed


def _flags(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    lowered = table[column].str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{_where(path, index, column, table)}: {table[column].iloc[index]!r} is not "
                         "true/false")
    return lowered.isin(_TRUE)


def read_clinical(path: str | Path) -> pd.DataFrame:
    """Validated patient table (dates parsed, one row per patient)."""
    path = Path(path)
    table = _read_table(path, CLINICAL_REQUIRED, "clinical")
    duplicated = table.patient_id.duplicated()
    if duplicated.any():
        index = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(f"{_where(path, index, 'patient_id', table)}: patient listed twice")
    empty = table.patient_id == ""
    if empty.any():
        raise InputError(f"{_where(path, int(np.flatnonzero(empty.to_numpy())[0]), 'patient_id', table)}: empty")
    sex = table.sex.str.upper()
    bad_sex = ~sex.isin({"M", "F"})
    if bad_sex.any():
        index = int(np.flatnonzero(bad_sex.to_numpy())[0])
        raise InputError(f"{_where(path, index, 'sex', table)}: {table.sex.iloc[index]!r} is not M or F")
    result = pd.DataFrame({
        "patient_id": table.patient_id,
        "sex": sex,
        "birth_date": _dates(table, "birth_date", path, required=True),
        "death_date": _dates(table, "death_date", path, required=False),
        "last_followup_date": _dates(table, "last_followup_date", path, required=True),
    })
    for column in CLINICAL_OPTIONAL:
        result[column] = table[column].replace("", None) if column in table.columns else None
    for column in table.columns:
        if column not in CLINICAL_REQUIRED + CLINICAL_OPTIONAL:
            numeric = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
            usable = numeric.notna() | (table[column] == "")
            result[f"extra_{column}"] = numeric if usable.all() else table[column].replace("", None)
    before_birth = result.last_followup_date < result.birth_date
    if before_birth.any():
        index = int(np.flatnonzero(before_birth.to_numpy())[0])
        raise InputError(f"{_where(path, index, 'last_followup_date', table)}: before the birth date")
    return result


def read_visits(path: str | Path) -> pd.DataFrame:
    """Validated visits table (pulmonary function by date)."""
    path = Path(path)
    table = _read_table(path, VISITS_REQUIRED, "visits")
    result = pd.DataFrame({
        "patient_id": table.patient_id,
        "date": _dates(table, "date", path, required=True),
        "fvc_pct": _numbers(table, "fvc_pct", path, 5, 200),
        "dlco_pct": _numbers(table, "dlco_pct", path, 5, 200),
    })
    result["dlco_cannot_perform"] = (_flags(table, "dlco_cannot_perform", path)
                                     if "dlco_cannot_perform" in table.columns else False)
    result["treatment"] = table["treatment"].replace("", None) if "treatment" in table.columns else None
    return result


def _nearest_visits(scans: pd.DataFrame, visits: pd.DataFrame, window_days: int) -> pd.DataFrame:
    columns = ["fvc_pct", "dlco_pct", "dlco_cannot_perform", "treatment"]
    rows = []
    by_patient = {pid: group for pid, group in visits.groupby("patient_id")}
    for scan in scans.itertuples():
        group = by_patient.get(scan.patient_id)
        values = dict.fromkeys(columns)
        values["dlco_cannot_perform"] = False
        if group is not None:
            gap = (group.date - scan.study_date).abs().dt.days
            order = np.lexsort((group.date.to_numpy(), gap.to_numpy()))
            best = order[0]
            if gap.iloc[best] <= window_days:
                values = {c: group[c].iloc[best] for c in columns}
                values["visit_gap_days"] = int(gap.iloc[best])
        rows.append(values)
    return pd.DataFrame(rows, index=scans.index)


def build_manifest(workspace: str | Path, clinical_path: str | Path, visits_path: str | Path | None = None,
                   window_days: int = 90) -> pd.DataFrame:
    """Join the chosen scans of ``series.parquet`` with the clinical tables; writes the manifest."""
    workspace = Path(workspace)
    series = read_series_table(workspace)
    private = pd.read_parquet(workspace / PRIVATE_DIR / PRIVATE_SERIES_FILE)
    chosen = series[series.chosen].merge(private[["scan_key", "patient_id"]], on="scan_key", how="left")
    clinical = read_clinical(clinical_path)
    missing = sorted(set(chosen.patient_id) - set(clinical.patient_id))
    if missing:
        log.warning("%d patient(s) in the DICOM tree have no row in %s: their scans have no clinical data",
                    len(missing), clinical_path)
    scans = chosen.merge(clinical, on="patient_id", how="left")
    end = scans.death_date.where(scans.death_date.notna(), scans.last_followup_date)
    manifest = pd.DataFrame({
        "scan_key": scans.scan_key,
        "patient_key": scans.patient_key,
        "study_date": scans.study_date,
        "modality": scans.modality,
        "ct_scan_key": scans.paired_ct_scan_key,
        "scanner_batch": scans.scanner_batch,
        "site": scans.site,
        "age_years": (scans.study_date - scans.birth_date).dt.days / 365.25,
        "sex": scans.sex,
        "smoking": scans.smoking,
        "followup_days": (end - scans.study_date).dt.days.astype(float),
        "death": scans.death_date.notna() & scans.patient_id.isin(clinical.patient_id),
    })
    if visits_path is not None:
        visits = read_visits(visits_path)
        manifest = manifest.join(_nearest_visits(scans, visits, window_days))
        keys = dict(zip(chosen.patient_id, chosen.patient_key, strict=False))
        keyed = visits[visits.patient_id.isin(keys)].assign(patient_key=lambda v: v.patient_id.map(keys))
        keyed.drop(columns="patient_id").sort_values(["patient_key", "date"]).reset_index(drop=True) \
            .to_parquet(workspace / VISITS_FILE, index=False)
    else:
        for column in ("fvc_pct", "dlco_pct", "treatment", "visit_gap_days"):
            manifest[column] = None
        manifest["dlco_cannot_perform"] = False
    for column in [c for c in scans.columns if c.startswith("extra_")]:
        manifest[column] = scans[column]
    negative = manifest.followup_days < 0
    if negative.any():
        raise InputError(f"{clinical_path}: follow-up ends before a scan date for "
                         f"{int(negative.sum())} scan(s) (death or last follow-up date precedes the scan)")
    manifest = manifest.sort_values(["patient_key", "study_date", "scan_key"]).reset_index(drop=True)
    manifest.to_parquet(workspace / MANIFEST_FILE, index=False)
    return manifest


def read_manifest(workspace: str | Path) -> pd.DataFrame:
    """``WORKSPACE/manifest.parquet`` (an :class:`InputError` when missing)."""
    path = Path(workspace) / MANIFEST_FILE
    if not path.is_file():
        raise InputError(f"{workspace}: no {MANIFEST_FILE}; run `ildrad index` with --clinical first")
    return pd.read_parquet(path)
