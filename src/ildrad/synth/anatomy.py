"""Chest anatomy of the synthetic phantoms as implicit shapes in physical millimetres.

Coordinates are LPS patient coordinates (x toward the patient's left, y toward the back,
z toward the head), centred on the chest: x = 0 midline, y = 0 mid-depth, z = 0 near the
lowest (posterior) costophrenic recess at inspiration. Every shape is a pure function of
coordinate arrays, so the same patient can be sampled on any grid (the three phantom sizes,
the low-dose CT and the PET of a PET/CT study) and the vessel tree can test points.

Tissue classes (:data:`TISSUE_CODES`) are painted in order; the acquisition model
(:mod:`ildrad.synth.acquisition`) turns them into HU.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = [
    "TISSUE_CODES",
    "Anatomy",
    "BodyParameters",
    "body_parameters",
    "build_anatomy",
    "dependency_at",
    "grid_coordinates",
    "lung_label",
    "paint_table",
]

#: Tissue classes painted by :func:`build_anatomy` (0 = air outside the body).
TISSUE_CODES: dict[str, int] = {
    "air": 0,
    "fat": 1,
    "muscle": 2,
    "cortical_bone": 3,
    "marrow": 4,
    "cartilage": 5,
    "blood": 6,
    "myocardium": 7,
    "liver": 8,
    "spleen": 9,
    "bowel_gas": 10,
    "bowel_content": 11,
    "airway_air": 12,
    "airway_wall": 13,
    "oesophagus_wall": 14,
    "oesophagus_air": 15,
    "oesophagus_fluid": 16,
    "lung": 17,
    "lung_vessel": 18,
    "table_shell": 19,
    "table_foam": 20,
    "csf": 21,
    "disc": 22,
    "fiducial": 23,
    "pleural_fluid": 24,
}
T = TISSUE_CODES


@dataclasses.dataclass(frozen=True)
class BodyParameters:
    """Geometry of one patient (mm), drawn once from the seed and shared by every grid."""

    scale: float  # lateral / AP scale of body and thorax
    lung_scale: float
    fat_mm: float  # subcutaneous fat thickness
    diaphragm_shift: float  # + up (expiration)
    dome_right: float  # z of the right dome top
    dome_left: float
    apex_z: float
    heart_centre: tuple[float, float, float]
    heart_axes: tuple[float, float, float]
    aorta_radius: float
    pa_radius: float
    oesophagus_outer: float
    oesophagus_lumen: float
    junction_z: tuple[float, float]  # z range where the lungs touch anteriorly
    prone: bool
    expiratory: bool
    effusion_mm: tuple[float, float] = (0.0, 0.0)  # deepest pleural fluid (mm), right and left

    @property
    def cavity_a(self) -> float:
        """Half-width of the thoracic cavity (inside the ribs) at its widest, mm."""
        return 138.0 * self.scale * (0.95 if self.expiratory else 1.0) * self.lung_scale ** 0.5

    @property
    def cavity_b(self) -> float:
        """Half-depth (AP) of the thoracic cavity, mm."""
        return 100.0 * self.scale * (0.97 if self.expiratory else 1.0)


def body_parameters(
    rng: np.random.Generator,
    *,
    body_scale: float,
    lung_scale: float,
    expiratory: bool,
    prone: bool,
    oesophagus_dilated: bool,
    pa_to_aorta_ratio: float,
    effusion_mm: tuple[float, float] = (0.0, 0.0),
) -> BodyParameters:
    """Draw one patient's geometry (small seeded variation around an average adult)."""
    jitter = rng.uniform(-1.0, 1.0, size=8)
    shift = (35.0 if expiratory else 0.0) + 6.0 * jitter[0]
    aorta_radius = 15.5 + 1.5 * jitter[1]
    lumen = (9.0 + 3.0 * jitter[2]) if oesophagus_dilated else 0.0  # air diameter 12-24 mm
    return BodyParameters(
        scale=body_scale * (1.0 + 0.03 * jitter[3]),
        lung_scale=lung_scale,
        fat_mm=(14.0 + 6.0 * jitter[4]) * body_scale**2,
        diaphragm_shift=shift,
        dome_right=88.0 + shift,
        dome_left=78.0 + shift,
        apex_z=268.0,
        heart_centre=(22.0 + 5.0 * jitter[5], -28.0, 105.0 + 0.5 * shift),
        heart_axes=(68.0 * body_scale, 52.0 * body_scale, 50.0),
        aorta_radius=aorta_radius,
        pa_radius=aorta_radius * pa_to_aorta_ratio,
        oesophagus_outer=(lumen + 3.0) if oesophagus_dilated else 9.0,
        oesophagus_lumen=lumen,
        junction_z=(150.0 + 5.0 * jitter[6], 200.0 + 5.0 * jitter[7]),
        prone=prone,
        expiratory=expiratory,
        effusion_mm=effusion_mm,
    )


