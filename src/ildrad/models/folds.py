"""Patient-level folds: written once per workspace (``folds.parquet``), used by every model.

A fold table has one row per (patient_key, repeat): the patient's ``fold`` in that repeat.
Splits are made from it and nothing else: for repeat r and fold f, the test scans are those of
the patients in fold f and the training scans those of the patients in every other fold
(``fold == -1`` marks patients that only ever train, as in a temporal split). Because the table
is keyed by patient, a patient's scans can never sit on both sides; :func:`patient_splits`
checks it anyway and raises :class:`LeakageError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from ildrad.errors import InputError

__all__ = [
    "FOLDS_FILE",
    "LeakageError",
    "check_disjoint",
    "leave_one_site_out_folds",
    "make_folds",
    "patient_splits",
    "read_folds",
    "temporal_folds",
    "write_folds",
]

log = logging.getLogger(__name__)

FOLDS_FILE = "folds.parquet"


class LeakageError(InputError):
    """A split would put scans of one patient in both training and test data."""


def _patients(manifest: pd.DataFrame) -> pd.DataFrame:
    if "patient_key" not in manifest.columns:
        raise InputError("manifest lacks column 'patient_key'")
    return manifest


def make_folds(
    manifest: pd.DataFrame,
    n_splits: int = 5,
    n_repeats: int = 5,
    seed: int = 0,
    stratify: str | None = "death",
) -> pd.DataFrame:
    """Repeated, patient-grouped folds stratified by a patient-level flag (any ``death`` by default)."""
    _patients(manifest)
    if n_splits < 2:
        raise InputError(f"need at least 2 folds, got {n_splits}")
    if stratify is not None and stratify in manifest.columns:
        per_patient = manifest.groupby("patient_key")[stratify].agg(
            lambda v: bool(np.any(v.fillna(False)))
        )
    else:
        per_patient = manifest.groupby("patient_key").size() * 0
    per_patient = per_patient.sort_index()
    n_patients = len(per_patient)
    if n_patients < n_splits:
        raise InputError(f"{n_patients} patients cannot fill {n_splits} folds")
    labels = per_patient.to_numpy().astype(int)
    if np.bincount(labels).min() < n_splits:
        labels = np.zeros_like(labels)
        log.warning(
            "too few patients in a stratum for %d folds: folds are not stratified", n_splits
        )
    rows = []
    rng = np.random.default_rng(seed)
    for repeat in range(n_repeats):
        splitter = StratifiedKFold(
            n_splits=n_splits, shuffle=True, random_state=int(rng.integers(2**31 - 1))
        )
        fold = np.empty(n_patients, int)
        for index, (_, test) in enumerate(splitter.split(np.zeros(n_patients), labels)):
            fold[test] = index
        rows.append(
            pd.DataFrame({"patient_key": per_patient.index, "repeat": repeat, "fold": fold})
        )
    return pd.concat(rows, ignore_index=True)


def leave_one_site_out_folds(manifest: pd.DataFrame, column: str = "site") -> pd.DataFrame:
    """One repeat, one fold per site (a patient belongs to the site of their first scan)."""
    if column not in manifest.columns or manifest[column].isna().all():
        raise InputError(f"leave-one-site-out needs a '{column}' column in the manifest")
    order = manifest.sort_values("study_date") if "study_date" in manifest.columns else manifest
    first = order.groupby("patient_key")[column].first().dropna()
    sites = sorted(first.unique().tolist(), key=str)
    if len(sites) < 2:
        raise InputError(f"leave-one-site-out needs at least two values of '{column}', got {sites}")
    return pd.DataFrame(
        {
            "patient_key": first.index,
            "repeat": 0,
            "fold": first.map({s: i for i, s in enumerate(sites)}).to_numpy(int),
        }
    )


def temporal_folds(manifest: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """Train on patients whose first scan precedes ``cutoff`` (fold -1), test on the later ones (fold 0)."""
    if "study_date" not in manifest.columns:
        raise InputError("temporal split needs 'study_date' in the manifest")
    first = pd.to_datetime(manifest.groupby("patient_key").study_date.min())
    later = first >= pd.Timestamp(cutoff)
    if later.all() or not later.any():
        raise InputError(f"temporal cutoff {cutoff} leaves no patients on one side")
    return pd.DataFrame({"patient_key": first.index, "repeat": 0, "fold": np.where(later, 0, -1)})


def write_folds(workspace: str | Path, folds: pd.DataFrame) -> Path:
    """Write ``WORKSPACE/folds.parquet``."""
    path = Path(workspace) / FOLDS_FILE
    folds.to_parquet(path, index=False)
    return path


def read_folds(workspace: str | Path) -> pd.DataFrame:
    """``WORKSPACE/folds.parquet`` (an :class:`InputError` when absent or malformed)."""
    path = Path(workspace) / FOLDS_FILE
    if not path.is_file():
        raise InputError(f"{workspace}: no {FOLDS_FILE}; run `ildrad folds {workspace}` first")
    folds = pd.read_parquet(path)
    missing = [c for c in ("patient_key", "repeat", "fold") if c not in folds.columns]
    if missing:
        raise InputError(f"{path}: lacks column(s) {missing}")
    if folds.duplicated(["patient_key", "repeat"]).any():
        raise InputError(f"{path}: a patient appears twice in one repeat")
    return folds


def check_disjoint(train_patients: object, test_patients: object) -> None:
    """Raise :class:`LeakageError` when a patient is on both sides of a split."""
    shared = set(np.asarray(train_patients).tolist()) & set(np.asarray(test_patients).tolist())
    if shared:
        raise LeakageError(f"{len(shared)} patient(s) have scans in both training and test data")


def patient_splits(
    patient_keys: pd.Series | np.ndarray, folds: pd.DataFrame, repeat: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(fold, train_rows, test_rows)`` (positions into ``patient_keys``) for one repeat."""
    keys = pd.Series(np.asarray(patient_keys))
    assignment = folds[folds.repeat == repeat].set_index("patient_key").fold
    if assignment.empty:
        raise InputError(f"folds have no repeat {repeat}")
    fold_of_row = keys.map(assignment)
    unknown = keys[fold_of_row.isna()].unique()
    if len(unknown):
        raise InputError(
            f"{len(unknown)} patient(s) of the data have no fold in folds.parquet "
            "(re-run `ildrad folds` after changing the manifest)"
        )
    fold_of_row = fold_of_row.to_numpy(int)
    for fold in sorted(set(fold_of_row.tolist()) - {-1}):
        test = np.flatnonzero(fold_of_row == fold)
        train = np.flatnonzero(fold_of_row != fold)
        check_disjoint(keys.iloc[train], keys.iloc[test])
        yield fold, train, test
