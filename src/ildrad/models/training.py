"""Cross-validated training on patient folds, nested tuning, and the final model.

The only way to split data here is :func:`ildrad.models.folds.patient_splits` on a folds table
keyed by patient: a patient's scans are never on both sides, and every data-dependent step
lives in the Pipeline of :func:`ildrad.models.estimators.build_pipeline`, fitted on the training
rows of each split. Hyper-parameters are tuned inside each training split by a grouped inner CV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from ildrad.clinical import clinical_scores
from ildrad.errors import InputError
from ildrad.harmonize import COVARIATE_ONLY
from ildrad.models.estimators import SURVIVAL_KINDS, TUNING_GRIDS, build_pipeline, predict_risk
from ildrad.models.features import delta_per_year, feature_columns, stable_features
from ildrad.models.folds import check_disjoint, patient_splits
from ildrad.models.settings import ModelsSettings
from ildrad.models.targets import Target
from ildrad.progress import track

__all__ = [
    "OOF_COLUMNS",
    "TrainingResult",
    "assemble_inputs",
    "clinical_features",
    "cross_validate",
    "fit_final",
    "stable_columns",
]

log = logging.getLogger(__name__)

OOF_COLUMNS = ("scan_key", "patient_key", "target", "repeat", "fold", "y", "weight", "risk")
_MIN_TIME_YEARS = 1.0 / 365.25


def clinical_features(manifest: pd.DataFrame) -> pd.DataFrame:
    """``clin__*`` columns from the manifest: age, sex, lung function, smoking, scores, extras."""
    out = pd.DataFrame({"scan_key": manifest.scan_key.to_numpy()}, index=manifest.index)
    if "age_years" in manifest.columns:
        out["clin__age_years"] = manifest.age_years.astype(float)
    if "sex" in manifest.columns:
        out["clin__sex_male"] = (manifest.sex.astype(str).str.upper() == "M").astype(float)
    for column in ("fvc_pct", "dlco_pct"):
        if column in manifest.columns:
            out[f"clin__{column}"] = pd.to_numeric(manifest[column], errors="coerce")
    if "dlco_cannot_perform" in manifest.columns:
        out["clin__dlco_cannot_perform"] = manifest.dlco_cannot_perform.fillna(False).astype(float)
    if "smoking" in manifest.columns:
        smoking = manifest.smoking.astype("string").str.lower()
        out["clin__smoking_ever"] = np.where(
            smoking.isna(), np.nan, smoking.isin(["former", "current"]).astype(float)
        )
    if {"sex", "age_years", "fvc_pct", "dlco_pct"} <= set(manifest.columns):
        out = out.join(clinical_scores(manifest))
    for column in manifest.columns:
        if column.startswith("extra_") and pd.api.types.is_numeric_dtype(manifest[column]):
            out[f"clin__{column}"] = manifest[column].astype(float)
    return out


def _deltas(manifest: pd.DataFrame, features: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Per-year change since the previous scan of the requested imaging groups (qct when none),
    plus ``delta__prior_scan`` (1 when a previous scan exists); outcome-free, per patient."""
    imaging = [g for g in groups if g in ("qct", "rad", "pet", "petrad")] or ["qct"]
    columns = feature_columns(features, imaging)
    if not columns:
        raise InputError(f"delta features need {'/'.join(imaging)} columns in the feature table")
    deltas = delta_per_year(features, manifest, columns)
    deltas["delta__prior_scan"] = deltas[f"delta__{columns[0]}"].notna().astype(float)
    return deltas


def stable_columns(columns: list[str], settings: ModelsSettings) -> list[str]:
    """``columns`` without those whose perturbation ICC (``settings.stability_file``, form
    ``settings.icc_form``) is below ``settings.icc_threshold`` or NaN; columns the stability file
    does not list stay. Outcome-free: ICC never sees a label, so no fold leakage."""
    if settings.icc_threshold is None:
        return columns
    path = Path(settings.stability_file or "")
    if not path.is_file():
        raise InputError(
            f"{path}: stability file not found (models.stability_file; see `ildrad perturb`)"
        )
    table = pd.read_parquet(path)
    form = f"icc_{settings.icc_form.replace(',', '_')}"
    if not {"feature", form} <= set(table.columns):
        raise InputError(f"{path}: needs columns 'feature' and '{form}', has {list(table.columns)}")
    values = table.set_index("feature")[form]
    kept = set(stable_features(values, settings.icc_threshold))
    listed = {c: c.removeprefix("delta__") for c in columns}  # a delta inherits its feature's ICC
    dropped = [c for c, name in listed.items() if name in values.index and name not in kept]
    log.info("stability filter (ICC(%s) >= %g): %d of %d feature(s) dropped",
             settings.icc_form, settings.icc_threshold, len(dropped), len(columns))
    return [c for c in columns if c not in set(dropped)]


