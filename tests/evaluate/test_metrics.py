"""Binary, calibration, decision-curve, regression, survival metrics and the patient bootstrap."""

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from ildrad.evaluate.bootstrap import patient_bootstrap, percentile_interval
from ildrad.evaluate.metrics import (
    binary_metrics,
    calibration_intercept_slope,
    net_benefit,
    operating_points,
    recalibration,
    regression_metrics,
)
from ildrad.evaluate.survival import censoring_weights, harrell_c, td_auc, uno_c


def _sample(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    lp = rng.normal(-1, 1.2, n)
    y = (rng.random(n) < expit(lp)).astype(float)
    return y, lp


def test_calibration_slope_matches_unpenalised_logistic_fit():
    y, lp = _sample()
    risk = expit(0.5 * lp + 0.3)  # over-confident shape, shifted
    _, slope = calibration_intercept_slope(y, risk)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(logit(risk)[:, None], y)
    assert slope == pytest.approx(reference.coef_[0, 0], rel=1e-5)
    a, b = recalibration(y, risk)
    assert a == pytest.approx(reference.intercept_[0], abs=1e-5) and b == pytest.approx(
        slope, rel=1e-6
    )


def test_true_risks_are_calibrated():
    y, lp = _sample(n=20000, seed=1)
    intercept, slope = calibration_intercept_slope(y, expit(lp))
    assert abs(intercept) < 0.05 and abs(slope - 1) < 0.05
    metrics = binary_metrics(y, expit(lp))
    assert metrics[("brier", "")] == pytest.approx(np.mean((expit(lp) - y) ** 2))


def test_net_benefit_by_hand():
    y = np.array([1, 1, 0, 0, 0])
    risk = np.array([0.9, 0.3, 0.4, 0.1, 0.05])
    # pt 0.25: treat the first three -> TP 2, FP 1 of n 5: 2/5 - 1/5 * (0.25/0.75)
    assert net_benefit(y, risk, [0.25])[0] == pytest.approx(0.4 - 0.2 / 3)


def test_operating_points():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    risk = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    points = operating_points(y, risk, fixed_specificity=1.0)
    assert points["youden"][1:] == (0.75, 1.0)
    assert points["specificity_1"][1:] == (0.75, 1.0)


def test_regression_metrics():
    metrics = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    assert metrics[("rmse", "")] == pytest.approx(np.sqrt(1 / 3))
    assert metrics[("r2", "")] == pytest.approx(1 - 1 / 2)


def test_survival_metrics_equal_scikit_survival():
    from sksurv.metrics import (
        concordance_index_censored,
        concordance_index_ipcw,
        cumulative_dynamic_auc,
    )
    from sksurv.util import Surv

    rng = np.random.default_rng(0)
    n = 400
    risk = np.round(rng.normal(size=n), 1)                        # ties in risk
    time = np.round(rng.exponential(3 / np.exp(0.8 * risk)), 1) + 0.1  # ties in time
    censor = np.round(rng.uniform(0.5, 8, n), 1)
    event = time <= censor
    time = np.minimum(time, censor)
    surv = Surv.from_arrays(event, time)
    assert harrell_c(time, event, risk) == pytest.approx(
        concordance_index_censored(event, time, risk)[0], rel=1e-12
    )
    ipcw = censoring_weights(time, event, (time, event))
    assert uno_c(time, event, risk, 3.0, ipcw) == pytest.approx(
        concordance_index_ipcw(surv, surv, risk, tau=3.0)[0], rel=1e-12
    )
    assert td_auc(time, event, risk, 3.0, ipcw) == pytest.approx(
        cumulative_dynamic_auc(surv, surv, risk, [3.0])[0][0], rel=1e-9
    )
    assert harrell_c(np.array([1.0, 2.0, 3.0]), np.array([True, True, False]), np.array([3.0, 2.0, 1.0])) == 1.0


def test_patient_bootstrap_resamples_whole_patients():
    patients = np.array(["a", "a", "b", "c", "c", "c"])
    resamples = patient_bootstrap(patients, lambda rows: rows, 50, seed=0)
    for rows in resamples:  # every resample is a union of whole patients
        counts = np.bincount(rows, minlength=6)
        assert counts[0] == counts[1] and counts[3] == counts[4] == counts[5]
    assert len({len(rows) for rows in resamples}) > 1
    assert percentile_interval(np.arange(101)) == pytest.approx((2.5, 97.5))


@pytest.mark.parametrize("weighted", [False, True])
def test_fast_auc_and_average_precision_equal_scikit_learn(weighted):
    from sklearn.metrics import average_precision_score, roc_auc_score

    from ildrad.evaluate.metrics import average_precision, roc_auc

    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.3).astype(float)
    risk = np.round(rng.random(500) + 0.3 * y, 2)          # many ties
    w = rng.uniform(0.5, 3, 500) if weighted else None
    assert roc_auc(y, risk, w) == pytest.approx(roc_auc_score(y, risk, sample_weight=w), rel=1e-12)
    assert average_precision(y, risk, w) == pytest.approx(
        average_precision_score(y, risk, sample_weight=w), rel=1e-12
    )


def test_repeat_mean_skips_undefined_repeats_and_is_nan_without_warning_when_all_are() -> None:
    import warnings

    from ildrad.evaluate.evaluation import _mean_of_defined

    assert _mean_of_defined([0.6, float("nan"), 0.8]) == pytest.approx(0.7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(_mean_of_defined([float("nan"), float("nan")]))
