"""Maximum diameters of the mesh (PyRadiomics' Maximum2DDiameter*/Maximum3DDiameter, IBSI's
morph_diam) against brute force over every pair of mesh vertices."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.radiomics._morphology_kernels import mesh_diameters, mesh_vertex_lattice


def _vertices(padded: np.ndarray) -> np.ndarray:
    """Mesh vertices (voxel units): midpoints between neighbours of which one is in the mask."""
    points = []
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        crossing = np.argwhere(padded[tuple(lo)] != padded[tuple(hi)]).astype(np.float64)
        crossing[:, axis] += 0.5
        points.append(crossing)
    return np.concatenate(points)


def _brute_force(padded: np.ndarray, spacing: np.ndarray) -> list[float]:
    vertices = _vertices(padded)
    mm = vertices * spacing
    d2 = ((mm[:, None, :] - mm[None, :, :]) ** 2).sum(axis=-1)
    planar = []
    for axis in range(3):
        same = vertices[:, None, axis] == vertices[None, :, axis]
        planar.append(float(np.sqrt(np.where(same, d2, 0.0).max())))
    return [*planar, float(np.sqrt(d2.max()))]


def test_lattice_holds_every_mesh_vertex_once() -> None:
    rng = np.random.default_rng(5)
    padded = np.pad(rng.random((6, 7, 5)) < 0.4, 1)
    lattice = mesh_vertex_lattice(padded)
    expected = np.rint(_vertices(padded) * 2).astype(np.int64)
    assert sorted(map(tuple, lattice.tolist())) == sorted(map(tuple, expected.tolist()))


@pytest.mark.parametrize("seed", range(12))
def test_diameters_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = rng.integers(1, 10, 3)
    mask = rng.random(shape) < rng.uniform(0.1, 0.9)
    mask.flat[0] = True
    spacing = rng.uniform(0.3, 3.0, 3)
    padded = np.pad(mask, 1)
    np.testing.assert_allclose(mesh_diameters(padded, spacing), _brute_force(padded, spacing), rtol=1e-12)


def test_single_voxel_and_line() -> None:
    one = np.pad(np.ones((1, 1, 1), bool), 1)
    # vertices are the 6 face centres of the voxel: 1 mm apart across, sqrt(0.5) mm in a plane
    slice_d, column_d, row_d, diameter = mesh_diameters(one, np.ones(3))
    assert diameter == pytest.approx(1.0)
    assert slice_d == column_d == row_d == pytest.approx(1.0)
    line = np.pad(np.ones((1, 1, 9), bool), 1)
    assert mesh_diameters(line, np.array([1.0, 1.0, 2.0]))[3] == pytest.approx(18.0)