# --------------------------------------------------------------------------------------------
# Implicit shapes (broadcastable coordinate arrays in mm, float32)


def _smoothstep(t: Any) -> Any:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _superellipse_level(dx: Any, dy: Any, a: Any, b: Any, p: Any, root: bool = True) -> Any:
    """Homogeneous level function: 1 on the superellipse |dx/a|^p + |dy/b|^p = 1.

    Powers are taken of the coordinates and of the semi-axes separately (each varies along
    fewer axes than the result), so only one full-size power is evaluated.
    """
    dx, dy, a, b, p = (np.asarray(v, np.float32) for v in (dx, dy, a, b, p))
    p_x = np.abs(dx) ** p * (a ** -p)
    p_y = np.abs(dy) ** p * (b ** -p)
    if not root:  # the level raised to the power p: compare with thresholds ** p
        return p_x + p_y
    return (p_x + p_y) ** (np.float32(1.0) / p)


def _body_exponent(y: Any, bp: BodyParameters) -> Any:
    """Superellipse exponent of the skin: flatter (3.6) on the side lying on the table."""
    table_side = (y < 0) if bp.prone else (y > 0)
    return np.where(table_side, 3.6, 2.3).astype(np.float32)


def body_level(x: Any, y: Any, z: Any, bp: BodyParameters, root: bool = True) -> Any:
    """Level function of the skin (< 1 inside the body); flattened on the table side.

    With ``root=False`` the level to the power of :func:`_body_exponent` (cheaper)."""
    a = 153.0 * bp.scale + bp.fat_mm * 0.6  # fits the 360 mm field of view up to body_scale ~1.12
    b_front = 112.0 * bp.scale + bp.fat_mm * 0.5
    b_back = 108.0 * bp.scale + bp.fat_mm * 0.3
    b = np.where(y < 0, b_front, b_back)
    p = _body_exponent(y, bp)
    # shoulders widen the upper chest slightly
    a_z = a * (1.0 + 0.05 * _smoothstep((z - 220.0) / 60.0))
    return _superellipse_level(x, y, a_z, b, p, root)


def _apical_fraction(z: Any, bp: BodyParameters) -> Any:
    """Relative half-width (1 .. 0) of the lung apices at height z (dome from z = 120 mm)."""
    t = np.clip((z - 120.0) / (bp.apex_z - 120.0), 0.0, 1.0)
    return np.sqrt(1.0 - t**1.2)


_CAVITY_EXPONENT = 2.4


def cavity_level(x: Any, y: Any, z: Any, bp: BodyParameters, root: bool = True) -> Any:
    """Level function of the inner surface of the rib cage (< 1 inside the thoracic cavity).

    Toward the thoracic inlet the cavity narrows with the lung apices, so the upper lungs
    still reach the ribs."""
    s = bp.scale * bp.lung_scale**0.5
    a = bp.cavity_a
    b = bp.cavity_b
    dome = _apical_fraction(z, bp)
    a_z = np.minimum(a, (62.0 + 82.0 * dome) * s + 4.0)
    b_z = np.minimum(b, (108.0 * dome + 6.0) * s)
    return _superellipse_level(x, y + 5.0, np.maximum(a_z, 40.0), np.maximum(b_z, 35.0), _CAVITY_EXPONENT, root)


def diaphragm_z(x: Any, y: Any, bp: BodyParameters) -> Any:
    """z of the lung base surface above (x, y): two domes, deep posterior and lateral recesses."""
    side_weight = _smoothstep((x + 20.0) / 40.0)  # 0 right, 1 left
    dome = bp.dome_right * (1 - side_weight) + bp.dome_left * side_weight
    centre_x = np.where(x < 0, -65.0, 65.0) * bp.scale
    q = ((x - centre_x) / (70.0 * bp.scale)) ** 2 + ((y + 30.0) / (130.0 * bp.scale)) ** 2
    # the recesses deepen toward the chest wall and level off (deepest posterolaterally)
    return dome - 66.0 * np.tanh(1.2 * q**1.2)


def spine_region(x: Any, y: Any, z: Any, bp: BodyParameters) -> Any:
    """Vertebral body and posterior elements carved out of the cavity (lungs wrap around)."""
    s = bp.scale
    body = (x**2 + (y - 58.0 * s) ** 2) < (26.0 * s) ** 2
    posterior = (np.abs(x) < 32.0 * s) & (y > 64.0 * s)
    return body | posterior


def mediastinum_region(x: Any, y: Any, z: Any, bp: BodyParameters) -> Any:
    """Soft-tissue block between the lungs (the heart and great vessels are added separately).

    Its half-width shrinks to zero anteriorly over ``junction_z``, so the lungs touch there
    (anterior junction line) with no tissue in between.
    """
    s = bp.scale
    z0, z1 = bp.junction_z
    in_junction = (z > z0) & (z < z1)
    # posterior mediastinum (oesophagus, descending aorta, azygos): wide; anterior: thin
    posterior = _smoothstep((y + 20.0) / 40.0)
    half_ant = np.where(in_junction, 0.0, 9.0 * s)
    half_width = half_ant + (18.0 * s - half_ant) * posterior
    upper = _smoothstep((z - 200.0) / 40.0)  # above the arch: trachea, vessels of the neck
    half_width = half_width + 6.0 * s * upper
    centre = 6.0 * posterior  # the descending aorta pushes the posterior mediastinum left
    return np.abs(x - centre) < half_width


