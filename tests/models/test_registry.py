"""Every registered model kind trains in-fold on every task it supports; tuning is nested and grouped."""

import numpy as np
import pytest
from conftest import simulate

from ildrad.errors import InputError
from ildrad.evaluate.evaluation import evaluate_models
from ildrad.models.estimators import MODEL_KINDS, SURVIVAL_KINDS
from ildrad.models.folds import make_folds
from ildrad.models.model_folder import ModelFolder
from ildrad.models.settings import ModelsSettings
from ildrad.models.targets import build_target
from ildrad.models.training import assemble_inputs, cross_validate

SMALL = ModelsSettings(
    n_repeats=1, tune=False, n_estimators=20, n_bootstrap=20, selection="mrmr", n_features=5
)


@pytest.fixture(scope="module")
def small():
    manifest, features = simulate(n_patients=90, n_noise=6, seed=7)
    manifest["stage"] = np.digitize(manifest.true_lp, [-0.5, 0.5])  # 3 classes
    manifest["visual_score"] = manifest.true_lp * 3 + np.random.default_rng(0).normal(
        0, 1, len(manifest)
    )
    return manifest, features, make_folds(manifest, 3, 1, 0)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_kind_cross_validates(small, kind):
    manifest, features, folds = small
    target = build_target("mortality_3y", manifest)
    inputs = assemble_inputs(
        manifest,
        features,
        ["rad", "clin"],
        SMALL,
        score_column="rad__lung__original__inf0" if kind == "score" else None,
    )
    oof = cross_validate(
        inputs,
        target,
        folds,
        kind,
        SMALL,
        score_column="rad__lung__original__inf0" if kind == "score" else None,
    )
    assert np.isfinite(oof.risk).all()
    expected = len(target.frame) if kind in SURVIVAL_KINDS else len(target.assessable)
    assert len(oof) == expected


def test_survival_models_refuse_plain_columns_and_classifiers_refuse_survival(small):
    manifest, features, folds = small
    inputs = assemble_inputs(manifest, features, ["rad"], SMALL)
    with pytest.raises(InputError, match="survival"):
        cross_validate(inputs, build_target("survival", manifest), folds, "rf", SMALL)
    with pytest.raises(InputError, match="follow-up"):
        cross_validate(inputs, build_target("visual_score", manifest), folds, "coxnet", SMALL)


def test_multiclass_and_regression_targets_are_evaluated(small):
    manifest, features, folds = small
    inputs = assemble_inputs(manifest, features, ["rad"], SMALL)
    folders = []
    for name, kind in (("stage", "rf"), ("visual_score", "rf")):
        target = build_target(name, manifest)
        oof = cross_validate(inputs, target, folds, kind, SMALL)
        folders.append(
            ModelFolder(
                None,
                {"name": name, "kind": kind, "target": name, "task": target.kind, "features": []},
                oof,
            )
        )
    metrics = evaluate_models(folders, manifest, SMALL).metrics
    per_class = metrics[(metrics.model == "stage") & (metrics.metric == "roc_auc")]
    assert sorted(per_class["at"]) == ["class_0", "class_1", "class_2"]
    assert (per_class.set_index("at").value[["class_0", "class_2"]] > 0.7).all()  # extremes vs rest
    regression = metrics[metrics.model == "visual_score"].set_index("metric")
    assert regression.loc["r2", "value"] > 0.2 and regression.loc["rmse", "value"] > 0


def test_nested_tuning_runs_inside_training_folds(small):
    manifest, features, folds = small
    settings = SMALL.model_copy(update={"tune": True})
    target = build_target("mortality_3y", manifest)
    oof = cross_validate(
        assemble_inputs(manifest, features, ["rad"], settings), target, folds, "logistic", settings
    )
    assert len(oof) == len(target.assessable)


def test_combat_covariates_that_are_not_features_stay_out_of_the_model(small):
    from ildrad.models.training import fit_final

    manifest, features, _ = small
    settings = SMALL.model_copy(update={"harmonize": "scanner_batch", "selection": "none"})
    inputs = assemble_inputs(manifest, features, ["rad"], settings)
    assert {"combat__clin__age_years", "combat__clin__sex_male", "scanner_batch"} <= set(
        inputs.columns
    )
    pipeline, _, _ = fit_final(inputs, build_target("mortality_3y", manifest), "logistic", settings)
    used = pipeline.named_steps["prune"].selected_
    assert used and all(c.startswith("rad__") for c in used)


def test_ipcw_weights_reach_the_out_of_fold_table(small):
    manifest, features, folds = small
    settings = SMALL.model_copy(update={"ipcw": True})
    target = build_target("mortality_3y", manifest, ipcw=True)
    oof = cross_validate(
        assemble_inputs(manifest, features, ["rad"], settings), target, folds, "logistic", settings
    )
    assert (oof.weight > 1).any() and (oof.weight >= 1).all()
