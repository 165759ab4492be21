"""Synthetic texture phantoms shared by the deep-model tests."""

from __future__ import annotations

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
