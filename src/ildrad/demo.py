"""The end-to-end demo (``ildrad demo --out DIR``, what ``make demo`` runs).

Steps, each an ordinary ``ildrad`` command so the demo shows exactly what a user would type:
a synthetic cohort with CT and PET (``synth cohort``), ``index``, ``run``, ``folds``, ``train``
(radiomics + QCT + PET + clinical random forest, and a clinical-only logistic baseline),
``evaluate``, the cohort and patient reports, and the DICOM SEG/SR export. The configuration
``DIR/demo_config.yaml`` restricts radiomics to the original image and three families (intensity statistics, histogram, GLCM) and uses one
repeat of 5-fold cross-validation, so the demo fits in minutes on two cores. A small deep model is
trained (ResNet-18 small, 2.5D, 3 epochs); if it fails the demo goes on without it and the report says that no deep model was trained.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

from ildrad.errors import InputError

__all__ = [
    "DEEP_STEP",
    "DEMO_CONFIG",
    "DEMO_SPEC",
    "DemoResult",
    "demo_steps",
    "run_demo",
]

log = logging.getLogger(__name__)

#: Configuration of the demo (YAML): fewer radiomics families, one CV repeat, no tuning.
DEMO_CONFIG = """\
radiomics:
  families: [intensity_stats, intensity_histogram, glcm]
models:
  n_splits: 5
  n_repeats: 1
  n_bootstrap: 200
  tune: false
  n_estimators: 200
  n_features: 10
"""

#: Generating-model changes for the demo cohort (merged over the default spec): at most three
#: HRCT per patient and a higher baseline hazard, so that a small cohort has enough deaths
#: within three years for the models to learn from.
DEMO_SPEC = """\
schedule:
  max_scans: 3
hazard:
  baseline:
    rate_per_year: 0.15
"""


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs and how long each step took (seconds)."""

    out: Path
    report: Path
    patient_report: Path
    exports: Path
    seconds: dict[str, float]


#: The deep-model step: optional (the demo goes on without it if it fails, and says so).
EXPORT_STEP = "DICOM SEG + SR export of the reported patient's CT scans"
DEEP_STEP = "train small deep model (ResNet-18 small, 2.5D, 3 epochs)"


def demo_steps(out: Path, patients: int, seed: int, workers: int) -> list[tuple[str, list[str]]]:
    """The ``ildrad`` command lines of the demo (the patient report is added once its key is known)."""
    ws, config, models = out / "workspace", out / "demo_config.yaml", out / "workspace" / "models"
    cfg = ["--config", str(config)]
    steps = [
        (
            "synthetic cohort (CT + PET/CT)",
            [
                "synth",
                "cohort",
                "--patients",
                str(patients),
                "--seed",
                str(seed),
                "--size",
                "tiny",
                "--pet",
                "--spec",
                str(out / "demo_spec.yaml"),
                "--out",
                str(out / "cohort"),
            ],
        ),
        (
            "index the DICOM tree",
            [
                "index",
                str(out / "cohort" / "dicom"),
                "--clinical",
                str(out / "cohort" / "clinical.csv"),
                "--visits",
                str(out / "cohort" / "visits.csv"),
                "--out",
                str(ws),
                *cfg,
            ],
        ),
        ("run lungs, QCT, PET, radiomics", ["run", str(ws), "--workers", str(workers), *cfg]),
        ("assign patients to folds", ["folds", str(ws), *cfg]),
        (
            "train imaging + clinical random forest",
            [
                "train",
                str(ws),
                "--target",
                "mortality_3y",
                "--model",
                "rf",
                "--features",
                "qct,rad,pet,clin",
                "--out",
                str(models / "rf_imaging_clinical"),
                *cfg,
            ],
        ),
        (
            "train clinical baseline",
            [
                "train",
                str(ws),
                "--target",
                "mortality_3y",
                "--model",
                "logistic",
                "--features",
                "clin",
                "--out",
                str(models / "clinical_logistic"),
                *cfg,
            ],
        ),
    ]
    model_dirs = [str(models / "rf_imaging_clinical"), str(models / "clinical_logistic")]
    steps.append(
        (
            DEEP_STEP,
            [
                "deep",
                "train",
                str(ws),
                "--arch",
                "resnet18_small",
                "--dims",
                "2.5d",
                "--target",
                "mortality_3y",
                "--epochs",
                "3",
                "--out",
                str(models / "deep_resnet18_small"),
                *cfg,
            ],
        )
    )
    model_dirs.append(
        str(models / "deep_resnet18_small" / "mortality_3y")
    )  # one folder per target
    steps += [
        (
            "evaluate the models",
            ["evaluate", str(ws), "--models", *model_dirs, "--out", str(ws / "results"), *cfg],
        ),
        (
            "cohort report",
            [
                "report",
                str(ws),
                "--results",
                str(ws / "results"),
                "--out",
                str(out / "report.html"),
                *cfg,
            ],
        ),
        (EXPORT_STEP, ["export", str(ws), "--out", str(out / "dicom_export")]),
    ]
    return steps


