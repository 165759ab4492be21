"""Cohort and patient reports: self-contained, every section present, numbers equal metrics.csv,
figures that decode, no identifier; loaded in headless Chromium when it is installed."""

from __future__ import annotations

import base64
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from report_decoding import decoded_copy

from ildrad.cli import main
from ildrad.cohort.privacy import identifier_terms, scan_for_identifiers
from ildrad.report.cohort_report import METRIC_DIGITS, SECTION_IDS
from ildrad.report.patient_report import PATIENT_SECTION_IDS

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


class _Tables(HTMLParser):
    """Rows of the table with a given id, and every src/href attribute."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows, self.links, self.ids = table_id, 0, [], [], []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.ids += [attributes["id"]] if "id" in attributes else []
        self.links += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "table" and attributes.get("id") == self.table_id:
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self.depth and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self.depth = 0

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(path: Path, table_id: str = "") -> _Tables:
    parser = _Tables(table_id)
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def reports(report_workspace, tmp_path_factory) -> dict[str, Path]:
    from ildrad.models.workflow import load_scan_tables

    out = tmp_path_factory.mktemp("reports")
    ct, _ = load_scan_tables(report_workspace, need_features=False)
    patient = ct.groupby("patient_key").size().sort_values(ascending=False).index[0]
    results = str(report_workspace / "results")
    assert (
        main(
            [
                "report",
                str(report_workspace),
                "--results",
                results,
                "--out",
                str(out / "cohort.html"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "report",
                str(report_workspace),
                "--patient",
                patient,
                "--results",
                results,
                "--out",
                str(out / "patient.html"),
            ]
        )
        == 0
    )
    return {"cohort": out / "cohort.html", "patient": out / "patient.html"}


def test_every_section_is_present_and_nothing_is_external(reports) -> None:
    for name, sections in (("cohort", SECTION_IDS), ("patient", PATIENT_SECTION_IDS)):
        parsed = _parse(reports[name])
        assert set(sections) <= set(parsed.ids), (
            f"{name}: missing {set(sections) - set(parsed.ids)}"
        )
        external = [
            link for link in parsed.links if not link.startswith(("data:image/png;base64,", "#"))
        ]
        assert external == [], f"{name} report links outside itself: {external[:3]}"
        assert not re.search(r"https?://", reports[name].read_text()), f"{name}: a URL in the text"


def test_every_embedded_figure_is_a_png_that_decodes(reports) -> None:
    from PIL import Image as PILImage

    for name in reports:
        images = [
            link
            for link in _parse(reports[name]).links
            if link.startswith("data:image/png;base64,")
        ]
        assert images, f"{name} report has no figure"
        for link in images:
            picture = PILImage.open(io.BytesIO(base64.b64decode(link.split(",", 1)[1])))
            picture.load()
            assert picture.width > 50 and picture.height > 50


def test_metrics_table_equals_metrics_csv(reports, report_workspace) -> None:
    metrics = pd.read_csv(
        report_workspace / "results" / "metrics.csv", keep_default_na=False, na_values=[""]
    )
    parsed = _parse(reports["cohort"], "metrics-table")
    header, body = parsed.rows[0], parsed.rows[1:]
    assert header == list(metrics.columns)
    assert len(body) == len(metrics)
    for cells, row in zip(body, metrics.itertuples(index=False), strict=True):
        for cell, value, column in zip(cells, row, metrics.columns, strict=True):
            if isinstance(value, float):
                expected = "" if pd.isna(value) else f"{value:.{METRIC_DIGITS}f}"
                assert cell == expected, (column, cell, value)
                if cell:  # and the printed number is the CSV value to the printed precision
                    assert abs(float(cell) - value) <= 0.5 * 10**-METRIC_DIGITS
            else:
                assert cell == str(value), (column, cell, value)


def test_roc_auc_in_the_summary_and_comparisons_match_the_csv_files(
    reports, report_workspace
) -> None:
    results = report_workspace / "results"
    metrics = pd.read_csv(results / "metrics.csv", keep_default_na=False, na_values=[""])
    text = reports["cohort"].read_text()
    for row in metrics[
        (metrics.metric == "roc_auc") & (metrics["at"].fillna("") == "")
    ].itertuples():
        assert f"{row.model}, {row.target}: ROC AUC {row.value:.3f}" in text
    comparisons = pd.read_csv(results / "comparisons.csv")
    parsed = _parse(reports["cohort"], "comparison-table")
    assert len(parsed.rows) - 1 == len(comparisons) > 0
    p_column = parsed.rows[0].index("p_value")
    assert [r[p_column] for r in parsed.rows[1:]] == [
        f"{p:.{METRIC_DIGITS}f}" for p in comparisons.p_value
    ]


def test_events_per_horizon_equal_the_targets_module(reports, report_workspace) -> None:
    from ildrad.models.targets import mortality_target
    from ildrad.models.workflow import load_scan_tables

    ct, _ = load_scan_tables(report_workspace, need_features=False)
    rows = _parse(reports["cohort"], "events-table").rows[1:]
    for cells, horizon in zip(rows, (1, 3, 5), strict=True):
        counts = mortality_target(ct, horizon).counts
        assert cells == [
            f"mortality_{horizon}y",
            str(counts["dead_within"]),
            str(counts["alive_at"]),
            str(counts["censored_before"]),
            str(counts["scans"]),
        ]


def test_missing_inputs_are_said_not_left_empty(report_workspace, tmp_path) -> None:
    out = tmp_path / "no_results.html"
    workspace = tmp_path / "ws"
    shutil.copytree(report_workspace, workspace, ignore=shutil.ignore_patterns("results", "models"))
    assert main(["report", str(workspace), "--out", str(out)]) == 0
    text = out.read_text()
    for section in (
        "roc",
        "comparison",
        "calibration",
        "decision",
        "survival",
        "unit",
        "metrics",
        "stability",
    ):
        match = re.search(f'<section id="{section}">(.*?)</section>', text, re.S)
        assert match and 'class="note"' in match.group(1), section
    assert "No deep model was trained in this run." in text


def test_unknown_patient_key_is_an_input_error(report_workspace, tmp_path) -> None:
    assert (
        main(
            [
                "report",
                str(report_workspace),
                "--patient",
                "nosuchkey",
                "--out",
                str(tmp_path / "p.html"),
            ]
        )
        == 2
    )


def test_reports_hold_no_identifier(reports, report_workspace, tmp_path) -> None:
    terms = identifier_terms(report_workspace)
    assert terms, "the synthetic headers should give identifier terms"
    decoded = tmp_path / "decoded"
    decoded_copy(reports["cohort"].parent, decoded)
    assert len(list(decoded.glob("*.png"))) > 5
    assert scan_for_identifiers(decoded, terms) == []


def test_checklists_do_not_claim_what_the_run_did_not_do(reports) -> None:
    text = reports["cohort"].read_text()
    rqs = _parse(reports["cohort"], "rqs-table").rows
    prospective = next(r for r in rqs if r[1] == "Prospective study")
    assert prospective[2] == "0"
    tripod = _parse(reports["cohort"], "tripod-table").rows
    external = next(r for r in tripod if r[0] == "12f")
    assert external[2] == "not done"
    assert "no external or prospective validation" in text


@pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="headless Chromium test needs Debian chromium and chromium-driver (make system-deps)",
)
def test_reports_load_in_headless_chromium(reports, tmp_path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        for name, sections in (("cohort", SECTION_IDS), ("patient", PATIENT_SECTION_IDS)):
            driver.get(reports[name].resolve().as_uri())
            present = driver.execute_script(
                "return Array.from(document.querySelectorAll('section')).map(s => s.id)"
            )
            assert set(sections) <= set(present), name
            sizes = driver.execute_script(
                "return Array.from(document.images).map(i => [i.complete, i.naturalWidth])"
            )
            assert sizes and all(complete and width > 0 for complete, width in sizes), name
            resources = driver.execute_script(
                "return performance.getEntriesByType('resource').map(r => r.name)"
            )
            assert [r for r in resources if not r.startswith("data:")] == [], name
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
    finally:
        driver.quit()
