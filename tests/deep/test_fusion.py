"""Late fusion: deep out-of-fold risks as ``deep`` features, per repeat, never in-fold.

A feature-level workspace (no images): each patient has a latent risk; the radiomics features
carry half of it, the "deep" risk the other half, so a fused model beats radiomics alone. The
deep_features.parquet written here has the layout ``ildrad deep train`` writes.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ildrad.cli import main
from ildrad.models.deep.fusion import DEEP_FEATURES_FILE, deep_feature_name, deep_feature_tables
from ildrad.models.folds import LeakageError, read_folds

CONFIG = "models:\n  n_splits: 3\n  n_repeats: 2\n  tune: false\n  n_bootstrap: 20\n"
DEEP = deep_feature_name("mortality_3y")


def _workspace(root, n_patients: int = 150, seed: int = 4):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n_patients), rng.normal(size=n_patients)  # radiomics part, deep part
    death = rng.exponential(1 / (0.15 * np.exp(1.2 * a + 1.2 * b)))
    censor = rng.uniform(3.5, 8, n_patients)
    rows, feats = [], []
    for p in range(n_patients):
        rows.append({"scan_key": f"s{p}", "patient_key": f"p{p}", "modality": "CT",
                     "study_date": pd.Timestamp("2016-01-01"), "followup_days": float(min(death[p], censor[p]) * 365.25),
                     "death": bool(death[p] <= censor[p]), "scanner_batch": "ge", "site": "a",
                     "age_years": 55.0 + rng.normal(), "sex": "F", "fvc_pct": 80.0, "dlco_pct": 60.0,
                     "dlco_cannot_perform": False, "smoking": "never"})
        feats.append({"scan_key": f"s{p}", "patient_key": f"p{p}",
                      "rad__lung__original__inf0": a[p] + rng.normal(0, 0.3),
                      "rad__lung__original__noise0": rng.normal()})
    ws = root / "ws"
    scans = ws / "store" / "abc-v0" / "scans"
    scans.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(ws / "manifest.parquet", index=False)
    for f in feats:
        pd.DataFrame([f]).to_parquet(scans / f"{f['scan_key']}.parquet", index=False)
    config = root / "config.yaml"
    config.write_text(CONFIG)
    assert main(["folds", str(ws), "--config", str(config)]) == 0
    return ws, config, b


def _deep_file(ws, b, repeats=(0, 1), seed=0, wrong_fold=False) -> pd.DataFrame:
    """Out-of-fold "deep" risks: the deep part of the latent risk plus noise, fold from folds.parquet."""
    folds = read_folds(ws)
    rng = np.random.default_rng(seed)
    pieces = []
    for repeat in repeats:
        f = folds[folds.repeat == repeat]
        keys = f.patient_key.str[1:].astype(int).to_numpy()
        fold = f.fold.to_numpy()
        if wrong_fold:  # the value of a scan from the network of another fold: one that trained on it
            fold = (fold + 1) % (fold.max() + 1)
        pieces.append(pd.DataFrame({"scan_key": [f"s{k}" for k in keys], "patient_key": f.patient_key.to_numpy(),
                                    "repeat": repeat, "fold": fold,
                                    DEEP: 1 / (1 + np.exp(-(b[keys] + rng.normal(0, 0.3, len(keys)))))}))
    table = pd.concat(pieces, ignore_index=True)
    table.to_parquet(ws / DEEP_FEATURES_FILE, index=False)
    return table


@pytest.fixture(scope="module")
def fusion_workspace(tmp_path_factory):
    return _workspace(tmp_path_factory.mktemp("fusion"))


def _train(ws, config, out, features) -> int:
    return main(["train", str(ws), "--target", "mortality_3y", "--model", "logistic", "--features", features,
                 "--out", str(out), "--config", str(config)])


def test_late_fusion_trains_and_evaluates_better_than_radiomics_alone(fusion_workspace, tmp_path) -> None:
    ws, config, b = fusion_workspace
    _deep_file(ws, b)
    assert _train(ws, config, ws / "models" / "rad", "rad,clin") == 0
    assert _train(ws, config, ws / "models" / "fused", "rad,deep,clin") == 0
    info = json.loads((ws / "models" / "fused" / "model.json").read_text())
    assert DEEP in info["features"] and "deep" in info["feature_groups"]
    oof = pd.read_parquet(ws / "models" / "fused" / "oof.parquet")
    assert sorted(oof.repeat.unique()) == [0, 1]
    assert main(["evaluate", str(ws), "--models", str(ws / "models" / "rad"), str(ws / "models" / "fused"),
                 "--out", str(tmp_path / "results"), "--config", str(config)]) == 0
    metrics = pd.read_csv(tmp_path / "results" / "metrics.csv")
    auc = metrics[(metrics.metric == "roc_auc")].groupby("model").value.first()
    print(f"3-year AUC: radiomics {auc['rad']:.3f}, radiomics + deep {auc['fused']:.3f}")
    assert auc["fused"] > auc["rad"] + 0.05


def test_each_repeat_gets_its_own_deep_values_and_missing_repeats_are_left_out(fusion_workspace, tmp_path) -> None:
    ws, config, b = fusion_workspace
    table = _deep_file(ws, b, repeats=(0, 1), seed=1)
    features = pd.DataFrame({"scan_key": [f"s{i}" for i in range(len(b))], "rad__lung__original__x": 0.0})
    tables = deep_feature_tables(ws, features, read_folds(ws))
    for repeat in (0, 1):
        expected = table[table.repeat == repeat].set_index("scan_key")[DEEP]
        got = tables[repeat].set_index("scan_key")[DEEP]
        np.testing.assert_allclose(got.loc[expected.index], expected)
    assert not np.allclose(tables[0][DEEP], tables[1][DEEP])

    _deep_file(ws, b, repeats=(0,))  # the deep model ran one repeat: the fused model runs that one only
    assert _train(ws, config, tmp_path / "fused_r0", "rad,deep") == 0
    assert pd.read_parquet(tmp_path / "fused_r0" / "oof.parquet").repeat.unique().tolist() == [0]


def test_in_fold_deep_predictions_are_refused(fusion_workspace, tmp_path) -> None:
    ws, config, b = fusion_workspace
    _deep_file(ws, b, wrong_fold=True)
    with pytest.raises(LeakageError, match="in-fold"):
        deep_feature_tables(ws, pd.DataFrame({"scan_key": ["s0"]}), read_folds(ws))
    assert _train(ws, config, tmp_path / "leaky", "rad,deep") != 0
    assert not (tmp_path / "leaky" / "model.json").exists()
