"""Synthetic texture phantoms shared by the deep-model tests."""

from __future__ import annotations

import numpy as np

from ildrad.models.deep.inputs import lung_views
from ildrad.models.settings import DeepSettings
from ildrad.synth.phantom import PhantomSpec, make_chest_ct
from ildrad.synth.phantom_spec import PatternMix

GGO = PatternMix(ground_glass=1, reticulation=0, honeycombing=0, consolidation=0)
HONEYCOMB = PatternMix(ground_glass=0, reticulation=0, honeycombing=1, consolidation=0)


def texture_phantom(label: int, seed: int, extent: float = 0.3):
    """Ground glass (0) or honeycombing (1) over ``extent`` of the lung, matched mean density."""
    if label:
        spec = PhantomSpec(size="tiny", ild_extent=extent, honeycomb_wall_fraction=0.6, pattern_mix=HONEYCOMB)
    else:
        spec = PhantomSpec(size="tiny", ild_extent=extent, pattern_mix=GGO)
    return make_chest_ct(spec, seed)


def texture_cohort_arrays(n_scans: int = 96) -> dict[str, np.ndarray]:
    """The texture cohort: scan i is honeycombing (odd i) or ground glass (even i), both classes over
    the same extents (15-40 %, in shuffled order; pairs 2k, 2k+1 share one), so the mean lung density
    varies far more within a class than between the classes. 2.5D inputs ``x``, training ``views``
    (default stacks), labels ``y`` and mean lung HU ``lung_mean_hu``."""
    settings = DeepSettings(dims="2.5d")
    extents = np.random.default_rng(7).permutation(np.linspace(0.15, 0.4, n_scans // 2))
    views, ys, means = [], [], []
    for i in range(n_scans):
        scan = texture_phantom(i % 2, seed=2000 + i, extent=float(extents[i // 2]))
        lungs = scan.truth["lungs"].array
        views.append(lung_views(scan.ct.array, lungs, scan.ct.grid.spacing, settings))
        ys.append(i % 2)
        means.append(scan.ct.array[lungs > 0].mean())
    views = np.stack(views)
    return {"x": views[:, views.shape[1] // 2], "views": views, "y": np.array(ys, float),
            "lung_mean_hu": np.array(means)}
