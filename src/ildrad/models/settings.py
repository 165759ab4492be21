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
    """Section ``deep`` of the configuration: inputs, networks and training of CT deep models.

    CPU-sized defaults: 2.5D inputs of 3 axial slices x 96 x 96, 3D inputs of 48^3 voxels
    (raise ``size_2d`` / ``size_3d`` on a GPU).
    """

    #: Input kind: ``2.5d`` = three axial slices (at 30/50/70 % of the lung height) as channels, or ``3d``.
    dims: Literal["2.5d", "3d"] = "2.5d"
    size_2d: int = Field(96, ge=32, le=512)  #: in-plane size of 2.5D inputs (voxels)
    size_3d: int = Field(48, ge=32, le=256)  #: edge of 3D inputs (voxels)
    #: Intensity window (HU) mapped to [0, 1]; voxels outside the lung mask are set to 0.
    window_hu: tuple[float, float] = (-1000.0, 200.0)
    margin_mm: float = Field(5.0, ge=0)  #: margin around the lung bounding box
    #: 2.5D training views per scan: stacks shifted together by up to ``stack_shift`` of the lung
    #: height (the middle one is the network input; training draws one per scan and step).
    stacks_2d: int = Field(7, ge=1, le=31)
    stack_shift: float = Field(0.15, ge=0, le=0.29)
    result_set: str | None = None  #: feature-store result set holding the lung masks (default: newest)
    #: Network: reference architectures, or their ``_small`` variants (fewer channels; tests, CPU trials).
    arch: Literal["resnet18", "densenet121", "swin", "resnet18_small", "densenet121_small", "swin_small"] = "resnet18"
    #: Normalisation layers: ``batch`` (BatchNorm, running statistics re-estimated after every epoch;
    #: Swin: channels-last BatchNorm in its blocks and V2 convolutions) or ``group`` (per sample, for
    #: batches of 1-2 scans: GroupNorm of 8 groups, Swin: MONAI's LayerNorm + InstanceNorm; it
    #: divides away per-scan texture energy and learned texture worse in tests).
    norm: Literal["batch", "group"] = "batch"
    #: Risk head: discrete-time hazards for all horizons at once, or a Cox partial-likelihood score.
    head: Literal["horizons", "cox"] = "horizons"
    epochs: int = Field(30, ge=1)
    patience: int = Field(8, ge=1)  #: early stopping: epochs without inner-validation improvement
    #: Early stopping judges epochs from this one on (earlier ones are never kept as the best).
    min_epochs: int = Field(10, ge=1)
    batch_size: int = Field(8, ge=1)
    #: Peak AdamW learning rate, reached after ``warmup_epochs`` of linear warm-up, then cosine decay;
    #: None: the architecture's default (2e-3 ResNet / DenseNet, 3e-4 Swin, 1e-3 small Swin).
    learning_rate: float | None = Field(None, gt=0)
    warmup_epochs: int = Field(2, ge=0)
    weight_decay: float = Field(1e-4, ge=0)
    #: Augmented views of every training scan per epoch (more optimiser steps on small cohorts).
    views_per_scan: int = Field(4, ge=1)
    inner_validation_fraction: float = Field(0.2, gt=0, lt=0.5)  #: patients held out for early stopping
    repeats: int = Field(1, ge=1)  #: repeats of folds.parquet to run (each repeat = all its folds)
    seed: int = 0
    threads: int = Field(1, ge=1)  #: torch.set_num_threads
    #: Training augmentation: a random 2.5D view (``stacks_2d``), left-right flips and small intensity
    #: jitter; off: the network input only, one pass per scan and epoch.
    augment: bool = True
    augment_quarter_turns: bool = True  #: also random in-plane quarter turns (orientation-free texture)
    pretrain_epochs: int = Field(20, ge=1)
    mask_fraction: float = Field(0.5, gt=0, lt=1)  #: share of input blocks hidden in masked reconstruction
