"""One small workspace for the report and export tests, built once per session.

A tiny synthetic cohort with PET (4 patients) is indexed and run (lungs and a few radiomics
families, masks kept). Two model folders are then written by hand with out-of-fold risks (the
labels alternate by patient, so both outcomes have two patients: this fixture tests rendering,
not learning), and ``ildrad
evaluate`` turns them into metrics.csv, predictions.csv and comparisons.csv.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TEST_CONFIG = """\
radiomics:
  families: [intensity_stats]
models:
  n_bootstrap: 50
"""


def _fake_model(workspace: Path, name: str, noise: float, seed: int) -> Path:
    from ildrad.models.model_folder import save_model_folder
    from ildrad.models.targets import mortality_target
    from ildrad.models.workflow import load_scan_tables

    ct, features = load_scan_tables(workspace)
    frame = mortality_target(ct, 3).frame
    frame = frame[frame.scan_key.isin(features.scan_key)].reset_index(drop=True)
    # Labels by patient (alternating over the sorted keys), so that both outcomes come from at least
    # two patients each as the clustered comparisons need; rendering, not learning, is tested here.
    patients = sorted(frame.patient_key.unique())
    y = frame.patient_key.map({key: float(i % 2) for i, key in enumerate(patients)}).to_numpy(float)
    rng = np.random.default_rng(seed)
    risk = np.clip(0.25 + 0.5 * y + rng.normal(0, noise, len(y)), 0.01, 0.99)
    oof = pd.DataFrame(
        {
            "scan_key": frame.scan_key,
            "patient_key": frame.patient_key,
            "target": "mortality_3y",
            "repeat": 0,
            "fold": np.arange(len(y)) % 2,
            "y": y,
            "weight": 1.0,
            "risk": risk,
        }
    )
    info = {
        "name": name,
        "kind": "logistic",
        "target": "mortality_3y",
        "task": "binary",
        "fit_task": "binary",
        "horizon": 3.0,
        "features": ["clin__age_years"],
        "feature_groups": ["clin"],
    }
    return save_model_folder(workspace / "models" / name, info, oof, None)


@pytest.fixture(scope="session")
def report_workspace(tmp_path_factory) -> Path:
    """Workspace with store, masks, two model folders and WORKSPACE/results from `ildrad evaluate`."""
    from ildrad.cli import main

    if os.environ.get(
        "ILDRAD_REPORT_TEST_WS"
    ):  # a workspace built by this fixture before (development)
        return Path(os.environ["ILDRAD_REPORT_TEST_WS"])
    root = tmp_path_factory.mktemp("report_ws")
    (root / "config.yaml").write_text(TEST_CONFIG)
    config = ["--config", str(root / "config.yaml")]
    ws = root / "ws"
    assert (
        main(
            [
                "-q",
                "synth",
                "cohort",
                "--patients",
                "4",
                "--seed",
                "11",
                "--size",
                "tiny",
                "--pet",
                "--out",
                str(root / "cohort"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "-q",
                "index",
                str(root / "cohort" / "dicom"),
                "--clinical",
                str(root / "cohort" / "clinical.csv"),
                "--visits",
                str(root / "cohort" / "visits.csv"),
                "--out",
                str(ws),
            ]
        )
        == 0
    )
    assert main(["-q", "run", str(ws), "--workers", "1", *config]) in (0, 3)
    models = [_fake_model(ws, "model_a", 0.15, 1), _fake_model(ws, "model_b", 0.4, 2)]
    assert (
        main(
            [
                "-q",
                "evaluate",
                str(ws),
                "--models",
                *map(str, models),
                "--out",
                str(ws / "results"),
                *config,
            ]
        )
        == 0
    )
    return ws
