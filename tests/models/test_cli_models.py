"""ildrad folds / train / evaluate / predict end to end on a small feature-level workspace."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import simulate

from ildrad.cli import main
from ildrad.models.targets import build_target

FAST_CONFIG = "models:\n  n_repeats: 2\n  tune: false\n  n_bootstrap: 50\n  n_estimators: 50\n"


def _workspace(root, n_patients=150, seed=5, drop=None):
    manifest, features = simulate(n_patients=n_patients, n_noise=10, seed=seed)
    rng = np.random.default_rng(seed)
    manifest = manifest.assign(
        modality="CT",
        fvc_pct=rng.uniform(40, 110, len(manifest)),
        dlco_pct=rng.uniform(25, 100, len(manifest)),
        dlco_cannot_perform=False,
        smoking="never",
    )
    root.mkdir()
    manifest.drop(columns=["true_risk_3y", "true_lp"]).to_parquet(
        root / "manifest.parquet", index=False
    )
    scans = root / "store" / "abc-v0" / "scans"
    scans.mkdir(parents=True)
    if drop:
        features = features.drop(columns=drop)
    for row in features.itertuples(index=False):
        pd.DataFrame([row._asdict()]).to_parquet(scans / f"{row.scan_key}.parquet", index=False)
    return manifest


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    ws = root / "ws"
    _workspace(ws)
    config = root / "config.yaml"
    config.write_text(FAST_CONFIG)
    assert main(["folds", str(ws), "--config", str(config)]) == 0
    assert (
        main(
            [
                "train",
                str(ws),
                "--target",
                "mortality_3y",
                "--model",
                "logistic",
                "--features",
                "rad,clin",
                "--out",
                str(root / "m_rad"),
                "--config",
                str(config),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                str(ws),
                "--target",
                "mortality_3y",
                "--model",
                "score",
                "--score",
                "clin__gap_index",
                "--features",
                "clin",
                "--out",
                str(root / "m_gap"),
                "--config",
                str(config),
            ]
        )
        == 0
    )
    return root, ws, config


def test_folds_keep_patients_whole(trained):
    _, ws, _ = trained
    folds = pd.read_parquet(ws / "folds.parquet")
    assert list(folds.columns) == ["patient_key", "repeat", "fold"]
    assert not folds.duplicated(["patient_key", "repeat"]).any()
    assert folds.repeat.nunique() == 2 and folds.fold.nunique() == 5


def test_model_folder_contract(trained):
    root, _, _ = trained
    info = json.loads((root / "m_rad" / "model.json").read_text())
    assert {"kind", "target", "features", "config_hash", "versions", "training_cohort"} <= set(info)
    assert all(f.startswith(("rad__", "clin__")) for f in info["features"])
    oof = pd.read_parquet(root / "m_rad" / "oof.parquet")
    assert list(oof.columns) == [
        "scan_key",
        "patient_key",
        "target",
        "repeat",
        "fold",
        "y",
        "weight",
        "risk",
    ]
    assert oof.groupby("repeat").scan_key.nunique().eq(info["training_cohort"]["scans_used"]).all()


def test_evaluate_writes_tables_and_figures(trained):
    root, ws, config = trained
    out = root / "results"
    assert (
        main(
            [
                "evaluate",
                str(ws),
                "--models",
                str(root / "m_rad"),
                str(root / "m_gap"),
                "--out",
                str(out),
                "--config",
                str(config),
            ]
        )
        == 0
    )
    metrics = pd.read_csv(out / "metrics.csv", keep_default_na=False)
    assert list(metrics.columns[:6]) == ["model", "target", "metric", "value", "ci_low", "ci_high"]
    from ildrad.evaluate.metrics import METRICS

    assert set(metrics.metric) <= set(METRICS)
    auc = metrics[(metrics.metric == "roc_auc") & (metrics["at"] == "")].set_index("model")
    assert auc.loc["m_rad", "value"] > 0.7
    assert (auc.ci_low <= auc.value).all() and (auc.value <= auc.ci_high).all()
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns) == ["scan_key", "patient_key", "model", "target", "y", "risk"]
    comparisons = pd.read_csv(out / "comparisons.csv")
    assert set(comparisons.method) == {"clustered_delong", "paired_patient_bootstrap"}
    labels = pd.read_csv(out / "labels.csv").set_index(["model", "label"])["count"]
    truth = build_target("mortality_3y", pd.read_parquet(ws / "manifest.parquet")).counts
    assert labels["m_rad", "dead_within"] == truth["dead_within"]
    assert labels["m_rad", "censored_before"] == truth["censored_before"]
    per_patient = root / "per_patient"
    argv = ["evaluate", str(ws), "--models", str(root / "m_rad"), "--out", str(per_patient)]
    assert main([*argv, "--unit", "first_scan", "--config", str(config)]) == 0
    first = pd.read_csv(per_patient / "metrics.csv", keep_default_na=False)
    assert first.n_patients.iloc[0] == first.n_scans.iloc[0] < auc.loc["m_rad", "n_scans"]
    assert (out / "roc_mortality_3y.png").is_file() and (
        out / "decision_mortality_3y.png"
    ).is_file()


def test_predict_external_with_recalibration_and_missing_features(trained, tmp_path, capsys):
    root, _, config = trained
    external = tmp_path / "external"
    _workspace(external, n_patients=120, seed=9)
    out = tmp_path / "ext_pred"
    assert (
        main(["predict", str(root / "m_rad"), str(external), "--out", str(out), "--recalibrate"])
        == 0
    )
    info = json.loads((out / "model.json").read_text())
    assert info["external"] and "slope" in info["recalibration"]
    assert (
        main(
            [
                "evaluate",
                str(external),
                "--models",
                str(out),
                "--out",
                str(tmp_path / "res"),
                "--config",
                str(config),
            ]
        )
        == 0
    )
    metrics = pd.read_csv(tmp_path / "res" / "metrics.csv", keep_default_na=False)
    slope = metrics[metrics.metric == "cal_slope"].value.iloc[0]
    assert slope == pytest.approx(1.0, abs=0.05)  # recalibrated on these very labels

    broken = tmp_path / "broken"
    _workspace(broken, n_patients=60, seed=11, drop=["rad__lung__original__inf0"])
    assert main(["predict", str(root / "m_rad"), str(broken), "--out", str(tmp_path / "x")]) == 2
    assert "rad__lung__original__inf0" in capsys.readouterr().err