def heart_region(x: Any, y: Any, z: Any, bp: BodyParameters) -> Any:
    """Heart with pericardium: an ellipsoid resting on the diaphragm, shifted to the left."""
    cx, cy, cz = bp.heart_centre
    ax, ay, az = bp.heart_axes
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + ((z - cz) / az) ** 2 < 1.0


def _segment_distance(
    x: Any, y: Any, z: Any, p0: np.ndarray, p1: np.ndarray
) -> tuple[Any, Any]:
    """Distance of points to the segment p0-p1 and the position t in [0, 1] along it."""
    d = p1 - p0
    length2 = float(d @ d)
    t = ((x - p0[0]) * d[0] + (y - p0[1]) * d[1] + (z - p0[2]) * d[2]) / length2
    t = np.clip(t, 0.0, 1.0)
    dist2 = (x - p0[0] - t * d[0]) ** 2 + (y - p0[1] - t * d[1]) ** 2 + (z - p0[2] - t * d[2]) ** 2
    return np.sqrt(dist2), t


def _is_grid_axes(x: Any, y: Any, z: Any) -> bool:
    return (
        np.ndim(x) == 3
        and np.shape(x)[:2] == (1, 1)
        and np.shape(y)[0] == 1
        and np.shape(y)[2] == 1
        and np.shape(z)[1:] == (1, 1)
    )


def _axis_slice(axis: np.ndarray, lo: float, hi: float) -> slice:
    inside = np.nonzero((axis >= lo) & (axis <= hi))[0]
    if inside.size == 0:
        return slice(0, 0)
    return slice(int(inside[0]), int(inside[-1]) + 1)


def _polyline_distance(
    x: Any, y: Any, z: Any, points: list[tuple[float, float, float]], reach: float
) -> Any:
    """Distance (mm) of points to a polyline; on grid axes only within ``reach`` (inf beyond)."""
    pts = [np.asarray(p, float) for p in points]
    if not _is_grid_axes(x, y, z):
        best = None
        for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
            dist, _ = _segment_distance(x, y, z, p0, p1)
            best = dist if best is None else np.minimum(best, dist)
        return best
    shape = (z.shape[0], y.shape[1], x.shape[2])
    best = np.full(shape, np.inf, np.float32)
    xs, ys, zs = x.ravel(), y.ravel(), z.ravel()
    for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
        lo = np.minimum(p0, p1) - reach
        hi = np.maximum(p0, p1) + reach
        box = (_axis_slice(zs, lo[2], hi[2]), _axis_slice(ys, lo[1], hi[1]), _axis_slice(xs, lo[0], hi[0]))
        if any(b.stop <= b.start for b in box):
            continue
        dist, _ = _segment_distance(x[:, :, box[2]], y[:, box[1], :], z[box[0]], p0, p1)
        view = best[box]
        np.minimum(view, dist.astype(np.float32), out=view)
    return best


def _polyline_mask(
    x: Any, y: Any, z: Any, points: list[tuple[float, float, float]], radius: float
) -> Any:
    """Points within ``radius`` of a polyline (grid axes: evaluated only near the polyline)."""
    if not _is_grid_axes(x, y, z):
        return _polyline_distance(x, y, z, points, radius) < radius
    shape = (z.shape[0], y.shape[1], x.shape[2])
    mask = np.zeros(shape, bool)
    xs, ys, zs = x.ravel(), y.ravel(), z.ravel()
    pts = [np.asarray(p, float) for p in points]
    for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
        lo = np.minimum(p0, p1) - radius
        hi = np.maximum(p0, p1) + radius
        box = (_axis_slice(zs, lo[2], hi[2]), _axis_slice(ys, lo[1], hi[1]), _axis_slice(xs, lo[0], hi[0]))
        if any(b.stop <= b.start for b in box):
            continue
        dist, _ = _segment_distance(x[:, :, box[2]], y[:, box[1], :], z[box[0]], p0, p1)
        mask[box] |= dist < radius
    return mask


