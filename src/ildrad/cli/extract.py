"""``ildrad extract``: IBSI radiomics of one image inside one mask, written as a one-row CSV.

Imports only numpy/scipy/SimpleITK/scikit-image (never torch, dask or scikit-survival).
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
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
        None,
        "--pyradiomics-params",
        help="PyRadiomics parameter file: PyRadiomics' names and definitions (Original image).",
    ),
    names: str = typer.Option("ibsi", "--names", help="Column names: ibsi or pyradiomics."),
    label: int | None = typer.Option(
        None, "--label", help="Mask label of the ROI (default: every non-zero voxel)."
    ),
) -> None:
    """Compute IBSI features of IMAGE inside MASK and write them as one CSV row."""
    from ildrad.errors import ConfigError, EmptyMaskError, GridMismatchError, InputError

    naming: Literal["ibsi", "pyradiomics"]
    if names not in ("ibsi", "pyradiomics"):
        raise InputError(f"--names must be 'ibsi' or 'pyradiomics', got '{names}'")
    naming = names  # type: ignore[assignment]
    if config is not None and pyradiomics_params is not None:
        raise ConfigError("--config and --pyradiomics-params are mutually exclusive; give one")
    if pyradiomics_params is not None:
        features = _pyradiomics_features(image, mask, pyradiomics_params, label)
        write_feature_row(features, out)
        typer.echo(f"{len(features)} features: wrote {out}")
        return
    from ildrad.io.volume_files import read_image, read_mask

    with ThreadPoolExecutor(2) as pool:  # the files are read while the modules load
        reading = pool.submit(read_image, image), pool.submit(read_mask, mask)
        # Imported only here: the configuration imports every stage's settings module.
        from ildrad.config import load_config
        from ildrad.image import assert_same_grid
        from ildrad.radiomics.extractor import extract
        from ildrad.radiomics.names import to_pyradiomics

        settings = load_config(config)
        picture, roi = (read.result() for read in reading)
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


def _pyradiomics_features(image: Path, mask: Path, params_file: Path, label: int | None) -> dict[str, float]:
    """PyRadiomics-compatible features: the image read in its stored pixel type, as PyRadiomics
    does (its bin edges depend on it)."""
    import dataclasses

    import numpy as np
    import SimpleITK as sitk

    from ildrad.errors import GridMismatchError, InputError

    with ThreadPoolExecutor(2) as pool:  # the files are read while numba loads its kernels
        reading = pool.submit(sitk.ReadImage, str(image)), pool.submit(sitk.ReadImage, str(mask))
        from ildrad.radiomics.pyradiomics_compat import (
            extract_pyradiomics,
            load_kernels,
            read_params,
        )

        params = read_params(params_file)
        load_kernels()
        try:
            picture, roi = (read.result() for read in reading)
        except RuntimeError as err:
            raise InputError(f"cannot read '{image}' or '{mask}': {err}") from err
    if label is not None:
        params = dataclasses.replace(params, setting={**params.setting, "label": label})
    if picture.GetDimension() != 3 or roi.GetDimension() != 3:
        raise InputError(f"'{image}' and '{mask}' must be 3D volumes")
    tolerance = params.setting["geometryTolerance"] or 1e-6
    same = picture.GetSize() == roi.GetSize() and all(
        np.allclose(getattr(picture, f)(), getattr(roi, f)(), atol=tolerance)
        for f in ("GetSpacing", "GetOrigin", "GetDirection")
    )
    if not same:
        raise GridMismatchError(
            f"mask '{mask}' and image '{image}' are not on the same grid "
            "(resample the mask onto the image grid first)"
        )
    values = sitk.GetArrayViewFromImage(picture)  # no copy: ``picture`` outlives the extraction
    labels = sitk.GetArrayViewFromImage(roi)
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(labels == np.round(labels)):
            raise InputError(f"mask '{mask}' holds non-integer values")
        labels = labels.astype(np.int64)
    spacing = tuple(float(s) for s in picture.GetSpacing()[::-1])
    return extract_pyradiomics(values, labels, spacing, params, source=f"mask '{mask}'")


def register(app: typer.Typer) -> None:
    """Add ``ildrad extract`` to the app."""
    app.command("extract")(extract_command)