def _longitudinal_patient(workspace: Path) -> tuple[str, list[str]]:
    """The patient with the most CT scans, and those scans' keys."""
    from ildrad.models.workflow import load_scan_tables

    ct, _ = load_scan_tables(workspace, need_features=False)
    counts = ct.groupby("patient_key").size().sort_values(ascending=False, kind="stable")
    patient = str(counts.index[0])
    return patient, sorted(ct[ct.patient_key == patient].scan_key)


def run_demo(
    out: str | Path,
    patients: int = 40,
    seed: int = 7,
    workers: int = 2,
    announce: Callable[[str], None] = print,
) -> DemoResult:
    """Run the whole demo into ``out`` (an empty or new folder) and return where things are."""
    from ildrad.cli import main

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out}: the demo folder must be empty or new")
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_config.yaml").write_text(DEMO_CONFIG)
    (out / "demo_spec.yaml").write_text(DEMO_SPEC)
    steps = demo_steps(out, patients, seed, workers)
    ws = out / "workspace"
    patient_step = ("patient report", None)
    steps.insert(len(steps) - 1, patient_step)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    patient_report = out / "patient.html"
    reported: tuple[str, list[str]] | None = None  # the patient with the most scans, once the run is done
    for number, (name, argv) in enumerate(steps, start=1):
        if argv is None:
            reported = _longitudinal_patient(ws)
            argv = [
                "report",
                str(ws),
                "--patient",
                reported[0],
                "--results",
                str(ws / "results"),
                "--out",
                str(patient_report),
            ]
        if name == EXPORT_STEP:  # the reported patient's scans (`ildrad export` alone exports all)
            scans = (reported or _longitudinal_patient(ws))[1]
            argv = [*argv, *(a for key in scans for a in ("--scan", key))]
        announce(f"[{number}/{len(steps)}] {name}: ildrad {' '.join(argv)}")
        begin = time.perf_counter()
        if name.startswith("evaluate"):  # only model folders that were written
            listed = argv[argv.index("--models") + 1 : argv.index("--out")]
            kept = [m for m in listed if (Path(m) / "model.json").is_file()]
            argv = [*argv[: argv.index("--models") + 1], *kept, *argv[argv.index("--out") :]]
        code = main(argv)
        seconds[name] = time.perf_counter() - begin
        if name == DEEP_STEP and code != 0:
            announce(f"      the deep model failed (exit code {code}); going on without it")
            continue
        if code not in (0, 3):  # 3: some scans failed; their errors are in the store and the report
            raise RuntimeError(f"demo step '{name}' failed with exit code {code}")
        announce(
            f"      done in {seconds[name]:.0f} s (total {time.perf_counter() - started:.0f} s)"
        )
    seconds["total"] = time.perf_counter() - started
    return DemoResult(out, out / "report.html", patient_report, out / "dicom_export", seconds)
