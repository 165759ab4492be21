"""``ildrad demo``: the whole pipeline on a synthetic cohort, ending with the reports."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def demo(
    out: Path = typer.Option(..., "--out", help="Folder to create (must be empty or new)."),
    patients: int = typer.Option(40, "--patients", min=10, help="Synthetic patients."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the synthetic cohort."),
    workers: int = typer.Option(2, "--workers", min=1, help="Dask workers for `ildrad run`."),
) -> None:
    """Synthetic CT + PET/CT cohort -> index -> run -> folds -> train -> evaluate -> reports and DICOM export."""
    from ildrad.demo import run_demo

    result = run_demo(out, patients=patients, seed=seed, workers=workers, announce=typer.echo)
    typer.echo(f"\nDemo finished in {result.seconds['total'] / 60:.1f} min.")
    typer.echo(f"Cohort report:  {result.report.resolve()}")
    typer.echo(f"Patient report: {result.patient_report.resolve()}")
    typer.echo(f"DICOM SEG + SR: {result.exports.resolve()}")


def register(app: typer.Typer) -> None:
    """Add the demo command to ``app``."""
    app.command("demo")(demo)
