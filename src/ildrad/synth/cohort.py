"""Synthetic SSc-ILD cohorts on disk: a PACS-like DICOM export, registry tables and the truth.

:func:`write_cohort` simulates the tables
(:func:`ildrad.synth.outcome_model.simulate_cohort_tables`) and writes::

    DIR/dicom/README.txt, export.xml, EXPORT_COMPLETE.marker     non-DICOM files of the export
    DIR/dicom/<PatientID>/<StudyDate>_<StudyUID suffix>/DIRFILE  non-DICOM index file per study
        1_Topogram/IM_AP_00001.dcm, IM_LAT_00001.dcm            scout: 2 localizers (LOCALIZER)
        2_Thorax_<mm>_<kernel>/IM00001.dcm ...                   analysed thin recon (truth row)
        3_Thorax_<mm>_<lung kernel>/                             second kernel, same acquisition
        4_Thorax_<mm>_<kernel>/                                  thick recon (>= 5 mm slabs)
        5_Thorax_Prone_<mm>_<kernel>/, 6_Thorax_Exp_<mm>_<kernel>/   some studies: prone (HFP)
                                                                 and expiratory acquisitions
        501_Dose_Report/                                         dose report (SR or sec. capture)
      PET/CT studies (``--pet``): 2_CT_LowDose_<mm>_<kernel>/ and 3_PET_AC/ sharing one frame
      of reference (the low-dose CT is the study's truth row)
    DIR/clinical.csv, DIR/visits.csv                             registry tables
    DIR/truth/scans.csv, patients.csv, spec.yaml                 the truth (outcome_model columns;
        with images also ``image_*``: extents and lung volumes counted on the truth masks)
    DIR/truth/masks/<SeriesInstanceUID>/lungs.nii.gz, zones.nii.gz, patterns.nii.gz

Each scan's phantom takes the patient's disease state at the study date (pattern extents,
emphysema, lung volume), the scan's scanner batch (noise, kernel) and a per-patient seed, so the
same anatomy is imaged at every visit. Headers carry fake names, IDs and birth dates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ildrad.synth.cohort_spec import PATTERNS, CohortSpec, ScannerBatch, spec_to_yaml
from ildrad.synth.outcome_model import CohortTables, deterministic_uid, simulate_cohort_tables

__all__ = ["SIZES", "write_cohort", "write_cohort_tables"]

log = logging.getLogger(__name__)

SIZES = ("tiny", "small", "full")
_THICK_MM = 5.0
_REFERENCE_LUNG_ML = 5000.0  # model lung volume imaged at PhantomSpec.lung_scale = 1
_SR_DOSE = "1.2.840.10008.5.1.4.1.1.88.67"  # X-Ray Radiation Dose SR Storage
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
_TRUTH_MASKS = ("lungs", "zones", "patterns")
# tiny grids sample every 6 mm; their slices are reconstructed 5 mm thick (a gap of 1 mm, as in
# sequential HRCT) so that the analysed series passes the usual "at most 5 mm" selection rule
_TINY_SLICE_THICKNESS_MM = 5.0


@dataclass(frozen=True)
class _Study:
    """Everything the writer needs about one study (one truth row)."""

    row: pd.Series
    patient: pd.Series  # clinical row
    name: str
    namespace: str
    folder: Path


def _date_text(values: pd.Series) -> pd.Series:
    dates = pd.to_datetime(values)
    return dates.dt.strftime("%Y-%m-%d").where(dates.notna(), "")


def _csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD (empty when missing), booleans as true/false."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = _date_text(out[column])
        elif pd.api.types.is_bool_dtype(out[column]):
            out[column] = np.where(out[column], "true", "false")
    return out


_TRUTH_README = """Truth of a synthetic ildrad cohort (model: ildrad.synth.outcome_model).

