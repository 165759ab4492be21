"""The cohort report: one self-contained HTML file a clinician can read section by section.

``build_cohort_report(workspace, out, results=...)`` reads the workspace (manifest, feature store,
failures, model folders) and, when given, the folder written by ``ildrad evaluate``. Tables of
metrics render the rows of ``metrics.csv`` and ``comparisons.csv`` unchanged (4 decimals); curves
are drawn from ``predictions.csv`` with the evaluation module's own functions. A section whose
inputs do not exist says so. Section DOM ids are :data:`SECTION_IDS` (stable: tests and links
rely on them).
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ildrad import __version__
from ildrad.config import Config, config_hash
from ildrad.errors import InputError
from ildrad.report import figures
from ildrad.report.checklists import RunFacts, clear_items, rqs_items, tripod_ai_items
from ildrad.report.html import Document, bullet_list, figure_tag, paragraph, table_tag

__all__ = ["HORIZONS", "METRIC_DIGITS", "SECTION_IDS", "build_cohort_report", "run_facts"]

log = logging.getLogger(__name__)

#: Mortality horizons (years) counted in the cohort table.
HORIZONS = (1, 3, 5)
#: Decimals of metric values in the report tables (tests compare against metrics.csv rounded so).
METRIC_DIGITS = 4
SECTION_IDS = (
    "summary",
    "cohort",
    "qct",
    "pet",
    "roc",
    "comparison",
    "calibration",
    "decision",
    "survival",
    "importance",
    "harmonisation",
    "stability",
    "unit",
    "metrics",
    "methods",
    "checklists",
)


def _is_deep(folder) -> bool:
    """A model folder written by ``ildrad deep train`` (kind ``deep_<arch>_<dims>``)."""
    return str(folder.info.get("kind", "")).startswith("deep")


def _note(text: str) -> str:
    return paragraph(text, "note")


def _load_results(results: Path | None) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    if results is None:
        return tables
    if not (results / "metrics.csv").is_file():
        raise InputError(f"{results}: no metrics.csv (write it with `ildrad evaluate`)")
    for name in ("metrics", "predictions", "comparisons", "labels"):
        path = results / f"{name}.csv"
        if path.is_file():
            tables[name] = pd.read_csv(path, keep_default_na=False, na_values=[""])
    if "metrics" in tables:
        tables["metrics"]["at"] = tables["metrics"]["at"].fillna("").astype(str)
    return tables


def _model_folders(workspace: Path, names: set[str]) -> dict[str, object]:
    """Model folders under ``WORKSPACE/models`` (or one level deeper: ``ildrad deep train`` writes
    one folder per target) whose names appear in the results."""
    from ildrad.models.model_folder import load_model_folder

    found = {}
    root = workspace / "models"
    paths = (
        sorted([*root.glob("*/model.json"), *root.glob("*/*/model.json")]) if root.is_dir() else []
    )
    for path in paths:
        try:
            folder = load_model_folder(path.parent)
        except InputError as err:
            log.warning("skipping model folder: %s", err)
            continue
        if not names or folder.name in names:
            found[folder.name] = folder
    return found


def _describe(values: pd.Series) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return "-"
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return f"{median:.3g} ({q1:.3g}-{q3:.3g})"


def _cohort_section(
    doc: Document,
    manifest: pd.DataFrame,
    ct: pd.DataFrame,
    features: pd.DataFrame,
    failures: pd.DataFrame,
) -> None:
    from ildrad.models.targets import mortality_target

    section = doc.section("cohort", "Cohort")
    per_patient = ct.groupby("patient_key")
    rows = [
        ("patients", f"{ct.patient_key.nunique()}"),
        ("CT scans analysed (manifest)", f"{len(ct)}"),
        (
            "PET scans (paired with a CT)",
            f"{int((manifest.modality == 'PT').sum())}" if "modality" in manifest else "0",
        ),
        ("patients with more than one CT", f"{int((per_patient.size() > 1).sum())}"),
        ("feature rows (CT and PET scans) / failed", f"{len(features)} / {len(failures)}"),
        ("follow-up per scan, years: median (IQR)", _describe(ct.followup_days / 365.25)),
        ("patients who died during follow-up", f"{int(per_patient.death.any().sum())}"),
        ("age at scan, years: median (IQR)", _describe(ct.age_years)),
        ("sex F / M", f"{int((ct.sex == 'F').sum())} / {int((ct.sex == 'M').sum())} scans"),
        ("FVC % predicted: median (IQR)", _describe(ct.fvc_pct)),
        ("DLCO % predicted: median (IQR)", _describe(ct.dlco_pct)),
    ]
    section.add(
        table_tag(
            pd.DataFrame(rows, columns=["", "value"]),
            table_id="cohort-table",
            caption="Patients and scans (CT rows of the manifest)",
        )
    )
    events = []
    for horizon in HORIZONS:
        counts = mortality_target(ct, horizon).counts
        events.append(
            (
                f"mortality_{horizon}y",
                counts["dead_within"],
                counts["alive_at"],
                counts["censored_before"],
                counts["scans"],
            )
        )
    section.add(
        table_tag(
            pd.DataFrame(
                events,
                columns=[
                    "target",
                    "dead within (events)",
                    "alive at horizon",
                    "censored before (not assessable)",
                    "scans",
                ],
            ),
            table_id="events-table",
            caption="Events per horizon (per scan; ildrad.models.targets)",
        )
    )
    scanners = (
        ct.groupby("scanner_batch", dropna=False)
        .agg(scans=("scan_key", "size"), patients=("patient_key", "nunique"))
        .reset_index()
    )
    section.add(
        table_tag(scanners, table_id="scanner-table", caption="Scanners (harmonisation batches)")
    )
    columns = [
        c
        for c in ("age_years", "sex", "smoking", "fvc_pct", "dlco_pct", "treatment", "site")
        if c in ct
    ]
    missing = pd.DataFrame(
        {
            "column": columns,
            "missing scans": [int(ct[c].isna().sum()) for c in columns],
            "of": len(ct),
        }
    )
    missing.loc[len(missing)] = [
        "feature row (failed or not run)",
        int((~ct.scan_key.isin(features.scan_key)).sum()),
        len(ct),
    ]
    section.add(table_tag(missing, table_id="missing-table", caption="Missing data"))
    flags = [c for c in features.columns if c.startswith("flag__")]
    if flags:
        counts = pd.DataFrame(
            {
                "flag": [c.removeprefix("flag__") for c in flags],
                "scans flagged": [int(features[c].fillna(False).astype(bool).sum()) for c in flags],
                "of": len(features),
            }
        )
        section.add(
            table_tag(counts, table_id="flags-table", caption="Quality flags (automatic checks)")
        )
    else:
        section.add(_note("No quality flags: the lung stage did not run."))
    if len(failures):
        section.add(
            table_tag(
                failures[["scan_key", "stage", "error"]],
                table_id="failures-table",
                caption="Scans that failed (the run went on)",
            )
        )


def _summary_table(features: pd.DataFrame, prefix: str) -> pd.DataFrame:
    columns = [c for c in features.columns if c.startswith(prefix)]
    rows = []
    for column in columns:
        values = pd.to_numeric(features[column], errors="coerce").dropna()
        if values.empty:
            continue
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        rows.append((column, len(values), float(median), float(q1), float(q3)))
    return pd.DataFrame(rows, columns=["feature", "scans", "median", "q1", "q3"])


def _qct_pet_sections(doc: Document, features: pd.DataFrame) -> None:
    section = doc.section("qct", "Quantitative CT")
    table = _summary_table(features, "qct__lung__")
    if table.empty:
        section.add(_note("No quantitative CT features in the store (the lung stage did not run)."))
    else:
        section.add(
            table_tag(
                table, table_id="qct-table", caption="Whole-lung quantitative CT (median, IQR)"
            )
        )
        fractions = [c for c in table.feature if c.endswith("_fraction")][:12]
        if fractions:
            png = figures.distribution_figure(
                {c.split("__")[-1]: features[c].to_numpy(float) for c in fractions},
                "Lung density fractions per scan",
                "fraction of lung volume",
            )
            section.add(figure_tag(png, "Distribution of density fractions across scans"))
    section = doc.section("pet", "PET")
    table = _summary_table(features, "pet__")
    if table.empty:
        section.add(
            _note(
                "No PET metrics in the store: no PET series was paired with a CT in this workspace."
            )
        )
    else:
        section.add(table_tag(table, table_id="pet-table", caption="PET SUV metrics (median, IQR)"))
        suv = [c for c in table.feature if c.startswith("pet__lung__") and "suv" in c][:10]
        if suv:
            png = figures.distribution_figure(
                {c.split("__")[-1]: features[c].to_numpy(float) for c in suv},
                "Lung SUV metrics per PET scan",
                "SUV (g/mL)",
            )
            section.add(figure_tag(png, "Distribution of lung SUV metrics across PET scans"))


def _metric_rows(
    metrics: pd.DataFrame, names: tuple[str, ...], target: str | None = None
) -> pd.DataFrame:
    rows = metrics[metrics.metric.isin(names)]
    if target is not None:
        rows = rows[rows.target == target]
    return rows


def _binary_targets(predictions: pd.DataFrame) -> list[str]:
    usable = predictions[predictions.y.notna()]
    return sorted(t for t, g in usable.groupby("target") if g.y.nunique() == 2)


def _curve_sections(
    doc: Document, tables: dict[str, pd.DataFrame], thresholds: list[float]
) -> None:
    metrics, predictions = tables.get("metrics"), tables.get("predictions")
    ids = {
        "roc": "ROC curves",
        "comparison": "Model comparison",
        "calibration": "Calibration",
        "decision": "Decision curves",
    }
    sections = {key: doc.section(key, title) for key, title in ids.items()}
    if metrics is None or predictions is None:
        for section in sections.values():
            section.add(_note("No evaluation results: run `ildrad evaluate` and pass --results."))
        return
    targets = _binary_targets(predictions)
    if not targets:
        for key in ("roc", "calibration", "decision"):
            sections[key].add(_note("No binary target with both outcomes among the predictions."))
    for target in targets:
        rows = predictions[(predictions.target == target) & predictions.y.notna()]
        auc_rows = metrics[
            (metrics.metric == "roc_auc") & (metrics["at"] == "") & (metrics.target == target)
        ]
        auc = {r.model: (r.value, r.ci_low, r.ci_high) for r in auc_rows.itertuples()}
        sections["roc"].add(
            figure_tag(
                figures.roc_figure(rows, target, auc),
                f"ROC curves for {target}; legend: AUC (patient-bootstrap 95% CI)",
            )
        )
        sections["roc"].add(
            table_tag(_display(auc_rows), METRIC_DIGITS, caption=f"ROC AUC, {target}")
        )
        sections["calibration"].add(
            figure_tag(
                figures.calibration_figure(rows, target), f"Calibration by risk decile, {target}"
            )
        )
        sections["calibration"].add(
            table_tag(
                _display(_metric_rows(metrics, ("cal_intercept", "cal_slope", "brier"), target)),
                METRIC_DIGITS,
                caption=f"Calibration intercept and slope, Brier score, {target}",
            )
        )
        sections["decision"].add(
            figure_tag(
                figures.decision_figure(rows, target, thresholds),
                f"Decision curve (net benefit) for {target}",
            )
        )
    comparisons = tables.get("comparisons")
    if comparisons is None or comparisons.empty:
        sections["comparison"].add(
            _note("No model comparison: fewer than two models share a target.")
        )
    else:
        sections["comparison"].add(
            paragraph(
                "Paired comparisons of models on the same scans. Clustered DeLong (Obuchowski) accounts "
                "for several scans per patient; the bootstrap resamples patients."
            ),
            table_tag(
                comparisons, METRIC_DIGITS, table_id="comparison-table", caption="comparisons.csv"
            ),
        )


def _display(rows: pd.DataFrame) -> pd.DataFrame:
    columns = [
        c
        for c in (
            "model",
            "target",
            "metric",
            "at",
            "value",
            "ci_low",
            "ci_high",
            "n_scans",
            "n_patients",
        )
        if c in rows.columns
    ]
    return rows[columns]


def _survival_section(doc: Document, ct: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> None:
    from sksurv.compare import compare_survival
    from sksurv.nonparametric import kaplan_meier_estimator

    from ildrad.models.targets import survival_target

    section = doc.section("survival", "Kaplan-Meier curves of predicted risk groups")
    predictions = tables.get("predictions")
    if predictions is None:
        section.add(_note("No predictions: run `ildrad evaluate` and pass --results."))
        return
    survival = survival_target(ct).frame[["scan_key", "time", "event"]]
    rows = []
    for (model, target), group in predictions.groupby(["model", "target"], sort=True):
        joined = group.merge(survival, on="scan_key").dropna(subset=["risk"])
        if len(joined) < 4 or joined.risk.nunique() < 2:
            continue
        high = joined.risk > joined.risk.median()
        if high.all() or not high.any():
            continue
        curves = {}
        for label, rows_ in (("low risk (<= median)", ~high), ("high risk (> median)", high)):
            time, surv = kaplan_meier_estimator(
                joined.event[rows_].to_numpy(bool), joined.time[rows_].to_numpy(float)
            )
            curves[f"{label}, n={int(rows_.sum())}"] = (time, surv)
        structured = np.array(
            list(zip(joined.event.astype(bool), joined.time.astype(float), strict=True)),
            dtype=[("event", bool), ("time", float)],
        )
        try:
            chi2, p_value = compare_survival(structured, high.to_numpy())
        except ValueError as err:
            log.info("log-rank test skipped for %s %s: %s", model, target, err)
            chi2, p_value = float("nan"), float("nan")
        rows.append(
            (model, target, int(len(joined)), int(joined.event.sum()), float(chi2), float(p_value))
        )
        section.add(
            figure_tag(
                figures.kaplan_meier_figure(
                    curves, f"{model} ({target}), log-rank p={p_value:.3g}"
                ),
                f"Overall survival from the scan date by predicted-risk group, {model} for {target}",
            )
        )
    if rows:
        section.add(
            paragraph(
                "Risk groups split at the median out-of-fold predicted risk; the log-rank test is "
                "scikit-survival's compare_survival. Scans of one patient are not independent, so "
                "these p-values are optimistic."
            ),
            table_tag(
                pd.DataFrame(
                    rows, columns=["model", "target", "scans", "deaths", "chi2", "p_value"]
                ),
                METRIC_DIGITS,
                table_id="logrank-table",
                caption="Log-rank tests",
            ),
        )
    else:
        section.add(_note("No model had enough distinct predicted risks for risk groups."))


def _importance(folder) -> pd.Series | None:
    estimator = folder.estimator()
    if estimator is None:
        return None
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    values = getattr(final, "feature_importances_", None)
    if values is None and hasattr(final, "coef_"):
        values = np.abs(np.ravel(final.coef_))
    if values is None:
        return None
    names = None
    if hasattr(estimator, "steps") and len(estimator.steps) > 1:
        try:
            names = list(estimator[:-1].get_feature_names_out())
        except (AttributeError, ValueError, TypeError):
            names = None
    if names is None or len(names) != len(values):
        names = (
            folder.info["features"]
            if len(folder.info["features"]) == len(values)
            else [f"input {i}" for i in range(len(values))]
        )
    return pd.Series(np.asarray(values, float), index=[str(n) for n in names])


def _importance_section(doc: Document, folders: dict[str, object]) -> None:
    section = doc.section("importance", "Feature importance")
    shown = 0
    for name, folder in folders.items():
        try:
            importance = _importance(folder)
        except Exception as err:  # noqa: BLE001 - an unreadable estimator is reported, not fatal
            section.add(
                _note(f"{name}: the fitted estimator could not be read ({type(err).__name__}).")
            )
            continue
        if importance is None or importance.empty:
            section.add(paragraph(f"{name} ({folder.info['kind']}): no importance attribute."))
            continue
        kind = (
            "impurity importance" if folder.info["kind"] in ("rf", "gb") else "absolute coefficient"
        )
        section.add(
            figure_tag(
                figures.importance_figure(importance, f"{name}: {kind}"),
                f"Largest {kind}s of the final {name} model (fitted on all scans)",
            )
        )
        shown += 1
    if not shown:
        section.add(
            _note("No model with feature importances (no model folder under WORKSPACE/models).")
        )


def _harmonisation_section(
    doc: Document, ct: pd.DataFrame, features: pd.DataFrame, settings
) -> None:
    from sklearn.decomposition import PCA

    from ildrad.harmonize import ComBat

    section = doc.section("harmonisation", "Harmonisation (before and after ComBat)")
    columns = [c for c in features.columns if c.startswith("rad__")]
    joined = features[["scan_key", *columns]].merge(
        ct[["scan_key", "scanner_batch"]], on="scan_key"
    )
    X = joined[columns].apply(pd.to_numeric, errors="coerce")
    X = X.loc[:, X.notna().all() & (X.std() > 0)]
    batches = joined.scanner_batch.fillna("unknown").astype(str).to_numpy()
    counts = pd.Series(batches).value_counts()
    if X.shape[1] < 2 or len(X) < 6:
        section.add(_note("Not shown: fewer than two complete radiomics features or six scans."))
        return
    standard = ((X - X.mean()) / X.std()).to_numpy(float)
    before = PCA(2).fit_transform(standard)
    panels = {"before (z-scored)": before}
    if len(counts) >= 2 and counts.min() >= 2:
        frame = pd.DataFrame(standard, columns=X.columns).assign(scanner_batch=batches)
        harmonised = ComBat(batch_column="scanner_batch").fit_transform(frame)
        after = PCA(2).fit_transform(np.asarray(harmonised[list(X.columns)], float))
        panels["after ComBat"] = after
        text = (
            "ComBat fitted here on all scans for display only; the models fit it inside training folds "
            f"(models.harmonize = '{settings.models.harmonize}')."
        )
    else:
        text = "Only one scanner batch (or a batch with a single scan): ComBat cannot be applied; before only."
    section.add(
        figure_tag(
            figures.pca_figure(panels, batches, "CT radiomics, first two principal components"),
            "Principal components of the CT radiomics features coloured by scanner",
        ),
        paragraph(text),
    )


def _stability_section(doc: Document, workspace: Path) -> None:
    section = doc.section("stability", "Feature stability (ICC)")
    path = workspace / "stability" / "icc.csv"
    if path.is_file():
        table = pd.read_csv(path)
        section.add(
            table_tag(
                table.head(50),
                METRIC_DIGITS,
                table_id="icc-table",
                caption=f"ICC per feature ({path.name}, first 50 rows)",
            )
        )
    else:
        section.add(
            _note(
                "Not available: this workspace has no perturbation or test-retest ICC table "
                "(WORKSPACE/stability/icc.csv), so no stability filter was applied or reported."
            )
        )


def _unit_section(doc: Document, ct: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> None:
    from ildrad.evaluate.evaluation import select_unit
    from ildrad.evaluate.metrics import binary_metrics

    section = doc.section("unit", "Per-patient and per-scan results")
    predictions, metrics = tables.get("predictions"), tables.get("metrics")
    if predictions is None or metrics is None:
        section.add(_note("No predictions: run `ildrad evaluate` and pass --results."))
        return
    rows = []
    first = select_unit(predictions, ct, "first_scan")
    for (model, target), group in predictions[predictions.y.notna()].groupby(
        ["model", "target"], sort=True
    ):
        reported = metrics[
            (metrics.model == model)
            & (metrics.target == target)
            & (metrics.metric == "roc_auc")
            & (metrics["at"] == "")
        ]
        chosen = first[(first.model == model) & (first.target == target) & first.y.notna()]
        value = binary_metrics(chosen.y.to_numpy(float), chosen.risk.to_numpy(float)).get(
            ("roc_auc", ""), np.nan
        )
        rows.append(
            (
                model,
                target,
                reported.value.iloc[0] if len(reported) else np.nan,
                len(group),
                float(value),
                len(chosen),
            )
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "model",
            "target",
            "roc_auc (metrics.csv unit)",
            "scans",
            "roc_auc first scan per patient",
            "patients",
        ],
    )
    section.add(
        paragraph(
            "metrics.csv is computed per repeat and averaged, on the evaluation unit of the run; "
            "the first-scan column is the AUC of the repeat-averaged risk on each patient's first "
            "scan (one scan per patient, no clustering), without confidence interval."
        ),
        table_tag(table, METRIC_DIGITS, table_id="unit-table"),
    )


def run_facts(
    ct: pd.DataFrame,
    features: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    folders: dict[str, object],
    config: Config,
    has_stability: bool,
) -> RunFacts:
    """Gather what the run did for the checklists."""
    metrics = tables.get("metrics", pd.DataFrame(columns=["metric"]))
    groups = sorted({g for f in folders.values() for g in f.info.get("feature_groups", []) or []})
    radiomics = config.radiomics
    discretisation = getattr(radiomics, "discretisation", None)
    ibsi = f"discretisation {getattr(discretisation, 'method', '?')}"
    return RunFacts(
        n_patients=int(ct.patient_key.nunique()),
        n_scans=len(ct),
        n_scanners=int(ct.scanner_batch.nunique()),
        n_sites=int(ct.site.nunique()) if "site" in ct else 0,
        longitudinal_patients=int((ct.groupby("patient_key").size() > 1).sum()),
        models=tuple(f"{n} ({f.info['kind']})" for n, f in folders.items()),
        feature_groups=tuple(groups),
        n_splits=config.models.n_splits,
        n_repeats=config.models.n_repeats,
        nested_tuning=config.models.tune,
        selection=config.models.selection,
        harmonize=config.models.harmonize,
        has_discrimination="roc_auc" in set(metrics.metric),
        has_calibration="cal_slope" in set(metrics.metric),
        has_decision_curve="predictions" in tables,
        has_comparisons=len(tables.get("comparisons", [])) > 0,
        has_stability=has_stability,
        has_deep=any(_is_deep(f) for f in folders.values()),
        missing_data_reported=True,
        ibsi_settings=ibsi,
    )


def _methods_section(
    doc: Document, config: Config, features: pd.DataFrame, folders: dict[str, object]
) -> None:
    section = doc.section("methods", "Methods (generated from the configuration)")
    hashes = sorted(set(features.get("config_hash", pd.Series(dtype=str)).dropna().astype(str)))
    versions = sorted(
        set(features.get("ildrad_version", pd.Series(dtype=str)).dropna().astype(str))
    )
    radiomics = config.radiomics.model_dump(mode="json")
    deep = [n for n, f in folders.items() if _is_deep(f)]
    section.add(
        bullet_list(
            [
                f"Software: ildrad {__version__} (features computed by ildrad {', '.join(versions) or 'n/a'}; "
                f"feature-store configuration hash {', '.join(hashes) or 'n/a'}; report configuration hash "
                f"{config_hash(config)}).",
                f"Series selection: thinnest supine series per study up to {config.run.selection.max_slice_thickness_mm} mm, "
                f"at least {config.run.selection.min_slices} slices, kernel preference list in the configuration.",
                f"Pipeline stages: {', '.join(config.run.stages)}. Lung segmentation on the CT grid, zones by thirds of "
                f"lung height per lung, rind {config.segment.rind_mm} mm.",
                "Radiomics (IBSI): resampling "
                + json.dumps(radiomics.get("resample"))
                + ", re-segmentation "
                + json.dumps(radiomics.get("resegment"))
                + ", discretisation "
                + json.dumps(radiomics.get("discretisation"))
                + ".",
                f"Validation: {config.models.n_repeats} repeats of {config.models.n_splits}-fold cross-validation with "
                "patients (never scans) assigned to folds (folds.parquet shared by every model); "
                f"{'nested tuning with ' + str(config.models.inner_splits) + ' inner folds' if config.models.tune else 'no tuning'}; "
                f"feature selection '{config.models.selection}' ({config.models.n_features} features) and correlation "
                f"pruning at |r| > {config.models.max_correlation} inside training folds; harmonisation "
                f"'{config.models.harmonize}'.",
                f"Uncertainty: patient-level bootstrap ({config.models.n_bootstrap} resamples) 95% CIs; paired comparisons by "
                "clustered DeLong and patient bootstrap.",
                "Deep models: "
                + (", ".join(deep) if deep else "no deep model was trained in this run."),
                "Validation was internal only: no external or prospective validation is reported here.",
            ]
        )
    )
    section.add(
        f"<details><summary>Full configuration</summary><pre>{html.escape(config.model_dump_json(indent=1))}"
        "</pre></details>"
    )


def _checklist_section(doc: Document, facts: RunFacts) -> None:
    section = doc.section("checklists", "Reporting checklists (TRIPOD+AI, RQS, CLEAR)")
    rqs, total = rqs_items(facts)
    section.add(
        paragraph(
            "Filled in from what this run did. Items marked 'authors to complete' concern study "
            "design and context the software cannot know."
        ),
        table_tag(
            tripod_ai_items(facts),
            table_id="tripod-table",
            caption="TRIPOD+AI (Collins et al. 2024)",
        ),
        table_tag(
            rqs,
            table_id="rqs-table",
            caption=f"Radiomics Quality Score (Lambin et al. 2017): {total} of 36 points",
        ),
        table_tag(
            clear_items(facts),
            table_id="clear-table",
            caption="CLEAR (Kocak et al. 2023), items a pipeline can answer",
        ),
    )


def _summary_section(
    doc: Document, ct: pd.DataFrame, tables: dict[str, pd.DataFrame], folders
) -> None:
    section = doc.section("summary", "Summary")
    lines = [f"{ct.patient_key.nunique()} patients, {len(ct)} CT scans."]
    metrics = tables.get("metrics")
    if metrics is not None:
        auc = metrics[(metrics.metric == "roc_auc") & (metrics["at"] == "")]
        for row in auc.sort_values(["target", "value"], ascending=[True, False]).itertuples():
            lines.append(
                f"{row.model}, {row.target}: ROC AUC {row.value:.3f} (95% CI {row.ci_low:.3f}-"
                f"{row.ci_high:.3f}; {row.n_scans} scans, {row.n_patients} patients)."
            )
    else:
        lines.append("No evaluation results were given (--results): the model sections are empty.")
    if not any(_is_deep(f) for f in folders.values()):
        lines.append("No deep model was trained in this run.")
    lines.append(
        "All performance figures are cross-validated within this cohort (internal validation)."
    )
    section.add(bullet_list(lines))


def build_cohort_report(
    workspace: str | Path,
    out: str | Path,
    results: str | Path | None = None,
    config: Config | None = None,
) -> Path:
    """Write the cohort report of ``workspace`` (and of ``results`` from ``ildrad evaluate``) to ``out``."""
    from ildrad.cohort.manifest import read_manifest
    from ildrad.cohort.store import load_failures
    from ildrad.models.workflow import load_scan_tables

    workspace = Path(workspace)
    config = config or Config()
    manifest = read_manifest(workspace)
    ct, features = load_scan_tables(workspace)
    failures = load_failures(workspace)
    tables = _load_results(Path(results) if results is not None else None)
    names = set(tables["predictions"].model) if "predictions" in tables else set()
    folders = _model_folders(workspace, names)
    doc = Document(
        "ildrad cohort report",
        f"ildrad {__version__}; pseudonymous keys only; "
        f"{ct.patient_key.nunique()} patients, {len(ct)} CT scans",
    )
    _summary_section(doc, ct, tables, folders)
    _cohort_section(doc, manifest, ct, features, failures)
    _qct_pet_sections(doc, features)
    _curve_sections(doc, tables, config.models.decision_thresholds)
    _survival_section(doc, ct, tables)
    _importance_section(doc, folders)
    _harmonisation_section(doc, ct, features, config)
    _stability_section(doc, workspace)
    _unit_section(doc, ct, tables)
    section = doc.section("metrics", "All metrics (metrics.csv)")
    if "metrics" in tables:
        section.add(
            table_tag(
                tables["metrics"],
                METRIC_DIGITS,
                table_id="metrics-table",
                caption="Every row of metrics.csv, values rounded to 4 decimals",
            )
        )
    else:
        section.add(_note("No metrics.csv given (--results)."))
    _methods_section(doc, config, features, folders)
    _checklist_section(
        doc,
        run_facts(
            ct, features, tables, folders, config, (workspace / "stability" / "icc.csv").is_file()
        ),
    )
    return doc.write(out)
