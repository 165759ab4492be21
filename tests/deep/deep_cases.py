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


def _paired_extents(n_scans: int) -> np.ndarray:
    """Disease extents 15-40 % in shuffled order, one per pair of scans (2k, 2k+1)."""
    return np.random.default_rng(7).permutation(np.linspace(0.15, 0.4, n_scans // 2))


def _cohort_arrays(scans) -> dict[str, np.ndarray]:
    """2.5D inputs ``x``, training ``views`` (default stacks), labels ``y`` (odd scans 1) and mean
    lung HU ``lung_mean_hu`` of the phantoms ``scans``."""
    settings = DeepSettings(dims="2.5d")
    views, means = [], []
    for scan in scans:
        lungs = scan.truth["lungs"].array
        views.append(lung_views(scan.ct.array, lungs, scan.ct.grid.spacing, settings))
        means.append(scan.ct.array[lungs > 0].mean())
    views = np.stack(views)
    return {"x": views[:, views.shape[1] // 2], "views": views, "y": np.arange(len(views)) % 2 * 1.0,
            "lung_mean_hu": np.array(means)}


def texture_cohort_arrays(n_scans: int = 96) -> dict[str, np.ndarray]:
    """The texture cohort: scan i is honeycombing (odd i) or ground glass (even i), both classes over
    the same extents (15-40 %, in shuffled order; pairs 2k, 2k+1 share one), so the mean lung density
    varies far more within a class than between the classes."""
    extents = _paired_extents(n_scans)
    return _cohort_arrays(texture_phantom(i % 2, seed=2000 + i, extent=float(extents[i // 2])) for i in range(n_scans))


def disease_cohort_arrays(n_scans: int = 80) -> dict[str, np.ndarray]:
    """The disease cohort: scan i is honeycombing over 15-40 % of the lung (odd i) or a disease-free
    lung (even i): a risk that the disease carries, as in SSc-ILD."""
    extents = _paired_extents(n_scans)
    return _cohort_arrays(texture_phantom(1, seed=2000 + i, extent=float(extents[i // 2])) if i % 2
                          else make_chest_ct(PhantomSpec(size="tiny", ild_extent=0.0), 2000 + i)
                          for i in range(n_scans))