scans.csv: one row per analysable CT series (study_kind hrct: the thin supine inspiratory recon
  of an HRCT study; petct: the low-dose CT of a PET/CT study, whose PET is pet_series_instance_uid).
  linear_predictor  eta at the study date: the observable part of the log-hazard (pattern extents,
                    fibrosis progression, true FVC and DLCO, age, sex) - the oracle score
  frailty           u, the unobservable part (hazard = h0(t) exp(eta(t) + u))
  true_risk_{1,3,5}y  P(death within h years | alive at the scan, disease course), u integrated out
  extent_*          model extents (fractions of lung volume) that drive the hazard; image_*: the
                    same counted on the truth masks of the written image (masks/<series UID>/)
  followup_days, death  days from the scan to death or last follow-up, and whether it is death
  second_kernel_/thick_/prone_/expiratory_series_instance_uid  decoy series of the same study
patients.csv: latent patient parameters (frailty, progression, treatment, censoring reason).
spec.yaml: the complete generating model.
Event rates: a scan is followed by death within h years when death_date - study_date <= h * 365.25
days; it is assessable at h when so or when last_followup_date - study_date > h * 365.25 days.
Lost to follow-up: alive with last_followup_date before study.administrative_end of spec.yaml.
"""


def write_cohort_tables(tables: CohortTables, out_dir: str | Path) -> None:
    """Write clinical.csv, visits.csv and truth/{scans,patients}.csv, spec.yaml, README.txt."""
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    _csv_frame(tables.clinical).to_csv(out / "clinical.csv", index=False)
    _csv_frame(tables.visits).to_csv(out / "visits.csv", index=False)
    _csv_frame(tables.scans).to_csv(out / "truth" / "scans.csv", index=False)
    _csv_frame(tables.patients).to_csv(out / "truth" / "patients.csv", index=False)
    (out / "truth" / "README.txt").write_text(_TRUTH_README)
    (out / "truth" / "spec.yaml").write_text(
        f"# generating model of this cohort (seed {tables.seed}); see ildrad.synth.outcome_model\n"
        + spec_to_yaml(tables.spec)
    )


def write_cohort(
    out_dir: str | Path,
    *,
    n_patients: int,
    seed: int,
    size: str = "tiny",
    pet: bool = False,
    spec: CohortSpec | None = None,
    images: bool = True,
) -> CohortTables:
    """Simulate a cohort and write it to ``out_dir`` (layout in the module docstring).

    ``images=False`` writes the tables only (thousands of patients in seconds). Returns the
    tables, with the ``image_*`` truth columns added when images were written.
    """
    from ildrad.errors import InputError
    from ildrad.progress import track

    if size not in SIZES:
        raise InputError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out}: output folder exists and is not empty")
    tables = simulate_cohort_tables(spec, n_patients, seed, pet=pet)
    if images:
        namespace = tables.scans["study_instance_uid"].iloc[0]  # already seed- and spec-specific
        clinical = tables.clinical.set_index("patient_id")
        names = tables.names.set_index("patient_id")["patient_name"]
        measured = []
        cache: dict[str, Any] = {}
        with_pet = set(tables.scans.loc[tables.scans["study_kind"] == "petct", "patient_id"])
        rows = list(tables.scans.iterrows())
        for _, row in track(rows, "synthetic scans", total=len(rows)):
            study = _Study(
                row,
                clinical.loc[row["patient_id"]],
                names[row["patient_id"]],
                namespace,
                out / "dicom" / row["patient_id"] / _study_folder(row),
            )
            measured.append(
                _write_study(study, tables.spec, size, out, cache, row["patient_id"] in with_pet)
            )
        image_cols = pd.DataFrame(measured, index=tables.scans.index)
        tables = CohortTables(
            tables.clinical,
            tables.visits,
            pd.concat([tables.scans, image_cols], axis=1),
            tables.patients,
            tables.names,
            tables.spec,
            tables.seed,
        )
        _write_export_files(out / "dicom", tables)
    write_cohort_tables(tables, out)
    log.info(
        "cohort of %d patients, %d scans written to %s",
        len(tables.clinical),
        len(tables.scans),
        out,
    )
    return tables


def _study_folder(row: pd.Series) -> str:
    date = pd.Timestamp(row["study_date"]).strftime("%Y%m%d")
    return f"{date}_{row['study_instance_uid'][-8:]}"


def _series_folder(number: int, description: str) -> str:
    return f"{number}_{re.sub(r'[^A-Za-z0-9.]+', '_', description).strip('_')}"


def _int_seed(*parts: object) -> int:
    return (
        int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:4], "big")
        >> 1
    )


_VENDOR_WORDS = {
    "siemens": "SIEMENS",
    "ge": "GE",
    "philips": "Philips",
    "canon": "Canon",
    "toshiba": "Canon",
}


def _phantom_vendor(manufacturer: str) -> str:
    words = re.findall(r"[a-z]+", manufacturer.lower())
    return next((_VENDOR_WORDS[w] for w in words if w in _VENDOR_WORDS), "SIEMENS")


def phantom_spec_for_scan(row: pd.Series, size: str, kernel: str, male: bool) -> Any:
    """The :class:`~ildrad.synth.phantom_spec.PhantomSpec` imaging one truth row."""
    from ildrad.synth.phantom_spec import PatternMix, PhantomSpec

    extents = {name: float(row[f"extent_{name}"]) for name in PATTERNS}
    total = sum(extents.values())
    mix = PatternMix(**extents) if total > 1e-6 else PatternMix()
    lung_scale = float(np.clip(np.cbrt(row["lung_volume_ml"] / _REFERENCE_LUNG_ML), 0.8, 1.15))
    return PhantomSpec(
        size=size,
        ild_extent=float(np.clip(total, 0.0, 0.6)),
        pattern_mix=mix,
        emphysema_extent=float(np.clip(row["extent_emphysema"], 0.0, 0.3)),
        body_scale=1.08 if male else 0.96,
        lung_scale=lung_scale,
        noise_hu=float(row["noise_hu"]),
        kernel=kernel,
        vendor=_phantom_vendor(str(row["manufacturer"])),
        slice_thickness_mm=_TINY_SLICE_THICKNESS_MM if size == "tiny" else None,
    )


def _common_header(study: _Study, spec: CohortSpec) -> dict[str, Any]:
    row, patient = study.row, study.patient
    date = pd.Timestamp(row["study_date"]).strftime("%Y%m%d")
    birth = pd.Timestamp(patient["birth_date"])
    age = int((pd.Timestamp(row["study_date"]) - birth).days // 365.25)
    return {
        "PatientName": study.name,
        "PatientID": row["patient_id"],
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "PatientSex": patient["sex"],
        "PatientAge": f"{age:03d}Y",
        "StudyDate": date,
        "SeriesDate": date,
        "AcquisitionDate": date,
        "ContentDate": date,
        "StudyTime": "093000",
        "AccessionNumber": f"A{_int_seed(study.namespace, row['study_instance_uid']) % 10**8:08d}",
        "StudyID": str(_int_seed(row["study_instance_uid"], "id") % 10**6),
        "StudyDescription": "PET-CT WB FDG" if row["study_kind"] == "petct" else "CT THORAX HR",
        "InstitutionName": spec.identity.institution_name,
        "ReferringPhysicianName": "REFERRER^FAKE",
        "Manufacturer": row["manufacturer"],
        "ManufacturerModelName": row["model"],
        "BodyPartExamined": "CHEST",
        "PatientPosition": "HFS",
    }


def _write_study(
    study: _Study, spec: CohortSpec, size: str, out: Path, cache: dict[str, Any], keep_for_pet: bool
) -> dict[str, float]:
    """Write the series of one study; return the ``image_*`` truth values of its analysed CT.

    ``cache`` keeps the first diagnostic phantom of patients with a PET/CT (``keep_for_pet``)
    for the PET/CT study of the same date.
    """
    from ildrad.io.volume_files import write_mask
    from ildrad.synth.phantom import make_chest_ct

    row = study.row
    male = study.patient["sex"] == "M"
    seed = _int_seed(study.namespace, row["patient_id"], "phantom")
    header = _common_header(study, spec)
    frame_uid = deterministic_uid(study.namespace, row["study_instance_uid"], "frame_of_reference")
    if row["study_kind"] == "petct":
        ct = cache.pop(row["patient_id"], None)
        if ct is None:
            ct = make_chest_ct(phantom_spec_for_scan(row, size, "smooth", male), seed)
        scan = _write_pet_study(study, spec, ct, seed, header, frame_uid, out)
    else:
        scan = make_chest_ct(phantom_spec_for_scan(row, size, str(row["kernel"]), male), seed)
        if keep_for_pet and row["scan_index"] == 0:
            cache[row["patient_id"]] = scan
        _write_hrct_series(study, spec, scan, header, frame_uid)
    masks = out / "truth" / "masks" / row["series_instance_uid"]
    for name in _TRUTH_MASKS:
        write_mask(scan.truth[name], masks / f"{name}.nii.gz")
    numbers = scan.numbers
    values = {
        f"image_extent_{name}": numbers[f"extent_{name}"] for name in (*PATTERNS, "emphysema")
    }
    values["image_extent_ild"] = numbers["ild_extent"]
    for key in ("lung_volume_ml", "right_lung_volume_ml", "left_lung_volume_ml"):
        values[f"image_{key}"] = numbers[key]
    values["phantom_seed"] = seed
    return values


def _write_ct(
    image: Any,
    folder: Path,
    header: dict[str, Any],
    series_uid: str,
    study_uid: str,
    frame_uid: str,
    **kwargs: Any,
) -> list[Path]:
    from ildrad.io.dicom_write import write_dicom_series

    return write_dicom_series(
        image,
        folder,
        modality="CT",
        series_instance_uid=series_uid,
        study_instance_uid=study_uid,
        frame_of_reference_uid=frame_uid,
        header=header,
        **kwargs,
    )


def _write_hrct_series(
    study: _Study, spec: CohortSpec, scan: Any, header: dict[str, Any], frame_uid: str
) -> None:
    row, folder = study.row, study.folder
    study_uid = row["study_instance_uid"]
    batch = next((b for b in spec.scanners if b.name == row["scanner_batch"]), None)
    thin_mm = float(scan.ct.spacing[0])
    kernel_name = str(row["kernel_name"])
    second_name = batch.second_kernel_name if batch is not None else "LUNG"

    _write_scout(scan.ct, folder / _series_folder(1, "Topogram"), header, study, frame_uid)
    description = f"Thorax {thin_mm:.1f} {kernel_name}"
    _write_ct(
        scan.ct,
        folder / _series_folder(2, description),
        {
            **header,
            "SeriesNumber": 2,
            "SeriesDescription": description,
            "ConvolutionKernel": kernel_name,
        },
        row["series_instance_uid"],
        study_uid,
        frame_uid,
    )

    second = _second_kernel_recon(scan.ct)
    description = f"Thorax {thin_mm:.1f} {second_name}"
    _write_ct(
        second,
        folder / _series_folder(3, description),
        {
            **header,
            "SeriesNumber": 3,
            "SeriesDescription": description,
            "ConvolutionKernel": second_name,
        },
        row["second_kernel_series_instance_uid"],
        study_uid,
        frame_uid,
    )

    thick = _thick_recon(scan.ct)
    thick_mm = float(thick.spacing[0])
    description = f"Thorax {thick_mm:.1f} {kernel_name}"
    _write_ct(
        thick,
        folder / _series_folder(4, description),
        {
            **header,
            "SeriesNumber": 4,
            "SeriesDescription": description,
            "ConvolutionKernel": kernel_name,
            "SliceThickness": thick_mm,
        },
        row["thick_series_instance_uid"],
        study_uid,
        frame_uid,
    )

    _write_protocol_series(study, scan, header, frame_uid)
    _write_dose_report(folder / _series_folder(501, "Dose Report"), header, study, batch)
    (folder / "DIRFILE").write_bytes(
        b"PHILIPS-DIRFILE\x00" + row["patient_id"].encode() + b"\x00" * 16
    )


def _write_protocol_series(
    study: _Study, scan: Any, header: dict[str, Any], frame_uid: str
) -> None:
    """The study's extra prone (series 5, HFP) and expiratory (series 6) acquisitions, if any."""
    from ildrad.synth.phantom import make_chest_ct

    row = study.row
    kernel_name = str(row["kernel_name"])
    extra = (
        (5, "prone", "Prone", {"position": "prone"}, "HFP"),
        (6, "expiratory", "Exp", {"breath": "expiratory"}, "HFS"),
    )
    for number, kind, label, update, position in extra:
        uid = row.get(f"{kind}_series_instance_uid", "")
        if not isinstance(uid, str) or not uid:
            continue
        image = make_chest_ct(scan.spec.model_copy(update=update), scan.seed).ct
        description = f"Thorax {label} {image.spacing[0]:.1f} {kernel_name}"
        series_header = {
            **header,
            "SeriesNumber": number,
            "SeriesDescription": description,
            "ConvolutionKernel": kernel_name,
            "PatientPosition": position,
        }
        _write_ct(
            image,
            study.folder / _series_folder(number, description),
            series_header,
            uid,
            row["study_instance_uid"],
            frame_uid,
        )


