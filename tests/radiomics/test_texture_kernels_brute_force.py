"""The compiled texture kernels (row segments, threads over slabs or directions) count what a
plain brute-force definition counts, on random ROIs full of holes, long runs and array edges,
in 3D and per slice, for neighbourhood distances 1 and 2 and coarseness 0 and 1."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ildrad.radiomics import _texture_kernels as kernels
from ildrad.radiomics._texture_common import DIRECTIONS_2D, DIRECTIONS_3D


def _neighbourhood_offsets(distance: int, in_plane: bool) -> np.ndarray:
    """Offsets (dz, dy, dx) of every voxel within Chebyshev ``distance``, the centre excluded."""
    r = range(-distance, distance + 1)
    rz = range(1) if in_plane else r
    return np.array(
        [(dz, dy, dx) for dz in rz for dy in r for dx in r if (dz, dy, dx) != (0, 0, 0)],
        np.int64,
    )


def _cases() -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(5)
    cases = []
    for shape, n_bins, roi_share in [((5, 6, 7), 3, 0.6), ((4, 9, 40), 2, 0.9), ((1, 5, 5), 4, 1.0),
                                     ((6, 3, 1), 2, 0.7), ((3, 20, 20), 5, 0.35)]:
        levels = rng.integers(1, n_bins + 1, shape).astype(np.int32)
        levels[rng.random(shape) > roi_share] = 0
        cases.append((levels, n_bins))
    constant = np.full((4, 5, 30), 2, np.int32)  # runs longer than the short-run tables
    constant[:, 2, 11] = 0
    cases.append((constant, 2))
    return cases


def _level(levels: np.ndarray, z: int, y: int, x: int) -> int:
    inside = 0 <= z < levels.shape[0] and 0 <= y < levels.shape[1] and 0 <= x < levels.shape[2]
    return int(levels[z, y, x]) if inside else 0


def _voxels(levels: np.ndarray):
    for z, y, x in itertools.product(*map(range, levels.shape)):
        if levels[z, y, x]:
            yield z, y, x, int(levels[z, y, x])


def _slab(z: int, per_slice: bool) -> int:
    return z if per_slice else 0


#: Level arrays as the IBSI path (int32) and the PyRadiomics path (uint8 when Ng < 255) pass them.
LEVEL_TYPES = [np.int32, np.uint8]


@pytest.mark.parametrize("dtype", LEVEL_TYPES)
@pytest.mark.parametrize("case", range(6))
@pytest.mark.parametrize("per_slice", [False, True])
def test_cooccurrences_and_runs_equal_brute_force(case: int, per_slice: bool, dtype) -> None:
    levels, n_bins = _cases()[case]
    levels = levels.astype(dtype)
    offsets = DIRECTIONS_2D if per_slice else DIRECTIONS_3D
    n_slabs = levels.shape[0] if per_slice else 1
    pairs = np.zeros((n_slabs, len(offsets), n_bins, n_bins), np.int64)
    longest = max(levels.shape)
    runs = np.zeros((n_slabs, len(offsets), n_bins, longest), np.int64)
    for z, y, x, g in _voxels(levels):
        for d, (dz, dy, dx) in enumerate(offsets):
            h = _level(levels, z + dz, y + dy, x + dx)
            if h:
                pairs[_slab(z, per_slice), d, g - 1, h - 1] += 1
            if _level(levels, z - dz, y - dy, x - dx) != g:  # a run starts here: walk it
                length = 1
                while _level(levels, z + length * dz, y + length * dy, x + length * dx) == g:
                    length += 1
                runs[_slab(z, per_slice), d, g - 1, length - 1] += 1
    assert np.array_equal(kernels.cooccurrence_counts(levels, offsets, n_bins, per_slice), pairs)
    assert kernels.max_run_length(levels, offsets) == np.flatnonzero(runs.sum(axis=(0, 1, 2)))[-1] + 1
    assert np.array_equal(kernels.run_length_counts(levels, offsets, n_bins, per_slice, longest), runs)


@pytest.mark.parametrize("dtype", LEVEL_TYPES)
@pytest.mark.parametrize("case", range(6))
@pytest.mark.parametrize("per_slice", [False, True])
@pytest.mark.parametrize("distance", [1, 2])
def test_dependences_and_grey_tone_differences_equal_brute_force(case: int, per_slice: bool,
                                                                 distance: int, dtype) -> None:
    levels, n_bins = _cases()[case]
    levels = levels.astype(dtype)
    offsets = _neighbourhood_offsets(distance, per_slice)
    n_slabs = levels.shape[0] if per_slice else 1
    s = np.zeros((n_slabs, n_bins))
    n = np.zeros((n_slabs, n_bins), np.int64)
    dependences = {alpha: np.zeros((n_slabs, n_bins, len(offsets) + 1), np.int64) for alpha in (0, 1)}
    for z, y, x, g in _voxels(levels):
        neighbours = [_level(levels, z + dz, y + dy, x + dx) for dz, dy, dx in offsets]
        present = [h for h in neighbours if h]
        if present:
            s[_slab(z, per_slice), g - 1] += abs(g - np.mean(present))
            n[_slab(z, per_slice), g - 1] += 1
        for alpha, counts in dependences.items():
            counts[_slab(z, per_slice), g - 1, sum(abs(h - g) <= alpha for h in present)] += 1
    got_s, got_n = kernels.grey_tone_differences(levels, distance, n_bins, per_slice)
    assert np.array_equal(got_n, n)
    np.testing.assert_allclose(got_s, s, rtol=1e-12, atol=1e-12)
    for alpha, counts in dependences.items():
        assert np.array_equal(kernels.dependence_counts(levels, distance, n_bins, alpha, per_slice), counts)


def test_row_segments_list_the_runs_of_roi_voxels_of_every_row() -> None:
    levels = np.array([[[0, 1, 1, 0, 2], [0, 0, 0, 0, 0]], [[3, 0, 3, 0, 3], [1, 1, 1, 1, 1]]], np.int32)
    first, start, stop = kernels.row_segments(levels)
    assert first.tolist() == [0, 2, 2, 5, 6]
    assert list(zip(start.tolist(), stop.tolist())) == [(1, 3), (4, 5), (0, 1), (2, 3), (4, 5), (0, 5)]


@pytest.mark.parametrize("slabs", [1, 2, 3])
@pytest.mark.parametrize("in_plane", [False, True])
def test_zones_labelled_in_slabs_equal_scipy_labelling_per_grey_level(monkeypatch, slabs: int,
                                                                      in_plane: bool) -> None:
    """Zones (grey level, size, smallest distance, first slice), whether the volume is labelled
    in one pass or in slabs joined afterwards, equal scipy's labelling of each grey level."""
    from scipy import ndimage

    from ildrad.radiomics import _texture_common

    monkeypatch.setattr(_texture_common, "filter_threads", lambda: slabs)
    monkeypatch.setattr(_texture_common, "_MIN_SLAB_SLICES", 2)
    rng = np.random.default_rng(17)
    levels = rng.integers(0, 3, (9, 8, 7)).astype(np.int32)
    levels[:, 2:5, 2:5] = 2  # a zone crossing every slab boundary
    distance = rng.integers(1, 6, levels.shape).astype(np.int32)
    structure = np.ones((3, 3, 3), bool)
    if in_plane:  # 8-connected within a slice
        structure[[0, 2]] = False
    expected = []
    for g in (1, 2):
        labels, n = ndimage.label(levels == g, structure)
        for zone in range(1, n + 1):
            where = labels == zone
            expected.append((g, int(where.sum()), int(distance[where].min()), int(np.argwhere(where)[0, 0])))
    got = _texture_common.zone_records(levels, in_plane, distance)
    assert sorted(zip(*(column.tolist() for column in got), strict=True)) == sorted(expected)
    assert np.all(np.diff(got[3]) >= 0)  # in the order of the zones' first voxels
