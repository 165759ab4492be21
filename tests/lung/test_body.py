"""Tissue masks of the coarse grid (ildrad.lung.body) on constructed volumes."""

from __future__ import annotations

import numpy as np
import pytest

from ildrad.lung.body import body_mask, pleural_fluid_mask

_SPACING = (2.0, 2.8, 2.8)  # the coarse grid of a 1.4 mm CT


def _chest_wall_row(layer_hu: float, layer_voxels: int) -> tuple[np.ndarray, slice]:
    """Columns: aerated lung (-850 HU), a layer at ``layer_hu``, chest-wall muscle (50), fat."""
    hu = np.full((16, 24, 48), -100.0, dtype=np.float32)
    layer = slice(16, 16 + layer_voxels)
    hu[:, :, :16] = -850.0
    hu[:, :, layer] = layer_hu
    hu[:, :, layer.stop: layer.stop + 4] = 50.0
    hu += np.random.default_rng(5).normal(0.0, 10.0, hu.shape).astype(np.float32)
    return hu, layer


def test_a_layer_of_pleural_fluid_is_found_up_to_the_lung() -> None:
    hu, layer = _chest_wall_row(10.0, 7)
    fluid = pleural_fluid_mask(hu, np.ones(hu.shape, bool), _SPACING)
    inner = fluid[2:-2, 2:-2]  # away from the volume's own border
    assert inner[:, :, layer].mean() >= 0.98
    assert not inner[:, :, :14].any(), "aerated lung taken as fluid"
    assert not inner[:, :, layer.stop + 1:].any(), "muscle or fat taken as fluid"


def test_consolidation_and_thin_blends_are_not_fluid() -> None:
    """Consolidation at muscle density is tissue; the rim where lung meets it passes through the
    fluid range after smoothing but is one voxel thick, as is a thin water-density line."""
    body = np.ones((16, 24, 48), bool)
    for layer_hu, voxels in ((50.0, 7), (10.0, 1)):
        hu, _ = _chest_wall_row(layer_hu, voxels)
        assert not pleural_fluid_mask(hu, body, _SPACING).any(), (layer_hu, voxels)
    # noise in consolidation: an island of 3 x 3 x 3 voxels in the fluid range is not a body of
    # fluid (it has no core thick enough)
    hu, _ = _chest_wall_row(50.0, 7)
    hu[6:9, 10:13, 18:21] = 10.0
    assert not pleural_fluid_mask(hu, body, _SPACING).any()


def test_fluid_outside_the_body_is_not_reported() -> None:
    hu, layer = _chest_wall_row(10.0, 7)
    body = np.ones(hu.shape, bool)
    body[:, :12] = False
    fluid = pleural_fluid_mask(hu, body, _SPACING)
    assert not fluid[:, :12].any()
    assert fluid[2:-2, 14:-2][:, :, layer].mean() >= 0.98


def _chest_on_a_table() -> np.ndarray:
    """Coarse slices of a chest lying on a curved table: chest wall (40 HU) round two lungs
    (-850 and, emphysematous, -960 HU), a 17 mm deep air tube (the trachea), and a table shell
    (300 HU) one voxel below the flat back, touching it at both ends: the air between them is
    enclosed in every slice."""
    hu = np.full((8, 64, 64), -1000.0, dtype=np.float32)
    hu[:, 10:41, 10:55] = 40.0
    hu[:, 16:35, 16:31] = -850.0
    hu[:, 16:35, 34:49] = -960.0
    hu[:, 16:19, 31:34] = -1000.0  # trachea-like tube between the lungs, 6 voxels under the skin
    hu[:, 41, 12:53] = -1000.0  # the pocket
    hu[:, 41, 10:12] = hu[:, 41, 53:55] = 40.0
    hu[:, 42, 6:59] = 300.0  # the table shell, wider than the patient
    return hu


def test_air_between_the_patient_and_the_table_is_outside_the_body() -> None:
    """The pocket is enclosed by skin and table, so only its depth tells it from air inside the
    patient: it lies one shell (2.8 mm) from outside air, the lungs and the tube 17 mm."""
    hu = _chest_on_a_table()
    body = body_mask(hu, np.zeros(hu.shape, bool), _SPACING)
    assert not body[:, 41, 12:53].any(), "the air pocket under the patient is in the body"
    assert body[:, 16:35, 16:49].all(), "lungs (one emphysematous) or the tube left the body"
    assert body[:, 10:41, 10:55].all()


def test_a_lung_behind_a_thin_chest_wall_stays_in_the_body() -> None:
    """The pocket rule's limit: air within 6 mm of outside is outside. On the 2.8 mm grid that
    is two voxels, so a lung behind a chest wall of two voxels (5.6 mm, thinner than an adult's)
    stays in the body; behind one voxel it would not."""
    hu = _chest_on_a_table()
    hu[:, 10:12, 16:31] = 40.0
    hu[:, 12:35, 16:31] = -850.0  # the right lung now reaches 2 voxels under the skin
    body = body_mask(hu, np.zeros(hu.shape, bool), _SPACING)
    assert body[:, 12:35, 16:31].all(), "a lung 5.6 mm under the skin left the body"


def _chest_in_a_narrow_field_of_view(foam_hu: float) -> tuple[np.ndarray, np.ndarray]:
    """Coarse slices of a chest (40 HU) with two lungs (-850 HU) on a table whose foam core
    (``foam_hu``) lies between two shells (300 HU), blanked as padding outside a circle that
    cuts the chest wall, both lungs and the table."""
    hu = np.full((8, 64, 64), -1000.0, dtype=np.float32)
    hu[:, 10:50, 6:58] = 40.0
    hu[:, 16:44, 10:29] = -850.0
    hu[:, 16:44, 35:54] = -850.0
    hu[:, 51, 0:64] = hu[:, 56, 0:64] = 300.0
    hu[:, 52:56, 0:64] = foam_hu
    rows, cols = np.mgrid[:64, :64]
    outside_fov = (rows - 32) ** 2 + (cols - 32) ** 2 > 24**2
    hu[:, outside_fov] = -2048.0
    return hu, np.broadcast_to(outside_fov, hu.shape).copy()


@pytest.mark.parametrize("foam_hu", [-870.0, -960.0])
def test_lungs_cut_by_the_field_of_view_stay_and_the_table_foam_does_not(foam_hu: float) -> None:
    """Where the field of view cuts a lung, the lung reaches the padding: it stays in the body
    (it was outside with the padding). The table's foam core reaches it too and may read like
    lung, but it lies on the table's shells, not on the patient: it stays out."""
    hu, padding = _chest_in_a_narrow_field_of_view(foam_hu)
    body = body_mask(hu, padding, _SPACING)
    for columns in (slice(10, 29), slice(35, 54)):
        lung = np.zeros(hu.shape, bool)
        lung[:, 16:44, columns] = True
        assert body[lung & ~padding].all(), "a lung cut by the field of view left the body"
    assert not body[padding].any()
    assert not body[:, 52:56].any(), "the table's foam core is in the body"
