"""Learnt models against the oracle, selection frequencies, a null cohort, calibration (feature-level data)."""

import numpy as np
import pandas as pd
import pytest
from conftest import N_INFORMATIVE, simulate
from scipy.special import logit
from sklearn.feature_selection import f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from ildrad.evaluate.evaluation import evaluate_models
from ildrad.models.estimators import predict_risk
from ildrad.models.features import ElasticNetSelector
from ildrad.models.folds import make_folds
from ildrad.models.model_folder import ModelFolder
from ildrad.models.settings import ModelsSettings
from ildrad.models.targets import build_target
from ildrad.models.training import assemble_inputs, cross_validate, fit_final

FAST = ModelsSettings(n_repeats=1, tune=False, n_estimators=100, n_bootstrap=200)


def _oof(manifest, features, kind, settings=FAST, target="mortality_3y", folds=None):
    tgt = build_target(target, manifest)
    folds = make_folds(manifest, 5, settings.n_repeats, 0) if folds is None else folds
    inputs = assemble_inputs(manifest, features, ["rad"], settings)
    return tgt, cross_validate(inputs, tgt, folds, kind, settings)


@pytest.mark.parametrize("kind", ["logistic", "coxnet"])
def test_learnt_model_approaches_oracle(cohort_500, kind):
    manifest, features = cohort_500
    _, oof = _oof(manifest, features, kind)
    scored = oof.dropna(subset=["y"]).merge(manifest[["scan_key", "true_risk_3y"]], on="scan_key")
    learnt = roc_auc_score(scored.y, scored.risk)
    oracle = roc_auc_score(scored.y, scored.true_risk_3y)
    assert len(scored) > 700
    assert learnt >= oracle - 0.05, (learnt, oracle)


def test_calibration_slope_against_true_risk(cohort_500):
    manifest, features = cohort_500
    _, oof = _oof(manifest, features, "coxnet")
    scored = oof.merge(manifest[["scan_key", "true_risk_3y"]], on="scan_key")
    x = logit(np.clip(scored.risk, 1e-4, 1 - 1e-4))
    slope = np.polyfit(x, logit(scored.true_risk_3y), 1)[0]
    assert 0.8 <= slope <= 1.2, slope


def test_survival_risks_are_monotone_in_horizon(cohort_500):
    manifest, features = cohort_500
    target = build_target("mortality_3y", manifest)
    inputs = assemble_inputs(manifest, features, ["rad"], FAST)
    pipeline, _, columns = fit_final(inputs, target, "coxnet", FAST)
    X = inputs[columns].iloc[:200]
    risks = np.column_stack([predict_risk(pipeline, X, "survival", h) for h in (1, 3, 5)])
    assert np.all(np.diff(risks, axis=1) >= 0)
    assert np.all((risks >= 0) & (risks <= 1))


def test_informative_features_selected_more_often(cohort_500):
    manifest, features = cohort_500
    target = build_target("mortality_3y", manifest).assessable
    X = features.set_index("scan_key").loc[target.scan_key].drop(columns="patient_key")
    X = (X - X.mean()) / X.std()
    rng = np.random.default_rng(0)
    patients = target.patient_key.unique()
    counts = pd.Series(0.0, index=X.columns)
    for _ in range(20):
        chosen = set(rng.choice(patients, len(patients) // 2, replace=False))
        rows = target.patient_key.isin(chosen).to_numpy()
        selector = ElasticNetSelector(C=0.05, max_features=8).fit(
            X[rows], target.y.to_numpy(int)[rows]
        )
        counts[selector.selected_] += 1 / 20
    informative, noise = counts.iloc[:N_INFORMATIVE], counts.iloc[N_INFORMATIVE:]
    assert informative.min() > noise.mean()
    assert informative.mean() >= 0.9 and noise.mean() <= 0.5, counts.to_dict()


def _auc_with_ci(oof, manifest, name):
    folder = ModelFolder(
        path=None,
        info={
            "name": name,
            "kind": "logistic",
            "target": "mortality_3y",
            "task": "binary",
            "horizon": 3.0,
            "features": [],
        },
        oof=oof,
    )
    metrics = evaluate_models([folder], manifest, FAST).metrics
    row = metrics[(metrics.metric == "roc_auc") & (metrics["at"] == "")].iloc[0]
    return row.value, row.ci_low, row.ci_high


def test_null_cohort_is_not_optimistic_and_leaky_selection_is():
    manifest, features = simulate(n_patients=200, n_noise=300, seed=3, null=True)
    settings = FAST.model_copy(
        update={
            "selection": "elastic_net",
            "n_features": 10,
            "harmonize": "scanner_batch",
            "combat_covariates": [],
        }
    )
    folds = make_folds(manifest, 5, 1, 0)
    target, honest = _oof(manifest, features, "logistic", settings, folds=folds)
    value, low, high = _auc_with_ci(honest, manifest, "honest")
    assert low <= 0.5 <= high, (value, low, high)

    # the classic mistake, outside the public API: choose features on ALL scans, then cross-validate
    labelled = target.assessable.reset_index(drop=True)
    X = features.set_index("scan_key").loc[labelled.scan_key].drop(columns="patient_key").to_numpy()
    top = np.argsort(-np.nan_to_num(f_classif(X, labelled.y.to_numpy())[0]))[:10]
    leaky = []
    assignment = folds.set_index("patient_key").fold
    fold_of = labelled.patient_key.map(assignment).to_numpy()
    for f in range(5):
        train, test = fold_of != f, fold_of == f
        model = LogisticRegression(C=0.1, max_iter=2000).fit(X[train][:, top], labelled.y[train])
        leaky.append(
            labelled[test].assign(
                repeat=0,
                fold=f,
                target="mortality_3y",
                risk=model.predict_proba(X[test][:, top])[:, 1],
            )
        )
    leaky_value, leaky_low, _ = _auc_with_ci(pd.concat(leaky, ignore_index=True), manifest, "leaky")
    print("null honest", value, low, high, "leaky", leaky_value, leaky_low)
    assert leaky_low > 0.5 and leaky_value > value + 0.1, (leaky_value, leaky_low, value)
