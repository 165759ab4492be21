"""Model commands: ``folds``, ``train``, ``evaluate``, ``predict`` (heavy imports inside the commands)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def _settings(config: Path | None):
    from ildrad.config import load_config

    return load_config(config).models


def folds(
    workspace: Path = typer.Argument(..., help="Workspace with manifest.parquet."),
    scheme: str = typer.Option(
        "cv",
        "--scheme",
        help="cv (repeated stratified patient folds), site (leave one "
        "site out) or temporal (train before --cutoff, test from it).",
    ),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Date YYYY-MM-DD for --scheme temporal."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Configuration YAML (section models)."
    ),
) -> None:
    """Assign patients (never scans) to folds once per workspace: WORKSPACE/folds.parquet."""
    from ildrad.models.workflow import write_workspace_folds

    table = write_workspace_folds(workspace, _settings(config), scheme, cutoff)
    typer.echo(
        f"{table.patient_key.nunique()} patients, {table.repeat.nunique()} repeat(s), "
        f"{table[table.fold >= 0].fold.nunique()} test fold(s) -> {workspace / 'folds.parquet'}"
    )


def train(
    workspace: Path = typer.Argument(
        ..., help="Workspace with manifest, feature store and folds.parquet."
    ),
    target: str = typer.Option(
        ..., "--target", help="mortality_<h>y, survival, progression_<w>y or a column name."
    ),
    model: str = typer.Option(..., "--model", help="logistic, rf, gb, coxnet, rsf or score."),
    features: str = typer.Option(
        "qct,rad,pet,clin",
        "--features",
        help="Comma-separated feature groups (qct, rad, pet, petrad, deep, clin, delta).",
    ),
    score: str | None = typer.Option(
        None,
        "--score",
        help="With --model score: the column evaluated as a model "
        "(e.g. clin__gap_index or a visual score).",
    ),
    out: Path = typer.Option(..., "--out", help="Model folder to write."),
    config: Path | None = typer.Option(
        None, "--config", help="Configuration YAML (section models)."
    ),
) -> None:
    """Cross-validate a model on the workspace folds and save it (model.json, oof.parquet, estimator)."""
    from ildrad.models.workflow import train_workspace

    groups = [g.strip() for g in features.split(",") if g.strip()]
    info = train_workspace(workspace, target, model, groups, out, _settings(config), score)
    summary = info["training_cohort"]
    typer.echo(
        f"{model} on {info['target']}: {len(info['features'])} feature(s), {summary['scans_used']} scans "
        f"used ({summary}) -> {out}"
    )


def evaluate(
    workspace: Path = typer.Argument(..., help="Workspace the models were trained or applied on."),
    more_models: list[Path] | None = typer.Argument(
        None, help="Further model folders (so that `--models A B C` works).", show_default=False
    ),
    models: list[Path] = typer.Option(..., "--models", help="Model folders (`--models A B` or repeated)."),
    out: Path = typer.Option(..., "--out", help="Results folder."),
    unit: str | None = typer.Option(
        None, "--unit", help="scan, first_scan or random_scan (default: models.unit of the configuration)."
    ),
    config: Path | None = typer.Option(None, "--config", help="Configuration YAML (section models)."),
) -> None:
    """Write metrics.csv, predictions.csv, comparisons.csv, labels.csv and figures (ROC,
    calibration, decision curve) for model folders evaluated on the same workspace."""
    from ildrad.evaluate.evaluation import evaluate_models, label_counts
    from ildrad.evaluate.figures import write_figures
    from ildrad.models.model_folder import load_model_folder
    from ildrad.models.workflow import load_scan_tables

    settings = _settings(config)
    if unit is not None:
        settings = settings.model_validate({**settings.model_dump(), "unit": unit})
    manifest, _ = load_scan_tables(workspace, need_features=False)
    folders = [load_model_folder(m) for m in [*models, *(more_models or [])]]
    result = evaluate_models(folders, manifest, settings)
    out.mkdir(parents=True, exist_ok=True)
    result.metrics.to_csv(out / "metrics.csv", index=False)
    result.predictions.to_csv(out / "predictions.csv", index=False)
    result.comparisons.to_csv(out / "comparisons.csv", index=False)
    label_counts(folders).to_csv(out / "labels.csv", index=False)
    figures = write_figures(result.predictions, out, settings.decision_thresholds)
    auc = result.metrics[(result.metrics.metric == "roc_auc") & (result.metrics["at"] == "")]
    for row in auc.itertuples():
        typer.echo(
            f"{row.model} {row.target}: ROC AUC {row.value:.3f} "
            f"(95% CI {row.ci_low:.3f}-{row.ci_high:.3f}; {row.n_scans} scans, {row.n_patients} patients)"
        )
    typer.echo(
        f"{len(result.metrics)} metrics, {len(result.comparisons)} comparisons, "
        f"{len(figures)} figures -> {out}"
    )


def predict(
    model_dir: Path = typer.Argument(..., help="A model folder written by `ildrad train`."),
    workspace: Path = typer.Argument(
        ..., help="An external workspace (manifest and feature store)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Folder for the external predictions (read by `ildrad evaluate`)."
    ),
    recalibrate: bool = typer.Option(
        False, "--recalibrate", help="Update intercept and slope on the external labels."
    ),
) -> None:
    """Apply a saved model to another workspace (external validation), optionally recalibrated."""
    from ildrad.models.workflow import predict_workspace

    table = predict_workspace(model_dir, workspace, out, recalibrate)
    typer.echo(f"{len(table)} scans predicted ({int(table.y.notna().sum())} with labels) -> {out}")


def register(app: typer.Typer) -> None:
    """Add the model commands to the app."""
    app.command("folds")(folds)
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("predict")(predict)