def assemble_inputs(
    manifest: pd.DataFrame,
    features: pd.DataFrame | None,
    groups: list[str],
    settings: ModelsSettings,
    score_column: str | None = None,
) -> pd.DataFrame:
    """Model inputs, one row per manifest scan: ``scan_key``, ``patient_key``, the feature columns
    of ``groups`` (feature table, or manifest for ``clin``), the score column and, when ComBat is
    on, the batch column. When imaging groups are requested, scans without a row in the feature
    table (failed or not yet extracted) are left out and counted in the log; missing values of
    scans that have a row are imputed in-fold."""
    clin = clinical_features(manifest)
    base = manifest[["scan_key", "patient_key"]].copy()
    if features is not None and len(features.columns) > 2:
        extra = features.drop(columns=[c for c in ("patient_key",) if c in features.columns])
        extra = extra.drop(
            columns=[c for c in extra.columns if c.startswith("clin__") and c in clin.columns]
        )
        base = base.merge(extra, on="scan_key", how="left")
    base = base.merge(clin, on="scan_key", how="left")
    if "delta" in groups and features is not None and "study_date" in manifest.columns:
        base = base.merge(_deltas(manifest, features, groups), on="scan_key", how="left")
    columns = stable_columns(feature_columns(base, groups), settings)
    if score_column:
        if score_column not in base.columns:
            raise InputError(
                f"score column '{score_column}' is in neither the feature table nor the manifest"
            )
        columns = [score_column]
    if not columns:
        raise InputError(f"no feature columns of group(s) {', '.join(groups)} in the workspace")
    keep = ["scan_key", "patient_key"] + columns
    if settings.harmonize != "none":
        if settings.harmonize not in manifest.columns:
            raise InputError(
                f"harmonisation batch column '{settings.harmonize}' is not in the manifest"
            )
        base[settings.harmonize] = manifest[settings.harmonize].astype(str).to_numpy()
        keep.append(settings.harmonize)
        for covariate in settings.combat_covariates:
            if covariate not in base.columns:
                raise InputError(
                    f"ComBat covariate '{covariate}' is not available (models.combat_covariates)"
                )
            if covariate not in keep:  # a covariate only: ComBat uses it, the model does not see it
                base[f"{COVARIATE_ONLY}{covariate}"] = base[covariate]
                keep.append(f"{COVARIATE_ONLY}{covariate}")
    result = base[keep]
    if features is not None and any(c.split("__")[0] != "clin" for c in columns):
        present = result.scan_key.isin(features.scan_key)
        if not present.all():
            log.warning(
                "%d of %d scans have no row in the feature table and are left out",
                int((~present).sum()),
                len(result),
            )
        result = result[present]
    return result.reset_index(drop=True)


@dataclass
class TrainingResult:
    """Out-of-fold predictions, the model fitted on all data and what it was fitted with."""

    oof: pd.DataFrame
    pipeline: Pipeline
    features: list[str]
    task: str
    best_params: dict = field(default_factory=dict)


def _task(kind: str, target: Target) -> str:
    if kind in SURVIVAL_KINDS:
        if target.frame.time.isna().all():
            raise InputError(
                f"survival model {kind} needs follow-up times (a mortality or survival target)"
            )
        return "survival"
    if target.kind == "survival":
        raise InputError(f"target 'survival' needs a survival model (coxnet, rsf), not {kind}")
    return target.kind


def _y(frame: pd.DataFrame, task: str) -> np.ndarray:
    if task == "survival":
        from sksurv.util import Surv

        return Surv.from_arrays(
            frame.event.to_numpy(bool), np.maximum(frame.time.to_numpy(float), _MIN_TIME_YEARS)
        )
    return frame.y.to_numpy(float) if task == "regression" else frame.y.to_numpy(int)