def vessel_paths(bp: BodyParameters) -> dict[str, list[tuple[float, float, float]]]:
    """Centre lines (mm) of the great vessels, airways and oesophagus."""
    s = bp.scale
    h = bp.heart_centre
    carina = (0.0, -2.0 * s, 190.0)
    return {
        "ascending_aorta": [(h[0] - 20.0, h[1] + 8.0, 130.0), (-8.0 * s, -22.0 * s, 175.0), (-4.0 * s, -18.0 * s, 212.0)],
        "aortic_arch": [(-4.0 * s, -18.0 * s, 212.0), (8.0 * s, 2.0 * s, 226.0), (24.0 * s, 34.0 * s, 215.0)],
        "descending_aorta": [(24.0 * s, 34.0 * s, 215.0), (22.0 * s, 38.0 * s, 120.0), (12.0 * s, 36.0 * s, 20.0 + bp.diaphragm_shift), (6.0 * s, 30.0 * s, -60.0)],
        "pulmonary_trunk": [(h[0] + 2.0, h[1] - 18.0, 138.0), (16.0 * s, -22.0 * s, 160.0), (12.0 * s, -8.0 * s, 176.0)],
        "right_pa": [(12.0 * s, -8.0 * s, 176.0), (-20.0 * s, 2.0 * s, 174.0), (-52.0 * s, 6.0 * s, 168.0)],
        "left_pa": [(12.0 * s, -8.0 * s, 176.0), (36.0 * s, 2.0 * s, 180.0), (52.0 * s, 10.0 * s, 172.0)],
        "svc": [(-32.0 * s, -14.0 * s, 140.0), (-30.0 * s, -12.0 * s, 240.0), (-26.0 * s, -8.0 * s, 320.0)],
        "trachea": [(0.0, -2.0 * s, 330.0), (-2.0 * s, -2.0 * s, 260.0), carina],
        "right_bronchus": [carina, (-30.0 * s, 2.0 * s, 178.0), (-48.0 * s, 10.0 * s, 164.0)],
        "left_bronchus": [carina, (30.0 * s, 2.0 * s, 180.0), (48.0 * s, 12.0 * s, 160.0)],
        "oesophagus": [(2.0 * s, 18.0 * s, 330.0), (8.0 * s, 20.0 * s, 190.0), (12.0 * s, 16.0 * s, 100.0 + bp.diaphragm_shift), (36.0 * s, 0.0, 45.0 + bp.diaphragm_shift)],
    }


def lung_label(
    x: Any, y: Any, z: Any, bp: BodyParameters, *, in_cavity: Any = None, dz: Any = None, spine: Any = None
) -> Any:
    """Lung labels of points (1 right = patient right = negative x, 2 left, 0 not lung).

    Lungs are the thoracic cavity above the diaphragm and below the apical caps, minus the
    spine, mediastinum, heart, great vessels, trachea and oesophagus (with fat margins).
    ``in_cavity``, ``dz`` and ``spine`` may pass the inside of the rib cage, the diaphragm
    height and the spine region already evaluated at the same points.
    """
    s = bp.scale * bp.lung_scale**0.5
    inside = (cavity_level(x, y, z, bp) < 1.0) if in_cavity is None else in_cavity.copy()
    inside &= z > (diaphragm_z(x, y, bp) if dz is None else dz)
    side_right = x < 2.0
    apex_x = np.where(side_right, -62.0 * s, 62.0 * s)
    dome = _apical_fraction(z, bp)
    cap = ((x - apex_x) / (82.0 * s)) ** 2 + ((y + 5.0) / (108.0 * s)) ** 2
    inside &= (cap < dome**2) & (z < bp.apex_z)
    inside &= ~(spine_region(x, y, z, bp) if spine is None else spine)
    inside &= ~mediastinum_region(x, y, z, bp)
    inside &= ~_dilate_region(heart_region, x, y, z, bp, 4.0)
    paths = vessel_paths(bp)
    margins = {
        "ascending_aorta": bp.aorta_radius + 5.0,
        "aortic_arch": bp.aorta_radius + 3.0,
        "descending_aorta": 0.8 * bp.aorta_radius + 3.0,
        "pulmonary_trunk": bp.pa_radius + 4.0,
        "svc": 13.0,
        "trachea": 13.0,
        "oesophagus": bp.oesophagus_outer + 2.0,
    }
    for name, margin in margins.items():
        inside &= ~_polyline_mask(x, y, z, paths[name], margin)
    label = np.where(side_right, 1, 2).astype(np.uint8)
    return np.where(inside, label, 0).astype(np.uint8)


_EFFUSION_HEIGHT_MM = 110.0  # height above the lowest recess where a layering effusion thins out


