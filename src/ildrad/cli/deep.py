"""``ildrad deep``: self-supervised pretraining, cross-validated training and prediction of CT deep models."""

from __future__ import annotations

from pathlib import Path

import typer

deep_app = typer.Typer(help="Deep models on chest CT (ResNet-18, DenseNet-121, Swin; 2.5D or 3D).", no_args_is_help=True)


def _settings(config: Path | None, **overrides):
    from ildrad.config import load_config

    settings = load_config(config).deep
    values = {k: v for k, v in overrides.items() if v is not None}
    return settings.model_copy(update=values) if values else settings


_CONFIG = typer.Option(None, "--config", help="Configuration YAML (section deep).")


@deep_app.command("pretrain")
def pretrain_command(
    workspace: Path = typer.Argument(..., help="Workspace with lung masks (after `ildrad run`)."),
    out: Path = typer.Option(..., "--out", help="Checkpoint file to write (.pt)."),
    arch: str | None = typer.Option(None, "--arch", help="resnet18|densenet121|swin (or *_small)."),
    dims: str | None = typer.Option(None, "--dims", help="2.5d or 3d."),
    epochs: int | None = typer.Option(None, "--epochs", help="Pretraining epochs."),
    config: Path | None = _CONFIG,
) -> None:
    """Masked-reconstruction pretraining on the cohort's own scans (no labels, nothing downloaded)."""
    from ildrad.models.deep.pretrain import pretrain_workspace

    settings = _settings(config, arch=arch, dims=dims, pretrain_epochs=epochs)
    result = pretrain_workspace(workspace, settings, out)
    typer.echo(f"pretrained {settings.arch} ({settings.dims}) on {result['scans']} scans: "
               f"reconstruction loss {result['first_loss']:.4f} -> {result['last_loss']:.4f}; wrote {out}")


@deep_app.command("train")
def train_command(
    workspace: Path = typer.Argument(..., help="Workspace with folds.parquet and lung masks."),
    out: Path = typer.Option(..., "--out", help="Model folder to write."),
    arch: str | None = typer.Option(None, "--arch", help="resnet18|densenet121|swin (or *_small)."),
    dims: str | None = typer.Option(None, "--dims", help="2.5d or 3d."),
    target: str = typer.Option("mortality_1y,mortality_3y,mortality_5y", "--target", help="Comma-separated mortality targets."),
    init: Path | None = typer.Option(None, "--init", help="Local weight file for the backbone (MONAI, MedicalNet, plain, or `deep pretrain`)."),
    epochs: int | None = typer.Option(None, "--epochs"),
    config: Path | None = _CONFIG,
) -> None:
    """Train on every fold of folds.parquet; write one model folder per target under OUT."""
    from ildrad.models.deep.workflow import train_deep

    settings = _settings(config, arch=arch, dims=dims, epochs=epochs)
    targets = [t.strip() for t in target.split(",") if t.strip()]
    for folder in train_deep(workspace, settings, targets, out, init):
        typer.echo(f"wrote {folder}")


@deep_app.command("predict")
def predict_command(
    model_dir: Path = typer.Argument(..., help="Folder written by `ildrad deep train`."),
    workspace: Path = typer.Argument(..., help="Workspace to score."),
    out: Path | None = typer.Option(None, "--out", help="CSV of risks (default: WORKSPACE/results/deep_<model>.csv)."),
) -> None:
    """Risks of the final network for every scan with a lung mask."""
    from ildrad.models.deep.workflow import predict_deep

    table = predict_deep(model_dir, workspace)
    out = out or Path(workspace) / "results" / f"deep_{Path(model_dir).name}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    typer.echo(f"scored {len(table)} scans; wrote {out}")


@deep_app.command("gradcam")
def gradcam_command(
    model_dir: Path = typer.Argument(..., help="Folder written by `ildrad deep train`."),
    workspace: Path = typer.Argument(..., help="Workspace holding the scans."),
    scan: list[str] = typer.Option(..., "--scan", help="Scan key (repeat the option for several scans)."),
    target: str | None = typer.Option(None, "--target", help="Horizon explained (default mortality_3y)."),
) -> None:
    """Grad-CAM overlays (PNG) of chosen scans, written to MODEL_DIR/gradcam/."""
    from ildrad.models.deep.gradcam import scan_pictures

    pictures = scan_pictures(model_dir, workspace, scan, target)
    for picture in pictures:
        typer.echo(f"wrote {picture}")
    if len(pictures) < len(scan):
        typer.echo(f"{len(scan) - len(pictures)} scan(s) have no lung mask or are not in the workspace", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(deep_app, name="deep")