def _second_kernel_recon(ct: Any) -> Any:
    """The same acquisition reconstructed with an edge-enhancing lung kernel, approximated in the
    image domain: ``ct + 0.9 (ct - G_1.2mm * ct)`` in-plane (the sharp-kernel model of
    :mod:`ildrad.synth.acquisition`), which also amplifies the image's own noise as a sharp
    kernel does. Padding outside the reconstruction circle is kept."""
    from scipy import ndimage

    values = ct.array.astype(np.float64)
    outside = values < -1024.0
    sigma = (0.0, 1.2 / ct.spacing[1], 1.2 / ct.spacing[2])
    inside = np.where(outside, -1000.0, values)
    sharp = inside + 0.9 * (inside - ndimage.gaussian_filter(inside, sigma))
    sharp = np.round(np.clip(sharp, -1024.0, 3071.0))
    sharp[outside] = values[outside]
    return ct.with_array(sharp.astype(np.float32))


def _thick_recon(ct: Any) -> Any:
    """Average ``k`` consecutive slices (k * spacing >= 5 mm, k >= 2): a thick-slab recon."""
    from ildrad.image import Grid, Image

    dz = ct.spacing[0]
    k = max(2, int(np.floor(_THICK_MM / dz + 0.5)))
    n = ct.shape[0] // k
    slabs = ct.array[: n * k].reshape(n, k, *ct.shape[1:]).mean(axis=1)
    direction = ct.grid.direction_matrix
    origin = np.asarray(ct.grid.origin) + direction[:, 0] * dz * (k - 1) / 2.0
    grid = Grid((n, *ct.shape[1:]), (dz * k, *ct.spacing[1:]), tuple(origin), ct.grid.direction)
    metadata = {key: value for key, value in ct.metadata.items() if key != "slice_thickness_mm"}
    return Image(np.round(slabs).astype(np.float32), grid, ct.modality, ct.unit, metadata)


