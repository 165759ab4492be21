"""The generating model of synthetic cohorts: registry-like rates, analytic hazards, determinism.

Event rates and AUCs are recomputed here from the exported columns only (study dates, death and
last follow-up dates, linear predictor), as an external check would, not through the package's
own summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ildrad.synth.cohort_spec import parse_cohort_spec
from ildrad.synth.outcome_model import (
    cohort_summary,
    imaging_ceiling_auc,
    linear_predictor,
    simulate_cohort_tables,
)

N_PATIENTS = 3000


def _labels(
    scans: pd.DataFrame, clinical: pd.DataFrame, years: float
) -> tuple[np.ndarray, np.ndarray]:
    """(dead within h, assessable at h) per scan, written independently of the package."""
    by_id = clinical.set_index("patient_id")
    death = pd.to_datetime(by_id.loc[scans["patient_id"], "death_date"]).to_numpy()
    last = pd.to_datetime(by_id.loc[scans["patient_id"], "last_followup_date"]).to_numpy()
    study = pd.to_datetime(scans["study_date"]).to_numpy()
    limit = np.timedelta64(int(round(years * 365.25 * 24)), "h")
    dead = ~pd.isna(death) & ((death - study) <= limit)
    return dead, dead | ((last - study) > limit)


@pytest.fixture(scope="module")
def default_cohort():
    return simulate_cohort_tables(None, N_PATIENTS, seed=20261123)


def test_default_spec_resembles_the_registry(default_cohort) -> None:
    scans = default_cohort.scans[default_cohort.scans["study_kind"] == "hrct"]
    clinical = default_cohort.clinical
    expected = {1: (0.085, 0.015), 3: (0.15, 0.02), 5: (0.20, 0.025)}
    for years, (target, tol) in expected.items():
        dead, _ = _labels(scans, clinical, years)
        assert abs(dead.mean() - target) <= tol, (years, dead.mean(), target)
    dead, assessable = _labels(scans, clinical, 3)
    auc = roc_auc_score(dead[assessable], scans["linear_predictor"].to_numpy()[assessable])
    assert 0.78 <= auc <= 0.85, auc
    admin_end = pd.Timestamp(default_cohort.spec.study.administrative_end)
    lost = clinical["death_date"].isna() & (
        pd.to_datetime(clinical["last_followup_date"]) < admin_end
    )
    assert 0.20 <= lost.mean() <= 0.30, lost.mean()
    summary = cohort_summary(default_cohort)  # the package's own summary agrees with the above
    assert summary["oracle_auc_3y"] == pytest.approx(auc, abs=1e-12)
    assert summary["lost_to_followup"] == pytest.approx(lost.mean())


def test_doubled_baseline_hazard_gives_more_deaths(default_cohort) -> None:
    rate = default_cohort.spec.hazard.baseline.rate_per_year
    doubled = parse_cohort_spec({"hazard": {"baseline": {"rate_per_year": 2 * rate}}})
    more = simulate_cohort_tables(doubled, N_PATIENTS, seed=20261123)
    base = cohort_summary(default_cohort)
    high = cohort_summary(more)
    for years in (1, 3, 5):
        assert high[f"death_within_{years}y"] > base[f"death_within_{years}y"] + 0.02
    assert (
        more.clinical["death_date"].notna().mean()
        > default_cohort.clinical["death_date"].notna().mean()
    )


def test_exponential_hazard_matches_closed_form() -> None:
    """No covariates, no frailty, no drop-out: death ~ Exp(rate), so P(dead by the data freeze)
    = mean over patients of 1 - exp(-rate * years to the freeze), and
    true_risk_h = 1 - exp(-rate h)."""
    rate = 0.1
    zero = dict.fromkeys(
        (
            "honeycombing_per_10pct",
            "reticulation_per_10pct",
            "ground_glass_per_10pct",
            "consolidation_per_10pct",
            "fibrosis_progression_per_pct_per_year",
            "fvc_per_10pct",
            "dlco_per_10pct",
            "age_per_10_years",
            "male",
        ),
        0.0,
    )
    spec = parse_cohort_spec(
        {
            "hazard": {
                "baseline": {"kind": "exponential", "rate_per_year": rate},
                "coefficients": zero,
                "frailty_sd": 0.0,
            },
            "study": {"loss_to_followup_per_year": 0.0},
        }
    )
    tables = simulate_cohort_tables(spec, 4000, seed=5)
    entry = pd.to_datetime(tables.patients["entry_date"])
    years = (pd.Timestamp(spec.study.administrative_end) - entry).dt.days / 365.25
    expected = float(np.mean(1 - np.exp(-rate * years)))
    observed = tables.clinical["death_date"].notna().mean()
    assert observed == pytest.approx(expected, abs=0.02)
    assert np.allclose(tables.scans["linear_predictor"], 0.0)
    assert np.allclose(tables.scans["true_risk_3y"], 1 - np.exp(-3 * rate), atol=1e-9)
    assert not tables.patients["lost_to_followup"].any()
    alive = tables.clinical["death_date"].isna()
    last = pd.to_datetime(tables.clinical.loc[alive, "last_followup_date"])
    assert (last == pd.Timestamp(spec.study.administrative_end)).all()  # followed to the freeze


def test_weibull_shape_changes_timing_as_documented() -> None:
    """H0(t) = rate t^k: with rate 0.1 the 1-year risk is 1 - exp(-0.1) whatever the shape, and the
    5-year risk is 1 - exp(-0.1 * 5^k)."""
    for shape in (0.5, 1.5):
        spec = parse_cohort_spec(
            {
                "hazard": {
                    "baseline": {"kind": "weibull", "rate_per_year": 0.1, "weibull_shape": shape},
                    "frailty_sd": 0.0,
                    "coefficients": {
                        "honeycombing_per_10pct": 0.0,
                        "reticulation_per_10pct": 0.0,
                        "fibrosis_progression_per_pct_per_year": 0.0,
                        "fvc_per_10pct": 0.0,
                        "dlco_per_10pct": 0.0,
                        "age_per_10_years": 0.0,
                        "male": 0.0,
                    },
                }
            }
        )
        first = simulate_cohort_tables(spec, 300, seed=1).scans.query("scan_index == 0")
        assert np.allclose(first["true_risk_1y"], 1 - np.exp(-0.1), atol=2e-3)
        assert np.allclose(first["true_risk_5y"], 1 - np.exp(-0.1 * 5**shape), atol=2e-3)


def test_true_risk_is_calibrated_against_observed_deaths() -> None:
    """Mean true 3-year risk of first scans equals the observed 3-year death fraction (no drop-out,
    entry early enough that every first scan has 3 years of potential follow-up)."""
    spec = parse_cohort_spec(
        {"study": {"loss_to_followup_per_year": 0.0, "enrollment_end": "2015-12-31"}}
    )
    tables = simulate_cohort_tables(spec, 4000, seed=9)
    first = tables.scans.query("scan_index == 0 and study_kind == 'hrct'")
    dead, assessable = _labels(first, tables.clinical, 3)
    assert assessable.all()
    assert first["true_risk_3y"].mean() == pytest.approx(dead.mean(), abs=0.015)
    assert roc_auc_score(dead, first["true_risk_3y"]) > 0.75


def test_hazard_ignores_ground_glass_and_mean_density() -> None:
    spec = parse_cohort_spec({})
    state = {
        "extent_honeycombing": np.array([0.05, 0.05]),
        "extent_reticulation": np.array([0.1, 0.1]),
        "extent_ground_glass": np.array([0.0, 0.4]),  # much denser lung, same fibrosis
        "extent_consolidation": np.array([0.0, 0.0]),
        "fibrosis_progression_pct_per_year": np.array([1.0, 1.0]),
        "fvc_pct_true": np.array([80.0, 80.0]),
        "dlco_pct_true": np.array([60.0, 60.0]),
        "age_years": np.array([60.0, 60.0]),
        "male": np.array([0.0, 0.0]),
    }
    eta = linear_predictor(spec, state)
    assert eta[0] == eta[1]
    more_honeycombing = dict(state, extent_honeycombing=np.array([0.15, 0.15]))
    assert np.all(
        linear_predictor(spec, more_honeycombing) - eta
        == pytest.approx(spec.hazard.coefficients.honeycombing_per_10pct)
    )


def test_imaging_ceiling_lies_below_the_oracle(default_cohort) -> None:
    # age, sex, lung function, progression and frailty carry risk that no single scan shows
    oracle = cohort_summary(default_cohort)["oracle_auc_3y"]
    ceiling = imaging_ceiling_auc(default_cohort, 3.0)
    assert 0.62 < ceiling < oracle - 0.05, (ceiling, oracle)


def test_imaging_ceiling_reaches_the_oracle_when_the_scan_shows_all_risk() -> None:
    # a hazard of honeycombing and reticulation alone, no frailty: the oracle's linear predictor is
    # a linear function of two CT-visible columns, so the cross-validated logistic must match it
    others = ("ground_glass_per_10pct", "consolidation_per_10pct", "fvc_per_10pct",
              "fibrosis_progression_per_pct_per_year", "dlco_per_10pct", "age_per_10_years", "male")
    coefficients = {name: 0.0 for name in others}
    coefficients.update(honeycombing_per_10pct=3.0, reticulation_per_10pct=1.5)
    spec = parse_cohort_spec({"hazard": {"frailty_sd": 0.0, "coefficients": coefficients}})
    tables = simulate_cohort_tables(spec, 2000, seed=11)
    oracle = cohort_summary(tables)["oracle_auc_3y"]  # 0.768 here
    assert imaging_ceiling_auc(tables, 3.0) == pytest.approx(oracle, abs=0.01)


def test_scanner_batch_is_unrelated_to_outcome(default_cohort) -> None:
    scans = default_cohort.scans[default_cohort.scans["study_kind"] == "hrct"]
    dead, assessable = _labels(scans, default_cohort.clinical, 3)
    for batch in scans["scanner_batch"].unique():
        indicator = (scans["scanner_batch"] == batch).to_numpy()[assessable]
        assert abs(roc_auc_score(dead[assessable], indicator) - 0.5) < 0.04, batch


def test_tables_are_consistent(default_cohort) -> None:
    clinical, visits, scans = default_cohort.clinical, default_cohort.visits, default_cohort.scans
    assert list(clinical.columns) == [
        "patient_id",
        "sex",
        "birth_date",
        "smoking",
        "death_date",
        "last_followup_date",
    ]
    assert list(visits.columns) == [
        "patient_id",
        "date",
        "fvc_pct",
        "dlco_pct",
        "dlco_cannot_perform",
        "treatment",
    ]
    assert clinical["patient_id"].is_unique
    assert set(scans["patient_id"]) == set(clinical["patient_id"])  # every patient has a scan
    assert scans["series_instance_uid"].is_unique
    assert scans["study_instance_uid"].is_unique
    assert scans["series_instance_uid"].str.match(r"^2\.25\.\d+$").all()
    assert (scans["series_instance_uid"].str.len() <= 64).all()
    by_id = clinical.set_index("patient_id")
    last = pd.to_datetime(by_id.loc[scans["patient_id"], "last_followup_date"]).to_numpy()
    assert (pd.to_datetime(scans["study_date"]).to_numpy() < last).all()
    dead = clinical["death_date"].notna()
    assert (clinical.loc[dead, "death_date"] == clinical.loc[dead, "last_followup_date"]).all()
    # DLCO empty exactly when it could not be performed or was not done; flag implies empty
    assert visits.loc[visits["dlco_cannot_perform"], "dlco_pct"].isna().all()
    assert visits["dlco_cannot_perform"].any()
    assert visits["dlco_pct"].notna().mean() > 0.9
    vlast = pd.to_datetime(by_id.loc[visits["patient_id"], "last_followup_date"]).to_numpy()
    assert (pd.to_datetime(visits["date"]).to_numpy() <= vlast).all()
    assert set(visits["treatment"]) <= {"none", *default_cohort.spec.treatment.drugs}
    # FVC falls as ILD extends (measured values, with noise)
    assert np.corrcoef(scans["extent_ild"], scans["fvc_pct_true"])[0, 1] < -0.5
    # extent progresses on average
    later = scans.groupby("patient_id")["extent_ild"].agg(["first", "last"])
    assert (later["last"] >= later["first"]).mean() > 0.6


def test_seed_determines_everything() -> None:
    a = simulate_cohort_tables(None, 200, seed=3, pet=True)
    b = simulate_cohort_tables(None, 200, seed=3, pet=True)
    c = simulate_cohort_tables(None, 200, seed=4, pet=True)
    for name in ("clinical", "visits", "scans", "patients", "names"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.scans["series_instance_uid"].isin(c.scans["series_instance_uid"]).any()
    assert not a.clinical["birth_date"].equals(c.clinical["birth_date"])


def test_pet_studies_are_extra_rows() -> None:
    plain = simulate_cohort_tables(None, 100, seed=2)
    with_pet = simulate_cohort_tables(None, 100, seed=2, pet=True)
    pet = with_pet.scans[with_pet.scans["study_kind"] == "petct"]
    assert len(pet) == 100
    assert pet["pet_series_instance_uid"].str.startswith("2.25.").all()
    hrct = with_pet.scans[with_pet.scans["study_kind"] == "hrct"].reset_index(drop=True)
    pd.testing.assert_frame_equal(hrct, plain.scans)
    first = hrct.query("scan_index == 0").set_index("patient_id")
    assert (
        pet.set_index("patient_id")["study_date"] == first.loc[pet["patient_id"], "study_date"]
    ).all()
