"""Configuration sections ``models`` (radiomics/clinical/survival models) and ``deep`` (CNNs)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ildrad.settings_base import Section

__all__ = ["DeepSettings", "ModelsSettings"]


class ModelsSettings(Section):
    """Section ``models`` of the configuration: folds, preprocessing, selection, tuning, evaluation."""

    #: Folds written by ``ildrad folds``: patients per fold split, repeats, seed.
    n_splits: int = Field(5, ge=2)
    n_repeats: int = Field(5, ge=1)
    seed: int = 0
    #: Inverse-probability-of-censoring weights for fixed-horizon mortality targets.
    ipcw: bool = False
    #: ComBat batch column (``scanner_batch`` or ``site``), or ``none``; fitted inside training folds.
    harmonize: Literal["none", "scanner_batch", "site"] = "none"
    combat_parametric: bool = True
    #: Clinical columns kept as biological covariates by ComBat.
    combat_covariates: list[str] = ["clin__age_years", "clin__sex_male"]
    #: Correlation pruning: one of each pair with |r| above this goes (1 disables).
    max_correlation: float = Field(0.9, gt=0, le=1)
    #: Supervised selection inside the folds.
    selection: Literal["none", "elastic_net", "mrmr", "rf"] = "elastic_net"
    n_features: int = Field(20, ge=1)
    #: Stability pre-filter: features listed in ``stability_file`` (``icc.parquet`` written by
    #: ``ildrad perturb``) whose ICC of form ``icc_form`` is below ``icc_threshold`` (or NaN) are
    #: left out before training; features the file does not list stay. ICC uses no outcome, so
    #: filtering on the whole cohort cannot leak labels. ``None`` disables the filter.
    icc_threshold: float | None = Field(None, ge=-1, le=1)
    icc_form: Literal["2,1", "3,1"] = "2,1"
    stability_file: str | None = None  #: path of icc.parquet (relative: to the current folder)
    #: Nested cross-validation of the hyper-parameter grid of the model kind (inner folds by patient).
    tune: bool = True
    inner_splits: int = Field(3, ge=2)
    n_estimators: int = Field(300, ge=10)
    #: Patient-level bootstrap resamples for confidence intervals and paired comparisons.
    n_bootstrap: int = Field(1000, ge=10)
    #: Specificity at which sensitivity is also reported.
    fixed_specificity: float = Field(0.9, gt=0, lt=1)
    #: Unit of evaluation: every scan, each patient's first scan, or one scan drawn per patient.
    unit: Literal["scan", "first_scan", "random_scan"] = "scan"
    #: Risk thresholds of the decision curve.
    decision_thresholds: list[float] = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]

    @model_validator(mode="after")
    def _stability_file_given(self) -> ModelsSettings:
        if self.icc_threshold is not None and not self.stability_file:
            raise ValueError("icc_threshold needs stability_file (icc.parquet from `ildrad perturb`)")
        return self


class DeepSettings(Section):
    """Section ``deep`` of the configuration."""
