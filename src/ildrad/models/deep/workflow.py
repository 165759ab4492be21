"""``ildrad deep train`` / ``predict``: cross-validated deep models written as model folders.

``train_deep`` runs every fold of the first ``settings.repeats`` repeats of ``folds.parquet``
(patients never cross a split; the inner validation split for early stopping is drawn among the
training patients), then fits a final network on all scans (weights ``final.pt``). ``MODEL_DIR``
holds ``deep.json`` (settings, targets, input hash, per-fold histories) and one model folder per
target, ``MODEL_DIR/<target>/`` (``model.json`` + ``oof.parquet`` with the contract columns), so
``ildrad evaluate WS --models MODEL_DIR/mortality_3y ...`` compares it with radiomics models on
the same scans and folds. The out-of-fold risks of every scan (assessable or not) also go to
``WORKSPACE/deep_features.parquet`` as ``deep`` feature columns for late fusion
(:mod:`ildrad.models.deep.fusion`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ildrad.config import config_hash
from ildrad.errors import InputError
from ildrad.models.deep.checkpoints import load_weights
from ildrad.models.deep.fusion import deep_feature_name, write_deep_features
from ildrad.models.deep.inputs import build_cache, load_inputs, load_views
from ildrad.models.deep.training import (
    DeepData,
    build_model,
    fit,
    inner_split,
    labels,
    predict,
    write_history,
)
from ildrad.models.folds import FOLDS_FILE, check_disjoint, patient_splits, read_folds
from ildrad.models.model_folder import folds_digest, save_model_folder
from ildrad.models.settings import DeepSettings

__all__ = ["DEEP_FILE", "FINAL_WEIGHTS", "predict_deep", "train_deep"]

log = logging.getLogger(__name__)

DEEP_FILE = "deep.json"
FINAL_WEIGHTS = "final.pt"


def _cohort(workspace: Path, settings: DeepSettings, targets: list[str]) -> tuple[pd.DataFrame, DeepData, Path]:
    manifest = pd.read_parquet(workspace / "manifest.parquet")
    if "modality" in manifest.columns:
        manifest = manifest[manifest.modality == "CT"].reset_index(drop=True)
    cache = build_cache(workspace, settings)
    frame = labels(manifest, targets)
    frame = frame[[(cache / f"{k}.npy").is_file() for k in frame.scan_key]].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"{workspace}: no scan has a deep input (lung masks missing?)")
    views = load_views(cache, frame.scan_key.tolist())
    data = DeepData(
        views[:, views.shape[1] // 2],
        frame[targets].to_numpy(float),
        frame.time.to_numpy(float),
        frame.event.to_numpy(bool),
        frame.patient_key.to_numpy(),
        views,
    )
    return frame, data, cache


def _fit_one(data: DeepData, rows: np.ndarray, settings: DeepSettings, n_horizons: int,
             init: Path | None, checkpoint: Path | None, salt: int):
    fit_rows, val_rows = inner_split(data.patient[rows], settings.inner_validation_fraction, settings.seed + salt)
    model = build_model(settings, n_horizons)
    if init is not None:
        load_weights(model.backbone, init)
    result = fit(model, data.subset(rows[fit_rows]), data.subset(rows[val_rows]), settings, checkpoint)
    return model, result


def train_deep(
    workspace: str | Path, settings: DeepSettings, targets: list[str], out: str | Path, init: str | Path | None = None
) -> list[Path]:
    """Cross-validate and fit a deep model for ``targets``; return the per-target model folders."""
    workspace, out = Path(workspace), Path(out)
    torch.set_num_threads(settings.threads)
    init = Path(init) if init else None
    frame, data, cache = _cohort(workspace, settings, targets)
    folds = read_folds(workspace)
    pieces, fusion, histories = [], [], {}
    repeats = sorted(folds.repeat.unique())[: settings.repeats]
    for repeat in repeats:
        for fold, train, test in patient_splits(frame.patient_key, folds, repeat):
            check_disjoint(frame.patient_key.iloc[train], frame.patient_key.iloc[test])
            model, result = _fit_one(data, train, settings, len(targets), init,
                                     out / "checkpoints" / f"r{repeat}_f{fold}.pt", 1000 * int(repeat) + int(fold))
            histories[f"r{repeat}_f{fold}"] = result
            risk = predict(model, data.x[test], settings.batch_size)
            held = frame.iloc[test][["scan_key", "patient_key"]].assign(repeat=int(repeat), fold=int(fold))
            fusion.append(held.assign(**{deep_feature_name(name): risk[:, k] for k, name in enumerate(targets)}))
            for k, name in enumerate(targets):
                piece = frame.iloc[test][["scan_key", "patient_key"]].copy()
                piece["target"], piece["repeat"], piece["fold"] = name, int(repeat), int(fold)
                piece["y"], piece["weight"], piece["risk"] = data.y[test, k], 1.0, risk[:, k]
                pieces.append(piece[piece.y.notna()])
            log.info("repeat %d fold %d: best epoch %d of %d", repeat, fold, result.best_epoch, result.epochs_run)
    final, result = _fit_one(data, np.arange(len(frame)), settings, len(targets), init,
                             out / "checkpoints" / "final.pt", 999_999)
    histories["final"] = result
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"weights": final.state_dict(), "settings": settings.model_dump(mode="json"), "targets": targets},
               out / FINAL_WEIGHTS)
    write_history(out / "history.json", histories)
    oof = pd.concat(pieces, ignore_index=True)
    write_deep_features(workspace, pd.concat(fusion, ignore_index=True))
    summary = {"targets": targets, "input_hash": cache.name, "settings": settings.model_dump(mode="json"),
               "init": init.name if init else None}
    (out / DEEP_FILE).write_text(json.dumps(summary, indent=2))
    written = []
    for name in targets:
        used = frame[frame[name].notna()]
        info = {
            "name": f"{out.name}_{name}",
            "kind": f"deep_{settings.arch}_{settings.dims}",
            "target": name,
            "task": "binary",
            "fit_task": "binary",
            "horizon": float(name[len("mortality_"):-1]),
            "features": [],
            "feature_groups": ["deep"],
            "config_hash": config_hash(settings),
            "settings": settings.model_dump(mode="json"),
            "input_hash": cache.name,
            "weights": f"../{FINAL_WEIGHTS}",
            "folds": {"file": FOLDS_FILE, "digest": folds_digest(folds), "repeats": len(repeats)},
            "training_cohort": {"scans_used": int(len(used)), "patients_used": int(used.patient_key.nunique()),
                                "events": int(used[name].sum())},
        }
        written.append(save_model_folder(out / name, info, oof[oof.target == name].reset_index(drop=True), None))
    return written


def load_final_model(model_dir: str | Path):
    """The final network of a deep model folder, its settings and targets."""
    from ildrad.models.deep.training import build_model

    path = Path(model_dir) / FINAL_WEIGHTS
    if not path.is_file():
        raise InputError(f"{model_dir}: no {FINAL_WEIGHTS}; not a deep model folder from `ildrad deep train`")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    settings = DeepSettings(**saved["settings"])
    model = build_model(settings, len(saved["targets"]))
    model.load_state_dict(saved["weights"])
    return model, settings, list(saved["targets"])


def predict_deep(model_dir: str | Path, workspace: str | Path) -> pd.DataFrame:
    """Risks of the final network for every scan of ``workspace`` with a lung mask:
    scan_key, patient_key, then ``risk_<target>`` columns."""
    model, settings, targets = load_final_model(model_dir)
    torch.set_num_threads(settings.threads)
    workspace = Path(workspace)
    cache = build_cache(workspace, settings)
    manifest = pd.read_parquet(workspace / "manifest.parquet")
    keys = [k for k in manifest.scan_key if (cache / f"{k}.npy").is_file()]
    risk = predict(model, load_inputs(cache, keys), settings.batch_size)
    table = manifest.set_index("scan_key").loc[keys, ["patient_key"]].reset_index()
    for k, name in enumerate(targets):
        table[f"risk_{name}"] = risk[:, k]
    return table