def _write_scout(
    ct: Any, folder: Path, header: dict[str, Any], study: _Study, frame_uid: str
) -> None:
    """Two localizers (AP and lateral): projections of the CT volume, ImageType LOCALIZER."""
    from ildrad.image import Grid, Image, Modality, Unit

    grid = ct.grid
    positions = grid.index_to_physical(
        np.stack([np.arange(ct.shape[0]), np.zeros(ct.shape[0]), np.zeros(ct.shape[0])], axis=1)
    )
    head_first = np.argsort(-positions[:, 2])  # rows from head to feet
    attenuation = np.clip(ct.array.astype(np.float64) + 1000.0, 0.0, None)[head_first]
    series_uid = deterministic_uid(study.namespace, study.row["study_instance_uid"], "scout")
    top = positions[head_first[0]]
    for number, (axis, cols, prefix) in enumerate(
        ((1, (1.0, 0.0, 0.0), "IM_AP_"), (2, (0.0, 1.0, 0.0), "IM_LAT_")), start=1
    ):
        projection = attenuation.mean(axis=axis) * 2.0 - 1000.0  # (rows, cols)
        rows_dir = np.array([0.0, 0.0, -1.0])
        cols_dir = np.asarray(cols)
        normal = np.cross(rows_dir, cols_dir)
        col_spacing = grid.spacing[2] if axis == 1 else grid.spacing[1]
        origin = np.array([top[0], top[1], top[2]])
        origin[0 if axis == 1 else 1] = -(projection.shape[1] - 1) / 2.0 * col_spacing
        direction = np.stack([normal, rows_dir, cols_dir], axis=1)
        scout_grid = Grid(
            (1, *projection.shape),
            (1.0, grid.spacing[0], col_spacing),
            tuple(origin),
            tuple(map(tuple, direction)),
        )
        image = Image(
            np.round(projection)[None].astype(np.float32), scout_grid, Modality.CT, Unit.HU, {}
        )
        _write_ct(
            image,
            folder,
            {
                **header,
                "SeriesNumber": 1,
                "SeriesDescription": "Topogram 0.6 T20s",
                "ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"],
                "InstanceNumber": number,
                "ConvolutionKernel": "T20s",
            },
            series_uid,
            study.row["study_instance_uid"],
            frame_uid,
            file_prefix=prefix,
        )


