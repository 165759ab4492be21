"""``ildrad filter``: write the response map of one IBSI 2 filter on the full image grid."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ildrad.radiomics.filters.spec import FilterSpec

__all__ = ["load_image_types", "register"]


def load_image_types(path: Path) -> list[FilterSpec]:
    """The ``radiomics.image_types`` filters of a configuration file, every section validated.

    Until ``RadiomicsSettings`` holds ``image_types`` itself, the list is validated here with the
    filter models and the rest of the file with :func:`ildrad.config.parse_config`.
    """
    from pydantic import TypeAdapter, ValidationError

    from ildrad.config import parse_config
    from ildrad.errors import ConfigError
    from ildrad.radiomics.filters.spec import ImageTypeList
    from ildrad.settings_base import read_yaml_file

    data: Any = read_yaml_file(path, "configuration")
    if not isinstance(data, dict) or not isinstance(data.get("radiomics"), dict):
        raise ConfigError(
            f"{path}: no 'radiomics' section (expected radiomics: image_types: [...])"
        )
    radiomics = dict(data["radiomics"])
    entries = radiomics.pop("image_types", None)
    parse_config({**data, "radiomics": radiomics}, str(path))
    if not entries:
        raise ConfigError(f"{path}: 'radiomics.image_types' is missing or empty")
    try:
        return TypeAdapter(ImageTypeList).validate_python(entries)
    except ValidationError as err:
        problems = "; ".join(
            ("unknown key" if e["type"] == "extra_forbidden" else e["msg"])
            + f" at 'radiomics.image_types.{'.'.join(map(str, e['loc']))}'"
            for e in err.errors()
        )
        raise ConfigError(f"{path}: {problems}") from err


def filter_command(
    image: Path = typer.Argument(..., help="Input volume (NIfTI/NRRD)."),
    config: Path = typer.Option(
        ..., "--config", "-c", help="YAML file with radiomics.image_types."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Response map to write (NIfTI/NRRD)."),
    index: int | None = typer.Option(
        None,
        "--index",
        help="Which radiomics.image_types entry (from 0) when the file lists several.",
    ),
) -> None:
    """Write the response map of an IBSI 2 filter (mean, log, laws, gabor, wavelet, simoncelli)."""
    from ildrad.errors import ConfigError
    from ildrad.io.volume_files import read_image, write_image
    from ildrad.radiomics.filters import apply_filter

    specs = load_image_types(config)
    if index is None and len(specs) > 1:
        raise ConfigError(
            f"{config}: lists {len(specs)} image types; choose one with --index 0..{len(specs) - 1}"
        )
    chosen = index or 0
    if not 0 <= chosen < len(specs):
        raise ConfigError(f"{config}: --index {chosen} out of range (0..{len(specs) - 1})")
    spec = specs[chosen]
    response = apply_filter(read_image(image), spec)
    write_image(response, out)
    typer.echo(f"{spec.name}: wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``ildrad filter`` to the app."""
    app.command("filter")(filter_command)
