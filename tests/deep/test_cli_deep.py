"""`ildrad deep pretrain / train / predict / gradcam` end to end on a tiny DICOM workspace, then the
deep model evaluated by `ildrad evaluate` and its Grad-CAM shown in the patient report."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from ildrad.cli import main
from ildrad.models.deep.fusion import DEEP_FEATURES_FILE, deep_feature_name
from ildrad.models.folds import read_folds

CONFIG = """\
radiomics:
  families: [intensity_stats]
models:
  n_splits: 2
  n_repeats: 1
  n_bootstrap: 20
deep:
  arch: resnet18_small
"""
TARGETS = ["mortality_1y", "mortality_3y"]


@pytest.fixture(scope="module")
def deep_workspace(tmp_path_factory):
    """4 synthetic patients, at most 2 CT scans each (7 scans), indexed and run (lung masks)."""
    root = tmp_path_factory.mktemp("deep_cli")
    (root / "config.yaml").write_text(CONFIG)
    (root / "spec.yaml").write_text("schedule:\n  max_scans: 2\n")
    config = ["--config", str(root / "config.yaml")]
    assert main(["-q", "synth", "cohort", "--patients", "4", "--seed", "3", "--size", "tiny",
                 "--spec", str(root / "spec.yaml"), "--out", str(root / "cohort")]) == 0
    ws = root / "ws"
    assert main(["-q", "index", str(root / "cohort" / "dicom"), "--clinical", str(root / "cohort" / "clinical.csv"),
                 "--visits", str(root / "cohort" / "visits.csv"), "--out", str(ws)]) == 0
    assert main(["-q", "run", str(ws), "--workers", "1", *config]) == 0
    assert main(["-q", "folds", str(ws), *config]) == 0
    return root, ws, config


def test_pretrain_train_predict_gradcam_evaluate_report(deep_workspace) -> None:
    root, ws, config = deep_workspace
    ckpt = root / "pre.pt"
    assert main(["deep", "pretrain", str(ws), "--out", str(ckpt), "--epochs", "1", *config]) == 0
    assert ckpt.is_file()

    model_dir = ws / "models" / "deep_small"
    assert main(["deep", "train", str(ws), "--target", ",".join(TARGETS), "--epochs", "2", "--init", str(ckpt),
                 "--out", str(model_dir), *config]) == 0
    manifest = pd.read_parquet(ws / "manifest.parquet")
    summary = json.loads((model_dir / "deep.json").read_text())
    assert summary["targets"] == TARGETS and summary["init"] == "pre.pt"
    for target in TARGETS:
        oof = pd.read_parquet(model_dir / target / "oof.parquet")
        assert list(oof.columns[:8]) == ["scan_key", "patient_key", "target", "repeat", "fold", "y", "weight", "risk"]
        assert oof.scan_key.isin(manifest.scan_key).all() and oof.y.notna().all()
        assert json.loads((model_dir / target / "model.json").read_text())["feature_groups"] == ["deep"]

    # fusion features: every scan once per repeat, its fold the patient's fold in folds.parquet
    deep = pd.read_parquet(ws / DEEP_FEATURES_FILE)
    assert sorted(deep.scan_key) == sorted(manifest.scan_key)
    folds = read_folds(ws).set_index(["patient_key", "repeat"]).fold
    assert (deep.fold.to_numpy() == folds.loc[list(zip(deep.patient_key, deep.repeat))].to_numpy()).all()
    risk_1y, risk_3y = deep[deep_feature_name("mortality_1y")], deep[deep_feature_name("mortality_3y")]
    assert (risk_3y >= risk_1y).all()  # monotone across horizons

    out = root / "risks.csv"
    assert main(["deep", "predict", str(model_dir), str(ws), "--out", str(out)]) == 0
    risks = pd.read_csv(out)
    assert len(risks) == len(manifest) and ((risks.risk_mortality_3y >= 0) & (risks.risk_mortality_3y <= 1)).all()

    key = manifest.scan_key.iloc[0]
    assert main(["deep", "gradcam", str(model_dir), str(ws), "--scan", key]) == 0
    png = model_dir / "gradcam" / f"{key}_mortality_3y.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a picture drawn by an older Grad-CAM method (marked in gradcam/method.json) is drawn again
    (model_dir / "gradcam" / "method.json").write_text('{"version": 1}')
    png.write_bytes(b"stale")
    assert main(["deep", "gradcam", str(model_dir), str(ws), "--scan", key]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    results = ws / "results"
    assert main(["-q", "evaluate", str(ws), "--models", str(model_dir / "mortality_3y"), "--out", str(results),
                 *config]) == 0
    metrics = pd.read_csv(results / "metrics.csv")
    assert "roc_auc" in set(metrics.metric)

    patient = manifest.patient_key.iloc[0]
    html_path = root / "patient.html"
    assert main(["-q", "report", str(ws), "--patient", patient, "--results", str(results),
                 "--out", str(html_path), *config]) == 0
    html = html_path.read_text()
    section = html[html.index('id="gradcam"'):]
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', section)
    n_scans = int((manifest.patient_key == patient).sum())
    assert len(images) == n_scans  # one picture per scan of the patient, computed for the report
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert np.all([p.is_file() for p in (model_dir / "gradcam").glob("*.png")])
