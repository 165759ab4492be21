"""The cohort spec: packaged default, partial files merged over it, unknown keys and bad values."""

from __future__ import annotations

import pytest
import yaml

from ildrad.errors import ConfigError
from ildrad.synth.cohort_spec import (
    CohortSpec,
    default_spec_dict,
    load_cohort_spec,
    parse_cohort_spec,
    spec_to_yaml,
)


def test_default_spec_validates_and_round_trips(tmp_path) -> None:
    spec = load_cohort_spec()
    assert spec.name == "default"
    assert spec.hazard.coefficients.ground_glass_per_10pct == 0.0
    assert (
        spec.hazard.coefficients.honeycombing_per_10pct
        > spec.hazard.coefficients.reticulation_per_10pct
        > 0
    )
    path = tmp_path / "spec.yaml"
    path.write_text(spec_to_yaml(spec))
    assert load_cohort_spec(path) == spec
    assert CohortSpec.model_validate(default_spec_dict()) == spec


def test_partial_spec_is_merged_over_the_default(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nhazard:\n  baseline:\n    rate_per_year: 0.5\n")
    spec = load_cohort_spec(path)
    default = load_cohort_spec()
    assert spec.name == "mine"
    assert spec.hazard.baseline.rate_per_year == 0.5
    assert spec.hazard.baseline.kind == default.hazard.baseline.kind
    assert spec.hazard.coefficients == default.hazard.coefficients


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hazzard": {}}, "unknown key 'hazzard'"),
        (
            {"hazard": {"coefficients": {"mean_density": 1.0}}},
            "unknown key 'hazard.coefficients.mean_density'",
        ),
        ({"hazard": {"baseline": {"kind": "lognormal"}}}, "hazard.baseline.kind"),
        ({"study": {"loss_to_followup_per_year": -1}}, "study.loss_to_followup_per_year"),
        ({"study": {"enrollment_end": "2030-01-01"}}, "administrative_end"),
        ({"scanners": []}, "scanners"),
        ({"treatment": {"drugs": {"none": 1.0}}}, "reserved"),
    ],
)
def test_bad_specs_are_rejected_naming_the_key(data, message) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_cohort_spec(data, "test.yaml")


def test_spec_file_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_cohort_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"demographics": {"male_fraction": 2}}))
    with pytest.raises(ConfigError, match=r"bad\.yaml.*demographics\.male_fraction"):
        load_cohort_spec(bad)
