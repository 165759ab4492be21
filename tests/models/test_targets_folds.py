"""Targets (hand-computed cases), patient folds and the leakage guards, ICC and delta features."""

import numpy as np
import pandas as pd
import pytest

from ildrad.errors import InputError
from ildrad.models.features import delta_per_year, icc, stable_features
from ildrad.models.folds import (
    LeakageError,
    check_disjoint,
    leave_one_site_out_folds,
    make_folds,
    patient_splits,
    read_folds,
    temporal_folds,
    write_folds,
)
from ildrad.models.targets import build_target, censoring_survivor, progression_target

YEAR = 365.25


def _manifest():
    # scan: follow-up (years), death
    rows = [
        ("a", "p1", 0.5, True),
        ("b", "p1", 4.0, False),
        ("c", "p2", 2.9, False),
        ("d", "p3", 3.5, True),
        ("e", "p4", 6.0, False),
        ("f", "p5", 2.0, True),
    ]
    return pd.DataFrame(
        {
            "scan_key": [r[0] for r in rows],
            "patient_key": [r[1] for r in rows],
            "followup_days": [r[2] * YEAR for r in rows],
            "death": [r[3] for r in rows],
        }
    )


def test_mortality_labels_and_counts():
    target = build_target("mortality_3y", _manifest())
    assert target.frame.y.tolist()[:2] == [1.0, 0.0]
    assert np.isnan(target.frame.y[2])  # censored at 2.9 y: not assessable
    assert target.frame.y.tolist()[3:] == [0.0, 0.0, 1.0]  # death at 3.5 y is alive at 3 y
    assert target.counts == {
        "dead_within": 2,
        "alive_at": 3,
        "censored_before": 1,
        "scans": 6,
        "patients": 5,
    }
    assert build_target("mortality_1y", _manifest()).frame.y.tolist() == [1, 0, 0, 0, 0, 0]


def test_ipcw_weights_are_inverse_censoring_survivor():
    manifest = _manifest()
    target = build_target("mortality_3y", manifest, ipcw=True)
    # censoring KM: censored times 2.9, 4.0, 6.0 among 6 scans; G drops at 2.9 by 1/3 at risk (3 at risk: 2.9, 3.5, 4, 6 -> 4)
    g = censoring_survivor(manifest.followup_days.to_numpy() / YEAR, manifest.death.to_numpy())
    assert g(np.array([2.9]))[0] == pytest.approx(1 - 1 / 4)
    w = target.frame.weight
    assert w[0] == pytest.approx(1.0)  # death at 0.5 y: G(0.5-) = 1
    assert w[1] == pytest.approx(1 / 0.75)  # alive at 3 y: 1 / G(3)
    assert np.isnan(w[2])


def test_progression_from_visits():
    manifest = pd.DataFrame(
        {
            "scan_key": ["s1", "s2", "s3"],
            "patient_key": ["p1", "p2", "p3"],
            "study_date": pd.to_datetime(["2020-01-01"] * 3),
            "fvc_pct": [80.0, 80.0, 80.0],
            "dlco_pct": [60.0, 60.0, 60.0],
            "followup_days": [900.0] * 3,
            "death": [False] * 3,
        }
    )
    visits = pd.DataFrame(
        {
            "patient_key": ["p1", "p2", "p2", "p3"],
            "date": pd.to_datetime(["2020-10-01", "2020-06-01", "2020-12-20", "2020-03-01"]),
            "fvc_pct": [
                76.0,
                75.0,
                79.0,
                60.0,
            ],  # p1 -5 % only; p2 -6.25 % with DLCO -16.7 %; p3 -25 %
            "dlco_pct": [58.0, 50.0, 59.0, 60.0],
        }
    )
    target = progression_target(manifest, visits, 1.0)
    assert target.frame.y.tolist() == [0.0, 1.0, 1.0]
    short = progression_target(
        manifest.iloc[:1], visits.iloc[:1].assign(date=pd.Timestamp("2020-03-01")), 1.0
    )
    assert np.isnan(short.frame.y[0])  # followed 2 months of 12: not assessable


def test_user_column_targets():
    manifest = _manifest().assign(
        uip=["yes", "no", "no", "yes", "no", "no"], score=np.arange(6) * 1.5 + 0.1
    )
    assert build_target("uip", manifest).kind == "binary"
    manifest["score"] = np.linspace(0, 30, 6) + np.arange(6) * 0.01
    manifest = pd.concat([manifest] * 3, ignore_index=True).assign(score=np.linspace(0, 30, 18))
    assert build_target("score", manifest).kind == "regression"
    with pytest.raises(InputError, match="unknown target"):
        build_target("nonsense", manifest)