def _pleural_effusion(
    x: Any, y: Any, z: Any, bp: BodyParameters, lungs: np.ndarray, cavity: Any, dz: Any
) -> np.ndarray:
    """Free pleural fluid layering on the dependent chest wall, taken from the lung it displaces.

    A crescent along the inside of the rib cage: ``bp.effusion_mm`` deep (per lung) at the
    dependent wall and in the posterior (anterior when prone) costophrenic recess, thinning
    towards the non-dependent side (depth x sqrt(sin(angle)) over the dependent half) and upwards
    (linearly over ``_EFFUSION_HEIGHT_MM`` above the recess), as fluid lies on supine CT.
    ``cavity`` is the rib-cage level (1 at the wall, :func:`cavity_level`), ``dz`` the
    diaphragm height.
    """
    ray = np.sqrt(x**2 + (y + 5.0) ** 2)
    wall_depth = ray * (1.0 / np.maximum(cavity, 1e-3) - 1.0)  # mm to the rib cage along the ray
    down = (y + 5.0) / np.maximum(ray, 1e-3)
    if bp.prone:
        down = -down
    recess_z = min(bp.dome_right, bp.dome_left) - 66.0  # the deepest recess (diaphragm_z)
    height = np.clip(1.0 - (z - recess_z) / _EFFUSION_HEIGHT_MM, 0.0, 1.0)
    depth = np.zeros(lungs.shape, np.float32)
    for label, mm in zip((1, 2), bp.effusion_mm, strict=True):
        if mm > 0:
            depth = np.where(lungs == label, np.float32(mm), depth)
    reach = depth * np.sqrt(np.clip(down, 0.0, 1.0)) * height
    # near the base the fluid also fills the recess above the diaphragm
    above_base = z - dz
    return (lungs > 0) & ((wall_depth < reach) | (above_base < 0.5 * reach))


def _dilate_region(fn: Any, x: Any, y: Any, z: Any, bp: BodyParameters, mm: float) -> Any:
    cx, cy, cz = bp.heart_centre
    ax, ay, az = bp.heart_axes
    return ((x - cx) / (ax + mm)) ** 2 + ((y - cy) / (ay + mm)) ** 2 + ((z - cz) / (az + mm)) ** 2 < 1.0


# --------------------------------------------------------------------------------------------
# Grid painting


@dataclasses.dataclass
class Anatomy:
    """Tissue classes and organ masks of one patient on one grid (arrays in (z, y, x))."""

    tissue: np.ndarray  # uint8 TISSUE_CODES
    lungs: np.ndarray  # uint8 1 right, 2 left
    organs: dict[str, np.ndarray]  # boolean / small-int masks: body, heart, aorta, ...
    numbers: dict[str, float]


def grid_coordinates(origin: Any, spacing: Any, direction: Any, shape: Any) -> tuple[Any, Any, Any]:
    """Broadcastable LPS coordinate arrays (x, y, z) of an axis-aligned grid (z, y, x)."""
    d = np.asarray(direction, float)
    # ildrad direction columns follow the array axes (z, y, x): axial grids are anti-diagonal
    axial = np.abs(d[[0, 1, 2], [2, 1, 0]])
    if not np.allclose(axial, 1.0) or not np.isclose(np.abs(d).sum(), 3.0):
        raise ValueError("synthetic phantoms use axial, axis-aligned grids")
    nz, ny, nx = shape
    sz, sy, sx = spacing
    x = origin[0] + d[0, 2] * sx * np.arange(nx, dtype=np.float32)
    y = origin[1] + d[1, 1] * sy * np.arange(ny, dtype=np.float32)
    z = origin[2] + d[2, 0] * sz * np.arange(nz, dtype=np.float32)
    return (
        x.astype(np.float32)[None, None, :],
        y.astype(np.float32)[None, :, None],
        z.astype(np.float32)[:, None, None],
    )


def _tube(
    x: Any, y: Any, z: Any, points: list[tuple[float, float, float]], radius: float
) -> np.ndarray:
    return _polyline_mask(x, y, z, points, radius)


def _ribs(x: Any, y: Any, z: Any, bp: BodyParameters, cav: Any) -> tuple[Any, Any, Any]:
    """Cortical and marrow masks of 11 pairs of ribs curving down from the spine to the front."""
    s = bp.scale
    phi = np.arctan2(-(y + 5.0), np.abs(x) + 1e-3)  # 0 lateral, +pi/2 anterior, -pi/2 posterior
    frac_front = (phi + np.pi / 2) / np.pi  # 0 posterior .. 1 anterior
    z_shift = z + 95.0 * frac_front  # ribs descend anteriorly
    index = np.clip(np.round((272.0 - z_shift) / 24.0), 0, 10)
    z_rib = 272.0 - 24.0 * index - 95.0 * frac_front
    r = np.sqrt(x**2 + (y + 5.0) ** 2)
    radial = r * (1.0 - 1.0 / np.maximum(cav, 1e-3))  # mm outside the cavity along the ray
    d = np.sqrt((radial - 7.0 * s) ** 2 + (z - z_rib) ** 2)
    exists = (frac_front < 0.86 - 0.02 * index) & (frac_front > 0.08)
    cortical = exists & (d < 5.0 * s)
    marrow = exists & (d < 3.2 * s)
    cartilage = (frac_front >= 0.86 - 0.02 * index) & (frac_front < 0.97) & (d < 4.5 * s) & (index < 7)
    return cortical, marrow, cartilage


