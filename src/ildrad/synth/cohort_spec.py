"""The generating model of a synthetic cohort as a validated, documented YAML specification.

A spec file holds only the keys it changes: it is merged key by key over the packaged default
(``ildrad/synth/specs/default.yaml``, which documents every key) and the result is validated by
:class:`CohortSpec`. Unknown keys and bad values raise :class:`~ildrad.errors.ConfigError` naming
the file and the key path. The mechanism that turns a spec into event times is described in
:mod:`ildrad.synth.outcome_model`.
"""

from __future__ import annotations

import copy
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from ildrad.errors import ConfigError
from ildrad.settings_base import Section, describe_validation_error, read_yaml_file

__all__ = [
    "PATTERNS",
    "CohortSpec",
    "default_spec_dict",
    "load_cohort_spec",
    "parse_cohort_spec",
    "spec_to_yaml",
]

#: ILD patterns whose extent the model tracks (fractions of lung volume).
PATTERNS: tuple[str, ...] = ("ground_glass", "reticulation", "honeycombing", "consolidation")


class StudyDesign(Section):
    """Calendar of the registry and the censoring mechanism."""

    enrollment_start: date
    enrollment_end: date
    administrative_end: date
    loss_to_followup_per_year: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> StudyDesign:
        if not self.enrollment_start <= self.enrollment_end < self.administrative_end:
            raise ValueError("need enrollment_start <= enrollment_end < administrative_end")
        return self


class SmokingMix(Section):
    """Relative frequencies of smoking status (normalised to sum 1)."""

    never: float = Field(ge=0)
    former: float = Field(ge=0)
    current: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive(self) -> SmokingMix:
        if self.never + self.former + self.current <= 0:
            raise ValueError("at least one smoking weight must be > 0")
        return self


class Demographics(Section):
    """Sex, age at the first scan, smoking."""

    male_fraction: float = Field(ge=0, le=1)
    age_at_entry_mean: float = Field(gt=0, lt=110)
    age_at_entry_sd: float = Field(ge=0)
    age_at_entry_min: float = Field(ge=0)
    age_at_entry_max: float = Field(le=110)
    smoking: SmokingMix


class PatternShares(Section):
    """Relative weights of the ILD patterns (normalised to sum 1)."""

    ground_glass: float = Field(ge=0)
    reticulation: float = Field(ge=0)
    honeycombing: float = Field(ge=0)
    consolidation: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive(self) -> PatternShares:
        if sum(self.as_tuple()) <= 0:
            raise ValueError("at least one pattern share must be > 0")
        return self

    def as_tuple(self) -> tuple[float, ...]:
        """Shares in :data:`PATTERNS` order."""
        return tuple(getattr(self, name) for name in PATTERNS)


class Disease(Section):
    """Extent of ILD at entry, its pattern mix, its progression, emphysema."""

    extent_logit_mean: float
    extent_logit_sd: float = Field(ge=0)
    max_extent: float = Field(gt=0, le=1)
    baseline_shares: PatternShares
    baseline_share_concentration: float = Field(gt=0)
    progression_mean_pct_per_year: float
    progression_sd_pct_per_year: float = Field(ge=0)
    progression_shares: PatternShares
    emphysema_probability_never_smoker: float = Field(ge=0, le=1)
    emphysema_probability_smoker: float = Field(ge=0, le=1)
    emphysema_extent_mean: float = Field(ge=0, le=0.5)


class Physiology(Section):
    """Pulmonary function and lung volume as functions of the disease state."""

    fvc_pct_healthy_mean: float = Field(gt=0)
    fvc_pct_healthy_sd: float = Field(ge=0)
    fvc_pct_per_extent: float
    fvc_measurement_sd: float = Field(ge=0)
    dlco_pct_healthy_mean: float = Field(gt=0)
    dlco_pct_healthy_sd: float = Field(ge=0)
    dlco_pct_per_extent: float
    dlco_pct_per_emphysema: float
    dlco_measurement_sd: float = Field(ge=0)
    dlco_cannot_perform_below_pct: float = Field(ge=0)
    dlco_missing_probability: float = Field(ge=0, le=1)
    floor_pct: float = Field(gt=0)
    lung_volume_ml_female_mean: float = Field(gt=0)
    lung_volume_ml_male_mean: float = Field(gt=0)
    lung_volume_ml_sd: float = Field(ge=0)
    lung_volume_loss_per_fibrotic_extent: float = Field(ge=0, le=1)
    right_lung_fraction: float = Field(gt=0, lt=1)


class Treatment(Section):
    """Who is treated, when, with what, and how treatment slows progression."""

    probability_logit_intercept: float
    probability_logit_per_10pct_extent: float
    start_within_years: float = Field(gt=0)
    progression_factor: float = Field(ge=0)
    drugs: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> Treatment:
        if any(w < 0 for w in self.drugs.values()) or sum(self.drugs.values()) <= 0:
            raise ValueError("drug weights must be >= 0 with a positive sum")
        if "none" in self.drugs:
            raise ValueError("'none' is reserved for untreated visits")
        return self


