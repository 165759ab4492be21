"""GAP, ILD-GAP, SADL and Goh rules at the edges of their published tables (DOMAIN.md section 1)."""

import numpy as np
import pandas as pd
import pytest

from ildrad.clinical import (
    clinical_scores,
    gap_index,
    gap_stage,
    goh_extensive,
    ild_gap_index,
    sadl_index,
)


@pytest.mark.parametrize(
    ("age", "points"), [(60, 0), (60.9, 0), (61, 1), (65, 1), (65.5, 1), (66, 2)]
)
def test_gap_age_edges(age, points):
    assert gap_index(["F"], [age], [80], [60])[0] == points


@pytest.mark.parametrize(("fvc", "points"), [(75.1, 0), (75, 1), (50, 1), (49.9, 2)])
def test_gap_fvc_edges(fvc, points):
    assert gap_index(["F"], [50], [fvc], [60])[0] == points


@pytest.mark.parametrize(("dlco", "points"), [(56, 0), (55, 1), (36, 1), (35, 2), (20, 2)])
def test_gap_dlco_edges(dlco, points):
    assert gap_index(["F"], [50], [80], [dlco])[0] == points


def test_gap_cannot_perform_and_missing():
    index = gap_index(
        ["M", "M", "M"], [70, 70, 70], [40, 40, 40], [np.nan, np.nan, 50], [True, False, False]
    )
    assert index[0] == 1 + 2 + 2 + 3  # maximum 8
    assert np.isnan(index[1])  # merely missing DLCO: not applicable
    assert index[2] == 1 + 2 + 2 + 1


def test_gap_stages():
    np.testing.assert_array_equal(gap_stage([0, 3, 4, 5, 6, 8]), [1, 1, 2, 2, 3, 3])


def test_ild_gap_and_sadl():
    assert ild_gap_index([5.0], "ctd")[0] == 3.0
    assert ild_gap_index([5.0], "ipf")[0] == 5.0
    assert sadl_index(["never"], [54], [61])[0] == 0
    assert sadl_index(["former"], [55], [60])[0] == 1 + 1 + 3
    assert sadl_index(["current"], [71], [39])[0] == 7
    assert np.isnan(sadl_index([None], [60], [50])[0])


def test_goh_rule():
    extent = [5, 9.9, 10, 20, 20, 30, 30.1, 20]
    fvc = [50, 50, 80, 70, 69.9, 60, 90, np.nan]
    np.testing.assert_array_equal(goh_extensive(extent, fvc)[:7], [0, 0, 0, 0, 1, 1, 1])
    assert np.isnan(goh_extensive(extent, fvc)[7])


def test_clinical_scores_columns():
    manifest = pd.DataFrame(
        {
            "sex": ["M", "F"],
            "age_years": [66.2, 40.0],
            "fvc_pct": [45.0, 90.0],
            "dlco_pct": [30.0, 80.0],
            "dlco_cannot_perform": [False, False],
            "smoking": ["former", "never"],
        }
    )
    scores = clinical_scores(manifest, extent=pd.Series([35.0, 5.0]))
    assert scores.clin__gap_index.tolist() == [7, 0]
    assert scores.clin__gap_stage.tolist() == [3, 1]
    assert scores.clin__goh_extensive.tolist() == [1, 0]
