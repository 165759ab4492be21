"""``ildrad perturb``: ICC stability of lung radiomics under perturbation (Zwanenburg 2019)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def perturb(
    workspace: Path = typer.Argument(
        ..., help="Workspace after `ildrad run` (lung masks in the store)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Configuration YAML (its radiomics and io sections; use the run's)."
    ),
    n: int = typer.Option(10, "--n", min=2, help="Perturbed versions per scan."),
    seed: int = typer.Option(0, "--seed", help="Seed of the scan sample and every perturbation."),
    scans: int | None = typer.Option(
        None, "--scans", min=2, help="Seeded sample of this many CT scans (default: all)."
    ),
    result_set: str | None = typer.Option(
        None, "--result-set", help="Store result set holding the masks (default: the newest)."
    ),
    max_angle: float = typer.Option(
        10.0, "--max-angle", help="Rotations drawn from U(-a, a) degrees."
    ),
    max_volume: float = typer.Option(
        0.1, "--max-volume", help="Relative volume changes drawn from U(-f, f)."
    ),
    noise_scale: float = typer.Option(
        1.0, "--noise-scale", help="Added noise SD as a multiple of the estimated image noise."
    ),
) -> None:
    """Perturb CT scans (rotation, noise, contour randomisation, volume adaptation), extract their
    lung radiomics and write WORKSPACE/stability/<result_set>/icc.parquet with ICC(2,1), ICC(3,1)
    per feature and parameters.parquet recording every sampled perturbation."""
    from ildrad.config import load_config
    from ildrad.models.perturbation import ICC_FILE, PerturbationSettings, perturb_workspace

    settings = PerturbationSettings(
        n=n,
        seed=seed,
        max_angle_deg=max_angle,
        max_volume_fraction=max_volume,
        noise_scale=noise_scale,
    )
    out = perturb_workspace(
        workspace, load_config(config), settings, scans=scans, result_set=result_set
    )
    import pandas as pd

    table = pd.read_parquet(out / ICC_FILE)
    good = int((table.icc_2_1 >= 0.75).sum())
    typer.echo(
        f"{len(table)} features over {int(table.n_scans.iloc[0])} scans x {n} perturbations: "
        f"{good} with ICC(2,1) >= 0.75 -> {out / ICC_FILE}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``perturb`` command to the app."""
    app.command("perturb")(perturb)