def build_anatomy(
    x: Any, y: Any, z: Any, bp: BodyParameters, shape: tuple[int, int, int], slab: int = 6
) -> Anatomy:
    """Paint the tissue classes of patient ``bp`` on a grid given by coordinate arrays.

    Slabs of a few slices are painted one after the other so that temporaries stay small
    (every shape is evaluated point by point, so slabs join seamlessly).
    """
    planes = {
        "dz": diaphragm_z(x, y, bp).astype(np.float32),
        "spine": spine_region(x, y, None, bp),
        "phi": np.arctan2(y + 5.0, np.abs(x) + 1e-3).astype(np.float32),
    }
    out = Anatomy(
        tissue=np.zeros(shape, np.uint8),
        lungs=np.zeros(shape, np.uint8),
        organs={name: np.zeros(shape, np.uint8 if name == "oesophagus" else bool) for name in _ORGANS},
        numbers={
            "aorta_diameter_mm": 2.0 * bp.aorta_radius,
            "pa_diameter_mm": 2.0 * bp.pa_radius,
            "oesophagus_air_diameter_mm": 2.0 * bp.oesophagus_lumen,
        },
    )
    for k0 in range(0, shape[0], slab):
        k1 = min(k0 + slab, shape[0])
        view = Anatomy(
            tissue=out.tissue[k0:k1],
            lungs=out.lungs[k0:k1],
            organs={name: array[k0:k1] for name, array in out.organs.items()},
            numbers=out.numbers,
        )
        _paint_slab(x, y, z[k0:k1], bp, view, planes)
    return out


_ORGANS = (
    "body", "heart", "aorta", "pulmonary_artery", "oesophagus", "airways",
    "liver", "spleen", "stomach_gas", "colon_gas", "pleural_effusion",
)


