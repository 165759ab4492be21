"""Registry of model kinds: each builds one scikit-learn Pipeline whose every step is fitted in-fold.

Pipeline: median imputation -> ComBat (optional, imaging columns only, batch column dropped)
-> standardisation -> variance/correlation pruning -> supervised selection (optional) -> model.
Model kinds (:data:`MODEL_KINDS`):

- ``logistic``: penalised (L2) logistic regression; for regression targets an elastic net.
- ``rf``: random forest (classifier or regressor); ``gb``: gradient boosting (shallow trees, subsampled).
- ``coxnet``: elastic-net penalised Cox (scikit-survival ``CoxnetSurvivalAnalysis``);
  ``rsf``: random survival forest. Both are survival models: a fixed-horizon risk is
  ``1 - S(h | x)``, so risks at 1, 3 and 5 years are monotone by construction.
- ``score``: a single existing column (GAP index, a visual score) mapped to a probability by a
  one-variable logistic fit inside the training folds (its ranking, hence AUC, is the column's).

Grids of :data:`TUNING_GRIDS` are searched by nested, patient-grouped cross-validation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ildrad.errors import InputError
from ildrad.harmonize import ComBat
from ildrad.models.features import (
    ColumnSubset,
    CorrelationFilter,
    ElasticNetSelector,
    MedianImputer,
    MRMRSelector,
    RandomForestSelector,
)
from ildrad.models.settings import ModelsSettings

__all__ = [
    "IMAGING_PREFIXES",
    "MODEL_KINDS",
    "SURVIVAL_KINDS",
    "TUNING_GRIDS",
    "build_pipeline",
    "predict_risk",
]

MODEL_KINDS: tuple[str, ...] = ("logistic", "rf", "gb", "coxnet", "rsf", "score")
SURVIVAL_KINDS: frozenset[str] = frozenset({"coxnet", "rsf"})
IMAGING_PREFIXES: tuple[str, ...] = ("qct__", "rad__", "pet__", "petrad__", "deep__", "delta__")

#: Hyper-parameter grids searched by nested CV (step ``model``), per kind.
TUNING_GRIDS: dict[str, dict[str, list]] = {
    "logistic": {"model__C": [0.01, 0.1, 1.0]},
    "rf": {"model__min_samples_leaf": [5, 20]},
    "gb": {"model__learning_rate": [0.03, 0.1]},
    "coxnet": {"model__alphas": [[0.05], [0.01], [0.002]]},
    "rsf": {"model__min_samples_leaf": [10, 30]},
    "score": {},
}


def _estimator(kind: str, task: str, settings: ModelsSettings) -> object:
    seed = settings.seed
    classification = task in ("binary", "multiclass")
    if kind in SURVIVAL_KINDS:
        if task != "survival":
            raise InputError(
                f"model {kind} is a survival model: use it with a mortality or survival target"
            )
        from sksurv.ensemble import RandomSurvivalForest
        from sksurv.linear_model import CoxnetSurvivalAnalysis

        if kind == "coxnet":
            return CoxnetSurvivalAnalysis(
                l1_ratio=0.5, alphas=[0.01], fit_baseline_model=True, max_iter=100000
            )
        return RandomSurvivalForest(
            n_estimators=settings.n_estimators,
            min_samples_leaf=10,
            max_features="sqrt",
            random_state=seed,
            n_jobs=1,
        )
    if task == "survival":
        raise InputError(f"model {kind} does not handle survival targets (use coxnet or rsf)")
    if kind in ("logistic", "score"):
        if classification:
            return LogisticRegression(C=1e4 if kind == "score" else 0.1, max_iter=5000)
        return ElasticNet(alpha=0.01 if kind == "logistic" else 1e-6, l1_ratio=0.5, max_iter=10000)
    if kind == "rf":
        forest = RandomForestClassifier if classification else RandomForestRegressor
        return forest(
            n_estimators=settings.n_estimators,
            min_samples_leaf=5,
            max_features="sqrt",
            random_state=seed,
            n_jobs=1,
        )
    if kind == "gb":
        # single-threaded (results independent of the thread count, unlike the OpenMP histogram variant)
        booster = GradientBoostingClassifier if classification else GradientBoostingRegressor
        return booster(
            n_estimators=150, learning_rate=0.05, max_depth=2, subsample=0.8, random_state=seed
        )
    raise InputError(f"unknown model kind '{kind}' (known: {', '.join(MODEL_KINDS)})")


def _selector(settings: ModelsSettings) -> object | None:
    if settings.selection == "elastic_net":
        return ElasticNetSelector(
            C=0.1, l1_ratio=1.0, max_features=settings.n_features, random_state=settings.seed
        )
    if settings.selection == "mrmr":
        return MRMRSelector(n_features=settings.n_features)
    if settings.selection == "rf":
        return RandomForestSelector(n_features=settings.n_features, random_state=settings.seed)
    return None


def build_pipeline(
    kind: str, task: str, settings: ModelsSettings, score_column: str | None = None
) -> Pipeline:
    """An unfitted Pipeline for model ``kind`` on a ``task`` (binary, multiclass, regression, survival)."""
    steps: list[tuple[str, object]] = [("impute", MedianImputer())]
    if kind == "score":
        if not score_column:
            raise InputError("model 'score' needs the name of the score column")
        steps = [("impute", MedianImputer()), ("columns", ColumnSubset((score_column,)))]
    else:
        if settings.harmonize != "none":
            steps.append(
                (
                    "harmonize",
                    ComBat(
                        batch_column=settings.harmonize,
                        covariate_columns=tuple(settings.combat_covariates),
                        parametric=settings.combat_parametric,
                        prefixes=IMAGING_PREFIXES,
                    ),
                )
            )
        steps.append(("scale", StandardScaler().set_output(transform="pandas")))
        steps.append(("prune", CorrelationFilter(max_correlation=settings.max_correlation)))
        selector = _selector(settings)
        if selector is not None:
            steps.append(("select", selector))
    steps.append(("model", _estimator(kind, task, settings)))
    return Pipeline(steps)


def predict_risk(
    pipeline: Pipeline, X: pd.DataFrame, task: str, horizon: float | None = None
) -> np.ndarray:
    """One risk per row: P(class 1) (binary), expected class (multiclass), prediction (regression),
    ``1 - S(horizon | x)`` for survival models with a horizon, else their risk score."""
    if task == "binary":
        return pipeline.predict_proba(X)[:, 1]
    if task == "multiclass":
        proba = pipeline.predict_proba(X)
        return proba @ np.arange(proba.shape[1])
    if task == "survival":
        if horizon is None:
            return np.asarray(pipeline.predict(X), float)
        curves = pipeline.predict_survival_function(X)
        return np.array(
            [1.0 - float(curve(min(max(horizon, curve.x[0]), curve.x[-1]))) for curve in curves]
        )
    return np.asarray(pipeline.predict(X), float)
