"""IBSI 1 morphological features (section 3.1): ``morph_volume`` ... ``morph_geary_c``.

The mesh is built by marching cubes (scikit-image, level 0.5) on the morphological mask padded
with empty voxels, vertices in mm. Volume is the sum of the signed tetrahedra of the faces with
the origin; area the sum of the face areas. Voxel-based features use voxel centres in mm.

* PCA axes: ``4 sqrt(lambda)`` of the eigenvalues of the covariance of the morphological voxel
  centres (major >= minor >= least); elongation ``sqrt(l_minor / l_major)``, flatness
  ``sqrt(l_least / l_major)``.
* Maximum 3D diameter: the largest distance between vertices of the mesh's convex hull
  (:func:`ildrad.radiomics._morphology_kernels.mesh_diameters`, shared with the PyRadiomics mode).
* Centre-of-mass shift: distance between the centroid of the morphological voxels and the
  intensity-weighted centroid of the intensity-mask voxels.
* Densities: mesh volume / area over those of the axis-aligned bounding box (AABB), the oriented
  minimum bounding box (OMBB, approximated: the smallest box over rotations of the PCA frame on
  a 15-degree grid refined by 5 degrees), the approximate enclosing ellipsoid (AEE, semi-axes
  ``2 sqrt(lambda)``), the minimum-volume enclosing ellipsoid (MVEE, Khachiyan's algorithm with away steps
  on the hull vertices, tolerance 1e-4) and the convex hull. Ellipsoid surfaces use the Legendre series
  by which IBSI 1 defines them (20 terms; an approximation of the true ellipsoid surface, e.g.
  141 instead of 166 mm^2 for semi-axes 5, 3, 3 mm, but the reference values follow it).
* Integrated intensity: mean intensity of the intensity mask times the mesh volume.
* Moran's I and Geary's C over the intensity-mask voxels with weights ``1 / distance`` (mm)
  between every pair of distinct voxels: exact FFT correlations with the ``1 / distance`` kernel
  over the ROI's bounding box (O(n log n)) up to a box of about 128 x 256 x 256 voxels; beyond
  that (whole lungs) a fixed-seed sample of voxels estimates both ratios, the approximation IBSI
  allows for large ROIs (see :func:`moran_geary`).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import fft, spatial
from skimage import measure

from ildrad.preprocess import ProcessedRoi, bounding_box
from ildrad.radiomics._moments import position_moments
from ildrad.radiomics._moments import ratio as _ratio
from ildrad.radiomics._morphology_kernels import khachiyan, mesh_diameters, pair_sums
from ildrad.radiomics.settings import RadiomicsSettings

__all__ = ["features", "mesh", "moran_geary"]


def features(roi: ProcessedRoi, settings: RadiomicsSettings) -> dict[str, float]:
    """The IBSI morphological features of ``roi``."""
    spacing = np.asarray(roi.spacing)
    first, last = bounding_box(roi.morph)
    box = tuple(slice(a, b) for a, b in zip(first, last))
    morph, intensity, image = roi.morph[box], roi.intensity[box], roi.image[box]
    vertices, faces = mesh(morph, spacing)
    volume, area = _volume_area(vertices, faces)
    n_voxels, morph_centre, covariance = position_moments(morph, spacing)
    out: dict[str, float] = {
        "morph_volume": volume,
        "morph_vol_approx": float(n_voxels * np.prod(spacing)),
        "morph_area_mesh": area,
        "morph_av": area / volume,
        "morph_comp_1": volume / (np.sqrt(np.pi) * area**1.5),
        "morph_comp_2": 36.0 * np.pi * volume**2 / area**3,
        "morph_sph_dispr": area / (36.0 * np.pi * volume**2) ** (1.0 / 3.0),
        "morph_sphericity": (36.0 * np.pi * volume**2) ** (1.0 / 3.0) / area,
        "morph_asphericity": (area**3 / (36.0 * np.pi * volume**2)) ** (1.0 / 3.0) - 1.0,
    }
    weighted = np.where(intensity, image, 0.0)
    total_intensity, weighted_centre, _ = position_moments(weighted, spacing)
    if total_intensity == 0:
        weighted_centre = np.full(3, np.nan)
    out["morph_com"] = float(np.sqrt(np.sum((morph_centre - weighted_centre) ** 2)))
    hull_points = _hull_points(vertices, spacing)
    out["morph_diam"] = mesh_diameters(np.pad(morph, 1), spacing)[3]
    eigen = _eigenvalues(covariance)
    major, minor, least = 4.0 * np.sqrt(eigen)
    out["morph_pca_maj_axis"] = float(major)
    out["morph_pca_min_axis"] = float(minor)
    out["morph_pca_least_axis"] = float(least)
    out["morph_pca_elongation"] = float(np.sqrt(_ratio(eigen[1], eigen[0])))
    out["morph_pca_flatness"] = float(np.sqrt(_ratio(eigen[2], eigen[0])))
    aabb = np.ptp(vertices, axis=0)
    out["morph_vol_dens_aabb"] = _ratio(volume, float(np.prod(aabb)))
    out["morph_area_dens_aabb"] = _ratio(area, _box_area(aabb))
    ombb = _ombb_sides(hull_points, covariance)
    out["morph_vol_dens_ombb"] = _ratio(volume, float(np.prod(ombb)))
    out["morph_area_dens_ombb"] = _ratio(area, _box_area(ombb))
    semi = 2.0 * np.sqrt(eigen)
    out["morph_vol_dens_aee"] = _ratio(volume, _ellipsoid_volume(semi))
    out["morph_area_dens_aee"] = _ratio(area, _ellipsoid_area(semi))
    mvee = _mvee_semi_axes(hull_points)
    out["morph_vol_dens_mvee"] = _ratio(volume, _ellipsoid_volume(mvee))
    out["morph_area_dens_mvee"] = _ratio(area, _ellipsoid_area(mvee))
    hull_volume, hull_area = _hull_volume_area(hull_points)
    out["morph_vol_dens_conv_hull"] = _ratio(volume, hull_volume)
    out["morph_area_dens_conv_hull"] = _ratio(area, hull_area)
    out["morph_integ_int"] = float(total_intensity / np.count_nonzero(intensity) * volume)
    moran, geary = moran_geary(image, intensity, spacing)
    out["morph_moran_i"] = moran
    out["morph_geary_c"] = geary
    return {tag: float(value) for tag, value in out.items()}


def mesh(mask: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marching-cubes mesh (vertices in mm, z/y/x; triangle faces) of a boolean mask."""
    first, last = bounding_box(mask)
    cropped = mask[first[0] : last[0], first[1] : last[1], first[2] : last[2]]
    padded = np.pad(cropped, 1).astype(np.float32)
    vertices, faces, _, _ = measure.marching_cubes(padded, level=0.5, spacing=tuple(spacing))
    return vertices.astype(np.float64), faces


