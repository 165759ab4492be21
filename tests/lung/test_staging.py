"""Goh-like staging table (Goh et al. 2008) and agreement with the cohort-level clinical score."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.errors import InputError
from ildrad.lung.staging import goh_like_stage


@pytest.mark.parametrize(
    ("extent", "fvc", "stage", "rule"),
    [
        (0.0, None, "limited", "extent<10"),
        (9.99, 40.0, "limited", "extent<10"),
        (10.0, 70.0, "limited", "fvc>=70"),
        (10.0, 69.9, "extensive", "fvc<70"),
        (20.0, None, None, "no_fvc"),
        (30.0, 85.0, "limited", "fvc>=70"),
        (30.01, 100.0, "extensive", "extent>30"),
        (60.0, None, "extensive", "extent>30"),
    ],
)
def test_goh_table(extent: float, fvc: float | None, stage: str | None, rule: str) -> None:
    result = goh_like_stage(extent, fvc)
    assert (result.stage, result.rule) == (stage, rule)
    assert result.name == "quantitative_goh_stage"


def test_visual_extent_takes_precedence_and_is_named() -> None:
    result = goh_like_stage(5.0, 90.0, visual_extent_pct=35.0)
    assert result.stage == "extensive" and result.extent_source == "visual" and result.name == "goh_stage"


def test_bad_extent_is_an_input_error() -> None:
    with pytest.raises(InputError, match="percentage"):
        goh_like_stage(140.0)
    with pytest.raises(InputError, match="needs an ILD extent"):
        goh_like_stage(None)


def test_agrees_with_the_clinical_goh_score() -> None:
    clinical = pytest.importorskip("ildrad.clinical")
    extents = np.linspace(0, 60, 121)
    for fvc in (50.0, 69.99, 70.0, 95.0):
        reference = clinical.goh_extensive(extents, np.full_like(extents, fvc))
        ours = [goh_like_stage(float(e), fvc).stage == "extensive" for e in extents]
        assert np.array_equal(reference.astype(bool), np.array(ours))