def _write_dose_report(
    folder: Path, header: dict[str, Any], study: _Study, batch: ScannerBatch | None
) -> None:
    """A dose report as real exports hold it: an SR (GE style) or a secondary capture with
    Modality CT (Siemens style), one instance in series 501."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    folder.mkdir(parents=True, exist_ok=True)
    row = study.row
    as_sr = batch is not None and _phantom_vendor(batch.manufacturer) in ("GE", "Canon")
    ds = Dataset()
    for key, value in header.items():
        setattr(ds, key, value)
    ds.StudyInstanceUID = row["study_instance_uid"]
    ds.SeriesInstanceUID = deterministic_uid(study.namespace, row["study_instance_uid"], "dose")
    ds.SOPInstanceUID = deterministic_uid(study.namespace, row["study_instance_uid"], "dose", 1)
    ds.SeriesNumber = 501
    ds.InstanceNumber = 1
    ds.SeriesDescription = "Dose Report"
    ctdi = round(3.0 + 4.0 * (_int_seed(ds.SOPInstanceUID) % 1000) / 1000.0, 2)
    if as_sr:
        ds.SOPClassUID = _SR_DOSE
        ds.Modality = "SR"
        ds.ValueType = "CONTAINER"
        ds.ContinuityOfContent = "SEPARATE"
        ds.CompletionFlag = "COMPLETE"
        ds.VerificationFlag = "UNVERIFIED"
        title = Dataset()
        title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning = (
            "113701",
            "DCM",
            "X-Ray Radiation Dose Report",
        )
        ds.ConceptNameCodeSequence = [title]
        item = Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "NUM"
        name = Dataset()
        name.CodeValue, name.CodingSchemeDesignator, name.CodeMeaning = (
            "113830",
            "DCM",
            "Mean CTDIvol",
        )
        item.ConceptNameCodeSequence = [name]
        value = Dataset()
        value.NumericValue = str(ctdi)
        unit = Dataset()
        unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "mGy", "UCUM", "mGy"
        value.MeasurementUnitsCodeSequence = [unit]
        item.MeasuredValueSequence = [value]
        ds.ContentSequence = [item]
    else:
        ds.SOPClassUID = _SECONDARY_CAPTURE
        ds.Modality = "CT"
        ds.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
        ds.ConversionType = "WSD"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = 64, 128
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        page = np.zeros((64, 128), dtype=np.uint8)
        for line in range(4):  # bars standing in for the rendered dose table
            page[8 + 12 * line : 14 + 12 * line, 8 : 8 + int(20 + ctdi * 10 + 15 * line) % 112] = (
                255
            )
        ds.PixelData = page.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(folder / "IM00001.dcm", enforce_file_format=True)


def _write_pet_study(
    study: _Study,
    spec: CohortSpec,
    ct: Any,
    seed: int,
    header: dict[str, Any],
    frame_uid: str,
    out: Path,
) -> Any:
    """PET/CT study: the low-dose CT (the study's truth row) and the FDG PET in Bq/mL with the
    header fields SUV needs, sharing one frame of reference; returns the low-dose SyntheticCT."""
    from ildrad.io.dicom_write import write_dicom_series
    from ildrad.io.volume_files import write_image
    from ildrad.synth.phantom import make_pet
    from ildrad.synth.phantom_spec import PetPhantomSpec

    row, folder = study.row, study.folder
    male = study.patient["sex"] == "M"
    jitter = (_int_seed(seed, "weight") % 2001) / 1000.0 - 1.0  # -1 .. 1
    weight = round((80.0 if male else 65.0) + 12.0 * jitter, 1)
    height = 1.78 if male else 1.64
    pet_spec = PetPhantomSpec(
        weight_kg=weight,
        height_m=height,
        uptake_minutes=spec.pet.uptake_minutes,
        injected_activity_mbq=spec.pet.injected_activity_mbq_per_kg * weight,
        low_dose_ct_noise_hu=spec.pet.ct_noise_hu,
    )
    study_pet = make_pet(ct, pet_spec, seed)
    date = header["StudyDate"]
    injection = "093000"
    start = pd.Timestamp(f"{date} {injection}") + pd.Timedelta(minutes=spec.pet.uptake_minutes)
    scan_time = start.strftime("%H%M%S")
    low_dose = study_pet.low_dose_ct
    ld_mm = float(low_dose.ct.spacing[0])
    description = f"CT LowDose {ld_mm:.1f} {spec.pet.ct_kernel_name}"
    common = {
        **header,
        "Manufacturer": spec.pet.manufacturer,
        "ManufacturerModelName": spec.pet.model,
        "StudyDescription": "PET-CT WB FDG",
        "SeriesTime": scan_time,
        "AcquisitionTime": scan_time,
        "PatientWeight": weight,
        "PatientSize": height,
    }
    _write_ct(
        low_dose.ct,
        folder / _series_folder(2, description),
        {
            **common,
            "SeriesNumber": 2,
            "SeriesDescription": description,
            "ConvolutionKernel": spec.pet.ct_kernel_name,
        },
        row["series_instance_uid"],
        row["study_instance_uid"],
        frame_uid,
    )
    radiopharmaceutical = {
        "Radiopharmaceutical": "Fluorodeoxyglucose",
        "RadiopharmaceuticalStartTime": injection,
        "RadiopharmaceuticalStartDateTime": f"{date}{injection}",
        "RadionuclideTotalDose": round(study_pet.numbers["injected_activity_bq"], 1),
        "RadionuclideHalfLife": study_pet.numbers["half_life_s"],
    }
    write_dicom_series(
        study_pet.activity_concentration_bqml(),
        folder / _series_folder(3, "PET AC WB"),
        modality="PT",
        series_instance_uid=row["pet_series_instance_uid"],
        study_instance_uid=row["study_instance_uid"],
        frame_of_reference_uid=frame_uid,
        header={
            **common,
            "SeriesNumber": 3,
            "SeriesDescription": "PET AC WB",
            "Units": "BQML",
            "DecayCorrection": "START",
            "CorrectedImage": ["ATTN", "DECY"],
            "SeriesType": ["STATIC", "IMAGE"],
            "RadiopharmaceuticalInformationSequence": [radiopharmaceutical],
        },
    )
    truth = out / "truth" / "pet" / row["pet_series_instance_uid"]
    write_image(study_pet.truth_suv, truth / "truth_suv.nii.gz")
    (truth / "numbers.json").write_text(json.dumps(study_pet.numbers, indent=2, default=float))
    return low_dose


def _write_export_files(root: Path, tables: CohortTables) -> None:
    """Non-DICOM files a PACS export carries (and an index reader must skip)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text(
        "PACS export (synthetic). Folders: <PatientID>/<StudyDate>_<UID>/<Series>/IM*.dcm\n"
        "No DICOMDIR was written for this export.\n"
    )
    studies = "\n".join(
        f'    <study patient="{row.patient_id}" date="{pd.Timestamp(row.study_date):%Y%m%d}" '
        f'uid="{row.study_instance_uid}"/>'
        for row in tables.scans.itertuples()
    )
    (root / "export.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<export studies="{len(tables.scans)}">\n{studies}\n</export>\n'
    )
    (root / "EXPORT_COMPLETE.marker").write_text("export complete; DICOMDIR not created\n")
