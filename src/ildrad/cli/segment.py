"""``ildrad segment``: lungs, zones, rind, quantitative CT, SSc markers, flags and a QC picture."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def segment_command(
    ct: Path = typer.Argument(..., help="CT: a DICOM series folder, or a NIfTI/NRRD file in HU."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    fvc: float | None = typer.Option(None, "--fvc", help="FVC % predicted (tie-breaker of the Goh-like stage)."),
    visual_extent: float | None = typer.Option(
        None, "--visual-extent", help="Visual ILD extent (% of lung) to stage on instead of the automated one."
    ),
    series_uid: str | None = typer.Option(None, "--series-uid", help="SeriesInstanceUID in a DICOM folder."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML configuration ('segment', 'io')."),
) -> None:
    """Segment the lungs of a chest CT and measure them.

    Writes OUT/lungs.nii.gz (1 right, 2 left), OUT/zones.nii.gz (11-13 right upper/middle/lower,
    21-23 left), OUT/rind.nii.gz (1 subpleural rind, 2 core), all on the CT grid, OUT/qct.json
    (quantitative CT per region with units, ILD extent, oesophagus, quality flags, Goh-like
    stage) and OUT/qc.png (montage for review).
    """
    from ildrad.config import load_config
    from ildrad.errors import InputError
    from ildrad.lung.analysis import analyse_lung_ct, write_outputs

    settings = load_config(config)
    if ct.is_dir():
        from ildrad.io.dicom_series import read_ct_series

        image = read_ct_series(ct, series_uid=series_uid, settings=settings.io)
    elif ct.is_file():
        from ildrad.io.volume_files import read_image

        image = read_image(ct, modality="CT", unit="HU")
    else:
        raise InputError(f"{ct}: no such file or folder (expected a DICOM folder or a NIfTI/NRRD CT)")
    analysis = analyse_lung_ct(image, settings.segment, fvc_pct=fvc, visual_extent_pct=visual_extent)
    paths = write_outputs(analysis, image, out, settings.segment)
    volumes = analysis.features
    typer.echo(
        f"right lung {volumes['qct__right__original__volume_ml']:.0f} mL, "
        f"left lung {volumes['qct__left__original__volume_ml']:.0f} mL, "
        f"ILD extent {100 * analysis.extent.ild_fraction:.1f} %"
    )
    raised = [name for name, flag in analysis.quality["flags"].items() if flag]
    if raised:
        typer.echo("quality flags: " + ", ".join(raised))
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))


def register(app: typer.Typer) -> None:
    """Add ``ildrad segment`` to the app."""
    app.command("segment")(segment_command)
