"""``ildrad synth``: synthetic SSc-ILD phantoms and cohorts with known truth."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

synth_app = typer.Typer(
    name="synth",
    help="Synthetic SSc-ILD chest CT phantoms and longitudinal cohorts with known truth.",
    no_args_is_help=True,
)


@synth_app.command("cohort")
def cohort(
    out: Path = typer.Option(..., "--out", help="Output folder (created; must be empty)."),
    patients: int = typer.Option(20, "--patients", min=1, help="Number of patients."),
    seed: int = typer.Option(
        0, "--seed", help="Random seed: same seed, spec and size, same cohort."
    ),
    size: str = typer.Option("tiny", "--size", help="Phantom size: tiny, small or full."),
    pet: bool = typer.Option(
        False, "--pet", help="Add a PET/CT study (PET + low-dose CT) per patient."
    ),
    spec: Path | None = typer.Option(
        None, "--spec", help="Generating-model YAML; its keys are merged over the default spec."
    ),
    images: bool = typer.Option(
        True, "--images/--no-images", help="--no-images writes the tables and truth only (fast)."
    ),
) -> None:
    """Write a PACS-like DICOM tree (with scouts, second kernels, thick recons, dose reports and
    non-DICOM files), clinical.csv, visits.csv and truth/ (scans.csv with the true linear
    predictor and frailty of every scan, patients.csv, spec.yaml)."""
    import math

    from ildrad.synth.cohort import write_cohort
    from ildrad.synth.cohort_spec import load_cohort_spec
    from ildrad.synth.outcome_model import cohort_summary, imaging_ceiling_auc

    tables = write_cohort(
        out,
        n_patients=patients,
        seed=seed,
        size=size,
        pet=pet,
        spec=load_cohort_spec(spec),
        images=images,
    )
    summary = cohort_summary(tables)
    rates = ", ".join(f"{summary[f'death_within_{h}y']:.1%} within {h} y" for h in (1, 3, 5))
    auc = summary.get("oracle_auc_3y")
    typer.echo(
        f"{int(summary['patients'])} patients, {int(summary['scans'])} scans in {out}; "
        "deaths after scans: "
        f"{rates}; lost to follow-up {summary['lost_to_followup']:.1%}; "
        f"oracle 3-year AUC {'n/a' if auc is None else f'{auc:.3f}'}"
    )
    ceiling = imaging_ceiling_auc(tables, 3.0)
    if math.isfinite(ceiling):
        typer.echo(
            "best 3-year AUC of a model reading one scan (logistic on the true CT extents and "
            f"lung volume, cross-validated): {ceiling:.3f}"
        )


@synth_app.command("phantom")
def phantom(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    size: str = typer.Option("tiny", "--size", help="tiny, small or full."),
    extent: float = typer.Option(
        0.2, "--extent", help="ILD extent, fraction of lung volume (0-0.6)."
    ),
    honeycombing: float = typer.Option(
        0.15, "--honeycombing", help="Share of honeycombing in the ILD."
    ),
    reticulation: float = typer.Option(
        0.30, "--reticulation", help="Share of reticulation in the ILD."
    ),
    ground_glass: float = typer.Option(
        0.45, "--ground-glass", help="Share of ground glass in the ILD."
    ),
    consolidation: float = typer.Option(
        0.10, "--consolidation", help="Share of consolidation in the ILD."
    ),
    emphysema: float = typer.Option(
        0.0, "--emphysema", help="Emphysema extent (fraction of lung)."
    ),
    noise: float = typer.Option(
        20.0, "--noise", help="Noise SD in water (HU) for the smooth kernel."
    ),
    kernel: str = typer.Option("smooth", "--kernel", help="smooth or sharp."),
    coverage: str = typer.Option("full", "--coverage", help="full, cut_apex or cut_base."),
    position: str = typer.Option("supine", "--position", help="supine or prone."),
    breath: str = typer.Option("inspiratory", "--breath", help="inspiratory or expiratory."),
    contrast: bool = typer.Option(False, "--contrast", help="Intravenous contrast."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    dicom: bool = typer.Option(
        False, "--dicom/--nifti", help="Write the CT as a DICOM series (default: ct.nii.gz)."
    ),
) -> None:
    """Write one synthetic chest CT and its truth label maps (NIfTI) and numbers (truth.json)."""
    import json

    from pydantic import ValidationError

    from ildrad.errors import ConfigError
    from ildrad.io.volume_files import write_image, write_mask
    from ildrad.synth.phantom import make_chest_ct
    from ildrad.synth.phantom_spec import PatternMix, PhantomSpec

    try:
        spec = PhantomSpec(
            size=size,
            ild_extent=extent,
            emphysema_extent=emphysema,
            noise_hu=noise,
            kernel=kernel,
            coverage=coverage,
            position=position,
            breath=breath,
            contrast=contrast,
            pattern_mix=PatternMix(
                honeycombing=honeycombing,
                reticulation=reticulation,
                ground_glass=ground_glass,
                consolidation=consolidation,
            ),
        )
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"phantom options: {problems}") from err
    scan = make_chest_ct(spec, seed)
    out.mkdir(parents=True, exist_ok=True)
    if dicom:
        from ildrad.io.dicom_write import write_dicom_series

        write_dicom_series(
            scan.ct, out / "dicom", header={"SeriesDescription": f"synthetic {size} {kernel}"}
        )
    else:
        write_image(scan.ct, out / "ct.nii.gz")
    for name, mask in scan.truth.items():
        write_mask(mask, out / "truth" / f"{name}.nii.gz")
    (out / "truth.json").write_text(
        json.dumps(
            {"seed": seed, "spec": spec.model_dump(mode="json"), "numbers": scan.numbers}, indent=2
        )
    )
    typer.echo(f"phantom {size} (ILD extent {scan.numbers['ild_extent']:.3f}) written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command group to the main app."""
    app.add_typer(synth_app, name="synth")
