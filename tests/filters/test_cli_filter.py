"""``ildrad filter`` on a synthetic image: geometry kept, settings errors are exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ildrad.cli import main
from ildrad.image import Image
from ildrad.io.volume_files import read_image, write_image


def _image(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    image = Image.from_array(
        rng.normal(size=(6, 9, 11)),
        spacing=(3.0, 0.8, 0.9),
        origin=(-10.0, 25.0, 7.5),
        direction=((0, 1, 0), (1, 0, 0), (0, 0, -1)),
    )
    return write_image(image, tmp_path / "ct.nii.gz")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "filter.yaml"
    path.write_text(text)
    return path


def test_map_keeps_geometry_and_values(tmp_path: Path) -> None:
    source = _image(tmp_path)
    config = _config(
        tmp_path,
        "radiomics:\n  image_types:\n"
        "    - {filter: mean, support_vox: 3, boundary: nearest, dims: 2d}\n",
    )
    out = tmp_path / "map.nrrd"
    assert main(["filter", str(source), "--config", str(config), "--out", str(out)]) == 0
    original, written = read_image(source), read_image(out)
    assert written.grid.same_as(original.grid)
    # Hand check of one voxel: 3x3 in-plane mean with the edge repeated at the corner (0, 0).
    padded = np.pad(original.array[0], 1, mode="edge")
    assert written.array[0, 0, 0] == np.float32(padded[:3, :3].mean())


def test_several_image_types_need_an_index(tmp_path: Path, capsys) -> None:
    source = _image(tmp_path)
    config = _config(
        tmp_path,
        "radiomics:\n  image_types:\n"
        "    - {filter: mean, support_vox: 3}\n    - {filter: log, sigma_mm: 2.0}\n",
    )
    out = tmp_path / "map.nii.gz"
    assert main(["filter", str(source), "--config", str(config), "--out", str(out)]) == 2
    assert "--index" in capsys.readouterr().err
    assert (
        main(["filter", str(source), "--config", str(config), "--out", str(out), "--index", "1"])
        == 0
    )
    assert (
        main(["filter", str(source), "--config", str(config), "--out", str(out), "--index", "2"])
        == 2
    )


def test_unknown_filter_key_is_bad_input(tmp_path: Path, capsys) -> None:
    source = _image(tmp_path)
    config = _config(
        tmp_path, "radiomics:\n  image_types:\n    - {filter: log, sigma_mm: 2.0, sigma_px: 3}\n"
    )
    assert (
        main(["filter", str(source), "--config", str(config), "--out", str(tmp_path / "m.nii.gz")])
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown key" in err
    assert "sigma_px" in err
    assert str(config) in err


def test_missing_image_types_is_bad_input(tmp_path: Path, capsys) -> None:
    source = _image(tmp_path)
    config = _config(tmp_path, "run: {}\n")
    assert (
        main(["filter", str(source), "--config", str(config), "--out", str(tmp_path / "m.nii.gz")])
        == 2
    )
    assert "radiomics" in capsys.readouterr().err
