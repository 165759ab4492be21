"""The configuration model: sections, unknown keys and bad values rejected with their names."""

from __future__ import annotations

import pytest

from ildrad.config import Config, config_hash, load_config, parse_config
from ildrad.errors import ConfigError


def test_defaults_and_hash_are_stable() -> None:
    assert config_hash(Config()) == config_hash(parse_config({}))
    assert len(config_hash(Config())) == 16


def test_unknown_section_is_named(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("radiomix: {}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: unknown key 'radiomix'.*sections: io, segment"):
        load_config(path)


def test_unknown_key_inside_section_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'io.nonsense_option'"):
        parse_config({"io": {"nonsense_option": 1}})


def test_missing_and_invalid_files(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("io: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