class Schedule(Section):
    """When scans and pulmonary-function visits happen."""

    max_scans: int = Field(ge=1)
    scan_interval_years_min: float = Field(gt=0)
    scan_interval_years_max: float = Field(gt=0)
    interval_shortening_per_unit_lp: float = Field(ge=0)
    min_interval_years: float = Field(gt=0)
    visit_interval_years_min: float = Field(gt=0)
    visit_interval_years_max: float = Field(gt=0)
    visit_offset_from_scan_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _ranges(self) -> Schedule:
        if self.scan_interval_years_min > self.scan_interval_years_max:
            raise ValueError("scan_interval_years_min > scan_interval_years_max")
        if self.visit_interval_years_min > self.visit_interval_years_max:
            raise ValueError("visit_interval_years_min > visit_interval_years_max")
        return self


class Baseline(Section):
    """Baseline hazard h0(t), t in years since the first scan, at zero linear predictor.

    ``exponential``: h0 = rate; ``weibull``: cumulative H0(t) = rate * t**shape;
    ``gompertz``: h0 = rate * exp(slope * t).
    """

    kind: Literal["exponential", "weibull", "gompertz"]
    rate_per_year: float = Field(gt=0)
    weibull_shape: float = Field(gt=0)
    gompertz_slope_per_year: float


class Reference(Section):
    """Values at which the centred covariates contribute zero to the linear predictor."""

    age_years: float
    fvc_pct: float
    dlco_pct: float


class Coefficients(Section):
    """Log-hazard coefficients of the observable covariates (units in the names)."""

    honeycombing_per_10pct: float
    reticulation_per_10pct: float
    ground_glass_per_10pct: float
    consolidation_per_10pct: float
    fibrosis_progression_per_pct_per_year: float
    fvc_per_10pct: float
    dlco_per_10pct: float
    age_per_10_years: float
    male: float


class Hazard(Section):
    """Proportional hazard with time-varying covariates and a log-normal frailty."""

    baseline: Baseline
    reference: Reference
    coefficients: Coefficients
    frailty_sd: float = Field(ge=0)
    step_days: int = Field(ge=1, le=91)


class ScannerBatch(Section):
    """One scanner batch (manufacturer + model + kernel); it shifts texture, not outcome."""

    name: str = Field(min_length=1)
    manufacturer: str
    model: str
    kernel: Literal["sharp", "smooth"]
    kernel_name: str
    second_kernel_name: str
    noise_hu: float = Field(gt=0)
    weight: float = Field(gt=0)


class Protocol(Section):
    """Extra acquisitions of HRCT studies (decoys for series selection), per study."""

    prone_probability: float = Field(ge=0, le=1)
    expiratory_probability: float = Field(ge=0, le=1)


class Identity(Section):
    """Fake identifiers written into the DICOM headers and the clinical table."""

    patient_id_prefix: str = Field(min_length=1, max_length=8)
    institution_name: str


class Pet(Section):
    """PET/CT studies (written with ``--pet``)."""

    fraction_of_patients: float = Field(ge=0, le=1)
    injected_activity_mbq_per_kg: float = Field(gt=0)
    uptake_minutes: float = Field(gt=0)
    manufacturer: str
    model: str
    ct_kernel_name: str
    ct_noise_hu: float = Field(gt=0)


class CohortSpec(Section):
    """The whole generating model of a synthetic cohort (see default.yaml for every key)."""

    name: str
    study: StudyDesign
    demographics: Demographics
    disease: Disease
    physiology: Physiology
    treatment: Treatment
    schedule: Schedule
    hazard: Hazard
    scanners: list[ScannerBatch] = Field(min_length=1)
    protocol: Protocol
    identity: Identity
    pet: Pet

    @model_validator(mode="after")
    def _unique_batches(self) -> CohortSpec:
        names = [s.name for s in self.scanners]
        if len(set(names)) != len(names):
            raise ValueError(f"scanner batch names must be unique, got {names}")
        return self


def default_spec_dict() -> dict[str, Any]:
    """The packaged default spec as a plain mapping."""
    text = resources.files("ildrad.synth").joinpath("specs/default.yaml").read_text()
    return yaml.safe_load(text)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; lists and scalars replace wholesale."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_cohort_spec(data: dict[str, Any] | None, source: str = "cohort spec") -> CohortSpec:
    """Merge ``data`` over the default spec and validate; ``source`` names it in errors."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
    try:
        return CohortSpec.model_validate(_merge(default_spec_dict(), data))
    except ValidationError as err:
        raise ConfigError(f"{source}: {describe_validation_error(err)}") from err


def load_cohort_spec(path: str | Path | None = None) -> CohortSpec:
    """Load a spec file (keys merged over the default); ``None`` gives the default spec."""
    if path is None:
        return parse_cohort_spec({}, "default cohort spec")
    return parse_cohort_spec(read_yaml_file(path, "cohort spec"), str(path))


def spec_to_yaml(spec: CohortSpec) -> str:
    """The complete spec as YAML (what ``truth/spec.yaml`` holds)."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
