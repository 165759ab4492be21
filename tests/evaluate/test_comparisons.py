"""Paired comparisons of two models through evaluate_models: DeLong, bootstrap, Harrell's C."""

import numpy as np
import pandas as pd

from ildrad.evaluate.evaluation import evaluate_models
from ildrad.models.model_folder import ModelFolder
from ildrad.models.settings import ModelsSettings


def _folders(n=300, seed=0):
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.arange(n), 2)
    lp = rng.normal(size=n)[patients]
    time = rng.exponential(1 / (0.2 * np.exp(lp))) + 0.01
    death = time < 6
    time = np.minimum(time, 6)
    y = np.where(death & (time <= 3), 1.0, np.where(time > 3, 0.0, np.nan))
    manifest = pd.DataFrame({"scan_key": [f"s{i}" for i in range(2 * n)], "patient_key": [f"p{p}" for p in patients],
                             "study_date": pd.Timestamp("2020-01-01"), "followup_days": time * 365.25,
                             "death": death})
    good = lp + rng.normal(0, 0.3, 2 * n)
    poor = lp + rng.normal(0, 3.0, 2 * n)
    folders = []
    for name, score in (("good", good), ("poor", poor)):
        oof = manifest[["scan_key", "patient_key"]].assign(target="mortality_3y", repeat=0, fold=0, y=y, weight=1.0,
                                                           risk=1 / (1 + np.exp(-score)))
        oof = oof[oof.y.notna()]
        folders.append(ModelFolder(None, {"name": name, "kind": "x", "target": "mortality_3y", "task": "binary",
                                          "horizon": 3.0, "features": []}, oof))
    return folders, manifest


def test_better_model_wins_every_paired_comparison():
    folders, manifest = _folders()
    result = evaluate_models(folders, manifest, ModelsSettings(n_bootstrap=200))
    comparisons = result.comparisons.set_index(["metric", "method"])
    assert set(comparisons.index) == {("roc_auc", "clustered_delong"), ("roc_auc", "paired_patient_bootstrap"),
                                      ("harrell_c", "paired_patient_bootstrap")}
    assert (comparisons.difference > 0).all() and (comparisons.ci_low > 0).all()
    assert (comparisons.p_value < 0.01).all()
    # the two AUC intervals (analytic clustered DeLong, patient bootstrap) agree roughly
    delong = comparisons.loc[("roc_auc", "clustered_delong")]
    boot = comparisons.loc[("roc_auc", "paired_patient_bootstrap")]
    width = delong.ci_high - delong.ci_low
    assert abs((boot.ci_high - boot.ci_low) - width) < 0.35 * width
    assert result.predictions.groupby("model").size().eq(folders[0].oof.shape[0]).all()
