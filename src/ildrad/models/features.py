"""Feature preparation and selection, each step a scikit-learn transformer on DataFrames.

Every data-dependent step (imputation, pruning, selection) is a transformer so that
:mod:`ildrad.models.estimators` can place it inside a Pipeline fitted on training folds only.
Outcome-free tables computed once per cohort (ICC stability from perturbations or test-retest
pairs, delta-radiomics) are plain functions.

References: ICC forms after Shrout & Fleiss 1979 / McGraw & Wong 1996 (ICC(2,1) absolute
agreement, ICC(3,1) consistency, two-way models, single measurement); mRMR as the F-statistic /
correlation quotient (FCQ) of Ding & Peng 2005 (J Bioinform Comput Biol 3:185).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_selection import f_classif, f_regression
from sklearn.linear_model import ElasticNet, LogisticRegression

from ildrad.errors import InputError

__all__ = [
    "FEATURE_GROUPS",
    "ColumnSubset",
    "CorrelationFilter",
    "ElasticNetSelector",
    "MRMRSelector",
    "MedianImputer",
    "RandomForestSelector",
    "delta_per_year",
    "feature_columns",
    "icc",
    "stable_features",
]

log = logging.getLogger(__name__)

#: Feature groups of the store's column grammar (DESIGN.md).
FEATURE_GROUPS: tuple[str, ...] = ("qct", "rad", "pet", "petrad", "deep", "clin", "delta")


def feature_columns(table: pd.DataFrame, groups: list[str] | tuple[str, ...]) -> list[str]:
    """Numeric columns whose name starts with ``{group}__`` for one of ``groups``."""
    unknown = [g for g in groups if g not in FEATURE_GROUPS]
    if unknown:
        raise InputError(f"unknown feature group(s) {unknown} (known: {', '.join(FEATURE_GROUPS)})")
    prefixes = tuple(f"{g}__" for g in groups)
    return [
        c
        for c in table.columns
        if c.startswith(prefixes) and pd.api.types.is_numeric_dtype(table[c])
    ]


class _FrameSelector(TransformerMixin, BaseEstimator):
    """Base: keeps ``selected_`` columns of a DataFrame (plus pass-through non-numeric columns)."""

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.selected_ if c not in X.columns]
        if missing:
            raise InputError(f"data lack column(s) {missing[:5]} used in training")
        keep = self.selected_ + [c for c in X.columns if c in getattr(self, "passthrough_", [])]
        return X[keep]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.selected_ + list(getattr(self, "passthrough_", [])), dtype=object)

    def _numeric(self, X: pd.DataFrame) -> list[str]:
        self.passthrough_ = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        return [c for c in X.columns if c not in self.passthrough_]


class ColumnSubset(_FrameSelector):
    """Keep a fixed list of columns (e.g. the ICC-stable features); outcome-free."""

    def __init__(self, columns: tuple[str, ...] = ()) -> None:
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: object = None) -> ColumnSubset:
        numeric = self._numeric(X)
        self.selected_ = [c for c in numeric if c in set(self.columns)] if self.columns else numeric
        return self


class MedianImputer(_FrameSelector):
    """Impute numeric columns with their training medians; drop columns empty in training."""

    def fit(self, X: pd.DataFrame, y: object = None) -> MedianImputer:
        numeric = self._numeric(X)
        medians = X[numeric].median()
        self.medians_ = medians.dropna()
        self.selected_ = list(self.medians_.index)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = super().transform(X).copy()
        out[self.selected_] = out[self.selected_].astype(float).fillna(self.medians_)
        return out


class CorrelationFilter(_FrameSelector):
    """Drop near-constant columns, then one of each pair with |Pearson r| above ``max_correlation``.

    Of a correlated pair, the column with the larger mean absolute correlation to all others goes.
    """

    def __init__(self, min_std: float = 1e-8, max_correlation: float = 0.9) -> None:
        self.min_std = min_std
        self.max_correlation = max_correlation

    def fit(self, X: pd.DataFrame, y: object = None) -> CorrelationFilter:
        numeric = self._numeric(X)
        values = X[numeric].to_numpy(float)
        keep = values.std(axis=0) > self.min_std
        columns = [c for c, k in zip(numeric, keep, strict=True) if k]
        if len(columns) > 1 and self.max_correlation < 1:
            corr = np.abs(np.corrcoef(values[:, keep], rowvar=False))
            np.fill_diagonal(corr, 0.0)
            alive = np.ones(len(columns), bool)
            mean_corr = corr.mean(axis=0)
            for i, j in zip(*np.nonzero(np.triu(corr > self.max_correlation)), strict=True):
                if alive[i] and alive[j]:
                    alive[i if mean_corr[i] >= mean_corr[j] else j] = False
            columns = [c for c, a in zip(columns, alive, strict=True) if a]
        self.selected_ = columns
        return self


def _is_classification(y: np.ndarray) -> bool:
    values = (
        np.unique(y[~np.isnan(y)])
        if np.issubdtype(np.asarray(y).dtype, np.floating)
        else np.unique(y)
    )
    return len(values) <= 10 and np.all(values == np.round(values))


def _event_of(y: object) -> np.ndarray:
    """Binary view of y: survival targets (structured arrays) select on the event."""
    y = np.asarray(y)
    if y.dtype.names:
        return y[y.dtype.names[0]].astype(float)
    return y.astype(float)


class ElasticNetSelector(_FrameSelector):
    """Keep columns with non-zero elastic-net coefficients (LASSO when ``l1_ratio`` = 1).

    Logistic for class targets (survival: the event), linear otherwise; inputs should be scaled.
    ``max_features`` keeps the largest |coefficients|; when all are zero, the column most
    correlated with the target is kept (a model needs one input).
    """

    def __init__(
        self,
        C: float = 0.1,
        l1_ratio: float = 1.0,
        max_features: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.l1_ratio = l1_ratio
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object) -> ElasticNetSelector:
        numeric = self._numeric(X)
        target = _event_of(y)
        if _is_classification(target):
            model = LogisticRegression(
                C=self.C,
                l1_ratio=self.l1_ratio,
                solver="saga",
                max_iter=5000,
                random_state=self.random_state,
            )
            model.fit(X[numeric].to_numpy(float), target)
            weight = np.abs(model.coef_).max(axis=0)
        else:
            model = ElasticNet(
                alpha=1.0 / (2 * self.C * len(target)), l1_ratio=self.l1_ratio, max_iter=5000
            )
            model.fit(X[numeric].to_numpy(float), target)
            weight = np.abs(model.coef_)
        order = np.argsort(-weight, kind="stable")
        chosen = [i for i in order if weight[i] > 0][: self.max_features]
        if not chosen:  # everything shrunk to zero: keep the feature most correlated with the target
            values = X[numeric].to_numpy(float)
            centred = (values - values.mean(axis=0)) * (target - target.mean())[:, None]
            chosen = [int(np.argmax(np.abs(centred.sum(axis=0)) / (values.std(axis=0) + 1e-12)))]
        self.selected_ = [numeric[i] for i in sorted(chosen)]
        self.weights_ = pd.Series(weight, index=numeric)
        return self


class MRMRSelector(_FrameSelector):
    """Minimum-redundancy maximum-relevance: greedy F-statistic / mean |correlation| (FCQ)."""

    def __init__(self, n_features: int = 10) -> None:
        self.n_features = n_features

    def fit(self, X: pd.DataFrame, y: object) -> MRMRSelector:
        numeric = self._numeric(X)
        values = X[numeric].to_numpy(float)
        target = _event_of(y)
        relevance = (f_classif if _is_classification(target) else f_regression)(values, target)[0]
        relevance = np.nan_to_num(relevance)
        corr = np.abs(np.nan_to_num(np.corrcoef(values, rowvar=False)))
        corr = np.atleast_2d(corr)
        chosen = [int(np.argmax(relevance))]
        while len(chosen) < min(self.n_features, len(numeric)):
            redundancy = corr[:, chosen].mean(axis=1)
            score = relevance / np.maximum(redundancy, 1e-6)
            score[chosen] = -np.inf
            chosen.append(int(np.argmax(score)))
        self.selected_ = [numeric[i] for i in sorted(chosen)]
        return self


class RandomForestSelector(_FrameSelector):
    """Keep the ``n_features`` columns of highest random-forest impurity importance."""

    def __init__(
        self, n_features: int = 10, n_estimators: int = 200, random_state: int = 0
    ) -> None:
        self.n_features = n_features
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object) -> RandomForestSelector:
        numeric = self._numeric(X)
        target = _event_of(y)
        forest = (RandomForestClassifier if _is_classification(target) else RandomForestRegressor)(
            n_estimators=self.n_estimators,
            min_samples_leaf=5,
            random_state=self.random_state,
            n_jobs=1,
        )
        forest.fit(X[numeric].to_numpy(float), target)
        order = np.argsort(-forest.feature_importances_, kind="stable")[: self.n_features]
        self.selected_ = [numeric[i] for i in sorted(order)]
        self.importances_ = pd.Series(forest.feature_importances_, index=numeric)
        return self


def icc(
    table: pd.DataFrame,
    features: list[str],
    subject: str = "scan_key",
    rater: str = "perturbation",
    form: str = "2,1",
) -> pd.Series:
    """ICC per feature from a long table (one row per subject x rater/perturbation/repeat).

    ``form`` ``"2,1"``: two-way random, absolute agreement, single measure
    ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)``; ``"3,1"``: two-way mixed,
    consistency ``(MSR - MSE) / (MSR + (k-1) MSE)``. Needs a complete subject x rater design.
    """
    if form not in ("2,1", "3,1"):
        raise InputError(f"ICC form must be '2,1' or '3,1', got {form!r}")
    result = {}
    for feature in features:
        grid = table.pivot_table(index=subject, columns=rater, values=feature, aggfunc="mean")
        if grid.isna().any().any():
            raise InputError(f"ICC of {feature}: every subject needs a value for every {rater}")
        x = grid.to_numpy(float)
        n, k = x.shape
        grand = x.mean()
        msr = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
        msc = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
        sse = (
            (x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand) ** 2
        ).sum()
        mse = sse / ((n - 1) * (k - 1))
        denominator = msr + (k - 1) * mse + (k * (msc - mse) / n if form == "2,1" else 0.0)
        result[feature] = (msr - mse) / denominator if denominator > 0 else np.nan
    return pd.Series(result, name=f"icc_{form.replace(',', '_')}")


def stable_features(icc_values: pd.Series, threshold: float = 0.75) -> list[str]:
    """Features whose ICC reaches ``threshold`` (Koo & Li 2016: 0.75 = good reliability)."""
    return sorted(icc_values[icc_values >= threshold].index)


def delta_per_year(
    features: pd.DataFrame, manifest: pd.DataFrame, columns: list[str]
) -> pd.DataFrame:
    """Delta-radiomics: change per year since the patient's previous scan, ``delta__{column}``.

    Rows: ``scan_key`` and one column per feature; a patient's first scan gets NaN. Scans on the
    same date as the previous one get NaN too (no time elapsed).
    """
    needed = [c for c in ("scan_key", "patient_key", "study_date") if c not in manifest.columns]
    if needed:
        raise InputError(f"manifest lacks column(s) {needed} needed for delta features")
    joined = manifest[["scan_key", "patient_key", "study_date"]].merge(
        features[["scan_key"] + columns], on="scan_key", how="inner"
    )
    joined = joined.sort_values(["patient_key", "study_date", "scan_key"])
    years = pd.to_datetime(joined.study_date).groupby(joined.patient_key).diff().dt.days / 365.25
    years = years.where(years > 0)
    deltas = joined.groupby("patient_key")[columns].diff().div(years, axis=0)
    deltas.columns = [f"delta__{c}" for c in columns]
    return pd.concat([joined[["scan_key"]], deltas], axis=1).reset_index(drop=True)
