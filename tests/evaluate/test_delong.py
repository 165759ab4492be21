"""DeLong / Obuchowski against R pROC 1.18.0 (tests/fixtures/r/make_fixtures.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ildrad.evaluate.delong import auc_covariance, delong_test

FIXTURES = Path(__file__).parents[1] / "fixtures" / "r"


def test_delong_matches_proc():
    data = pd.read_csv(FIXTURES / "delong_input.csv")
    ref = pd.read_csv(FIXTURES / "delong_pROC.csv").iloc[0]
    aucs, cov = auc_covariance(data.y, [data.s1, data.s2])
    np.testing.assert_allclose(aucs, [ref.auc1, ref.auc2], rtol=1e-12)
    np.testing.assert_allclose(
        [cov[0, 0], cov[1, 1], cov[0, 1]], [ref.var1, ref.var2, ref.cov12], rtol=1e-9
    )
    test = delong_test(data.y, data.s1, data.s2)
    assert test.z == pytest.approx(ref.z, rel=1e-9)
    assert test.p_value == pytest.approx(ref.p, rel=1e-9)


def test_clustered_with_one_scan_per_patient_equals_plain():
    data = pd.read_csv(FIXTURES / "delong_input.csv")
    plain = delong_test(data.y, data.s1, data.s2)
    clustered = delong_test(data.y, data.s1, data.s2, clusters=[f"p{i}" for i in range(len(data))])
    assert clustered.se == pytest.approx(plain.se, rel=1e-12)


def test_clustered_variance_grows_with_duplicated_scans():
    # every patient scanned twice with identical scores: plain DeLong sees twice the data and is
    # too optimistic; the clustered estimate stays near the single-scan variance
    data = pd.read_csv(FIXTURES / "delong_input.csv")
    twice = pd.concat([data, data], ignore_index=True)
    patients = np.tile(np.arange(len(data)), 2)
    single = auc_covariance(data.y, [data.s1])[1][0, 0]
    plain = auc_covariance(twice.y, [twice.s1])[1][0, 0]
    clustered = auc_covariance(twice.y, [twice.s1], patients)[1][0, 0]
    assert plain < 0.6 * single
    assert clustered == pytest.approx(single, rel=0.1)
    assert auc_covariance(twice.y, [twice.s1])[0][0] == pytest.approx(
        roc_auc_score(data.y, data.s1)
    )
