"""ComBat harmonisation (Johnson, Li & Rabinovic 2007, Biostatistics 8:118) as a scikit-learn transformer.

Per feature g and batch i the model is ``x_ijg = alpha_g + C_j beta_g + gamma_ig + delta_ig eps_ijg``:
a location (gamma) and scale (delta) effect of the batch on top of the biological covariates C,
which are kept. The batch effects are shrunk by empirical Bayes, either with conjugate normal /
inverse-gamma priors (parametric, iterated to convergence) or by integrating over the empirical
distribution of the other features' estimates (non-parametric). The arithmetic follows
``sva::ComBat`` (R package sva) step by step and is checked against it on committed fixtures
(``tests/fixtures/r/``). Fit on the training fold only: :meth:`ComBat.transform` applies the
location, scale and batch estimates learnt by :meth:`ComBat.fit` to new scans of known batches
(the "from training" use of Fortin's neuroCombat, Orlhac 2022 JNM 63:172).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ildrad.errors import InputError

__all__ = ["COVARIATE_ONLY", "ComBat", "combat_apply", "combat_fit"]

log = logging.getLogger(__name__)

#: Prefix of a column that is a ComBat covariate but not a model feature (dropped from the output).
COVARIATE_ONLY = "combat__"


def _design(batch: np.ndarray, levels: np.ndarray, covariates: np.ndarray | None) -> np.ndarray:
    onehot = (batch[:, None] == levels[None, :]).astype(float)
    if covariates is None or covariates.shape[1] == 0:
        return onehot
    return np.hstack([onehot, covariates])


def _inverse_gamma_prior(delta_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Method-of-moments hyper-parameters (a, b) of the inverse-gamma prior of each batch's variances."""
    mean = delta_hat.mean(axis=1)
    var = delta_hat.var(axis=1, ddof=1)
    return (2 * var + mean**2) / var, (mean * var + mean**3) / var