def _paint_slab(
    x: Any, y: Any, z: Any, bp: BodyParameters, out: Anatomy, planes: dict[str, np.ndarray]
) -> None:
    """Paint one slab of slices into the views of ``out`` (tissue, lungs, organs)."""
    s = bp.scale
    tissue = out.tissue
    organs = out.organs
    dz = planes["dz"]

    body_p = body_level(x, y, z, bp, root=False)
    body = body_p < 1.0
    tissue[body] = T["fat"]
    organs["body"][...] = body
    cav_p = cavity_level(x, y, z, bp, root=False)

    def cav_below(level: float) -> np.ndarray:
        return cav_p < np.float32(level**_CAVITY_EXPONENT)

    # muscle layer of the chest wall (pectorals, intercostals, back muscles) inside the fat:
    # deeper than d below the skin  <=>  level < r / (r + d)  (radial depth along the ray)
    exponent = _body_exponent(y, bp)
    r_body = np.sqrt(x**2 + y**2)

    def deeper_than(mm: float) -> np.ndarray:
        return body_p < (r_body / (r_body + mm)) ** exponent

    tissue[deeper_than(bp.fat_mm) & cav_below(1.22)] = T["muscle"]
    _paint_ribs(tissue, x, y, z, bp, cav_p, body)
    # scapulae: curved plates behind the posterolateral ribs in the upper chest
    if z.max() > 175.0 and z.min() < 275.0:
        phi = planes["phi"]
        scap = body & (z > 175.0) & (z < 275.0) & (phi > 0.35) & (phi < 1.05)
        scap &= ~cav_below(1.208) & cav_below(1.252)
        tissue[scap] = T["cortical_bone"]
    # sternum
    if z.max() > 110.0 and z.min() < 250.0:
        sternum = (np.abs(x) < 16.0 * s) & ~cav_below(0.97) & cav_below(1.12) & (y < -40.0) & (z > 110.0) & (z < 250.0)
        tissue[sternum] = T["marrow"]
        tissue[sternum & (cav_below(1.0) | ~cav_below(1.09) | (np.abs(x) > 13.0 * s))] = T["cortical_bone"]

    # thoracic cavity content: mediastinal fat everywhere, lungs and organs painted over
    cavity = cav_below(1.0)
    tissue[cavity & (z > dz)] = T["fat"]
    stomach_gas = colon_gas = None
    if z.min() <= float(dz.max()):
        stomach_gas, colon_gas = _paint_abdomen(
            tissue, x, y, z, bp, body & cav_below(1.05), cavity, cav_below(0.97), dz
        )

    _paint_spine(tissue, x, y, z, bp, body, deeper_than(0.5 * bp.fat_mm))

    # lungs, less a dependent pleural effusion
    lungs = lung_label(x, y, z, bp, in_cavity=cavity, dz=dz, spine=planes["spine"])
    tissue[lungs > 0] = T["lung"]
    if max(bp.effusion_mm) > 0:
        wall_level = cav_p ** np.float32(1.0 / _CAVITY_EXPONENT)
        effusion = _pleural_effusion(x, y, z, bp, lungs, wall_level, dz)
        tissue[effusion] = T["pleural_fluid"]
        lungs[effusion] = 0
        organs["pleural_effusion"][...] = effusion

    # heart and great vessels
    cx, cy, cz = bp.heart_centre
    ax, ay, az = bp.heart_axes
    heart = organs["heart"]
    if z.min() < cz + az and z.max() > cz - az:
        heart[...] = heart_region(x, y, z, bp) & (z > dz)
        chambers = heart & (((x - cx) / (ax - 12.0)) ** 2 + ((y - cy) / (ay - 10.0)) ** 2 + ((z - cz) / (az - 10.0)) ** 2 < 1.0)
        tissue[heart] = T["myocardium"]
        tissue[chambers] = T["blood"]
    paths = vessel_paths(bp)
    aorta = organs["aorta"]
    aorta[...] = (
        _tube(x, y, z, paths["ascending_aorta"], bp.aorta_radius)
        | _tube(x, y, z, paths["aortic_arch"], bp.aorta_radius * 0.9)
        | _tube(x, y, z, paths["descending_aorta"], bp.aorta_radius * 0.8)
    ) & cavity & body
    pa = organs["pulmonary_artery"]
    pa[...] = (
        _tube(x, y, z, paths["pulmonary_trunk"], bp.pa_radius)
        | _tube(x, y, z, paths["right_pa"], 0.7 * bp.pa_radius)
        | _tube(x, y, z, paths["left_pa"], 0.7 * bp.pa_radius)
    ) & body
    tissue[_tube(x, y, z, paths["svc"], 10.0) & body] = T["blood"]
    tissue[pa] = T["blood"]
    tissue[aorta] = T["blood"]

    # oesophagus: wall, air lumen (dilated in SSc) with a dependent fluid level
    oes_d = _polyline_distance(x, y, z, paths["oesophagus"], bp.oesophagus_outer)
    oesophagus = (oes_d < bp.oesophagus_outer) & body
    lumen = oesophagus & (oes_d < max(bp.oesophagus_lumen, 1e-3))
    fluid_side = (y > 20.0 * s + 0.6 * bp.oesophagus_lumen) if not bp.prone else (y < 20.0 * s - 0.6 * bp.oesophagus_lumen)
    tissue[oesophagus] = T["oesophagus_wall"]
    tissue[lumen] = T["oesophagus_air"]
    tissue[lumen & fluid_side] = T["oesophagus_fluid"]
    organs["oesophagus"][...] = np.where(lumen & ~fluid_side, 2, np.where(oesophagus, 1, 0))

    # airways: trachea and main bronchi with walls
    airway = organs["airways"]
    if z.max() > 150.0:
        tr_d = np.minimum(
            _polyline_distance(x, y, z, paths["trachea"], 11.0 * s),
            _polyline_distance(x, y, z, paths["right_bronchus"], 11.0 * s) + 4.0,
        )
        tr_d = np.minimum(tr_d, _polyline_distance(x, y, z, paths["left_bronchus"], 11.0 * s) + 4.0)
        airway[...] = (tr_d < 11.0 * s) & body & (z > 150.0)
        tissue[airway] = T["airway_wall"]
        tissue[airway & (tr_d < 9.0 * s)] = T["airway_air"]
    # abdominal organs as finally painted (the spine, aorta and oesophagus cut into them)
    if stomach_gas is not None:
        organs["liver"][...] = tissue == T["liver"]
        organs["spleen"][...] = tissue == T["spleen"]
        organs["stomach_gas"][...] = stomach_gas & (tissue == T["bowel_gas"])
        organs["colon_gas"][...] = colon_gas & (tissue == T["bowel_gas"])
    lungs[airway | oesophagus | aorta | pa | heart] = 0
    out.lungs[...] = lungs


def _paint_ribs(tissue: np.ndarray, x: Any, y: Any, z: Any, bp: BodyParameters, cav_p: Any, body: Any) -> None:
    """Ribs and costal cartilage, evaluated only in the chest-wall shell around the cavity."""
    k, j, i = np.nonzero(body & (cav_p >= 1.0) & (cav_p < np.float32(1.35**_CAVITY_EXPONENT)))
    if k.size == 0:
        return
    px, py, pz = x.ravel()[i], y.ravel()[j], z.ravel()[k]
    cav = cav_p[k, j, i] ** np.float32(1.0 / _CAVITY_EXPONENT)
    cortical, marrow, cartilage = _ribs(px, py, pz, bp, cav)
    codes = tissue[k, j, i]
    codes[cartilage] = T["cartilage"]
    codes[cortical] = T["cortical_bone"]
    codes[marrow] = T["marrow"]
    tissue[k, j, i] = codes


