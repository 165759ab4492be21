"""Late fusion: a deep model's out-of-fold risks as per-scan ``deep`` feature columns.

``ildrad deep train`` writes ``WORKSPACE/deep_features.parquet``: one row per (CT scan, repeat)
with ``scan_key``, ``patient_key``, ``repeat``, ``fold`` (the test fold that held the scan) and
one column per target, ``deep__lung__original__risk_<target>`` (DESIGN.md grammar, group
``deep``), e.g. ``deep__lung__original__risk_mortality_3y``. ``ildrad train --features
rad,deep,clin`` then fuses them with the other groups.

Rule against leakage: in repeat ``r`` of the fused model's cross-validation, a scan's deep feature
is the risk predicted by the deep network of repeat ``r`` that held the scan's patient out
(its own fold's network never saw it). :func:`deep_feature_tables` checks every row against
``folds.parquet`` and refuses (``LeakageError``) a value whose recorded fold differs from the
patient's fold in that repeat, i.e. a prediction by a network that trained on the scan.
Repeats the deep model did not run are left out of the fused cross-validation (logged), never
filled from another repeat. The final fused model (fitted on every scan) is fitted on the
out-of-fold values of the first repeat (stacked generalisation, Wolpert 1992, Neural Networks
5:241): it never learns from a deep risk of a network that saw the scan.

Not covered: the deep networks of the other folds of a repeat did see a fused test fold's
labels, so the *training* rows' deep values of the fused model depend weakly on the test
labels (second order; removing it needs nested deep cross-validation, K x (K - 1) networks).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ildrad.errors import InputError
from ildrad.models.folds import LeakageError

__all__ = ["DEEP_FEATURES_FILE", "deep_feature_name", "deep_feature_tables", "write_deep_features"]

log = logging.getLogger(__name__)

DEEP_FEATURES_FILE = "deep_features.parquet"
_KEYS = ["scan_key", "patient_key", "repeat", "fold"]


def deep_feature_name(target: str) -> str:
    """Store column of a deep model's risk for ``target`` (``mortality_3y`` -> ``deep__lung__original__risk_mortality_3y``)."""
    return f"deep__lung__original__risk_{target}"


def write_deep_features(workspace: str | Path, table: pd.DataFrame) -> Path:
    """Write ``table`` (``scan_key``, ``patient_key``, ``repeat``, ``fold``, ``deep__`` columns) as
    the workspace's deep features, replacing earlier ones (one deep model feeds fusion at a time)."""
    path = Path(workspace) / DEEP_FEATURES_FILE
    if path.is_file():
        log.info("replacing %s", path)
    columns = [c for c in table.columns if c.startswith("deep__")]
    table[_KEYS + columns].to_parquet(path, index=False)
    return path


def deep_feature_tables(workspace: str | Path, features: pd.DataFrame, folds: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Per repeat the deep model ran: ``features`` with that repeat's out-of-fold deep columns
    joined by scan (NaN for scans without a deep input; imputed in-fold like any missing value).

    Raises :class:`LeakageError` when a value's fold is not its patient's fold in ``folds``.
    """
    path = Path(workspace) / DEEP_FEATURES_FILE
    if not path.is_file():
        raise InputError(f"{workspace}: no {DEEP_FEATURES_FILE}; run `ildrad deep train {workspace} ...` first "
                         "(its out-of-fold risks are the deep features)")
    deep = pd.read_parquet(path)
    missing = [c for c in _KEYS if c not in deep.columns]
    columns = [c for c in deep.columns if c.startswith("deep__")]
    if missing or not columns:
        raise InputError(f"{path}: lacks column(s) {missing or ['deep__...']}")
    assigned = deep.merge(folds[["patient_key", "repeat", "fold"]], on=["patient_key", "repeat"], how="left",
                          suffixes=("", "_folds"))
    unknown = assigned.fold_folds.isna()
    if unknown.any():
        raise InputError(f"{path}: {int(unknown.sum())} row(s) have a patient/repeat absent from folds.parquet "
                         "(folds re-made after `ildrad deep train`? train the deep model again)")
    in_fold = assigned.fold.to_numpy(int) != assigned.fold_folds.to_numpy(int)
    if in_fold.any():
        raise LeakageError(f"{path}: {int(in_fold.sum())} deep value(s) come from a network whose training folds "
                           "held the scan (their fold differs from folds.parquet); refusing in-fold predictions")
    if deep.duplicated(["scan_key", "repeat"]).any():
        raise InputError(f"{path}: a scan appears twice in one repeat")
    base = features.drop(columns=[c for c in features.columns if c.startswith("deep__")])
    wanted = sorted(folds.repeat.unique())
    ran = sorted(int(r) for r in deep.repeat.unique() if r in set(wanted))
    skipped = [int(r) for r in wanted if r not in set(ran)]
    if not ran:
        raise InputError(f"{path}: no repeat of folds.parquet has deep out-of-fold risks")
    if skipped:
        log.warning("deep features exist for repeat(s) %s only; the fused model leaves out repeat(s) %s", ran, skipped)
    tables = {}
    for repeat in ran:
        values = deep.loc[deep.repeat == repeat, ["scan_key", *columns]]
        tables[repeat] = base.merge(values, on="scan_key", how="left")
        share = float(np.isfinite(tables[repeat][columns[0]].to_numpy(float)).mean()) if len(base) else 0.0
        log.info("repeat %d: deep features for %.0f %% of the feature rows", repeat, 100 * share)
    return tables
