"""Reference regions found on synthetic phantoms land inside the true aorta and liver."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.errors import InputError
from ildrad.image import Mask
from ildrad.pet.reference_regions import find_blood_pool, find_reference_regions
from ildrad.synth.phantom import PhantomSpec, make_chest_ct


@pytest.mark.parametrize(
    "variant",
    [{}, {"contrast": True}, {"position": "prone"}, {"ild_extent": 0.6}, {"coverage": "cut_apex"}],
    ids=["plain", "contrast", "prone", "extent60", "cut_apex"],
)
def test_regions_inside_true_organs(variant) -> None:
    phantom = make_chest_ct(PhantomSpec(size="tiny", **variant), seed=3)
    regions = find_reference_regions(phantom.ct, phantom.truth["lungs"])
    assert regions.problems == {}
    for found, organ in ((regions.blood_pool, "aorta"), (regions.liver, "liver")):
        inside = (found.array > 0) & (phantom.truth[organ].array > 0)
        assert inside.sum() / (found.array > 0).sum() >= 0.9, organ


def test_missing_lung_is_a_clear_error() -> None:
    phantom = make_chest_ct(PhantomSpec(size="tiny"), seed=1)
    only_right = Mask(np.where(phantom.truth["lungs"].array == 1, 1, 0).astype(np.uint8), phantom.ct.grid)
    with pytest.raises(InputError, match="both lungs"):
        find_blood_pool(phantom.ct, only_right)