def _parametric_shrinkage(
    data: np.ndarray,
    g_hat: np.ndarray,
    d_hat: np.ndarray,
    g_bar: float,
    t2: float,
    a: float,
    b: float,
    tol: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means of one batch's (gamma, delta) by the fixed-point iteration of sva's ``it.sol``."""
    n = data.shape[0]
    g_old, d_old = g_hat.copy(), d_hat.copy()
    for _ in range(10000):
        g_new = (t2 * n * g_hat + d_old * g_bar) / (t2 * n + d_old)
        sum2 = ((data - g_new[None, :]) ** 2).sum(axis=0)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        # as in sva: the relative change of gamma is divided by the signed old value; a value
        # that stays exactly 0 (a feature constant within the batch) has not changed
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.concatenate([np.abs(g_new - g_old) / g_old, np.abs(d_new - d_old) / d_old])
        change = np.max(np.nan_to_num(relative, nan=0.0))
        g_old, d_old = g_new, d_new
        if change <= tol:
            break
    return g_old, d_old


def _nonparametric_shrinkage(
    data: np.ndarray, g_hat: np.ndarray, d_hat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means of one batch's (gamma, delta) over the other features' estimates (sva's ``int.eprior``)."""
    n = data.shape[0]
    n_features = data.shape[1]
    g_star = np.empty(n_features)
    d_star = np.empty(n_features)
    for g in range(n_features):
        others = np.arange(n_features) != g
        gam, dlt = g_hat[others], d_hat[others]
        sum2 = ((data[:, g][None, :] - gam[:, None]) ** 2).sum(axis=1)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            likelihood = (2 * np.pi * dlt) ** (-n / 2.0) * np.exp(-sum2 / (2 * dlt))
        likelihood = np.nan_to_num(likelihood, nan=0.0)
        g_star[g] = np.sum(gam * likelihood) / np.sum(likelihood)
        d_star[g] = np.sum(dlt * likelihood) / np.sum(likelihood)
    return g_star, d_star


def combat_fit(
    data: np.ndarray,
    batch: np.ndarray,
    covariates: np.ndarray | None = None,
    parametric: bool = True,
    mean_only: bool = False,
) -> dict[str, np.ndarray]:
    """Estimate ComBat's parameters from ``data`` (samples x features), batch labels and covariates.

    ``covariates`` (samples x k, numeric, no intercept) are the biological effects to keep.
    Returns the batch levels, regression coefficients, pooled variance and the shrunk batch
    location (``gamma_star``) and scale (``delta_star``) per batch and feature.
    """
    data = np.asarray(data, dtype=float)
    levels, counts = np.unique(batch, return_counts=True)
    if len(levels) < 2:
        raise InputError(f"ComBat needs at least two batches, got {len(levels)} ({list(levels)})")
    if np.any(counts < 2):
        raise InputError(
            f"ComBat needs at least two scans per batch; batch(es) "
            f"{list(levels[counts < 2])} have one"
        )
    if not np.all(np.isfinite(data)):
        raise InputError("ComBat got missing or infinite feature values: impute before harmonising")
    n = data.shape[0]
    design = _design(batch, levels, covariates)
    coef, *_ = np.linalg.lstsq(design, data, rcond=None)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise InputError(
            "ComBat: the covariates are confounded with the batches (design not of full rank)"
        )
    grand_mean = (counts / n) @ coef[: len(levels)]
    var_pooled = ((data - design @ coef) ** 2).mean(axis=0)
    if np.any(var_pooled <= 0):
        constant = int(np.sum(var_pooled <= 0))
        raise InputError(
            f"ComBat: {constant} feature(s) have zero residual variance; drop constant features first"
        )
    stand_mean = grand_mean[None, :] + _covariate_effect(covariates, coef, len(levels))
    standardised = (data - stand_mean) / np.sqrt(var_pooled)[None, :]
    gamma_hat = np.vstack([standardised[batch == level].mean(axis=0) for level in levels])
    delta_hat = np.vstack([standardised[batch == level].var(axis=0, ddof=1) for level in levels])
    if mean_only:
        delta_hat = np.ones_like(delta_hat)
    gamma_bar = gamma_hat.mean(axis=1)
    tau2 = gamma_hat.var(axis=1, ddof=1)
    gamma_star = np.empty_like(gamma_hat)
    delta_star = np.empty_like(delta_hat)
    if parametric:
        a_prior, b_prior = _inverse_gamma_prior(delta_hat) if not mean_only else (None, None)
        for i, level in enumerate(levels):
            if mean_only:
                # sva's postmean(gamma.hat, gamma.bar, n = 1, d = 1, t2)
                gamma_star[i] = (tau2[i] * gamma_hat[i] + gamma_bar[i]) / (tau2[i] + 1)
                delta_star[i] = 1.0
            else:
                gamma_star[i], delta_star[i] = _parametric_shrinkage(
                    standardised[batch == level],
                    gamma_hat[i],
                    delta_hat[i],
                    gamma_bar[i],
                    tau2[i],
                    a_prior[i],
                    b_prior[i],
                )
    else:
        for i, level in enumerate(levels):
            gamma_star[i], delta_star[i] = _nonparametric_shrinkage(
                standardised[batch == level], gamma_hat[i], delta_hat[i]
            )
    return {
        "levels": levels,
        "coef": coef,
        "grand_mean": grand_mean,
        "var_pooled": var_pooled,
        "gamma_star": gamma_star,
        "delta_star": delta_star,
    }


def _covariate_effect(covariates: np.ndarray | None, coef: np.ndarray, n_levels: int) -> np.ndarray:
    if covariates is None or covariates.shape[1] == 0:
        return np.zeros((1, coef.shape[1]))
    return covariates @ coef[n_levels:]


def combat_apply(
    params: dict[str, np.ndarray],
    data: np.ndarray,
    batch: np.ndarray,
    covariates: np.ndarray | None = None,
) -> np.ndarray:
    """Remove the batch effects estimated by :func:`combat_fit` from ``data`` (samples x features)."""
    data = np.asarray(data, dtype=float)
    levels = params["levels"]
    unknown = sorted(set(np.unique(batch)) - set(levels))
    if unknown:
        raise InputError(
            f"ComBat: batch(es) {unknown} were not seen in training (known: {list(levels)})"
        )
    if not np.all(np.isfinite(data)):
        raise InputError("ComBat got missing or infinite feature values: impute before harmonising")
    sd = np.sqrt(params["var_pooled"])[None, :]
    stand_mean = params["grand_mean"][None, :] + _covariate_effect(
        covariates, params["coef"], len(levels)
    )
    standardised = (data - stand_mean) / sd
    out = np.empty_like(standardised)
    for i, level in enumerate(levels):
        rows = batch == level
        out[rows] = (standardised[rows] - params["gamma_star"][i]) / np.sqrt(
            params["delta_star"][i]
        )
    return out * sd + stand_mean


class ComBat(TransformerMixin, BaseEstimator):
    """ComBat on a DataFrame: harmonises every numeric column except the batch and covariate columns.

    ``batch_column`` (e.g. ``scanner_batch`` or ``site``) is dropped from the output; the
    ``covariate_columns`` (biological effects to keep, e.g. ``clin__age_years``) pass through
    unchanged; categorical covariates are dummy-coded. With ``prefixes`` (e.g. ``("qct__", "rad__")``)
    only columns starting with one of them are harmonised, the others pass through. A covariate
    given as ``name`` may be present as ``combat__name``: it is then used and dropped from the output
    (a biological covariate that is not a model feature). ``parametric=False`` gives the
    non-parametric empirical-Bayes variant; ``mean_only=True`` adjusts location only.
    """

    def __init__(
        self,
        batch_column: str = "scanner_batch",
        covariate_columns: tuple[str, ...] = (),
        parametric: bool = True,
        mean_only: bool = False,
        prefixes: tuple[str, ...] = (),
    ) -> None:
        self.batch_column = batch_column
        self.covariate_columns = covariate_columns
        self.parametric = parametric
        self.mean_only = mean_only
        self.prefixes = prefixes

    def _split(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        if not isinstance(frame, pd.DataFrame):
            raise InputError("ComBat needs a DataFrame holding the batch column")
        if self.batch_column not in frame.columns:
            raise InputError(f"ComBat: batch column '{self.batch_column}' not in the data")
        names = self._covariate_names(frame)
        batch = frame[self.batch_column].astype(str).to_numpy()
        covariates = None
        if names:
            coded = pd.get_dummies(frame[names], drop_first=False, dtype=float)
            if hasattr(self, "covariate_names_"):
                coded = coded.reindex(columns=self.covariate_names_, fill_value=0.0)
            covariates = coded
        features = [
            c
            for c in frame.columns
            if c != self.batch_column
            and c not in names
            and pd.api.types.is_numeric_dtype(frame[c])
            and c.startswith(tuple(self.prefixes) or "")
        ]
        return batch, covariates, features

    def _covariate_names(self, frame: pd.DataFrame) -> list[str]:
        """Covariate columns as present: ``name``, or ``combat__name`` (a covariate that is not a feature)."""
        names = []
        for column in self.covariate_columns:
            present = column if column in frame.columns else f"{COVARIATE_ONLY}{column}"
            if present not in frame.columns:
                raise InputError(f"ComBat: covariate column '{column}' not in the data")
            names.append(present)
        return names

    def fit(self, X: pd.DataFrame, y: object = None) -> ComBat:
        """Learn the batch effects from the training scans."""
        batch, covariates, features = self._split(X)
        if covariates is not None:
            # drop one level of each dummy-coded categorical so the design stays of full rank
            coded = pd.get_dummies(X[self._covariate_names(X)], drop_first=True, dtype=float)
            self.covariate_names_ = list(coded.columns)
            covariates = coded
        self.feature_names_ = features
        self.columns_out_ = [
            c for c in X.columns if c != self.batch_column and not c.startswith(COVARIATE_ONLY)
        ]
        self.params_ = combat_fit(
            X[features].to_numpy(float),
            batch,
            None if covariates is None else covariates.to_numpy(float),
            parametric=self.parametric,
            mean_only=self.mean_only,
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Harmonised features (same columns as the input, without the batch column)."""
        batch, covariates, _ = self._split(X)
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise InputError(
                f"ComBat: feature column(s) {missing[:5]} seen in training are missing"
            )
        out = X.copy()
        out[self.feature_names_] = combat_apply(
            self.params_,
            X[self.feature_names_].to_numpy(float),
            batch,
            None if covariates is None else covariates.to_numpy(float),
        )
        return out[self.columns_out_]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names (sklearn's set_output protocol)."""
        return np.asarray(self.columns_out_, dtype=object)
