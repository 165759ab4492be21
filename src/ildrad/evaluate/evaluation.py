"""Evaluate model folders: metrics with patient-bootstrap CIs, predictions, paired comparisons.

Per model, a metric's ``value`` is computed on each repeat's out-of-fold risks and averaged
over repeats; its 95 % CI is the percentile interval of that same repeat-averaged statistic over
patient-level bootstrap resamples (the same resampled patients in every repeat). Survival
metrics (``harrell_c``, ``uno_c``, ``td_auc``) use each scan's follow-up from the manifest and
the whole manifest as the censoring reference. Paired comparisons use the repeat-averaged risk
of two models on the scans both assess: clustered DeLong (Obuchowski) for ROC AUC, and a paired
patient bootstrap of the AUC and Harrell-C differences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ildrad.errors import InputError
from ildrad.evaluate.bootstrap import patient_bootstrap, percentile_interval
from ildrad.evaluate.delong import delong_test
from ildrad.evaluate.metrics import binary_metrics, net_benefit, regression_metrics, roc_auc
from ildrad.evaluate.survival import censoring_weights, harrell_c, td_auc, uno_c
from ildrad.models.model_folder import ModelFolder
from ildrad.models.settings import ModelsSettings
from ildrad.models.targets import DAYS_PER_YEAR

__all__ = [
    "COMPARISON_COLUMNS",
    "METRIC_COLUMNS",
    "PREDICTION_COLUMNS",
    "Evaluation",
    "averaged_predictions",
    "evaluate_models",
    "label_counts",
    "select_unit",
]

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "model",
    "target",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "at",
    "unit",
    "n_scans",
    "n_patients",
)
PREDICTION_COLUMNS = ("scan_key", "patient_key", "model", "target", "y", "risk")
COMPARISON_COLUMNS = (
    "model_a",
    "model_b",
    "target",
    "metric",
    "method",
    "value_a",
    "value_b",
    "difference",
    "ci_low",
    "ci_high",
    "p_value",
    "n_scans",
    "n_patients",
)


@dataclass
class Evaluation:
    """Tables written by ``ildrad evaluate``."""

    metrics: pd.DataFrame
    predictions: pd.DataFrame
    comparisons: pd.DataFrame


def select_unit(
    oof: pd.DataFrame, manifest: pd.DataFrame, unit: str, seed: int = 0
) -> pd.DataFrame:
    """Rows of every scan, of each patient's first scan, or of one scan drawn per patient (seeded)."""
    if unit == "scan":
        return oof
    scans = manifest[["scan_key", "patient_key", "study_date"]].drop_duplicates("scan_key")
    scans = scans[scans.scan_key.isin(oof.scan_key)]
    if unit == "first_scan":
        chosen = (
            scans.sort_values(["patient_key", "study_date", "scan_key"])
            .groupby("patient_key")
            .head(1)
        )
    elif unit == "random_scan":
        rng = np.random.default_rng(seed)
        shuffled = scans.sort_values("scan_key").iloc[rng.permutation(len(scans))]
        chosen = shuffled.groupby("patient_key").head(1)
    else:
        raise InputError(f"unknown evaluation unit '{unit}' (scan, first_scan, random_scan)")
    return oof[oof.scan_key.isin(chosen.scan_key)]


def averaged_predictions(model: ModelFolder) -> pd.DataFrame:
    """One row per scan: risk averaged over repeats (``PREDICTION_COLUMNS``)."""
    oof = model.oof
    out = (
        oof.groupby("scan_key", sort=True)
        .agg(
            patient_key=("patient_key", "first"),
            target=("target", "first"),
            y=("y", "first"),
            risk=("risk", "mean"),
        )
        .reset_index()
    )
    out.insert(2, "model", model.name)
    return out[list(PREDICTION_COLUMNS)]


class _Arrays:
    """Numpy views of an out-of-fold table joined with follow-up, for fast resampled metrics."""

    def __init__(self, oof: pd.DataFrame, manifest: pd.DataFrame) -> None:
        joined = (
            oof.merge(manifest[["scan_key", "followup_days", "death"]], on="scan_key", how="left")
            if {"followup_days", "death"} <= set(manifest.columns)
            else oof.assign(followup_days=np.nan, death=False)
        )
        self.patients = joined.patient_key.to_numpy()
        self.repeat = joined["repeat"].to_numpy()
        self.y = joined.y.to_numpy(float)
        self.risk = joined.risk.to_numpy(float)
        self.weight = (
            joined.weight.to_numpy(float) if "weight" in joined.columns else np.ones(len(joined))
        )
        self.weight = np.where(np.isfinite(self.weight), self.weight, 1.0)
        self.time = joined.followup_days.to_numpy(float) / DAYS_PER_YEAR
        self.event = joined.death.fillna(False).to_numpy(bool)
        self.class_probabilities = joined[
            [c for c in joined.columns if c.startswith("p_class")]
        ].to_numpy(float)
        self.repeats = np.unique(self.repeat)


