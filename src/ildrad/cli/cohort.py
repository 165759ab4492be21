"""Cohort commands: ``index``, ``mapping`` (heavy imports inside the commands)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def index(
    dicom_root: Path = typer.Argument(..., help="Folder of a DICOM export (any depth, DICOMDIR or not)."),
    clinical: Path = typer.Option(..., "--clinical", help="Patients table (CSV): patient_id, sex, birth_date, "
                                  "death_date, last_followup_date [, smoking, site, other covariates]."),
    visits: Path | None = typer.Option(None, "--visits", help="Visits table (CSV): patient_id, date, fvc_pct, "
                                       "dlco_pct [, dlco_cannot_perform, treatment]."),
    out: Path = typer.Option(..., "--out", help="Workspace folder to create or update."),
    config: Path | None = typer.Option(None, "--config", help="Configuration YAML (section run.selection)."),
) -> None:
    """Index a DICOM tree into WORKSPACE/series.parquet and build the manifest of scans to analyse.

    Files are grouped into series from their headers alone (no pixel data read); one CT series per
    study is chosen by the documented rule and PET series are paired with the low-dose CT of their
    study. Identifiers and paths stay in WORKSPACE/private/.
    """
    from ildrad.cohort.index import index_tree
    from ildrad.cohort.manifest import build_manifest
    from ildrad.config import load_config

    selection = load_config(config).run.selection
    result = index_tree(dicom_root, out, selection)
    manifest = build_manifest(out, clinical, visits, selection.visit_window_days)
    chosen = result.series[result.series.chosen]
    typer.echo(f"{len(result.series)} series indexed, {len(chosen)} chosen for analysis "
               f"({(chosen.modality == 'CT').sum()} CT, {(chosen.modality == 'PT').sum()} PET); "
               f"{len(result.unreadable)} unreadable files; manifest: {len(manifest)} scans of "
               f"{manifest.patient_key.nunique()} patients -> {out}")


def mapping(
    workspace: Path = typer.Argument(..., help="An indexed workspace."),
    out: Path = typer.Option(..., "--out", help="CSV file to write (holds identifiers: keep it private)."),
) -> None:
    """Write key <-> (patient ID, StudyInstanceUID, SeriesInstanceUID) for re-identification on request."""
    import pandas as pd

    from ildrad.cohort.index import PRIVATE_SERIES_FILE
    from ildrad.cohort.keys import PRIVATE_DIR
    from ildrad.errors import InputError

    path = workspace / PRIVATE_DIR / PRIVATE_SERIES_FILE
    if not path.is_file():
        raise InputError(f"{workspace}: not an indexed workspace (no {PRIVATE_DIR}/{PRIVATE_SERIES_FILE})")
    table = pd.read_parquet(path)[["scan_key", "patient_key", "patient_id", "study_instance_uid",
                                   "series_instance_uid"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    typer.echo(f"wrote {len(table)} key mappings to {out} (identifiers: keep this file private)")


def run(
    workspace: Path = typer.Argument(..., help="An indexed workspace (ildrad index)."),
    config: Path | None = typer.Option(None, "--config", help="Configuration YAML (all sections)."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes of the embedded Dask "
                                       "cluster (default 1)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler "
                                         "(tcp://host:port) instead of an embedded cluster."),
) -> int:
    """Process every scan of the manifest into the feature store (resumable).

    Finished scans are skipped when the run is started again; failed scans record their stage and
    error and are retried. Exit code 0 when every scan succeeded, 3 when some failed.
    """
    from ildrad.cohort.runner import run_cohort
    from ildrad.config import load_config
    from ildrad.errors import InputError

    if workers is not None and scheduler is not None:
        raise InputError("--workers and --scheduler are mutually exclusive")
    summary = run_cohort(workspace, load_config(config), workers=workers, scheduler=scheduler)
    typer.echo(f"result set {summary.result_set}: {summary.total} scans, {summary.skipped} already done, "
               f"{summary.succeeded} processed, {summary.failed} failed in {summary.seconds:.1f} s")
    return EXIT_SOME_FAILED if summary.failed else 0


def query(
    workspace: Path = typer.Argument(..., help="A workspace with a feature store."),
    sql: str = typer.Argument(..., help='SQL over the views scans, features and failures, e.g. '
                              '"SELECT count(*) FROM features".'),
    csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
) -> None:
    """Query the workspace with DuckDB (views: scans, features, failures)."""
    from ildrad.cohort.query import query_workspace

    result = query_workspace(workspace, sql)
    typer.echo(result.to_csv(index=False) if csv else result.to_string(index=False))


#: Exit code of ``ildrad run`` when some scans failed (their errors are in the store).
EXIT_SOME_FAILED = 3


def register(app: typer.Typer) -> None:
    """Add the cohort commands to the app."""
    app.command("index")(index)
    app.command("mapping")(mapping)
    app.command("run")(run)
    app.command("query")(query)
