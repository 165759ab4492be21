"""Workspace-level steps behind ``ildrad folds``, ``ildrad train`` and ``ildrad predict``.

Inputs follow ``docs/workspace.md``: ``manifest.parquet`` and the feature store. The unit is the
CT scan (manifest rows of modality CT); PET features of a PET scan are joined to its paired CT
(``ct_scan_key``). An optional ``WORKSPACE/visits.parquet`` (``patient_key``, ``date``,
``fvc_pct``, ``dlco_pct``) enables progression targets.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from ildrad.config import config_hash
from ildrad.errors import InputError
from ildrad.evaluate.metrics import calibration_intercept_slope, recalibration
from ildrad.models.estimators import SURVIVAL_KINDS, predict_risk
from ildrad.models.folds import FOLDS_FILE, make_folds, read_folds, write_folds
from ildrad.models.model_folder import (
    folds_digest,
    load_model_folder,
    require_features,
    save_model_folder,
)
from ildrad.models.settings import ModelsSettings
from ildrad.models.targets import build_target
from ildrad.models.training import assemble_inputs, cross_validate, fit_final

__all__ = [
    "VISITS_FILE",
    "load_scan_tables",
    "predict_workspace",
    "train_workspace",
    "write_workspace_folds",
]

log = logging.getLogger(__name__)

VISITS_FILE = "visits.parquet"
_PET_PREFIXES = ("pet__", "petrad__")


def load_scan_tables(
    workspace: str | Path, need_features: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(CT rows of the manifest, feature table with PET features joined to their CT) of a workspace."""
    from ildrad.cohort.manifest import read_manifest

    manifest = read_manifest(workspace)
    if "modality" in manifest.columns:
        ct = manifest[manifest.modality.fillna("CT") == "CT"].reset_index(drop=True)
    else:
        ct = manifest.reset_index(drop=True)
    features = None
    if need_features:
        from ildrad.cohort.store import load_features

        features = load_features(workspace)
        pet_columns = [c for c in features.columns if c.startswith(_PET_PREFIXES)]
        if pet_columns and "ct_scan_key" in manifest.columns:
            pet_rows = manifest[manifest.modality == "PT"][["scan_key", "ct_scan_key"]].merge(
                features[["scan_key"] + pet_columns], on="scan_key"
            )
            pet_rows = pet_rows.drop(columns="scan_key").rename(columns={"ct_scan_key": "scan_key"})
            features = features.drop(columns=pet_columns).merge(
                pet_rows.drop_duplicates("scan_key"), on="scan_key", how="left"
            )
    return ct, features


def _visits(workspace: Path) -> pd.DataFrame | None:
    path = workspace / VISITS_FILE
    return pd.read_parquet(path) if path.is_file() else None


def write_workspace_folds(
    workspace: str | Path, settings: ModelsSettings, scheme: str = "cv", cutoff: str | None = None
) -> pd.DataFrame:
    """Write ``folds.parquet``: repeated stratified patient folds (``cv``), ``site`` (leave one site
    out) or ``temporal`` (train before ``cutoff``, test from it)."""
    from ildrad.models.folds import leave_one_site_out_folds, temporal_folds

    manifest, _ = load_scan_tables(workspace, need_features=False)
    if scheme == "cv":
        folds = make_folds(manifest, settings.n_splits, settings.n_repeats, settings.seed)
    elif scheme == "site":
        folds = leave_one_site_out_folds(manifest)
    elif scheme == "temporal":
        if cutoff is None:
            raise InputError("a temporal split needs --cutoff YYYY-MM-DD")
        folds = temporal_folds(manifest, cutoff)
    else:
        raise InputError(f"unknown fold scheme '{scheme}' (cv, site, temporal)")
    write_folds(workspace, folds)
    return folds


