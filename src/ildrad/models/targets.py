"""Targets (labels) per scan, from the manifest (``docs/workspace.md``) and the visits table.

Names understood by :func:`build_target`:

- ``mortality_{h}y`` (h = 1, 3, 5 or any positive number of years): relative to the scan date,
  ``1`` = died within h years, ``0`` = known alive at h (follow-up extends beyond h, or death after h),
  ``NaN`` = censored before h without death (not assessable). Non-assessable scans leave the
  binary task by default and are counted; ``ipcw=True`` gives the assessable scans weights
  ``1 / G(min(T, h))`` with G the Kaplan-Meier survivor of censoring (left limit at the event
  time for deaths), after Blanche 2013 / DOMAIN.md section 6.
- ``survival``: (time in years, event) for survival models; the horizon is chosen at evaluation.
- ``progression_{w}y``: from the visits table, FVC % predicted decline of at least 10 % or
  of at least 5 % with a DLCO % predicted decline of at least 15 % within w years of the scan
  (relative declines by default, after Goh 2017 Arthritis Rheumatol 69:1670; ``relative=False``
  for absolute points).
- any other column of the manifest or feature table: classification (integers, strings,
  booleans) or regression (floats with more than :data:`MAX_CLASSES` distinct values).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ildrad.errors import InputError

__all__ = [
    "DAYS_PER_YEAR",
    "MAX_CLASSES",
    "Target",
    "build_target",
    "censoring_survivor",
    "column_target",
    "mortality_target",
    "progression_target",
    "survival_target",
]

log = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.25
#: A numeric user column with at most this many distinct values is a classification target.
MAX_CLASSES = 10
_MORTALITY = re.compile(r"^mortality_(\d+(?:\.\d+)?)y$")
_PROGRESSION = re.compile(r"^progression_(\d+(?:\.\d+)?)y$")


@dataclass
class Target:
    """Labels of one task, one row per scan of the manifest (``y`` NaN where not assessable).

    ``frame`` columns: ``scan_key``, ``patient_key``, ``y``, ``weight``, ``time`` and ``event``
    (years, bool; the scan's own follow-up, used by survival models and time-dependent metrics).
    ``kind`` is ``binary``, ``multiclass``, ``regression`` or ``survival``; ``horizon`` in years
    for mortality targets.
    """

    name: str
    kind: str
    frame: pd.DataFrame
    horizon: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def assessable(self) -> pd.DataFrame:
        """Rows usable for this task (all rows for survival)."""
        if self.kind == "survival":
            return self.frame
        return self.frame[self.frame.y.notna()]


def _time_event(manifest: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    for column in ("followup_days", "death"):
        if column not in manifest.columns:
            raise InputError(f"manifest lacks column '{column}' needed for outcome targets")
    time = manifest.followup_days.to_numpy(float) / DAYS_PER_YEAR
    event = manifest.death.fillna(False).to_numpy(bool)
    if np.any(~np.isfinite(time)) or np.any(time < 0):
        raise InputError("manifest: followup_days must be finite and >= 0 for every scan")
    return time, event


def censoring_survivor(time: np.ndarray, event: np.ndarray):
    """Kaplan-Meier survivor G(t) of censoring (censoring = the event); returns ``G(t, left=False)``."""
    censored = ~np.asarray(event, bool)
    times = np.unique(time[censored])
    at_risk = np.array([(time >= t).sum() for t in times], float)
    drops = np.array([((time == t) & censored).sum() for t in times], float)
    survivor = np.cumprod(1.0 - drops / at_risk)

    def g(t: np.ndarray, left: bool = False) -> np.ndarray:
        side = "left" if left else "right"
        index = np.searchsorted(times, np.asarray(t, float), side=side)
        return np.concatenate([[1.0], survivor])[index]

    return g


def _base_frame(manifest: pd.DataFrame) -> pd.DataFrame:
    for column in ("scan_key", "patient_key"):
        if column not in manifest.columns:
            raise InputError(f"manifest lacks column '{column}'")
    return manifest[["scan_key", "patient_key"]].reset_index(drop=True).copy()


def mortality_target(manifest: pd.DataFrame, horizon_years: float, ipcw: bool = False) -> Target:
    """Death within ``horizon_years`` of each scan (see the module docstring for the three states)."""
    if horizon_years <= 0:
        raise InputError(f"mortality horizon must be > 0 years, got {horizon_years}")
    time, event = _time_event(manifest)
    frame = _base_frame(manifest)
    died = event & (time <= horizon_years)
    alive = time > horizon_years
    alive &= ~died
    y = np.where(died, 1.0, np.where(alive, 0.0, np.nan))
    weight = np.ones(len(frame))
    if ipcw:
        g = censoring_survivor(time, event)
        at = np.minimum(time, horizon_years)
        survivor = np.where(died, g(at, left=True), g(at))
        weight = np.where(np.isnan(y), np.nan, 1.0 / np.clip(survivor, 1e-3, None))
    frame["y"] = y
    frame["weight"] = weight
    frame["time"] = time
    frame["event"] = event
    counts = {
        "dead_within": int(died.sum()),
        "alive_at": int(alive.sum()),
        "censored_before": int(np.isnan(y).sum()),
        "scans": len(frame),
        "patients": int(frame.patient_key.nunique()),
    }
    log.info("mortality_%gy: %s", horizon_years, counts)
    return Target(f"mortality_{horizon_years:g}y", "binary", frame, horizon_years, counts)


def survival_target(manifest: pd.DataFrame) -> Target:
    """(time in years, death) of each scan, for survival models and C-indices."""
    time, event = _time_event(manifest)
    frame = _base_frame(manifest)
    frame["y"] = event.astype(float)
    frame["weight"] = 1.0
    frame["time"] = time
    frame["event"] = event
    counts = {
        "deaths": int(event.sum()),
        "censored": int((~event).sum()),
        "scans": len(frame),
        "patients": int(frame.patient_key.nunique()),
    }
    return Target("survival", "survival", frame, None, counts)


def _declined(base: float, later: float, threshold: float, relative: bool) -> bool:
    if not (np.isfinite(base) and np.isfinite(later)):
        return False
    drop = (base - later) / base * 100.0 if relative else base - later
    return drop >= threshold


def progression_target(
    manifest: pd.DataFrame,
    visits: pd.DataFrame,
    window_years: float,
    relative: bool = True,
    min_followup_fraction: float = 0.75,
) -> Target:
    """ILD progression within ``window_years`` of each scan, from pulmonary-function visits.

    ``visits``: ``patient_key``, ``date``, ``fvc_pct``, ``dlco_pct``. The baseline is the scan's
    own ``fvc_pct``/``dlco_pct`` (nearest visit, manifest). ``1`` when a later visit within the
    window shows FVC decline >= 10 %, or >= 5 % with DLCO decline >= 15 %; ``0`` when no visit
    does and the last visit within the window is at least ``min_followup_fraction`` of the window
    after the scan; ``NaN`` otherwise (not assessable).
    """
    needed = [c for c in ("patient_key", "date", "fvc_pct", "dlco_pct") if c not in visits.columns]
    if needed:
        raise InputError(f"visits table lacks column(s) {needed}")
    for column in ("study_date", "fvc_pct", "dlco_pct"):
        if column not in manifest.columns:
            raise InputError(f"manifest lacks column '{column}' needed for progression targets")
    frame = _base_frame(manifest)
    dates = pd.to_datetime(visits.date)
    by_patient = {
        key: group.assign(date=dates.loc[group.index]).sort_values("date")
        for key, group in visits.groupby("patient_key")
    }
    window = pd.Timedelta(days=window_years * DAYS_PER_YEAR)
    labels = []
    for row in manifest.reset_index(drop=True).itertuples():
        group = by_patient.get(row.patient_key)
        t0 = pd.Timestamp(row.study_date)
        base_fvc, base_dlco = (
            float(row.fvc_pct if row.fvc_pct is not None else np.nan),
            float(row.dlco_pct if row.dlco_pct is not None else np.nan),
        )
        label = np.nan
        if group is not None and np.isfinite(base_fvc):
            later = group[(group.date > t0) & (group.date <= t0 + window)]
            progressed = any(
                _declined(base_fvc, v.fvc_pct, 10.0, relative)
                or (
                    _declined(base_fvc, v.fvc_pct, 5.0, relative)
                    and _declined(base_dlco, v.dlco_pct, 15.0, relative)
                )
                for v in later.itertuples()
            )
            if progressed:
                label = 1.0
            elif len(later) and (later.date.max() - t0) >= window * min_followup_fraction:
                label = 0.0
        labels.append(label)
    time, event = (
        _time_event(manifest)
        if "followup_days" in manifest.columns
        else (np.full(len(frame), np.nan), np.zeros(len(frame), bool))
    )
    frame["y"] = labels
    frame["weight"] = 1.0
    frame["time"] = time
    frame["event"] = event
    y = frame.y
    counts = {
        "progressed": int((y == 1).sum()),
        "stable": int((y == 0).sum()),
        "not_assessable": int(y.isna().sum()),
        "scans": len(frame),
    }
    return Target(f"progression_{window_years:g}y", "binary", frame, window_years, counts)


def column_target(table: pd.DataFrame, column: str) -> Target:
    """A user column (manifest or feature table) as a classification or regression target."""
    if column not in table.columns:
        raise InputError(
            f"target column '{column}' is in neither the manifest nor the feature table"
        )
    frame = _base_frame(table)
    values = table[column].reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.dropna().nunique() > MAX_CLASSES:
        kind, y = "regression", values.astype(float)
    else:
        classes = sorted(values.dropna().unique().tolist(), key=str)
        if len(classes) < 2:
            raise InputError(f"target column '{column}' has fewer than two classes ({classes})")
        y = values.map({c: float(i) for i, c in enumerate(classes)})
        kind = "binary" if len(classes) == 2 else "multiclass"
        log.info("target %s: classes %s coded 0..%d", column, classes, len(classes) - 1)
    frame["y"] = y.to_numpy(float)
    frame["weight"] = 1.0
    frame["time"] = np.nan
    frame["event"] = False
    counts = {"scans": len(frame), "not_assessable": int(frame.y.isna().sum())}
    return Target(column, kind, frame, None, counts)


def build_target(
    name: str,
    manifest: pd.DataFrame,
    features: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
    ipcw: bool = False,
) -> Target:
    """The target called ``name`` (module docstring), rows in the manifest's order."""
    match = _MORTALITY.match(name)
    if match:
        return mortality_target(manifest, float(match.group(1)), ipcw=ipcw)
    if name == "survival":
        return survival_target(manifest)
    match = _PROGRESSION.match(name)
    if match:
        if visits is None:
            raise InputError(
                f"target {name} needs the visits table (WORKSPACE/visits.parquet with patient_key)"
            )
        return progression_target(manifest, visits, float(match.group(1)))
    if name in manifest.columns:
        return column_target(manifest, name)
    if features is not None and name in features.columns:
        joined = manifest[["scan_key", "patient_key"]].merge(
            features[["scan_key", name]], on="scan_key", how="left"
        )
        return column_target(joined, name)
    raise InputError(
        f"unknown target '{name}': use mortality_<h>y, survival, progression_<w>y or a column "
        "of the manifest or feature table"
    )
