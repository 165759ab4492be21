"""``ildrad pet`` on a synthetic PET/CT study: SUV on the CT grid, reference regions, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ildrad.cli import main
from ildrad.io.volume_files import read_image, read_mask
from ildrad.synth.cohort import write_cohort


@pytest.fixture(scope="module")
def petct(tmp_path_factory):
    root = tmp_path_factory.mktemp("petct")
    write_cohort(root / "data", n_patients=1, seed=2, size="tiny", pet=True)
    study = next(p for p in (root / "data" / "dicom").glob("*/*") if any(p.glob("*PET*")))
    truth = json.loads(next((root / "data" / "truth" / "pet").glob("*/numbers.json")).read_text())
    out = root / "out"
    code = main(["pet", str(next(study.glob("*PET*"))), "--ct", str(next(study.glob("*LowDose*"))),
                 "--out", str(out)])
    return code, out, truth


def test_outputs_written(petct) -> None:
    code, out, _ = petct
    assert code == 0
    for name in ("suv.nii.gz", "pet.json", "blood_pool.nii.gz", "liver.nii.gz", "fused.png"):
        assert (out / name).is_file(), name
    assert read_mask(out / "blood_pool.nii.gz").grid.same_as(read_image(out / "suv.nii.gz").grid)


def test_reference_uptake_recovered(petct) -> None:
    _, out, truth = petct
    metrics = json.loads((out / "pet.json").read_text())["metrics"]
    assert metrics["pet__blood_pool__suv__suv_mean"] == pytest.approx(truth["blood_pool_suv"], rel=0.1)
    assert metrics["pet__liver__suv__suv_mean"] == pytest.approx(truth["liver_suv"], rel=0.1)
    # lung SUV is diluted by air: the tissue-fraction correction raises it several-fold
    lung = metrics["pet__lung__suv__suv_mean"]
    assert metrics["pet__lung__suv__suv_mean_tissue_fraction_corrected"] > 2 * lung
    assert metrics["pet__lung__suv__ratio_blood_pool"] == pytest.approx(lung / metrics["pet__blood_pool__suv__suv_mean"])
    assert np.isfinite(metrics["pet__haa__suv__suv_mean"])
