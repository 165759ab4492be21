"""Against the project's cohort generator (ildrad.synth.outcome_model): the oracle is its true 3-year risk.

Features are the generator's true pattern extents plus measurement noise, measured lung function,
age, sex and smoking; the oracle also knows each patient's future disease course, which a single
scan does not show, so delta features (change per year since the previous scan) are included.
"""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ildrad.models.folds import make_folds
from ildrad.models.settings import ModelsSettings
from ildrad.models.targets import build_target
from ildrad.models.training import assemble_inputs, cross_validate
from ildrad.synth.outcome_model import simulate_cohort_tables

PATTERNS = ("ground_glass", "reticulation", "honeycombing", "consolidation", "emphysema")


def test_logistic_with_delta_features_approaches_generator_oracle():
    tables = simulate_cohort_tables(None, 800, 4)
    scans = tables.scans[tables.scans.study_kind == "hrct"].reset_index(drop=True)
    clinical = tables.clinical.set_index("patient_id")
    rng = np.random.default_rng(0)
    manifest = pd.DataFrame(
        {
            "scan_key": scans.series_instance_uid,
            "patient_key": scans.patient_id,
            "study_date": scans.study_date,
            "age_years": scans.age_years,
            "sex": scans.patient_id.map(clinical.sex),
            "smoking": scans.patient_id.map(clinical.smoking),
            "fvc_pct": scans.fvc_pct_true + rng.normal(0, 3, len(scans)),
            "dlco_pct": scans.dlco_pct_true + rng.normal(0, 4, len(scans)),
            "dlco_cannot_perform": False,
            "followup_days": scans.followup_days.astype(float),
            "death": scans.death.astype(bool),
        }
    )
    features = manifest[["scan_key", "patient_key"]].copy()
    for pattern in PATTERNS:
        features[f"qct__lung__original__extent_{pattern}"] = scans[
            f"extent_{pattern}"
        ] + rng.normal(0, 0.005, len(scans))
    settings = ModelsSettings(n_repeats=1, tune=False, selection="none")
    target = build_target("mortality_3y", manifest)
    inputs = assemble_inputs(manifest, features, ["qct", "clin", "delta"], settings)
    oof = cross_validate(inputs, target, make_folds(manifest, 5, 1, 0), "logistic", settings)
    scored = oof.merge(
        scans[["series_instance_uid", "true_risk_3y"]],
        left_on="scan_key",
        right_on="series_instance_uid",
    )
    learnt = roc_auc_score(scored.y, scored.risk)
    oracle = roc_auc_score(scored.y, scored.true_risk_3y)
    assert len(scored) == target.counts["dead_within"] + target.counts["alive_at"]
    assert learnt >= oracle - 0.05, (learnt, oracle)
