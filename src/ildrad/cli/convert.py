"""``ildrad convert``: a DICOM series (and its RTSTRUCT/SEG masks) to NIfTI."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["HELP", "mask_file_name", "register"]


def mask_file_name(name: str) -> str:
    """``<name>.nii.gz`` with only path separators replaced (by ``_``), so the ROI name survives."""
    return name.replace("/", "_").replace("\\", "_") + ".nii.gz"


#: ``ildrad convert --help`` text (paragraphs; Typer wraps them).
HELP = "\n\n".join(
    [
        "Convert a DICOM CT series to OUT/image.nii.gz (HU, float32, geometry kept).",
        "With --rtstruct and --roi, each named ROI is rasterised on the CT grid with the "
        "voxel-centre rule (a voxel belongs to the ROI when its centre lies inside the contour "
        "polygon; even-odd rule across the ROI's contours on a slice, so holes work) and written "
        "as OUT/<ROI name as in the file>.nii.gz. With --seg, each segment is written as "
        "OUT/<SegmentLabel>.nii.gz. Only path separators in names are replaced (by _).",
        "Broken series (missing, duplicated or unevenly spaced slices, gantry tilt, mixed "
        "orientations, unreadable or truncated files, no CT series) stop with exit code 2 and a "
        "message saying what is wrong and where.",
    ]
)


def convert_command(
    dicom_dir: Path = typer.Argument(
        ...,
        metavar="DICOM_DIR",
        help="Folder holding the DICOM series (other series may be beside it).",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output folder for image.nii.gz and one file per ROI."
    ),
    rtstruct: Path | None = typer.Option(
        None, "--rtstruct", help="RTSTRUCT file whose ROIs (--roi) to rasterise."
    ),
    roi: list[str] | None = typer.Option(
        None,
        "--roi",
        metavar="NAME",
        help="ROI name in the RTSTRUCT (case-insensitive); repeat for several.",
    ),
    seg: Path | None = typer.Option(
        None, "--seg", help="DICOM SEG file; every segment is written."
    ),
    series_uid: str | None = typer.Option(
        None, "--series-uid", help="SeriesInstanceUID to read (default: the largest CT series)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML configuration (its 'io' section)."
    ),
) -> None:
    """Convert a DICOM CT series (and named ROIs) to NIfTI; see :data:`HELP`."""
    from ildrad.config import load_config
    from ildrad.errors import InputError
    from ildrad.io.dicom_seg import read_seg_segments
    from ildrad.io.dicom_series import read_ct_series
    from ildrad.io.rtstruct import read_rtstruct
    from ildrad.io.volume_files import write_image, write_mask

    if roi and rtstruct is None:
        raise InputError("--roi names ROIs of an RTSTRUCT: give the file with --rtstruct")
    if rtstruct is not None and not roi:
        raise InputError(f"{rtstruct}: name the ROIs to convert with --roi NAME (repeatable)")
    settings = load_config(config).io
    image = read_ct_series(dicom_dir, series_uid=series_uid, settings=settings)
    written = [write_image(image, out / "image.nii.gz")]
    masks = []
    if rtstruct is not None:
        masks.extend(
            read_rtstruct(
                rtstruct,
                image.grid,
                roi or [],
                settings,
                frame_of_reference_uid=image.metadata.get("frame_of_reference_uid"),
            ).items()
        )
    if seg is not None:
        masks.extend(read_seg_segments(seg, image.grid, settings=settings).items())
    files = [mask_file_name(name) for name, _ in masks]
    clashing = sorted({f for f in files if files.count(f) > 1})
    if clashing:
        raise InputError(
            f"two ROIs would both be written as {clashing[0]} (names {[n for n, _ in masks]}); "
            "convert them separately"
        )
    for name, mask in masks:
        written.append(write_mask(mask, out / mask_file_name(name)))
        typer.echo(f"{name}: {int(mask.binary().sum())} voxels")
    size = " x ".join(str(n) for n in image.shape)
    typer.echo(
        f"image {size} (z, y, x), spacing {tuple(round(s, 4) for s in image.spacing)} mm; wrote "
        + ", ".join(str(p) for p in written)
    )


def register(app: typer.Typer) -> None:
    """Add ``ildrad convert`` to the app."""
    app.command("convert", help=HELP)(convert_command)