def _cohort(n=60):
    rng = np.random.default_rng(0)
    patients = np.repeat([f"p{i}" for i in range(n)], rng.integers(1, 4, n))
    death = pd.Series(patients).map({f"p{i}": bool(rng.random() < 0.3) for i in range(n)})
    return pd.DataFrame(
        {
            "scan_key": [f"s{i}" for i in range(len(patients))],
            "patient_key": patients,
            "death": death,
            "site": pd.Series(patients).str[-1].map(lambda c: f"site{int(c) % 3}"),
            "study_date": pd.Timestamp("2015-01-01")
            + pd.to_timedelta(pd.Series(patients).str[1:].astype(int) * 30, unit="D"),
        }
    )


def test_folds_are_patient_level_stratified_and_repeated():
    manifest = _cohort()
    folds = make_folds(manifest, 5, 3, seed=1)
    assert len(folds) == 3 * manifest.patient_key.nunique()
    assert not folds.duplicated(["patient_key", "repeat"]).any()
    assert not (
        folds[folds.repeat == 0].fold.to_numpy() == folds[folds.repeat == 1].fold.to_numpy()
    ).all()
    deaths = manifest.groupby("patient_key").death.any()
    per_fold = (
        folds[folds.repeat == 0]
        .assign(d=lambda f: f.patient_key.map(deaths))
        .groupby("fold")
        .d.sum()
    )
    assert per_fold.max() - per_fold.min() <= 1
    for _, train, test in patient_splits(manifest.patient_key, folds, 0):
        assert not set(manifest.patient_key.iloc[train]) & set(manifest.patient_key.iloc[test])
    assert make_folds(manifest, 5, 3, seed=1).equals(folds)


def test_leaky_splits_are_refused(tmp_path):
    with pytest.raises(LeakageError):
        check_disjoint(["p1", "p2"], ["p2", "p3"])
    manifest = _cohort()
    folds = make_folds(manifest, 5, 1)
    doubled = pd.concat([folds, folds.iloc[:1].assign(fold=(folds.fold.iloc[0] + 1) % 5)])
    write_folds(tmp_path, doubled)
    with pytest.raises(InputError, match="twice"):
        read_folds(tmp_path)
    with pytest.raises(InputError, match="no fold"):
        list(patient_splits(pd.concat([manifest.patient_key, pd.Series(["stranger"])]), folds, 0))


def test_site_and_temporal_splits():
    manifest = _cohort()
    site = leave_one_site_out_folds(manifest)
    assert site.fold.nunique() == 3
    temporal = temporal_folds(manifest, "2017-01-01")
    splits = list(patient_splits(manifest.patient_key, temporal, 0))
    assert len(splits) == 1  # only the later patients are ever tested
    _, train, test = splits[0]
    first = manifest.groupby("patient_key").study_date.min()
    assert (
        first[manifest.patient_key.iloc[train]].max()
        < pd.Timestamp("2017-01-01")
        <= first[manifest.patient_key.iloc[test]].min()
    )


def test_icc_matches_shrout_fleiss_example():
    # Shrout & Fleiss 1979, Table 2: 6 targets x 4 judges; ICC(2,1) = 0.29, ICC(3,1) = 0.71
    ratings = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    )
    long = pd.DataFrame(
        [{"scan_key": i, "perturbation": j, "f": ratings[i, j]} for i in range(6) for j in range(4)]
    )
    assert icc(long, ["f"], form="2,1")["f"] == pytest.approx(0.29, abs=0.005)
    assert icc(long, ["f"], form="3,1")["f"] == pytest.approx(0.71, abs=0.005)
    assert stable_features(pd.Series({"a": 0.9, "b": 0.5})) == ["a"]


def test_delta_per_year():
    manifest = pd.DataFrame(
        {
            "scan_key": ["a", "b", "c"],
            "patient_key": ["p", "p", "q"],
            "study_date": pd.to_datetime(["2020-01-01", "2022-01-01", "2020-01-01"]),
        }
    )
    features = pd.DataFrame(
        {"scan_key": ["a", "b", "c"], "qct__lung__original__haa_fraction": [0.1, 0.2, 0.3]}
    )
    delta = delta_per_year(features, manifest, ["qct__lung__original__haa_fraction"]).set_index(
        "scan_key"
    )
    assert np.isnan(delta.loc["a"].iloc[0]) and np.isnan(delta.loc["c"].iloc[0])
    assert delta.loc["b"].iloc[0] == pytest.approx(0.1 / (731 / 365.25))
