"""Base class of every configuration section: frozen, typed, unknown keys rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ildrad.errors import ConfigError

__all__ = ["Section", "describe_validation_error", "read_yaml_file"]


class Section(BaseModel):
    """A configuration section. Unknown keys are errors; values are validated on load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def read_yaml_file(path: str | Path, what: str) -> Any:
    """The parsed YAML (JSON is YAML too) of ``path``; a ConfigError naming the file when it is
    missing or not valid YAML (``what`` names the file's role: "configuration", "cohort spec")."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err


def describe_validation_error(err: ValidationError) -> str:
    """Every problem of a validation error, keys dotted: unknown keys by name, bad values with
    the value given."""
    return "; ".join(_describe(problem) for problem in err.errors())


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    return f"'{key}': {error['msg']} (got {error.get('input')!r})"
