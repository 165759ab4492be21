"""Reporting checklists filled from what a run did: TRIPOD+AI, Radiomics Quality Score, CLEAR.

Only what the software can know is filled in; every item states whether the run did it, did not,
or that the authors must supply it (study design, ethics, funding...). Nothing is claimed that the
run did not do: no prospective or external validation is ever credited unless present.

References: Collins et al. 2024, BMJ 385:e078378 (TRIPOD+AI, 27 items); Lambin et al. 2017,
Nat Rev Clin Oncol 14:749 (RQS, 16 items, -8 to +36 points); Kocak et al. 2023, Insights Imaging
14:75 (CLEAR, 58 items; the items listed here are those a pipeline can answer).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = ["RunFacts", "clear_items", "rqs_items", "tripod_ai_items"]

DONE, NOT_DONE, AUTHORS, PARTLY = "done", "not done", "authors to complete", "partly"


@dataclasses.dataclass(frozen=True)
class RunFacts:
    """What one run did, gathered from the workspace, configuration and results."""

    n_patients: int
    n_scans: int
    n_scanners: int
    n_sites: int
    longitudinal_patients: int
    models: tuple[str, ...]
    feature_groups: tuple[str, ...]
    n_splits: int
    n_repeats: int
    nested_tuning: bool
    selection: str
    harmonize: str
    has_discrimination: bool
    has_calibration: bool
    has_decision_curve: bool
    has_comparisons: bool
    has_stability: bool
    has_deep: bool
    missing_data_reported: bool
    ibsi_settings: str
    external_validation: bool = False
    prospective: bool = False


def _done_if(condition: bool, done_text: str, not_done_text: str) -> tuple[str, str]:
    """(status, what this run did) of an item the run either did or did not do."""
    return (DONE, done_text) if condition else (NOT_DONE, not_done_text)


def _rows(items: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(items, columns=["item", "topic", "status", "what this run did"])


def tripod_ai_items(facts: RunFacts) -> pd.DataFrame:
    """TRIPOD+AI items (numbered as in the 2024 checklist) with this run's status."""
    cv = f"{facts.n_repeats} x {facts.n_splits}-fold cross-validation grouped by patient"
    return _rows(
        [
            (
                "1",
                "Title",
                AUTHORS,
                "Identify the study as developing/evaluating a prediction model.",
            ),
            (
                "3a-c",
                "Background and objectives",
                AUTHORS,
                "Clinical context and intended use are not known to the software.",
            ),
            (
                "5a",
                "Data sources",
                PARTLY,
                f"{facts.n_patients} patients, {facts.n_scans} scans from a DICOM tree "
                "indexed by ildrad; study design and dates of accrual must be described by the authors.",
            ),
            ("6a", "Participants, setting", AUTHORS, "Eligibility criteria and care setting."),
            (
                "6c",
                "Data preparation",
                DONE,
                "Series selection rule, lung segmentation, resampling and "
                f"discretisation from the configuration (Methods); {facts.ibsi_settings}.",
            ),
            (
                "7",
                "Outcome",
                DONE,
                "Death within 1, 3 and 5 years of each scan; scans censored before a horizon "
                "are not assessable for it and are counted.",
            ),
            (
                "8a",
                "Predictors",
                DONE,
                f"Feature groups: {', '.join(facts.feature_groups) or 'none'}.",
            ),
            (
                "9",
                "Sample size",
                PARTLY,
                f"{facts.n_patients} patients; no formal sample-size calculation was run.",
            ),
            (
                "10",
                "Missing data",
                *_done_if(
                    facts.missing_data_reported,
                    "Missing values per column are tabulated; imputation is fitted inside training folds.",
                    "Missing data were not reported by this run.",
                ),
            ),
            (
                "12b",
                "Model type and building",
                DONE,
                f"Models: {', '.join(facts.models) or 'none'}; selection "
                f"'{facts.selection}', {'nested tuning' if facts.nested_tuning else 'no tuning'}.",
            ),
            (
                "12c",
                "Internal validation",
                DONE,
                cv + "; every data-dependent step fitted inside training folds.",
            ),
            (
                "12d",
                "Heterogeneity across sites/scanners",
                *_done_if(
                    facts.harmonize != "none",
                    f"ComBat harmonisation by {facts.harmonize}.",
                    "No harmonisation; scanners are tabulated.",
                ),
            ),
            (
                "12e",
                "Performance measures",
                *_done_if(
                    facts.has_discrimination,
                    "ROC AUC with patient-level bootstrap 95% CI, Brier, calibration intercept and "
                    "slope, net benefit.",
                    "No performance measures: no model was evaluated.",
                ),
            ),
            (
                "12f",
                "Model updating / external validation",
                *_done_if(
                    facts.external_validation,
                    "External validation was performed.",
                    "No external validation: all figures are internal (cross-validated).",
                ),
            ),
            ("12g", "Fairness", NOT_DONE, "Performance was not broken down by sex or age group."),
            ("14", "Patient and public involvement", AUTHORS, "Not known to the software."),
            (
                "20a",
                "Participant flow",
                PARTLY,
                "Scans, assessable scans and failures are counted (Cohort).",
            ),
            (
                "23a",
                "Model performance",
                *_done_if(
                    facts.has_discrimination,
                    "Tables and curves in this report; numbers equal metrics.csv.",
                    "No model was evaluated.",
                ),
            ),
            (
                "23b",
                "Calibration",
                *_done_if(
                    facts.has_calibration,
                    "Calibration intercept, slope and decile curves.",
                    "Calibration was not assessed.",
                ),
            ),
            (
                "18c",
                "Open science: code",
                DONE,
                "ildrad is open source; the configuration is printed in Methods.",
            ),
            ("18e", "Open science: data", AUTHORS, "Data availability statement."),
            (
                "-",
                "Prospective evaluation",
                *_done_if(
                    facts.prospective,
                    "Prospective evaluation.",
                    "This is a retrospective analysis; no prospective evaluation.",
                ),
            ),
        ]
    )


