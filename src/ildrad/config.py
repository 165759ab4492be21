"""The one configuration model of ildrad, with one section per stage (DESIGN.md).

A configuration file is YAML whose top-level keys are section names (``io``, ``segment``,
``radiomics``, ``pet``, ``run``, ``models``, ``deep``, ``report``); each command reads the sections
it needs and every section has defaults, so a file may hold only the sections it changes.
Unknown keys and bad values are rejected with a :class:`~ildrad.errors.ConfigError` that names the
key path, the file and the allowed values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ildrad.errors import ConfigError
from ildrad.sections import (
    DeepSettings,
    IoSettings,
    ModelsSettings,
    PetSettings,
    RadiomicsSettings,
    ReportSettings,
    RunSettings,
    SegmentSettings,
)
from ildrad.settings_base import Section, describe_validation_error, read_yaml_file

__all__ = ["Config", "config_hash", "load_config", "parse_config"]


class Config(Section):
    """The whole configuration: one section per pipeline stage."""

    io: IoSettings = Field(default_factory=IoSettings)
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    radiomics: RadiomicsSettings = Field(default_factory=RadiomicsSettings)
    pet: PetSettings = Field(default_factory=PetSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    deep: DeepSettings = Field(default_factory=DeepSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)


def parse_config(data: dict[str, Any] | None, source: str = "configuration") -> Config:
    """Validate a configuration mapping; ``source`` names its origin in error messages."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        problems = describe_validation_error(err)
        sections = ", ".join(Config.model_fields)
        raise ConfigError(f"{source}: {problems} (sections: {sections})") from err


def load_config(path: str | Path | None) -> Config:
    """Load and validate a YAML configuration file (``None`` gives the defaults)."""
    if path is None:
        return Config()
    return parse_config(read_yaml_file(path, "configuration"), str(path))


def config_hash(config: Section) -> str:
    """A stable 16-hex-digit hash of a configuration (or section), for result provenance."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
