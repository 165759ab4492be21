"""The trachea seed on constructed chests: a long tube wins over a short air space in front of it."""

from __future__ import annotations

import numpy as np

from ildrad.lung.airways import find_trachea_seed

_SPACING = (2.0, 2.0, 2.0)  # mm (z, y, x); slice 0 is the most superior


def _chest(
    trachea_mm: float, oesophagus_mm: float, space_mm: float | None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A soft-tissue cylinder (40 HU) holding air tubes from the top slice down: the trachea
    (radius 8 mm, 20 mm in front of the body's centre), an air-filled oesophagus (radius 6 mm,
    behind the trachea) and optionally a round air space (radius 8 mm, ``space_mm`` tall) 20 mm
    right of the midline and 30 mm in front of the trachea, like an apical bulla."""
    nz, ny, nx = 60, 100, 100
    z, y, x = np.meshgrid(*(np.arange(n) * s for n, s in zip((nz, ny, nx), _SPACING)), indexing="ij")
    body = (y - 100.0) ** 2 + (x - 100.0) ** 2 < 90.0**2
    hu = np.where(body, 40.0, -1000.0)
    tubes = {
        "trachea": ((y - 80.0) ** 2 + (x - 100.0) ** 2 < 8.0**2) & (z < trachea_mm),
        "oesophagus": ((y - 104.0) ** 2 + (x - 98.0) ** 2 < 6.0**2) & (z < oesophagus_mm),
    }
    if space_mm is not None:
        tubes["space"] = ((y - 50.0) ** 2 + (x - 120.0) ** 2 < 8.0**2) & (z < space_mm)
    for tube in tubes.values():
        hu[tube] = -1000.0
    return hu.astype(np.float32), body, tubes


def _seed_in(seed: np.ndarray, tube: np.ndarray) -> float:
    return float(tube[seed].mean())


def test_the_trachea_is_chosen_over_a_short_air_space_in_front_of_it() -> None:
    # The space is the most anterior round air tube near the midline in the top slices; its gas
    # ends 20 mm down while the trachea runs 80 mm (the old rule, most anterior, took the space).
    hu, body, tubes = _chest(trachea_mm=80.0, oesophagus_mm=120.0, space_mm=20.0)
    seed = find_trachea_seed(hu, body, _SPACING, superior_first=True)
    assert seed is not None and seed.sum() > 0
    assert _seed_in(seed, tubes["trachea"]) == 1.0


def test_the_anterior_tube_is_still_chosen_over_a_longer_oesophagus() -> None:
    hu, body, tubes = _chest(trachea_mm=80.0, oesophagus_mm=120.0, space_mm=None)
    seed = find_trachea_seed(hu, body, _SPACING, superior_first=True)
    assert seed is not None and _seed_in(seed, tubes["trachea"]) == 1.0
    # the same chest stored feet first: slice 0 is the most inferior
    flipped = find_trachea_seed(hu[::-1].copy(), body[::-1].copy(), _SPACING, superior_first=False)
    assert flipped is not None and _seed_in(flipped, tubes["trachea"][::-1]) == 1.0


def test_when_no_tube_runs_30_mm_the_most_anterior_is_taken() -> None:
    # A scan cut just above the carina: every tube is short, so the length rule does not apply.
    hu, body, tubes = _chest(trachea_mm=20.0, oesophagus_mm=20.0, space_mm=None)
    seed = find_trachea_seed(hu, body, _SPACING, superior_first=True)
    assert seed is not None and _seed_in(seed, tubes["trachea"]) == 1.0