def rqs_items(facts: RunFacts) -> tuple[pd.DataFrame, int]:
    """Radiomics Quality Score items with points this run earns, and the total (-8 to 36)."""
    cross_validated = facts.has_discrimination
    items = [
        (
            "1",
            "Image protocol quality",
            1,
            "Acquisition parameters (kernel, thickness, scanner) recorded per scan; "
            "protocol not public (+1 of 2).",
        ),
        (
            "2",
            "Multiple segmentations",
            1 if facts.has_stability else 0,
            "Perturbation/test-retest ICC available."
            if facts.has_stability
            else "Not done: one automatic segmentation.",
        ),
        (
            "3",
            "Phantom study",
            0,
            "Not done on a physical phantom (synthetic phantoms test the software only).",
        ),
        (
            "4",
            "Imaging at multiple time points",
            1 if facts.longitudinal_patients else 0,
            f"{facts.longitudinal_patients} patients with more than one scan.",
        ),
        (
            "5",
            "Feature reduction / multiple testing",
            3 if facts.selection != "none" else -3,
            f"Feature selection '{facts.selection}' and correlation pruning inside training folds.",
        ),
        (
            "6",
            "Multivariable analysis with non-radiomic features",
            1 if "clin" in facts.feature_groups else 0,
            "Clinical variables combined."
            if "clin" in facts.feature_groups
            else "No clinical features.",
        ),
        ("7", "Detect and discuss biological correlates", 0, "Not done."),
        (
            "8",
            "Cut-off analyses",
            1 if cross_validated else 0,
            "Risk groups at the median predicted risk (Kaplan-Meier).",
        ),
        (
            "9",
            "Discrimination statistics",
            2 if cross_validated else 0,
            "ROC AUC with bootstrap CI (resampling).",
        ),
        (
            "10",
            "Calibration statistics",
            2 if facts.has_calibration else 0,
            "Intercept and slope with resampled CIs.",
        ),
        ("11", "Prospective study", 7 if facts.prospective else 0, "Not prospective."),
        (
            "12",
            "Validation",
            2 if facts.external_validation else -5 if not cross_validated else 0,
            "Internal cross-validation only (no independent validation set): 0 points is the most this earns."
            if not facts.external_validation
            else "External validation.",
        ),
        (
            "13",
            "Comparison to gold standard",
            2 if facts.has_comparisons else 0,
            "Paired comparison with a clinical baseline." if facts.has_comparisons else "Not done.",
        ),
        (
            "14",
            "Potential clinical utility",
            2 if facts.has_decision_curve else 0,
            "Decision-curve analysis.",
        ),
        ("15", "Cost-effectiveness analysis", 0, "Not done."),
        (
            "16",
            "Open science and data",
            1,
            "Open-source code; data and scripts must be shared by the authors for more.",
        ),
    ]
    frame = pd.DataFrame(items, columns=["item", "criterion", "points", "what this run did"])
    return frame, int(frame.points.sum())


def clear_items(facts: RunFacts) -> pd.DataFrame:
    """The CLEAR items a pipeline can answer, with status (the other items are for the authors)."""
    return _rows(
        [
            (
                "13",
                "Imaging protocol",
                PARTLY,
                "Scanner, kernel and slice thickness recorded per scan (Cohort).",
            ),
            (
                "16",
                "Segmentation method",
                DONE,
                "Automatic lung segmentation (ildrad); edited masks can be imported.",
            ),
            (
                "19",
                "Pre-processing",
                DONE,
                "Resampling, re-segmentation and discretisation listed in Methods.",
            ),
            ("20", "Resampling", DONE, "From the radiomics configuration (Methods)."),
            ("22", "Discretisation", DONE, facts.ibsi_settings),
            (
                "23",
                "Feature extraction software and version",
                DONE,
                "ildrad (IBSI-compliant implementation).",
            ),
            ("24", "Feature standardisation (IBSI)", DONE, "Features named by IBSI tags."),
            (
                "26",
                "Harmonisation",
                *_done_if(
                    facts.harmonize != "none", f"ComBat by {facts.harmonize}.", "No harmonisation."
                ),
            ),
            (
                "27",
                "Feature robustness",
                *_done_if(
                    facts.has_stability, "ICC filter.", "No robustness analysis in this run."
                ),
            ),
            ("29", "Feature selection", DONE, f"'{facts.selection}' inside training folds."),
            (
                "32",
                "Data partitioning",
                DONE,
                f"{facts.n_repeats} x {facts.n_splits}-fold, by patient.",
            ),
            ("34", "Modelling algorithm", DONE, ", ".join(facts.models) or "none"),
            (
                "37",
                "Handling of class imbalance",
                PARTLY,
                "Not-assessable scans counted; no resampling of classes.",
            ),
            (
                "40",
                "Performance metrics with uncertainty",
                *_done_if(
                    facts.has_discrimination, "Bootstrap CIs by patient.", "No model was evaluated."
                ),
            ),
            (
                "42",
                "Comparison with non-radiomic approach",
                *_done_if(
                    facts.has_comparisons,
                    "Paired comparison with clustered DeLong / bootstrap.",
                    "No comparison with a non-radiomic model.",
                ),
            ),
            (
                "44",
                "External testing",
                *_done_if(facts.external_validation, "External test set.", "No external test set."),
            ),
            ("56", "Sharing code", DONE, "Open source."),
            ("55", "Sharing data", AUTHORS, "Not known to the software."),
        ]
    )
