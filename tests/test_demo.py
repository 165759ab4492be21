"""The demo's command lines are valid ildrad commands and its configuration is valid; the demo
refuses a non-empty folder. (The full demo takes minutes: it is measured, not run, in the suite.)"""

from __future__ import annotations

import click
import pytest
import typer
import yaml

from ildrad.cli import app
from ildrad.config import parse_config
from ildrad.demo import DEMO_CONFIG, demo_steps, run_demo
from ildrad.errors import InputError


def test_every_demo_step_parses_as_an_ildrad_command(tmp_path) -> None:
    command = typer.main.get_command(app)
    steps = demo_steps(tmp_path, patients=40, seed=7, workers=2)
    names = [argv[0] for _, argv in steps]
    assert (
        names[:4] == ["synth", "index", "run", "folds"]
        and "evaluate" in names
        and "export" in names
    )
    for name, argv in steps:
        context = command.make_context("ildrad", list(argv), resilient_parsing=False)
        sub_name, sub_command, rest = command.resolve_command(context, list(argv))
        if isinstance(sub_command, click.Group):  # e.g. `synth cohort`
            sub_context = sub_command.make_context(sub_name, rest, parent=context)
            _, sub_command, rest = sub_command.resolve_command(sub_context, rest)
        sub_command.make_context(name, rest, parent=context)  # raises on an unknown option


def test_demo_config_is_a_valid_configuration() -> None:
    config = parse_config(yaml.safe_load(DEMO_CONFIG), "demo config")
    assert config.models.n_repeats == 1 and config.radiomics.families


def test_demo_refuses_a_non_empty_folder(tmp_path) -> None:
    (tmp_path / "something").write_text("x")
    with pytest.raises(InputError, match="must be empty"):
        run_demo(tmp_path)