def _search(
    pipeline: Pipeline,
    kind: str,
    task: str,
    settings: ModelsSettings,
    groups: np.ndarray,
    y: np.ndarray,
) -> Pipeline | GridSearchCV:
    grid = TUNING_GRIDS.get(kind, {})
    if not settings.tune or not grid:
        return pipeline
    inner = (
        StratifiedGroupKFold(settings.inner_splits, shuffle=True, random_state=settings.seed)
        if task in ("binary", "multiclass")
        else GroupKFold(settings.inner_splits)
    )
    scoring = {
        "binary": "roc_auc",
        "multiclass": "roc_auc_ovr",
        "regression": "neg_root_mean_squared_error",
    }.get(task)
    return GridSearchCV(
        pipeline, grid, cv=inner, scoring=scoring, refit=True, error_score="raise", n_jobs=1
    )


def _fit(
    kind: str,
    task: str,
    settings: ModelsSettings,
    X: pd.DataFrame,
    frame: pd.DataFrame,
    score_column: str | None,
) -> tuple[Pipeline, dict]:
    pipeline = build_pipeline(kind, task, settings, score_column)
    y = _y(frame, task)
    groups = frame.patient_key.to_numpy()
    model = _search(pipeline, kind, task, settings, groups, y)
    fit_params = {}
    weights = frame.weight.to_numpy(float)
    if task == "binary" and not np.allclose(weights, 1.0):
        fit_params["model__sample_weight"] = weights
    if isinstance(model, GridSearchCV):
        model.fit(X, y, groups=groups, **fit_params)
        return model.best_estimator_, dict(model.best_params_)
    model.fit(X, y, **fit_params)
    return model, {}


def _rows(target: Target, task: str, inputs: pd.DataFrame) -> pd.DataFrame:
    """Training/test candidates with inputs: assessable scans, or every scan for survival models."""
    frame = target.frame if task == "survival" else target.assessable
    return frame[frame.scan_key.isin(inputs.scan_key)].reset_index(drop=True)


def cross_validate(
    inputs: pd.DataFrame,
    target: Target,
    folds: pd.DataFrame,
    kind: str,
    settings: ModelsSettings,
    score_column: str | None = None,
) -> pd.DataFrame:
    """Out-of-fold risks (``OOF_COLUMNS``) for every repeat of ``folds``.

    ``inputs`` come from :func:`assemble_inputs` and align with ``target.frame`` by scan_key.
    Survival models train on all scans of the training patients (censored ones included) and
    are scored on every test scan (``y`` NaN where the horizon is not assessable).
    """
    task = _task(kind, target)
    frame = _rows(target, task, inputs)
    X_all = inputs.set_index("scan_key").loc[frame.scan_key].reset_index()
    feature_table = X_all.drop(columns=["scan_key", "patient_key"])
    pieces = []
    repeats = sorted(folds.repeat.unique())
    for repeat in track(repeats, description=f"cross-validating {kind} on {target.name}"):
        for fold, train, test in patient_splits(frame.patient_key, folds, repeat):
            check_disjoint(frame.patient_key.iloc[train], frame.patient_key.iloc[test])
            model, _ = _fit(
                kind, task, settings, feature_table.iloc[train], frame.iloc[train], score_column
            )
            risk = predict_risk(model, feature_table.iloc[test], task, target.horizon)
            piece = frame.iloc[test][["scan_key", "patient_key", "y", "weight"]].copy()
            piece.insert(2, "target", target.name)
            piece.insert(3, "repeat", int(repeat))
            piece.insert(4, "fold", int(fold))
            piece["risk"] = risk
            if task == "multiclass":
                proba = model.predict_proba(feature_table.iloc[test])
                for k in range(proba.shape[1]):
                    piece[f"p_class{k}"] = proba[:, k]
            pieces.append(piece)
    if not pieces:
        raise InputError("the folds produced no test data")
    return pd.concat(pieces, ignore_index=True)


def fit_final(
    inputs: pd.DataFrame,
    target: Target,
    kind: str,
    settings: ModelsSettings,
    score_column: str | None = None,
) -> tuple[Pipeline, dict, list[str]]:
    """The model fitted (and tuned) on all usable scans; returns it, its parameters, its features."""
    task = _task(kind, target)
    frame = _rows(target, task, inputs)
    X = (
        inputs.set_index("scan_key")
        .loc[frame.scan_key]
        .reset_index()
        .drop(columns=["scan_key", "patient_key"])
    )
    model, params = _fit(kind, task, settings, X, frame, score_column)
    return model, params, list(X.columns)
