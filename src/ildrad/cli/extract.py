"""``ildrad extract``: IBSI radiomics of one image inside one mask, written as a one-row CSV.

Imports only numpy/scipy/SimpleITK/scikit-image (never torch, dask or scikit-survival).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import typer

__all__ = ["register", "write_feature_row"]


def write_feature_row(features: dict[str, float], path: Path) -> Path:
    """Write ``features`` as a CSV with one header row (names) and one value row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(features))
        writer.writerow([repr(float(value)) for value in features.values()])
    return path


def extract_command(
    image: Path = typer.Argument(..., help="Image volume (NIfTI/NRRD)."),
    mask: Path = typer.Argument(..., help="ROI mask on the image grid (NIfTI/NRRD)."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV file to write (one row)."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="ildrad configuration YAML (its radiomics section)."
    ),
    pyradiomics_params: Path | None = typer.Option(
        None, "--pyradiomics-params", help="PyRadiomics parameter file (not supported yet)."
    ),
    names: str = typer.Option("ibsi", "--names", help="Column names: ibsi or pyradiomics."),
    label: int | None = typer.Option(
        None, "--label", help="Mask label of the ROI (default: every non-zero voxel)."
    ),
) -> None:
    """Compute IBSI features of IMAGE inside MASK and write them as one CSV row."""
    from ildrad.config import load_config
    from ildrad.errors import ConfigError, EmptyMaskError, GridMismatchError, InputError
    from ildrad.image import assert_same_grid
    from ildrad.io.volume_files import read_image, read_mask
    from ildrad.radiomics.extractor import extract
    from ildrad.radiomics.names import to_pyradiomics

    naming: Literal["ibsi", "pyradiomics"]
    if names not in ("ibsi", "pyradiomics"):
        raise InputError(f"--names must be 'ibsi' or 'pyradiomics', got '{names}'")
    naming = names  # type: ignore[assignment]
    if config is not None and pyradiomics_params is not None:
        raise ConfigError("--config and --pyradiomics-params are mutually exclusive; give one")
    if pyradiomics_params is not None:
        raise ConfigError(
            f"{pyradiomics_params}: PyRadiomics parameter files are not supported yet; "
            "use --config with an ildrad configuration"
        )
    settings = load_config(config)
    picture = read_image(image)
    roi = read_mask(mask)
    try:
        assert_same_grid(roi, picture, f"mask '{mask}' and image '{image}'")
    except GridMismatchError as err:
        raise GridMismatchError(f"{err} (resample the mask onto the image grid first)") from err
    if label is not None and not (roi.array == label).any():
        raise EmptyMaskError(f"{mask}: no voxel has label {label}")
    features = extract(picture, roi, settings, label=label, source=f"mask '{mask}'")
    if naming == "pyradiomics":
        features = to_pyradiomics(features)
    write_feature_row(features, out)
    typer.echo(f"{len(features)} features: wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``ildrad extract`` to the app."""
    app.command("extract")(extract_command)
