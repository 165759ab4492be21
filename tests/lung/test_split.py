"""Right / left split (ildrad.lung.split) on a constructed coarse mask with a known answer.

Two box lungs 40 mm apart (2 mm voxels, array x along the patient's left) touch through a thin
anterior junction at the top; lower down a thin sheet of the left lung (a lingula in front of
the heart) reaches towards the midline and ends 4 mm from the right lung, attached to the left
lung only. Every voxel's expected side is drawn by construction.
"""

from __future__ import annotations

import numpy as np

from ildrad.image import Grid
from ildrad.lung.split import LEFT, RIGHT, split_left_right


def _two_lungs():
    shape = (40, 60, 80)
    right = np.zeros(shape, bool)
    left = np.zeros(shape, bool)
    right[5:35, 10:50, 5:30] = True
    left[5:35, 10:50, 50:75] = True
    junction = np.zeros(shape, bool)
    junction[28:35, 10:14, 30:50] = True  # anterior junction line: the lungs touch
    lingula = np.zeros(shape, bool)
    lingula[5:15, 10:13, 32:50] = True  # thin sheet of the left lung towards the midline
    return right, left | lingula, junction, lingula


def test_a_thin_part_of_one_lung_goes_to_the_lung_it_is_attached_to() -> None:
    right, left, junction, lingula = _two_lungs()
    grid = Grid(right.shape, (2.0, 2.0, 2.0))
    labels = split_left_right(right | left | junction, grid, midline_x_mm=76.0)
    assert (labels[right] == RIGHT).all()
    wrong = float((labels[lingula] == RIGHT).mean())
    assert (labels[left] == LEFT).all(), f"{wrong:.2f} of the lingula labelled right"
    shared = set(np.unique(labels[junction]).tolist())
    assert shared == {RIGHT, LEFT}, "the junction is shared between the lungs"
