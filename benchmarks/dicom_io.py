"""DICOM I/O speed against peers, side by side: prints times, ratios and agreement.

* CT series reading: ``ildrad.io.dicom_series.read_ct_series`` vs SimpleITK ``ImageSeriesReader``
  on a synthetic 512 x 512 series written by ``ildrad.io.dicom_write``.
* RTSTRUCT rasterisation (voxel-centre rule): ``ildrad.io.rtstruct.fill_polygons`` vs matplotlib
  ``Path.contains_points`` (XOR over contours) on random star-shaped contours.

Run: ``.venv/bin/python benchmarks/dicom_io.py [--slices 120]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import SimpleITK as sitk
from matplotlib.path import Path as MplPath

from ildrad.image import Grid, Image
from ildrad.io.dicom_series import read_ct_series
from ildrad.io.dicom_write import write_dicom_series
from ildrad.io.rtstruct import fill_polygons


def bench_series(slices: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(-1024, 1500, size=(slices, 512, 512)).astype(np.float32)
    grid = Grid(
        values.shape, (1.0, 0.7, 0.7), (-180.0, -180.0, -300.0), [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    )
    with tempfile.TemporaryDirectory() as folder:
        write_dicom_series(Image(values, grid, "CT", "HU"), folder)
        start = time.perf_counter()
        ours = read_ct_series(folder)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
        theirs = sitk.GetArrayFromImage(reader.Execute())
        theirs_s = time.perf_counter() - start
    print(
        f"series {slices} x 512 x 512: ildrad {ours_s:.2f} s, SimpleITK {theirs_s:.2f} s, "
        f"ratio {ours_s / theirs_s:.2f}; max |difference| {np.abs(ours.array - theirs).max():g} HU"
    )


def bench_rasterise(slices: int) -> None:
    rng = np.random.default_rng(1)
    polygons = []
    for _ in range(slices):
        per_slice = []
        for _ in range(4):
            angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
            radius = rng.uniform(30, 110) + 6 * np.sin(7 * angles)
            centre = 256 + rng.uniform(-100, 100, size=2)
            per_slice.append(
                np.column_stack(
                    [centre[0] + radius * np.sin(angles), centre[1] + radius * np.cos(angles)]
                )
            )
        polygons.append(per_slice)
    start = time.perf_counter()
    ours = [fill_polygons(per_slice, (512, 512)) for per_slice in polygons]
    ours_s = time.perf_counter() - start
    yy, xx = np.mgrid[0:512, 0:512]
    centres = np.column_stack([xx.ravel(), yy.ravel()]).astype(float)
    peer_slices = max(slices // 10, 1)
    start = time.perf_counter()
    theirs = []
    for per_slice in polygons[:peer_slices]:
        inside = np.zeros(512 * 512, dtype=bool)
        for polygon in per_slice:
            inside ^= MplPath(polygon[:, ::-1]).contains_points(centres)
        theirs.append(inside.reshape(512, 512))
    theirs_s = (time.perf_counter() - start) * slices / peer_slices
    differ = sum(int((a != b).sum()) for a, b in zip(ours, theirs, strict=False))
    print(
        f"rasterise {slices} slices x 4 contours x 400 points on 512 x 512: ildrad {ours_s:.2f} s, "
        f"matplotlib {theirs_s:.1f} s (extrapolated from {peer_slices} slices), "
        f"ratio {ours_s / theirs_s:.3f}; "
        f"{differ} differing voxels on the compared slices"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=120)
    args = parser.parse_args()
    bench_series(args.slices)
    bench_rasterise(args.slices)


if __name__ == "__main__":
    main()