def train_workspace(
    workspace: str | Path,
    target_name: str,
    kind: str,
    groups: list[str],
    out: str | Path,
    settings: ModelsSettings,
    score_column: str | None = None,
) -> dict:
    """Cross-validate on the workspace folds, fit the final model, write the model folder; returns model.json."""
    workspace = Path(workspace)
    need_features = any(g != "clin" for g in groups) or bool(
        score_column and not score_column.startswith("clin__")
    )
    manifest, features = load_scan_tables(workspace, need_features)
    folds = read_folds(workspace)
    target = build_target(target_name, manifest, features, _visits(workspace), ipcw=settings.ipcw)
    if "deep" in groups:  # late fusion: each repeat sees its own deep out-of-fold risks
        from ildrad.models.deep.fusion import deep_feature_tables

        by_repeat = deep_feature_tables(workspace, features, folds)
        oof = pd.concat(
            [
                cross_validate(
                    assemble_inputs(manifest, table, groups, settings, score_column),
                    target, folds[folds.repeat == repeat], kind, settings, score_column,
                )
                for repeat, table in by_repeat.items()
            ],
            ignore_index=True,
        )
        repeats_run = len(by_repeat)
        inputs = assemble_inputs(manifest, next(iter(by_repeat.values())), groups, settings, score_column)
    else:
        inputs = assemble_inputs(manifest, features, groups, settings, score_column)
        oof = cross_validate(inputs, target, folds, kind, settings, score_column)
        repeats_run = int(folds.repeat.nunique())
    used = target.frame if kind in SURVIVAL_KINDS else target.assessable
    used = used[used.scan_key.isin(inputs.scan_key)]
    pipeline, params, columns = fit_final(inputs, target, kind, settings, score_column)
    info = {
        "name": Path(out).name,
        "kind": kind,
        "target": target.name,
        "task": target.kind,
        "fit_task": "survival" if kind in SURVIVAL_KINDS else target.kind,
        "horizon": target.horizon,
        "features": columns,
        "feature_groups": groups,
        "score_column": score_column,
        "config_hash": config_hash(settings),
        "settings": settings.model_dump(mode="json"),
        "folds": {
            "file": FOLDS_FILE,
            "digest": folds_digest(folds),
            "repeats": repeats_run,
        },
        "best_params": params,
        "training_cohort": {
            **target.counts,
            "scans_used": int(len(used)),
            "patients_used": int(used.patient_key.nunique()),
            "scans_without_features": int((~target.frame.scan_key.isin(inputs.scan_key)).sum()),
            "events_used": int(np.nansum(used.y)) if target.kind == "binary" else None,
        },
    }
    save_model_folder(out, info, oof, pipeline)
    return info


def predict_workspace(
    model_dir: str | Path, workspace: str | Path, out: str | Path, recalibrate: bool = False
) -> pd.DataFrame:
    """External validation: apply a saved model to another workspace; writes a model folder at
    ``out`` (``model.json`` with ``external: true``, ``oof.parquet`` as repeat 0 / fold 0) that
    ``ildrad evaluate`` reads. With ``recalibrate``, the intercept and slope of logit(risk) are
    updated on the external labels (logistic recalibration) and stored in model.json."""
    model = load_model_folder(model_dir)
    info = model.info
    estimator = model.estimator()
    if estimator is None:
        raise InputError(f"{model_dir}: model folder has no estimator to apply")
    groups = info.get("feature_groups", [])
    score_column = info.get("score_column")
    need_features = any(g != "clin" for g in groups) or bool(
        score_column and not score_column.startswith("clin__")
    )
    manifest, features = load_scan_tables(workspace, need_features)
    settings = ModelsSettings.model_validate(info["settings"])
    try:
        inputs = assemble_inputs(manifest, features, groups, settings, score_column)
    except InputError as err:
        raise InputError(f"{workspace}: {err}") from err
    require_features(info, inputs, where=str(workspace))
    risk = predict_risk(estimator, inputs[info["features"]], info["fit_task"], info.get("horizon"))
    try:
        target = build_target(info["target"], manifest, features, _visits(Path(workspace)))
        y = target.frame.y.to_numpy(float)
    except InputError as err:
        log.warning("no labels for %s in %s (%s): predictions only", info["target"], workspace, err)
        y = np.full(len(manifest), np.nan)
    oof = pd.DataFrame(
        {
            "scan_key": manifest.scan_key,
            "patient_key": manifest.patient_key,
            "target": info["target"],
            "repeat": 0,
            "fold": 0,
            "y": y,
            "weight": 1.0,
            "risk": risk,
        }
    )
    external = {**info, "name": Path(out).name, "external": True, "source_model": str(model_dir)}
    labelled = np.isfinite(y)
    if recalibrate:
        if info.get("task") != "binary" or labelled.sum() < 10 or len(np.unique(y[labelled])) < 2:
            raise InputError(
                f"{workspace}: recalibration needs binary labels of both classes in the external data"
            )
        before, slope_before = calibration_intercept_slope(y[labelled], risk[labelled])
        a, b = recalibration(y[labelled], risk[labelled])
        oof["risk"] = expit(a + b * logit(np.clip(risk, 1e-6, 1 - 1e-6)))
        external["recalibration"] = {
            "intercept": a,
            "slope": b,
            "cal_intercept_before": before,
            "cal_slope_before": slope_before,
        }
    save_model_folder(out, external, oof, None)
    return oof
