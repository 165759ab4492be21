"""Synthetic chest CT phantoms (cached per session) and segmentation scores for the lung tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

_CACHE: dict[tuple, object] = {}


def phantom(seed: int = 7, **spec):
    """A synthetic CT of ``spec`` (seed 7 unless given), generated once per session."""
    synth = pytest.importorskip("ildrad.synth.phantom", reason="synthetic phantom generator not available")
    from ildrad.synth.phantom_spec import PhantomSpec

    key = (seed, repr(sorted(spec.items())))  # values may be dicts (pattern_mix)
    if key not in _CACHE:
        _CACHE[key] = synth.make_chest_ct(PhantomSpec(**spec), seed=seed)
    return _CACHE[key]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


def surface_distance_95(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """Symmetric 95th percentile of surface-to-surface distances (mm), boundary voxels."""
    surface_a = a & ~ndimage.binary_erosion(a)
    surface_b = b & ~ndimage.binary_erosion(b)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)[surface_a]
    to_a = ndimage.distance_transform_edt(~surface_a, sampling=spacing)[surface_b]
    return float(np.percentile(np.concatenate([to_b, to_a]), 95))