def _paint_abdomen(
    tissue: np.ndarray,
    x: Any,
    y: Any,
    z: Any,
    bp: BodyParameters,
    trunk: Any,
    cavity: Any,
    inner_cavity: Any,
    dz: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Liver under the right dome; spleen, stomach (gas non-dependent) and colon under the left.

    ``trunk``: inside the body and the (slightly widened) rib cage; ``cavity``: inside the rib
    cage; ``inner_cavity``: 3 % inside it (room for the abdominal wall muscles)."""
    s = bp.scale
    abdomen = trunk & (z <= dz)
    tissue[abdomen] = T["fat"]
    diaphragm = cavity & (z <= dz) & (z > dz - 5.0)
    below = abdomen & (z <= dz - 4.0)
    liver = below & (x < 25.0 * s - 0.4 * (y + 40.0)) & inner_cavity & (z > dz - 190.0)
    spleen = below & (((x - 88.0 * s) / 38.0) ** 2 + ((y - 55.0 * s) / 42.0) ** 2 + ((z - (dz - 45.0)) / 55.0) ** 2 < 1.0)
    stomach = below & ~liver & ~spleen & (((x - 55.0 * s) / 55.0) ** 2 + ((y + 10.0 * s) / 50.0) ** 2 + ((z - (dz - 55.0)) / 65.0) ** 2 < 1.0)
    level = np.float32(-15.0 * s if not bp.prone else 15.0 * s)
    non_dependent = (y < level) if not bp.prone else (y > level)
    stomach_gas = stomach & non_dependent & (z > dz - 45.0)
    colon = below & ~liver & ~spleen & ~stomach & _tube(
        x, y, z, [(60.0 * s, -70.0 * s, 120.0), (95.0 * s, -35.0 * s, 40.0 + bp.diaphragm_shift), (98.0 * s, -30.0 * s, -80.0)], 20.0 * s
    )
    colon_gas = colon & ((y < -30.0 * s) if not bp.prone else (y > -50.0 * s))
    tissue[liver] = T["liver"]
    tissue[spleen] = T["spleen"]
    tissue[stomach] = T["bowel_content"]
    tissue[stomach_gas] = T["bowel_gas"]
    tissue[colon] = T["bowel_content"]
    tissue[colon_gas] = T["bowel_gas"]
    tissue[diaphragm & (tissue != T["bowel_gas"])] = T["muscle"]
    return stomach_gas, colon_gas


def _paint_spine(tissue: np.ndarray, x: Any, y: Any, z: Any, bp: BodyParameters, body: Any, under_fat: Any) -> None:
    """Vertebral bodies with discs, spinal canal, posterior elements and paraspinal muscles."""
    s = bp.scale
    vb = (x**2 + (y - 58.0 * s) ** 2) < (21.0 * s) ** 2
    disc = vb & (np.mod(z + 4.0, 27.0) < 6.0)
    canal = (x**2 + (y - 88.0 * s) ** 2) < (9.0 * s) ** 2
    lamina = ((x**2 + (y - 88.0 * s) ** 2) < (16.0 * s) ** 2) & ~canal
    spinous = (np.abs(x) < 4.0 * s) & (y > 88.0 * s) & (y < 112.0 * s)
    transverse = (np.abs(x) < 42.0 * s) & (np.abs(y - 80.0 * s) < 5.0 * s) & (np.mod(z + 4.0, 27.0) > 12.0)
    vb_cortex = vb & ((x**2 + (y - 58.0 * s) ** 2) > (18.5 * s) ** 2)
    posterior = lamina | spinous | transverse
    paraspinal = body & (np.abs(x) < 60.0 * s) & (y > 70.0 * s) & ~(posterior | canal) & under_fat
    tissue[paraspinal] = T["muscle"]
    tissue[body & vb] = T["marrow"]
    tissue[body & vb_cortex] = T["cortical_bone"]
    tissue[body & disc] = T["disc"]
    tissue[body & posterior] = T["cortical_bone"]
    tissue[body & canal] = T["csf"]


def dependency_at(y: Any, bp: BodyParameters) -> np.ndarray:
    """Gravity dependency of points: 0 at the non-dependent side of the chest, 1 at the table side."""
    t = (np.asarray(y, np.float32) + 100.0) / 200.0
    if bp.prone:
        t = 1.0 - t
    return np.clip(t, 0.0, 1.0).astype(np.float32)


def paint_table(tissue: np.ndarray, x: Any, y: Any, bp: BodyParameters) -> None:
    """Carbon-fibre table (thin dense shells around foam) under the patient's back, or under
    the chest when prone; it runs the whole length of the scan."""
    s = bp.scale
    back = 108.0 * s + bp.fat_mm * 0.3 + 4.0
    front = 112.0 * s + bp.fat_mm * 0.5 + 4.0
    curve = 0.0004 * x**2
    depth = (y - back + curve) if not bp.prone else (-front - y + curve)  # mm below the top
    within = (np.abs(x) < 230.0) & (depth > 0.0) & (depth < 24.0)
    shell = within & ((depth < 3.0) | (depth > 21.0))
    plane = (1, *tissue.shape[1:])
    tissue[:, np.broadcast_to(within, plane)[0]] = T["table_foam"]
    tissue[:, np.broadcast_to(shell, plane)[0]] = T["table_shell"]