def _per_repeat(arrays: _Arrays, rows: np.ndarray, one: callable) -> dict[tuple[str, str], float]:
    """Average over repeats of ``one(rows_of_repeat)`` -> {(metric, at): value}."""
    collected: dict[tuple[str, str], list[float]] = {}
    for r in arrays.repeats:
        subset = rows[arrays.repeat[rows] == r]
        for key, value in one(subset).items():
            collected.setdefault(key, []).append(value)
    return {key: _mean_of_defined(values) for key, values in collected.items()}


def _mean_of_defined(values: list[float]) -> float:
    """Mean of the values that are not NaN; NaN when none is (a metric undefined in every
    repeat, e.g. no event before the horizon), without numpy's empty-slice warning."""
    defined = np.asarray(values, float)
    defined = defined[~np.isnan(defined)]
    return float(defined.mean()) if defined.size else float("nan")


def _statistic(
    arrays: _Arrays,
    task: str,
    horizon: float | None,
    settings: ModelsSettings,
    ipcw: np.ndarray,
):
    def one(rows: np.ndarray) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        labelled = rows[np.isfinite(arrays.y[rows])]
        y, risk, w = arrays.y[labelled], arrays.risk[labelled], arrays.weight[labelled]
        if task == "binary" and len(labelled):
            weights = None if np.allclose(w, 1.0) else w
            out.update(binary_metrics(y, risk, weights, settings.fixed_specificity))
            if np.all((risk >= 0) & (risk <= 1)) and len(np.unique(y)) == 2:
                for pt, value in zip(
                    settings.decision_thresholds,
                    net_benefit(y, risk, settings.decision_thresholds, weights),
                    strict=True,
                ):
                    out[("net_benefit", f"pt_{pt:g}")] = float(value)
        elif task == "regression" and len(labelled):
            out.update(regression_metrics(y, risk))
        elif task == "multiclass" and len(labelled) and arrays.class_probabilities.shape[1]:
            for k in range(arrays.class_probabilities.shape[1]):
                positive = (y == k).astype(float)
                if 0 < positive.sum() < len(positive):
                    out[("roc_auc", f"class_{k}")] = roc_auc(
                        positive, arrays.class_probabilities[labelled, k]
                    )
        survival_rows = rows[np.isfinite(arrays.time[rows])]
        if (
            task in ("binary", "survival")
            and len(survival_rows)
            and arrays.event[survival_rows].any()
        ):
            t, e, r = (
                arrays.time[survival_rows],
                arrays.event[survival_rows],
                arrays.risk[survival_rows],
            )
            out[("harrell_c", "")] = harrell_c(t, e, r)
            if horizon is not None:
                weights = ipcw[survival_rows]
                out[("uno_c", f"tau_{horizon:g}y")] = uno_c(t, e, r, horizon, weights)
                out[("td_auc", f"{horizon:g}y")] = td_auc(t, e, r, horizon, weights)
        return out

    return lambda rows: _per_repeat(arrays, rows, one)


def _model_metrics(
    model: ModelFolder, manifest: pd.DataFrame, settings: ModelsSettings
) -> pd.DataFrame:
    oof = select_unit(model.oof, manifest, settings.unit, settings.seed)
    task = model.info.get("task", "binary")
    horizon = model.info.get("horizon")
    arrays = _Arrays(oof, manifest)
    reference = (
        (
            manifest.followup_days.to_numpy(float) / DAYS_PER_YEAR,
            manifest.death.fillna(False).to_numpy(bool),
        )
        if {"followup_days", "death"} <= set(manifest.columns)
        else (np.array([]), np.array([], bool))
    )
    ipcw = np.zeros(len(oof))
    known = np.isfinite(arrays.time)
    if horizon is not None and known.any() and len(reference[0]):
        ipcw[known] = censoring_weights(arrays.time[known], arrays.event[known], reference)
    statistic = _statistic(arrays, task, horizon, settings, ipcw)
    rows = np.arange(len(oof))
    point = statistic(rows)
    resamples = patient_bootstrap(arrays.patients, statistic, settings.n_bootstrap, settings.seed)
    labelled = oof[oof.y.notna()]
    records = []
    for (metric, at), value in point.items():
        low, high = percentile_interval([r.get((metric, at), np.nan) for r in resamples])
        records.append(
            {
                "model": model.name,
                "target": model.info["target"],
                "metric": metric,
                "value": value,
                "ci_low": low,
                "ci_high": high,
                "at": at,
                "unit": settings.unit,
                "n_scans": int(labelled.scan_key.nunique()),
                "n_patients": int(labelled.patient_key.nunique()),
            }
        )
    return pd.DataFrame(records, columns=list(METRIC_COLUMNS))


