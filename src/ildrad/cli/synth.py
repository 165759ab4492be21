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
    size: str | None = typer.Option(None, "--size", help="tiny (default), small or full."),
    extent: float | None = typer.Option(
        None, "--extent", help="ILD extent, fraction of lung volume (0-0.6; default 0.2)."
    ),
    honeycombing: float | None = typer.Option(
        None, "--honeycombing", help="Share of honeycombing in the ILD (default 0.15)."
    ),
    reticulation: float | None = typer.Option(
        None, "--reticulation", help="Share of reticulation in the ILD (default 0.30)."
    ),
    ground_glass: float | None = typer.Option(
        None, "--ground-glass", help="Share of ground glass in the ILD (default 0.45)."
    ),
    consolidation: float | None = typer.Option(
        None, "--consolidation", help="Share of consolidation in the ILD (default 0.10)."
    ),
    emphysema: float | None = typer.Option(
        None, "--emphysema", help="Emphysema extent (fraction of lung; default 0)."
    ),
    noise: float | None = typer.Option(
        None, "--noise", help="Noise SD in water (HU) for the smooth kernel (default 20)."
    ),
    kernel: str | None = typer.Option(None, "--kernel", help="smooth (default) or sharp."),
    coverage: str | None = typer.Option(
        None, "--coverage", help="full (default), cut_apex or cut_base."
    ),
    position: str | None = typer.Option(None, "--position", help="supine (default) or prone."),
    breath: str | None = typer.Option(
        None, "--breath", help="inspiratory (default) or expiratory."
    ),
    contrast: bool = typer.Option(False, "--contrast", help="Intravenous contrast."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    dicom: bool = typer.Option(
        False, "--dicom/--nifti", help="Write the CT as a DICOM series (default: ct.nii.gz)."
    ),
    spec_file: Path | None = typer.Option(
        None, "--spec",
        help="Phantom spec (YAML or JSON): every field of ildrad.synth.phantom_spec.PhantomSpec "
        "(body and lung size, effusion, slice thickness, vendor, ...), or a truth.json of an "
        "earlier phantom (its 'spec'); replaces the options from --size to --contrast.",
    ),
) -> None:
    """Write one synthetic chest CT and its truth label maps (NIfTI) and numbers (truth.json)."""
    import json

    from pydantic import ValidationError

    from ildrad.errors import ConfigError
    from ildrad.io.volume_files import write_image, write_mask
    from ildrad.settings_base import describe_validation_error
    from ildrad.synth.phantom import make_chest_ct
    from ildrad.synth.phantom_spec import PhantomSpec

    # options not given keep PhantomSpec's defaults
    given = dict(
        size=size, ild_extent=extent, emphysema_extent=emphysema, noise_hu=noise, kernel=kernel,
        coverage=coverage, position=position, breath=breath, contrast=contrast or None,
    )
    mix = dict(honeycombing=honeycombing, reticulation=reticulation, ground_glass=ground_glass,
               consolidation=consolidation)
    fields = {name: value for name, value in given.items() if value is not None}
    if any(share is not None for share in mix.values()):
        fields["pattern_mix"] = {name: share for name, share in mix.items() if share is not None}
    where = "phantom options"
    if spec_file is not None:
        if fields:
            raise ConfigError(f"give the phantom either as --spec {spec_file} or as options "
                              f"({', '.join(sorted(fields))}), not both")
        fields, where = _read_phantom_spec(spec_file), str(spec_file)
    try:
        spec = PhantomSpec.model_validate(fields)
    except ValidationError as err:
        raise ConfigError(f"{where}: {describe_validation_error(err)}") from err
    scan = make_chest_ct(spec, seed)
    out.mkdir(parents=True, exist_ok=True)
    if dicom:
        from ildrad.io.dicom_write import write_dicom_series

        write_dicom_series(
            scan.ct, out / "dicom", header={"SeriesDescription": f"synthetic {spec.size} {spec.kernel}"}
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
    typer.echo(f"phantom {spec.size} (ILD extent {scan.numbers['ild_extent']:.3f}) written to {out}")


def _read_phantom_spec(path: Path) -> dict:
    """The PhantomSpec fields of a YAML / JSON file (a truth.json: its ``spec``)."""
    from ildrad.errors import ConfigError
    from ildrad.settings_base import read_yaml_file

    document = read_yaml_file(path, "phantom spec")
    if isinstance(document, dict) and isinstance(document.get("spec"), dict) and "numbers" in document:
        document = document["spec"]
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: a phantom spec must be a mapping of PhantomSpec fields")
    return document


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command group to the main app."""
    app.add_typer(synth_app, name="synth")
