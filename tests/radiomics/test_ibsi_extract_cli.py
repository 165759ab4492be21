"""``ildrad extract``: one CSV row per ROI, clear errors naming the file, light imports."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ildrad.cli import main
from ildrad.image import Image, Mask
from ildrad.io.volume_files import write_image, write_mask
from ildrad.radiomics.ibsi_reference import check_reference_value, read_reference_table
from ildrad.radiomics.names import IBSI_TO_PYRADIOMICS

REPO = Path(__file__).resolve().parents[2]


def _read_row(path: Path) -> dict[str, float]:
    with path.open() as handle:
        header, values = list(csv.reader(handle))
    return dict(zip(header, map(float, values)))


@pytest.fixture
def small_case(tmp_path):
    rng = np.random.default_rng(2)
    image = Image.from_array(np.round(rng.normal(0, 80, size=(10, 16, 16))), spacing=(2.0, 1.0, 1.0))
    roi = np.zeros(image.shape, np.uint8)
    roi[3:7, 4:12, 4:12] = 1
    image_path = write_image(image, tmp_path / "image.nii.gz")
    mask_path = write_mask(Mask(roi, image.grid), tmp_path / "mask.nrrd")
    config = tmp_path / "config.yaml"
    config.write_text("radiomics:\n  families: [intensity_stats, morphology]\n")
    return image_path, mask_path, config


@pytest.mark.shared_data
def test_digital_phantom_through_the_cli(shared_data, tmp_path):
    folder = shared_data / "ibsi1" / "digital_phantom"
    out = tmp_path / "features.csv"
    code = main(["extract", str(folder / "image.nii.gz"), str(folder / "mask.nii.gz"),
                 "--config", str(REPO / "configs" / "ibsi" / "digital_phantom.yaml"), "--out", str(out)])
    assert code == 0
    row = _read_row(out)
    reference = read_reference_table(shared_data / "ibsi1" / "reference" / "dig_phantom.csv")
    for tag in ("morph_volume", "stat_mean", "ih_entropy", "loc_peak_glob", "cm_joint_entr_3D_avg"):
        check_reference_value(tag, row[tag], *reference[tag])
    assert len(row) >= len(reference)


def test_pyradiomics_names(small_case, tmp_path):
    image, mask, config = small_case
    ibsi_out, pyrad_out = tmp_path / "ibsi.csv", tmp_path / "pyrad.csv"
    assert main(["extract", str(image), str(mask), "--config", str(config), "--out", str(ibsi_out)]) == 0
    assert main(["extract", str(image), str(mask), "--config", str(config), "--names", "pyradiomics",
                 "--out", str(pyrad_out)]) == 0
    ibsi, pyrad = _read_row(ibsi_out), _read_row(pyrad_out)
    assert pyrad["original_firstorder_Mean"] == ibsi["stat_mean"]
    assert pyrad["original_shape_MeshVolume"] == ibsi["morph_volume"]
    assert "morph_moran_i" in pyrad  # no PyRadiomics counterpart: IBSI tag kept
    assert len(pyrad) == len(ibsi)


def test_mask_on_another_grid_names_the_files(small_case, tmp_path, capsys):
    image, _, config = small_case
    other = write_mask(Mask(np.ones((10, 16, 15), np.uint8), Image.from_array(np.zeros((10, 16, 15))).grid),
                       tmp_path / "other.nii.gz")
    assert main(["extract", str(image), str(other), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "other.nii.gz" in err and "grids differ" in err
    assert not (tmp_path / "x.csv").exists()


def test_empty_mask_names_the_file(small_case, tmp_path, capsys):
    image, _, _ = small_case
    empty = write_mask(Mask(np.zeros((10, 16, 16), np.uint8), Image.from_array(np.zeros((10, 16, 16)), spacing=(2.0, 1.0, 1.0)).grid),
                       tmp_path / "empty.nii.gz")
    assert main(["extract", str(image), str(empty), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "empty.nii.gz" in err and "no voxel" in err


def test_config_and_pyradiomics_params_are_mutually_exclusive(small_case, tmp_path, capsys):
    image, mask, config = small_case
    params = tmp_path / "params.yaml"
    params.write_text("setting: {binWidth: 25}\n")
    assert main(["extract", str(image), str(mask), "--config", str(config),
                 "--pyradiomics-params", str(params), "--out", str(tmp_path / "x.csv")]) == 2
    assert "mutually exclusive" in capsys.readouterr().err
    assert main(["extract", str(image), str(mask), "--names", "radiomics", "--out", str(tmp_path / "x.csv")]) == 2


def test_unknown_config_key_is_reported(small_case, tmp_path, capsys):
    image, mask, _ = small_case
    bad = tmp_path / "bad.yaml"
    bad.write_text("radiomics:\n  bin_width: 25\n")
    assert main(["extract", str(image), str(mask), "--config", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "radiomics.bin_width" in err


def test_pyradiomics_name_table_is_one_to_one():
    assert len(set(IBSI_TO_PYRADIOMICS.values())) == len(IBSI_TO_PYRADIOMICS)
    assert IBSI_TO_PYRADIOMICS["cm_joint_entr_3D_avg"] == "original_glcm_JointEntropy"
    assert IBSI_TO_PYRADIOMICS["stat_p10"] == "original_firstorder_10Percentile"


def _printed_by(code: str) -> str:
    """What a fresh interpreter running ``code`` prints (module-loading checks)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_extract_imports_no_heavy_library():
    code = (
        "import sys, ildrad.cli, ildrad.cli.extract, ildrad.radiomics.extractor, ildrad.io.volume_files; "
        "from ildrad.radiomics import registry; [registry.load(f) for f in registry.FAMILIES.values()]; "
        "heavy = {'torch', 'dask', 'sksurv', 'monai', 'distributed'}; print(sorted(heavy & set(sys.modules)))"
    )
    assert _printed_by(code) == "[]"


def test_reading_a_configuration_loads_no_filter_implementation():
    code = (
        "import sys, ildrad.config, ildrad.radiomics.settings; "
        "print(sorted(m for m in sys.modules if m.startswith('ildrad.radiomics.filters.') "
        "and m.rsplit('.', 1)[1] in {'gabor', 'laws', 'wavelets', 'simoncelli', 'registry'}))"
    )
    assert _printed_by(code) == "[]"
    code = "from ildrad.radiomics.filters import FILTERS; print(sorted(FILTERS))"
    assert _printed_by(code) == "['gabor', 'laws', 'log', 'mean', 'simoncelli', 'wavelet']"
