"""ComBat against R's sva::ComBat (fixtures made by tests/fixtures/r/make_fixtures.R, sva 3.46.0)."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ildrad.errors import InputError
from ildrad.harmonize import ComBat

FIXTURES = Path(__file__).parents[1] / "fixtures" / "r"


@pytest.mark.parametrize(
    ("variant", "options"),
    [
        ("parametric", {"covariate_columns": ("age", "sex")}),
        ("nonparametric", {"covariate_columns": ("age", "sex"), "parametric": False}),
        ("parametric_meanonly", {"covariate_columns": ("age", "sex"), "mean_only": True}),
        ("parametric_nocov", {}),
    ],
)
def test_combat_matches_sva(variant, options):
    data = pd.read_csv(FIXTURES / "combat_input.csv")
    expected = pd.read_csv(FIXTURES / f"combat_{variant}.csv")
    frame = data.drop(
        columns=[c for c in ("age", "sex") if c not in options.get("covariate_columns", ())]
    )
    out = ComBat(batch_column="batch", **options).fit_transform(frame)
    # R writes 15 significant digits; both variants are deterministic
    np.testing.assert_allclose(
        out[list(expected.columns)].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-6
    )
    if "age" in options.get("covariate_columns", ()):
        np.testing.assert_array_equal(out.age, data.age)  # covariates pass through
    assert "batch" not in out.columns


def test_combat_from_training_applies_learnt_parameters():
    data = pd.read_csv(FIXTURES / "combat_input.csv")
    model = ComBat(batch_column="batch", covariate_columns=("age", "sex")).fit(data)
    whole = model.transform(data)
    part = model.transform(data.iloc[::3])
    np.testing.assert_allclose(part.to_numpy(float), whole.iloc[::3].to_numpy(float))
    with pytest.raises(InputError, match="not seen in training"):
        model.transform(data.assign(batch="Z"))


def test_combat_removes_batch_shift():
    rng = np.random.default_rng(0)
    batch = np.repeat(["a", "b"], 60)
    x = rng.normal(size=(120, 6)) + np.where(batch == "b", 3.0, 0.0)[:, None]
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)]).assign(batch=batch)
    out = ComBat(batch_column="batch").fit_transform(frame)
    gap = out[batch == "b"].mean() - out[batch == "a"].mean()
    assert np.all(np.abs(gap) < 0.3)


def test_covariate_only_columns_are_used_then_dropped():
    data = pd.read_csv(FIXTURES / "combat_input.csv")
    expected = pd.read_csv(FIXTURES / "combat_parametric.csv")
    renamed = data.rename(columns={"age": "combat__age", "sex": "combat__sex"})
    out = ComBat(batch_column="batch", covariate_columns=("age", "sex")).fit_transform(renamed)
    assert list(out.columns) == list(expected.columns)
    np.testing.assert_allclose(out.to_numpy(), expected.to_numpy(), atol=1e-6)


def test_feature_constant_within_a_small_batch_converges_without_division_by_zero():
    rng = np.random.default_rng(0)
    batch = np.array(["a"] * 58 + ["b"] * 2)
    x = rng.normal(size=(60, 4))
    x[58:, 3] = 0.7  # both scans of batch b share the value: its variance estimate is 0
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(4)]).assign(batch=batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ComBat(batch_column="batch").fit_transform(frame)
    assert np.isfinite(out.to_numpy(float)).all()
    np.testing.assert_allclose(out.iloc[58:, 3], out.iloc[58, 3])  # still equal after adjustment