def _volume_area(vertices: np.ndarray, faces: np.ndarray) -> tuple[float, float]:
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    volume = abs(float(np.einsum("ij,ij->", a, np.cross(b, c)))) / 6.0
    area = float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()) / 2.0
    return volume, area


def _row_extremes(points: np.ndarray, keys: np.ndarray, axis: int) -> np.ndarray:
    """Boolean selection of the points that are the lowest or highest along ``axis`` among the
    points sharing their other two (integer) coordinates."""
    other = [a for a in range(3) if a != axis]
    shape = tuple(int(keys[:, a].max()) + 1 for a in other)
    row = np.ravel_multi_index(tuple(keys[:, a] for a in other), shape)
    lowest = np.full(int(np.prod(shape)), np.iinfo(np.int64).max)
    highest = np.full(int(np.prod(shape)), np.iinfo(np.int64).min)
    np.minimum.at(lowest, row, keys[:, axis])
    np.maximum.at(highest, row, keys[:, axis])
    return (keys[:, axis] == lowest[row]) | (keys[:, axis] == highest[row])


def _hull_points(vertices: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Vertices of the convex hull of the mesh.

    A hull vertex lies at an end of every line of mesh vertices through it (else it sits between
    two of them), so only the lowest and highest vertex of each axis-parallel row is kept before
    Qhull runs. Mesh vertices of a binary mask lie on the half-voxel lattice, which gives exact
    integer row keys.
    """
    keys = np.rint(vertices * (2.0 / spacing)).astype(np.int64)
    keys -= keys.min(axis=0)
    points = vertices
    for axis in range(3):
        keep = _row_extremes(points, keys, axis)
        points, keys = points[keep], keys[keep]
    try:
        hull = spatial.ConvexHull(points)
    except spatial.QhullError:  # flat or degenerate mesh: every vertex is on the hull
        return points
    return points[hull.vertices]


def _hull_volume_area(points: np.ndarray) -> tuple[float, float]:
    try:
        hull = spatial.ConvexHull(points)
    except spatial.QhullError:
        return 0.0, 0.0
    return float(hull.volume), float(hull.area)


def _eigenvalues(covariance: np.ndarray) -> np.ndarray:
    """Eigenvalues (descending, clipped at 0) of a 3 x 3 covariance matrix."""
    if not np.all(np.isfinite(covariance)):
        return np.zeros(3)
    return np.clip(np.sort(np.linalg.eigvalsh(covariance))[::-1], 0.0, None)


def _box_area(sides: np.ndarray) -> float:
    a, b, c = sides
    return float(2.0 * (a * b + a * c + b * c))


def _rotation(angles: tuple[float, float, float]) -> np.ndarray:
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _ombb_sides(hull_points: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Sides of an approximate oriented minimum bounding box of ``hull_points``: the smallest box
    over the PCA frame turned about its three axes on a 15-degree grid, refined on a 5-degree
    grid around the best turn (or the axis-aligned box when smaller)."""
    centred = hull_points - hull_points.mean(axis=0)
    frame = np.linalg.eigh(covariance)[1] if np.all(np.isfinite(covariance)) else np.eye(3)
    coarse = np.deg2rad(np.arange(0.0, 90.0, 15.0))
    best_angles, _ = _smallest_box(centred, frame, itertools.product(coarse, coarse, coarse))
    fine = np.deg2rad(np.arange(-10.0, 10.1, 5.0))
    around = (tuple(a + f for a, f in zip(best_angles, offsets)) for offsets in itertools.product(fine, fine, fine))
    sides = _smallest_box(centred, frame, around)[1]
    aligned = np.ptp(centred, axis=0)  # the axis-aligned box is a candidate too
    return aligned if np.prod(aligned) < np.prod(sides) else sides


def _smallest_box(centred: np.ndarray, frame: np.ndarray, turns) -> tuple[tuple[float, ...], np.ndarray]:
    """The turn (Euler angles) giving the smallest bounding box of ``centred``, and its sides."""
    turns = list(turns)
    rotations = np.stack([frame @ _rotation(angles) for angles in turns])
    sides = np.empty((rotations.shape[0], 3))
    for axis in range(3):
        # coordinate ``axis`` of every point in every rotated frame (explicit sums, no BLAS)
        projected = (
            centred[None, :, 0] * rotations[:, 0, axis, None]
            + centred[None, :, 1] * rotations[:, 1, axis, None]
            + centred[None, :, 2] * rotations[:, 2, axis, None]
        )
        sides[:, axis] = projected.max(axis=1) - projected.min(axis=1)
    best = int(np.argmin(np.prod(sides, axis=1)))
    return turns[best], sides[best]


def _ellipsoid_volume(semi: np.ndarray) -> float:
    return float(4.0 * np.pi * np.prod(semi) / 3.0)


def _ellipsoid_area(semi: np.ndarray, terms: int = 20) -> float:
    """Surface of an ellipsoid with semi-axes a >= b >= c (IBSI 1 Legendre series).

    ``A = 4 pi a b sum_nu (alpha beta)^nu / (1 - 4 nu^2) P_nu((alpha^2 + beta^2) / (2 alpha beta))``
    with ``alpha = sqrt(1 - b^2/a^2)``, ``beta = sqrt(1 - c^2/a^2)``; the products
    ``(alpha beta)^nu P_nu(.)`` follow the Legendre recurrence, finite when alpha beta is 0.
    """
    a, b, c = np.sort(np.asarray(semi, dtype=float))[::-1]
    if a <= 0:
        return 0.0
    alpha = np.sqrt(max(1.0 - (b / a) ** 2, 0.0))
    beta = np.sqrt(max(1.0 - (c / a) ** 2, 0.0))
    s = (alpha**2 + beta**2) / 2.0
    product_sq = (alpha * beta) ** 2
    previous, current = 1.0, s  # (alpha beta)^nu P_nu for nu = 0, 1
    total = previous + current / (1.0 - 4.0)
    for nu in range(1, terms):
        previous, current = current, ((2 * nu + 1) * s * current - nu * product_sq * previous) / (nu + 1)
        total += current / (1.0 - 4.0 * (nu + 1) ** 2)
    return float(4.0 * np.pi * a * b * total)


def _mvee_semi_axes(points: np.ndarray, tolerance: float = 1e-4, max_iterations: int = 20000) -> np.ndarray:
    """Semi-axes (descending) of the minimum-volume enclosing ellipsoid of ``points``.

    Khachiyan's algorithm with Wolfe-Atwood away steps (Todd & Yildirim 2007, "On Khachiyan's
    algorithm for the computation of minimum-volume enclosing ellipsoids"), stopped when every
    point is within a factor ``1 + tolerance`` of the ellipsoid (in ``x^T M^-1 x``) and every
    supporting point on it within the same factor. It runs on a working set (the points extreme
    along 128 fixed directions) to which points left outside are added until none is.
    """
    n, d = points.shape
    if n <= d:
        return np.zeros(3)
    directions = _sphere_directions(128)
    projections = sum(points[:, k, None] * directions[None, :, k] for k in range(d))
    working = np.zeros(n, bool)
    working[np.argmax(projections, axis=0)] = True
    working[np.argmin(projections, axis=0)] = True
    while True:
        try:
            centre, shape_inverse = khachiyan(np.ascontiguousarray(points[working]), tolerance, max_iterations)
        except np.linalg.LinAlgError:  # flat point set: no enclosing ellipsoid of volume > 0
            return np.zeros(3)
        offset = points - centre
        inside = sum(shape_inverse[i, j] * offset[:, i] * offset[:, j] for i in range(d) for j in range(d))
        outside = (inside > 1.0 + 10 * tolerance) & ~working
        if not outside.any():
            break
        worst = np.argsort(inside[outside])[::-1][:64]
        working[np.flatnonzero(outside)[worst]] = True
    eigen = np.clip(np.linalg.eigvalsh(shape_inverse), 1e-300, None)
    return np.sort(1.0 / np.sqrt(eigen))[::-1]


def _sphere_directions(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over the sphere (Fibonacci lattice)."""
    index = np.arange(count) + 0.5
    polar = np.arccos(1.0 - 2.0 * index / count)
    azimuth = np.pi * (1.0 + 5.0**0.5) * index
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)


#: Largest FFT grid (elements) for the exact Moran / Geary pair sums; beyond it they are sampled.
MORAN_EXACT_MAX_FFT = 1 << 24
#: Voxels drawn (fixed seed) to estimate Moran's I and Geary's C of larger ROIs.
MORAN_SAMPLE_SIZE = 6000
_MORAN_SEED = 20170117


def moran_geary(image: np.ndarray, mask: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Moran's I and Geary's C of the ``mask`` voxels of ``image`` (weights 1 / distance in mm).

    ``I = N / W * sum_{i!=j} w_ij y_i y_j / sum_i y_i^2`` and
    ``C = (N - 1) / (2 W) * sum_{i!=j} w_ij (x_i - x_j)^2 / sum_i y_i^2`` with ``y = x - mean``,
    ``W = sum_{i!=j} w_ij`` (IBSI 1 3.1.26-27). When the ROI's bounding box fits an FFT grid of
    :data:`MORAN_EXACT_MAX_FFT` elements (tumour-sized ROIs, every IBSI case), the pair sums are
    exact FFT correlations with the weight kernel. Larger ROIs (whole lungs) use the ratio
    estimator on :data:`MORAN_SAMPLE_SIZE` voxels drawn with a fixed seed (so results are
    reproducible): both features are ratios of pair averages, which a uniform sample of voxels
    (hence of pairs) estimates without bias in numerator and denominator; ``y`` keeps the mean of
    the whole ROI. One voxel or constant values give NaN (the features are undefined).
    """
    first, last = bounding_box(mask)
    box = tuple(slice(a, b) for a, b in zip(first, last))
    inside = mask[box]
    values = image[box][inside].astype(np.float64)
    n = values.size
    mean = float(values.mean())
    denominator = float(np.sum((values - mean) ** 2))
    if n < 2 or denominator == 0.0:
        return float("nan"), float("nan")
    shape = np.array(inside.shape)
    fft_shape = [fft.next_fast_len(int(2 * s - 1), real=True) for s in shape]
    if int(np.prod(fft_shape)) <= MORAN_EXACT_MAX_FFT:
        total_weight, cross, geary_sum = _pair_sums_fft(inside, values - mean, spacing, shape, fft_shape)
        norm_n, norm_sq = n, denominator
    else:
        rng = np.random.default_rng(_MORAN_SEED)
        chosen = np.sort(rng.choice(n, size=min(MORAN_SAMPLE_SIZE, n), replace=False))
        points = np.stack(np.unravel_index(np.flatnonzero(inside)[chosen], inside.shape), axis=1) * spacing
        sample = values[chosen] - mean
        total_weight, cross, geary_sum = pair_sums(np.ascontiguousarray(points, dtype=np.float64), sample)
        norm_n, norm_sq = chosen.size, float(np.sum(sample**2))
    moran = norm_n / total_weight * cross / norm_sq
    geary = (norm_n - 1) / (2.0 * total_weight) * geary_sum / norm_sq
    return float(moran), float(geary)


def _pair_sums_fft(
    inside: np.ndarray, centred_values: np.ndarray, spacing: np.ndarray, shape: np.ndarray, fft_shape: list[int]
) -> tuple[float, float, float]:
    """(sum w_ij, sum w_ij y_i y_j, sum w_ij (y_i - y_j)^2) over ordered pairs i != j, exactly."""
    offsets = [np.arange(-(s - 1), s) * h for s, h in zip(shape, spacing)]
    dz, dy, dx = np.meshgrid(*offsets, indexing="ij")
    distance = np.sqrt(dz**2 + dy**2 + dx**2)
    kernel = np.divide(1.0, distance, out=np.zeros_like(distance), where=distance > 0)
    kernel_f = fft.rfftn(kernel, fft_shape)
    centred = np.zeros(inside.shape)
    centred[inside] = centred_values

    def neighbour_sum(field: np.ndarray) -> np.ndarray:
        """sum_j w_ij field_j at the ROI voxels i."""
        full = fft.irfftn(fft.rfftn(field, fft_shape) * kernel_f, fft_shape)
        return full[tuple(slice(s - 1, 2 * s - 1) for s in shape)][inside]

    weights_near = neighbour_sum(inside.astype(np.float64))
    total_weight = float(np.sum(weights_near))
    cross = float(np.sum(centred_values * neighbour_sum(centred)))
    geary_sum = 2.0 * float(np.sum(centred_values**2 * weights_near)) - 2.0 * cross
    return total_weight, cross, geary_sum
