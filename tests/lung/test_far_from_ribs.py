"""The lung-edge-to-rib gap that flags a mask which lost dense lung (``lung_far_from_ribs``)."""

from __future__ import annotations

import numpy as np
from lung_cases import dice, phantom

from ildrad.lung.periphery import far_from_ribs_share

_SPACING = (2.0, 2.0, 2.0)


def _disk_lung_in_rib_ring(edge_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (lung 1) and bone of 30 slices: the lung's edge at ``edge_mm(angle)`` from its
    centre, a rib ring 75-80 mm from it."""
    n = 201
    yy, xx = np.mgrid[:n, :n]
    dy, dx = (yy - 100) * _SPACING[1], (xx - 100) * _SPACING[2]
    radius, angle = np.hypot(dy, dx), np.arctan2(dy, dx) % (2 * np.pi)
    lung = radius <= edge_mm(angle)
    ring = (radius >= 75.0) & (radius <= 80.0)
    labels = np.repeat(lung[None].astype(np.uint8), 30, axis=0)
    return labels, np.repeat(ring[None], 30, axis=0)


def _solid_lower_lobes():
    """The tiny phantom of the extent benchmark's seed 800 spec: ILD 60 % of the lung, over half
    of it consolidation (lower lobes solid at chest-wall density)."""
    mix = dict(ground_glass=0.0, reticulation=0.0, honeycombing=0.45, consolidation=0.55)
    return phantom(seed=800, size="tiny", ild_extent=0.6, pattern_mix=mix, lung_scale=1.08,
                   body_scale=0.96, noise_hu=32.0, slice_thickness_mm=5.0)


def _share(labels: np.ndarray, bone: np.ndarray) -> float:
    shape = labels.shape
    hu = np.full(shape, -850.0, dtype=np.float32)
    shares = far_from_ribs_share(labels, hu, bone, np.ones(shape, bool), _SPACING, {}, True)
    assert np.isnan(shares[2])  # no left lung: nothing measured
    return shares[1]


def test_the_share_of_rays_whose_lung_edge_lies_far_inside_the_ribs() -> None:
    """Hand-computed cases: an edge 5 mm inside the ribs on every ray (the normal wall), 20 mm on
    every ray, and 20 mm on two opposite 60-degree sectors, one third of the rays (lost bands of
    dense lung; opposite, so that the lung's centroid, where the rays start, stays put)."""
    assert _share(*_disk_lung_in_rib_ring(lambda a: np.full(a.shape, 70.0))) == 0.0
    assert _share(*_disk_lung_in_rib_ring(lambda a: np.full(a.shape, 55.0))) == 1.0
    third = _share(*_disk_lung_in_rib_ring(lambda a: np.where(a % np.pi < np.pi / 3, 55.0, 70.0)))
    assert abs(third - 1 / 3) < 0.03, third


def test_the_small_tip_of_a_lung_base_is_not_measured() -> None:
    """From a section of 15 mm radius (5 % of the largest) every ray is 60 mm from the ribs; such
    tips of a healthy base (a low-dose CT of the demo cohort read 0.21 with them, 0.01 without)
    are left out, sections of a tenth of the largest and more are measured."""
    labels, bone = _disk_lung_in_rib_ring(lambda a: np.full(a.shape, 70.0))
    tip, _ = _disk_lung_in_rib_ring(lambda a: np.full(a.shape, 15.0))
    labels[-3:] = tip[-3:]  # superior first: the last slices are the base
    assert _share(labels, bone) == 0.0
    section, _ = _disk_lung_in_rib_ring(lambda a: np.full(a.shape, 25.0))  # 13 % of the largest
    labels[-3:] = section[-3:]
    assert abs(_share(labels, bone) - 3 / 20) < 0.01  # 3 of the 20 measured slices are far


def test_a_lost_solid_lower_lobe_raises_the_flag_and_a_good_mask_does_not() -> None:
    """Lower lobes solid with consolidation at chest-wall density (ILD 60 % of the lung, over half
    of it consolidation) are lost by the segmentation (Dice about 0.8): 43 % of the rib-facing
    rays end 15 mm or more inside the ribs, against 10 % or less on good masks (issue 5)."""
    from ildrad.lung.quality import quality_report
    from ildrad.lung.segmentation import segment_lungs

    case = _solid_lower_lobes()
    seg = segment_lungs(case.ct)
    truth = case.truth["lungs"].array
    assert dice(seg.lungs.array > 0, truth > 0) < 0.9  # the loss the flag must report
    report = quality_report(case.ct, seg.lungs, seg.body, seg.info)
    assert report["values"]["lung_far_from_ribs_fraction"][0] > 0.3
    assert report["flags"]["lung_far_from_ribs"]
    for spec in (dict(ild_extent=0.0), dict(ild_extent=0.4, kernel="sharp")):
        good = phantom(size="tiny", **spec)
        seg = segment_lungs(good.ct)
        report = quality_report(good.ct, seg.lungs, seg.body, seg.info)
        assert report["values"]["lung_far_from_ribs_fraction"][0] < 0.1, spec
        assert not report["flags"]["lung_far_from_ribs"]


def test_an_imported_lung_mask_is_judged_by_its_own_gaps() -> None:
    """With a lung override the value is measured on the override, not on the automatic mask:
    the phantom's true lungs reach the ribs (flag down) where the automatic mask lost the solid
    lower lobes; the automatic mask given back as an override reads what segment_lungs read."""
    from ildrad.image import Mask
    from ildrad.lung.analysis import analyse_lung_ct
    from ildrad.lung.segmentation import far_from_ribs_fraction, segment_lungs

    case = _solid_lower_lobes()
    truth = case.truth["lungs"]
    analysis = analyse_lung_ct(case.ct, lungs_override=Mask(truth.array, case.ct.grid, truth.labels))
    assert analysis.segmentation.info["far_from_ribs_fraction"] < 0.1
    assert analysis.quality["values"]["lung_far_from_ribs_fraction"][0] < 0.1
    assert not analysis.quality["flags"]["lung_far_from_ribs"]
    seg = segment_lungs(case.ct)
    again = far_from_ribs_fraction(case.ct, seg.lungs)
    assert again > 0.3
    assert abs(again - seg.info["far_from_ribs_fraction"]) < 0.05, (again, seg.info)


def test_the_qc_picture_title_names_the_raised_flags() -> None:
    from ildrad.lung.analysis import qc_title

    title = qc_title({"lung_far_from_ribs": True, "prone_suspected": False, "truncated_apex": True})
    assert title.endswith("flags: lung_far_from_ribs, truncated_apex"), title
    assert qc_title({"prone_suspected": False}).endswith("no quality flag")
