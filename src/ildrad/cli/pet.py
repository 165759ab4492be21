"""``ildrad pet``: SUV from a DICOM PET series, lung PET metrics with the CT of the same study."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

__all__ = ["register"]


def pet(
    pet_dicom: Path = typer.Argument(..., help="Folder (or files) of the DICOM PET series."),
    ct: Path | None = typer.Option(None, "--ct", help="CT of the same PET/CT: DICOM folder or NIfTI/NRRD."),
    lungs: Path | None = typer.Option(None, "--lungs", help="Lung mask on the CT grid (1 right, 2 left); "
                                      "segmented from the CT when omitted."),
    suv: str = typer.Option("bw", "--suv", help="SUV kind: bw (body weight), lbm (lean body mass, SUL), "
                            "bsa (body-surface area) or ibw (ideal body weight)."),
    lbm_formula: str = typer.Option("james", "--lbm-formula", help="james or janmahasatian (for --suv lbm)."),
    weight_kg: float | None = typer.Option(None, "--weight-kg", help="Override the header's patient weight."),
    height_m: float | None = typer.Option(None, "--height-m", help="Override the header's patient height."),
    dose_mbq: float | None = typer.Option(None, "--dose-mbq", help="Override the injected dose (MBq)."),
    injection: str | None = typer.Option(None, "--injection-time",
                                         help="Override the injection date-time (YYYY-MM-DDTHH:MM:SS)."),
    register_images: bool = typer.Option(False, "--register", help="Rigidly register PET to a CT of another "
                                         "frame of reference (mutual information) instead of refusing it."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
) -> None:
    """Convert a PET series to SUV and measure the lungs: writes suv.nii.gz (on the CT grid when a
    CT is given, else on the PET grid), pet.json (metrics with units, provenance), the reference
    region masks and a fused PET/CT PNG."""
    import json

    from ildrad.config import parse_config
    from ildrad.errors import InputError
    from ildrad.io.dicom_series import read_ct_series, read_pet_series
    from ildrad.io.volume_files import (
        is_volume_file,
        read_image,
        read_mask,
        write_image,
        write_mask,
    )
    from ildrad.pet.fusion_picture import write_fusion_png
    from ildrad.pet.measure import measure_pet
    from ildrad.pet.suv import SuvOverrides

    settings = parse_config({"pet": {"suv": suv, "lbm_formula": lbm_formula}}, "command line").pet
    try:
        injection_time = dt.datetime.fromisoformat(injection) if injection else None
    except ValueError as err:
        raise InputError(f"--injection-time {injection!r} is not YYYY-MM-DDTHH:MM:SS") from err
    overrides = SuvOverrides(weight_kg=weight_kg, height_m=height_m,
                             dose_bq=dose_mbq * 1e6 if dose_mbq else None, injection_datetime=injection_time)
    series = read_pet_series(pet_dicom)
    ct_image = None
    if ct is not None:
        ct_image = read_image(ct, modality="CT", unit="HU") if is_volume_file(ct) else read_ct_series(ct)
    lung_mask = read_mask(lungs) if lungs is not None else None
    if ct_image is not None and lung_mask is None:
        from ildrad.lung.segmentation import segment_lungs

        lung_mask = segment_lungs(ct_image).lungs
    zones = None
    if lung_mask is not None:
        from ildrad.lung.zones import lung_zones

        zones = lung_zones(lung_mask)
    result = measure_pet(series, ct=ct_image, lungs=lung_mask, zones=zones, settings=settings,
                         overrides=overrides, register=register_images)
    out.mkdir(parents=True, exist_ok=True)
    write_image(result.suv_on_ct if result.suv_on_ct is not None else result.suv_native, out / "suv.nii.gz")
    if result.references is not None:
        for name in ("blood_pool", "liver"):
            mask = getattr(result.references, name)
            if mask is not None:
                write_mask(mask, out / f"{name}.nii.gz")
    if result.suv_on_ct is not None and ct_image is not None:
        references = {"blood_pool": result.references.blood_pool, "liver": result.references.liver} \
            if result.references is not None else None
        write_fusion_png(ct_image, result.suv_on_ct, out / "fused.png", lungs=lung_mask, references=references)
    document = {"metrics": result.metrics, "units": {"suv": settings.suv, "volume": "mL", "tlg": "g"},
                "provenance": result.provenance}
    (out / "pet.json").write_text(json.dumps(document, indent=2, sort_keys=True, default=str))
    typer.echo(f"SUV ({settings.suv}) and {len(result.metrics)} metrics written to {out}")


def register(app: typer.Typer) -> None:
    """Add ``pet`` to the app."""
    app.command("pet")(pet)
