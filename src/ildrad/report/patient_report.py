"""The patient report: one patient's scans over time, by pseudonymous key only.

QC montage of each CT, a zones table, QCT and PET metrics over time beside FVC and DLCO, the
out-of-fold predicted risks of every evaluated model (with their spread over cross-validation
repeats and the models' calibration from ``metrics.csv``), Goh-like and GAP stages, SSc markers
and Grad-CAM pictures when a deep model wrote them. Section DOM ids: :data:`PATIENT_SECTION_IDS`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ildrad import __version__
from ildrad.errors import InputError
from ildrad.report import figures
from ildrad.report.cohort_report import METRIC_DIGITS, _load_results, _model_folders
from ildrad.report.html import Document, figure_tag, paragraph, table_tag

__all__ = ["PATIENT_SECTION_IDS", "build_patient_report"]

PATIENT_SECTION_IDS = ("scans", "qc", "zones", "trends", "risks", "staging", "markers", "gradcam")
_ZONES = (
    "lung",
    "right",
    "left",
    "right_upper",
    "right_middle",
    "right_lower",
    "left_upper",
    "left_middle",
    "left_lower",
    "rind",
    "core",
)
_ZONE_FEATURES = ("volume_ml", "mld_hu", "laa_fraction", "haa_fraction")
#: Store columns of the SSc markers: their regions, and the PA/Ao flag
_MARKER_TERMS = ("oesophagus", "pulmonary_artery", "__aorta__", "pa_ao")
_TREND_QCT = (
    "qct__lung__original__haa_fraction",
    "qct__lung__original__ild_extent_fraction",
    "qct__lung__original__laa_fraction",
)


def _note(text: str) -> str:
    return paragraph(text, "note")


def _masks_dir(workspace: Path, scan_key: str) -> Path | None:
    candidates = sorted(
        (workspace / "store").glob(f"*/masks/{scan_key}"), key=lambda p: p.stat().st_mtime
    )
    return candidates[-1] if candidates else None


def _zone_table(row: pd.Series) -> pd.DataFrame:
    records = []
    for zone in _ZONES:
        values = {f: row.get(f"qct__{zone}__original__{f}", np.nan) for f in _ZONE_FEATURES}
        if any(pd.notna(v) for v in values.values()):
            records.append({"region": zone, **{k: float(v) for k, v in values.items()}})
    return pd.DataFrame(records)


def _risk_table(
    scans: pd.DataFrame, tables: dict[str, pd.DataFrame], folders: dict
) -> pd.DataFrame:
    predictions = tables["predictions"]
    mine = predictions[predictions.scan_key.isin(scans.scan_key)]
    rows = []
    for record in mine.itertuples():
        folder = folders.get(record.model)
        low = high = np.nan
        if folder is not None:
            repeats = folder.oof[folder.oof.scan_key == record.scan_key].risk.to_numpy(float)
            if len(repeats) > 1:
                low, high = float(repeats.min()), float(repeats.max())
        date = scans.set_index("scan_key").study_date.get(record.scan_key)
        rows.append(
            {
                "scan date": str(pd.Timestamp(date).date()) if pd.notna(date) else "",
                "model": record.model,
                "target": record.target,
                "risk": float(record.risk),
                "repeat min": low,
                "repeat max": high,
                "observed": "" if pd.isna(record.y) else ("died" if record.y == 1 else "alive"),
            }
        )
    return pd.DataFrame(rows)


def _gradcam_section(section, workspace: Path, scan_keys: list[str]) -> None:
    """Grad-CAM overlays of the patient's scans by each deep model folder under WORKSPACE/models
    (``deep.json``): pictures already in ``gradcam/``, else computed with its final network."""
    deep_dirs = sorted(p.parent for p in (workspace / "models").glob("*/deep.json"))
    shown = 0
    for deep_dir in deep_dirs:
        from ildrad.models.deep.gradcam import scan_pictures

        try:
            pictures = scan_pictures(deep_dir, workspace, scan_keys)
        except InputError as err:
            section.add(_note(f"{deep_dir.name}: no Grad-CAM ({err})."))
            continue
        for picture in pictures:
            section.add(figure_tag(picture.read_bytes(), f"Grad-CAM {deep_dir.name}: {picture.stem}"))
            shown += 1
    if not shown:
        section.add(_note("No Grad-CAM picture: no deep model folder with a final network "
                          "(`ildrad deep train`, WORKSPACE/models/*/deep.json) covers this patient's scans."))


def build_patient_report(
    workspace: str | Path, patient_key: str, out: str | Path, results: str | Path | None = None
) -> Path:
    """Write the report of one patient (``patient_key`` as in the manifest) to ``out``."""
    from ildrad.clinical import clinical_scores, gap_stage
    from ildrad.models.workflow import load_scan_tables

    workspace = Path(workspace)
    ct, features = load_scan_tables(workspace)
    scans = ct[ct.patient_key == patient_key].sort_values("study_date").reset_index(drop=True)
    if scans.empty:
        raise InputError(
            f"{workspace}: no CT scan of patient key '{patient_key}' in the manifest "
            '(use the pseudonymous patient_key, e.g. from `ildrad query WS "select * from scans"`)'
        )
    joined = scans.merge(features, on=["scan_key", "patient_key"], how="left")
    first = pd.to_datetime(joined.study_date).min()
    joined["years"] = (pd.to_datetime(joined.study_date) - first).dt.days / 365.25
    tables = _load_results(Path(results) if results is not None else None)
    folders = _model_folders(
        workspace, set(tables["predictions"].model) if "predictions" in tables else set()
    )
    doc = Document(
        f"ildrad patient report: {patient_key}",
        f"ildrad {__version__}; pseudonymous key only; {len(scans)} CT scan(s)",
    )

    section = doc.section("scans", "Scans")
    overview = pd.DataFrame(
        {
            "scan_key": joined.scan_key,
            "date": [str(pd.Timestamp(d).date()) for d in joined.study_date],
            "years": joined.years.astype(float),
            "scanner": joined.scanner_batch.astype(str),
            "age": joined.age_years.astype(float),
            "FVC %": joined.fvc_pct.astype(float),
            "DLCO %": joined.dlco_pct.astype(float),
            "analysed": joined.scan_key.isin(features.scan_key).map(
                {True: "yes", False: "no (failed or not run)"}
            ),
        }
    )
    section.add(table_tag(overview, 2, table_id="scans-table"))

    section = doc.section("qc", "Segmentation QC")
    shown = 0
    for record in joined.itertuples():
        folder = _masks_dir(workspace, record.scan_key)
        if folder is not None and (folder / "qc.png").is_file():
            section.add(
                figure_tag(
                    (folder / "qc.png").read_bytes(),
                    f"Lungs, zones and oesophagus, scan "
                    f"{record.scan_key} ({pd.Timestamp(record.study_date).date()})",
                )
            )
            shown += 1
    if not shown:
        section.add(
            _note(
                "No QC picture: masks were not kept (run.keep_masks) or the lung stage did not run."
            )
        )

    section = doc.section("zones", "Zones (latest analysed scan)")
    analysed = joined[joined.scan_key.isin(features.scan_key)]
    zone_table = _zone_table(analysed.iloc[-1]) if len(analysed) else pd.DataFrame()
    if zone_table.empty:
        section.add(_note("No zone measurements for this patient."))
    else:
        section.add(
            table_tag(
                zone_table,
                3,
                table_id="zones-table",
                caption=f"Scan {analysed.iloc[-1].scan_key}: volume (mL), mean lung density (HU), "
                "fractions of low and high attenuation (segment.laa_threshold_hu, segment.haa_range_hu)",
            )
        )

    section = doc.section("trends", "Quantitative CT, PET and lung function over time")
    pet_columns = [
        c
        for c in ("pet__lung__suv__suv_mean", "pet__lung__suv__suv_peak", "pet__lung__suv__suv_max")
        if c in joined
    ]
    panels = {
        "QCT": [c for c in _TREND_QCT if c in joined],
        "lung function": ["fvc_pct", "dlco_pct"],
    }
    if pet_columns:
        panels["PET SUV"] = pet_columns
    if len(joined) > 1:
        section.add(
            figure_tag(
                figures.longitudinal_figure(joined, panels, f"Patient {patient_key}"),
                "Whole-lung QCT fractions, PET SUV (where paired) and FVC/DLCO % predicted",
            )
        )
    else:
        section.add(_note("One scan only: no trend plot (values in the tables)."))
    values = joined[["years", *[c for cols in panels.values() for c in cols]]]
    section.add(table_tag(values, 3, table_id="trends-table"))

    section = doc.section("risks", "Predicted risks")
    if "predictions" not in tables:
        section.add(_note("No evaluation results given (--results): no predicted risk."))
    else:
        risks = _risk_table(scans, tables, folders)
        if risks.empty:
            section.add(_note("No prediction for this patient's scans."))
        else:
            section.add(
                paragraph(
                    "Out-of-fold risks (the patient's scans were never in the training folds of the "
                    "model that scored them), averaged over cross-validation repeats; the interval "
                    "is the spread over repeats, not a confidence interval."
                ),
                table_tag(risks, 3, table_id="risks-table"),
            )
            metrics = tables["metrics"]
            calibration = metrics[
                metrics.metric.isin(("cal_intercept", "cal_slope", "brier", "roc_auc"))
                & metrics.model.isin(risks.model)
                & (metrics["at"] == "")
            ]
            section.add(
                table_tag(
                    calibration[["model", "target", "metric", "value", "ci_low", "ci_high"]],
                    METRIC_DIGITS,
                    table_id="calibration-table",
                    caption="How far to trust these risks: the models' discrimination and calibration",
                )
            )

    section = doc.section("staging", "Goh-like and GAP stages")
    extent = joined.get("qct__lung__original__ild_extent_fraction")
    scores = clinical_scores(
        joined, extent=None if extent is None else extent.astype(float) * 100.0
    )
    stage_table = pd.DataFrame(
        {
            "date": overview.date,
            "ILD extent % (QCT)": (extent.astype(float) * 100.0) if extent is not None else np.nan,
            "FVC %": joined.fvc_pct.astype(float),
            "Goh-like": [
                ("extensive" if v == 1 else "limited") if pd.notna(v) else "n/a"
                for v in scores.get("clin__goh_extensive", pd.Series([np.nan] * len(joined)))
            ],
            "GAP index": scores.clin__gap_index.astype(float),
            "GAP stage": [
                ("I", "II", "III")[int(s) - 1] if pd.notna(s) and 1 <= s <= 3 else "n/a"
                for s in gap_stage(scores.clin__gap_index)
            ],
        }
    )
    section.add(
        table_tag(stage_table, 1, table_id="staging-table"),
        paragraph(
            "Goh-like: extensive when QCT ILD extent > 30 %, or 10-30 % with FVC < 70 % (Goh 2008, "
            "with the quantitative extent in place of the visual one). GAP: Ley 2012 (gender, age, "
            "FVC, DLCO) computed at the scan date (ildrad.clinical)."
        ),
    )

    section = doc.section("markers", "SSc markers")
    markers = [c for c in joined.columns if any(term in c for term in _MARKER_TERMS)]
    if markers:
        values = joined[markers].astype(float)
        values.columns = [c.replace("qct__", "").replace("__original__", " ") for c in markers]
        section.add(
            table_tag(
                pd.concat([overview.date, values], axis=1),
                2,
                table_id="markers-table",
                caption="Oesophagus air (dilatation); main pulmonary artery and ascending aorta "
                "diameters (mm) at the PA bifurcation and their ratio per scan",
            )
        )
    else:
        section.add(_note("No oesophagus measurement in the store."))
    ratio = [c for c in markers if "pa_ao" in c]
    if not ratio:
        section.add(_note("PA/Ao ratio: not in the store (scans analysed before it was measured)."))
    else:
        section.add(
            _note(
                "PA/Ao > 1 suggests pulmonary hypertension (Ng 1999). Empty cells: not measured "
                "reliably on that scan (quality flag pa_ao_not_measured); the QC picture shows "
                "the measurement plane when measured."
            )
        )

    section = doc.section("gradcam", "Grad-CAM (deep models)")
    _gradcam_section(section, workspace, list(scans.scan_key))
    return doc.write(out)
