"""Report and DICOM interop commands: ``report``, ``export``, ``import-seg``."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def report(
    workspace: Path = typer.Argument(..., help="Workspace (manifest and feature store)."),
    out: Path = typer.Option(..., "--out", help="HTML file to write (self-contained)."),
    results: Path | None = typer.Option(
        None, "--results", help="Folder written by `ildrad evaluate`."
    ),
    patient: str | None = typer.Option(
        None, "--patient", help="Pseudonymous patient_key: a patient report."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Configuration YAML used for the run and models."
    ),
) -> None:
    """Write the cohort report (or with --patient a patient report) as one self-contained HTML file."""
    from ildrad.config import load_config

    if results is None and (workspace / "results" / "metrics.csv").is_file():
        results = workspace / "results"
    if patient:
        from ildrad.report.patient_report import build_patient_report

        path = build_patient_report(workspace, patient, out, results=results)
    else:
        from ildrad.report.cohort_report import build_cohort_report

        path = build_cohort_report(workspace, out, results=results, config=load_config(config))
    typer.echo(f"report -> {path}")


def export(
    workspace: Path = typer.Argument(..., help="Workspace (manifest, feature store with masks)."),
    out: Path = typer.Option(..., "--out", help="Folder for the DICOM SEG and SR objects."),
    identified: bool = typer.Option(
        False,
        "--identified",
        help="Copy the source patient headers (from "
        "WORKSPACE/private) into the objects, for returning results to a PACS.",
    ),
    scan: list[str] | None = typer.Option(
        None, "--scan", help="Only these scan keys (repeatable)."
    ),
) -> None:
    """Export lung, zone and rind masks as DICOM SEG and the QCT results as a TID 1500 SR per CT scan."""
    from ildrad.report.dicom_export import export_workspace

    summary = export_workspace(workspace, out, identified=identified, scan_keys=scan or None)
    kind = (
        "IDENTIFIED (patient headers copied from the source files)"
        if identified
        else "pseudonymous"
    )
    typer.echo(f"{len(summary.files)} DICOM objects for {summary.scans} scans, {kind} -> {out}")
    for key, reason in summary.skipped.items():
        typer.echo(f"skipped {key}: {reason}", err=True)


def import_seg(
    workspace: Path = typer.Argument(..., help="Workspace of the scan."),
    seg: Path = typer.Argument(
        ...,
        help="DICOM SEG with the edited lungs (segments 'right ...' and 'left ...', "
        "or one lung segment).",
    ),
    scan: str | None = typer.Option(
        None, "--scan", help="Scan key (default: the series the SEG references)."
    ),
) -> None:
    """Store an edited lung SEG so that it replaces the automatic mask of its scan in the next `ildrad run`."""
    from ildrad.cohort.overrides import import_seg as store_override

    scan_key, sha = store_override(workspace, seg, scan)
    typer.echo(
        f"lung override {sha} stored for scan {scan_key}; run `ildrad run {workspace}` to recompute it"
    )


def register(app: typer.Typer) -> None:
    """Add the report commands to ``app``."""
    app.command("report")(report)
    app.command("export")(export)
    app.command("import-seg")(import_seg)