def _paired_bootstrap(
    patients: np.ndarray, metric: callable, settings: ModelsSettings
) -> tuple[float, float, float]:
    """Percentile CI and two-sided p of ``metric(rows)`` = value_a - value_b over patient resamples."""
    draws = np.array(
        [
            r["d"]
            for r in patient_bootstrap(
                patients, lambda rows: {"d": metric(rows)}, settings.n_bootstrap, settings.seed
            )
        ],
        float,
    )
    low, high = percentile_interval(draws)
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return low, high, float("nan")
    return low, high, float(min(1.0, 2 * min(np.mean(finite <= 0), np.mean(finite >= 0))))


def _compare(
    a: ModelFolder,
    b: ModelFolder,
    pa: pd.DataFrame,
    pb: pd.DataFrame,
    manifest: pd.DataFrame,
    settings: ModelsSettings,
) -> list[dict]:
    """Paired comparisons of two models' repeat-averaged risks on the scans both assess."""
    both = pa.merge(pb[["scan_key", "risk"]], on="scan_key", suffixes=("_a", "_b"))
    both = select_unit(both, manifest, settings.unit, settings.seed)
    records = []
    labelled = both[both.y.notna()]
    patients = labelled.patient_key.to_numpy()
    common = {
        "model_a": a.name,
        "model_b": b.name,
        "target": a.info["target"],
        "n_scans": len(labelled),
        "n_patients": int(labelled.patient_key.nunique()),
    }
    if a.info.get("task", "binary") == "binary" and labelled.y.nunique() == 2:
        y, ra, rb = labelled.y.to_numpy(), labelled.risk_a.to_numpy(), labelled.risk_b.to_numpy()
        test = delong_test(y, ra, rb, clusters=patients)
        values = {
            "metric": "roc_auc",
            "value_a": test.auc_a,
            "value_b": test.auc_b,
            "difference": test.difference,
        }
        records.append(
            {
                **common,
                **values,
                "method": "clustered_delong",
                "ci_low": test.ci_low,
                "ci_high": test.ci_high,
                "p_value": test.p_value,
            }
        )

        def auc_difference(rows: np.ndarray) -> float:
            if len(np.unique(y[rows])) < 2:
                return float("nan")
            return roc_auc(y[rows], ra[rows]) - roc_auc(y[rows], rb[rows])

        low, high, p = _paired_bootstrap(patients, auc_difference, settings)
        records.append(
            {
                **common,
                **values,
                "method": "paired_patient_bootstrap",
                "ci_low": low,
                "ci_high": high,
                "p_value": p,
            }
        )
    if {"followup_days", "death"} <= set(manifest.columns):
        timed = both.merge(manifest[["scan_key", "followup_days", "death"]], on="scan_key")
        time = timed.followup_days.to_numpy(float) / DAYS_PER_YEAR
        event = timed.death.fillna(False).to_numpy(bool)
        ra, rb = timed.risk_a.to_numpy(), timed.risk_b.to_numpy()
        if event.any():

            def c_difference(rows: np.ndarray) -> float:
                return harrell_c(time[rows], event[rows], ra[rows]) - harrell_c(
                    time[rows], event[rows], rb[rows]
                )

            low, high, p = _paired_bootstrap(timed.patient_key.to_numpy(), c_difference, settings)
            ca, cb = harrell_c(time, event, ra), harrell_c(time, event, rb)
            records.append(
                {
                    **common,
                    "n_scans": len(timed),
                    "n_patients": int(timed.patient_key.nunique()),
                    "metric": "harrell_c",
                    "method": "paired_patient_bootstrap",
                    "value_a": ca,
                    "value_b": cb,
                    "difference": ca - cb,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": p,
                }
            )
    return records


def label_counts(models: list[ModelFolder]) -> pd.DataFrame:
    """Label counts of each model's training cohort (model.json ``training_cohort``), long format:
    model, target, label, count (e.g. dead_within, alive_at, censored_before)."""
    rows = [
        {"model": m.name, "target": m.info["target"], "label": key, "count": value}
        for m in models
        for key, value in (m.info.get("training_cohort") or {}).items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["model", "target", "label", "count"])


def evaluate_models(
    models: list[ModelFolder], manifest: pd.DataFrame, settings: ModelsSettings
) -> Evaluation:
    """Metrics, repeat-averaged predictions and pairwise comparisons (same target) of model folders."""
    if not models:
        raise InputError("no model folders to evaluate")
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise InputError(f"model names must be distinct, got {names}")
    metrics = pd.concat([_model_metrics(m, manifest, settings) for m in models], ignore_index=True)
    predictions = {m.name: averaged_predictions(m) for m in models}
    comparisons = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            if a.info["target"] == b.info["target"]:
                comparisons += _compare(
                    a, b, predictions[a.name], predictions[b.name], manifest, settings
                )
    return Evaluation(
        metrics,
        pd.concat(predictions.values(), ignore_index=True),
        pd.DataFrame(comparisons, columns=list(COMPARISON_COLUMNS)),
    )
