"""A small feature-level cohort simulator with a known true risk (tests of models and validation).

Patients have a constant linear predictor ``lp = X_inf @ beta`` and an exponential death time
with hazard ``rate * exp(lp)``; each patient has 1-3 scans at the start of follow-up whose
features are the patient's values plus scan noise, with an additive scanner-batch shift on the
imaging features. The true risk of death within h years of a scan is ``1 - exp(-rate e^lp h)``
(memoryless). ``null=True`` permutes outcomes across patients (features carry no signal).
"""

import numpy as np
import pandas as pd
import pytest

N_INFORMATIVE = 5
BETA = np.array([0.9, -0.7, 0.6, 0.5, -0.5])


def simulate(
    n_patients=500,
    n_noise=20,
    seed=0,
    null=False,
    rate=0.08,
    admin_years=(2.0, 8.0),
    scan_noise=0.3,
):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_patients, N_INFORMATIVE + n_noise))
    lp = latent[:, :N_INFORMATIVE] @ BETA
    death_time = rng.exponential(1.0 / (rate * np.exp(lp)))
    censor_time = rng.uniform(*admin_years, n_patients)
    outcome_of = rng.permutation(n_patients) if null else np.arange(n_patients)
    death_time, censor_time, lp_outcome = (
        death_time[outcome_of],
        censor_time[outcome_of],
        lp[outcome_of],
    )
    end = np.minimum(death_time, censor_time)
    rows, feats = [], []
    batches = np.array(["ge", "siemens", "philips"])
    shifts = {"ge": 0.0, "siemens": 0.8, "philips": -0.6}
    for p in range(n_patients):
        n_scans = rng.integers(1, 4)
        offsets = np.sort(rng.uniform(0, min(0.5, end[p] * 0.9), n_scans))
        offsets[0] = 0.0
        for k, off in enumerate(offsets):
            batch = batches[rng.integers(3)]
            values = latent[p] + rng.normal(0, scan_noise, latent.shape[1]) + shifts[batch]
            rows.append(
                {
                    "scan_key": f"s{p}_{k}",
                    "patient_key": f"p{p}",
                    "study_date": pd.Timestamp("2015-01-01") + pd.Timedelta(days=int(off * 365.25)),
                    "followup_days": float(np.floor((end[p] - off) * 365.25)),
                    "death": bool(death_time[p] <= censor_time[p]),
                    "scanner_batch": batch,
                    "site": f"site{p % 3}",
                    "age_years": 50 + 10 * rng.normal(),
                    "sex": "M" if rng.random() < 0.3 else "F",
                    "true_risk_3y": 1 - np.exp(-rate * np.exp(lp_outcome[p]) * 3.0),
                    "true_lp": lp_outcome[p],
                }
            )
            feats.append(values)
    manifest = pd.DataFrame(rows)
    names = [f"rad__lung__original__inf{i}" for i in range(N_INFORMATIVE)] + [
        f"rad__lung__original__noise{i}" for i in range(n_noise)
    ]
    features = pd.DataFrame(np.asarray(feats), columns=names)
    features.insert(0, "scan_key", manifest.scan_key)
    features.insert(1, "patient_key", manifest.patient_key)
    return manifest, features


@pytest.fixture(scope="session")
def cohort_500():
    return simulate(n_patients=500, n_noise=20, seed=1)
