"""Quantitative CT (densitometry) of the lungs per region: volume, moments, percentiles, HAA, LAA.

Definitions (``../shared/DOMAIN.md`` section 1), over every voxel of the region (no HU window):

* ``volume_ml``: voxel count x voxel volume / 1000.
* ``mld_hu``: mean lung density, mean HU.
* ``sd_hu``: population standard deviation (1/N), as IBSI and PyRadiomics.
* ``skewness``: m3 / m2^1.5 (m_k central moments, 1/N).
* ``kurtosis_excess``: m4 / m2^2 - 3 (IBSI's "kurtosis"); ``kurtosis_plain``: m4 / m2^2
  (PyRadiomics' "Kurtosis").
* ``p10_hu``, ``p40_hu``, ``p90_hu``: percentiles with linear interpolation between order
  statistics (position (N - 1) p, numpy's default; Hyndman & Fan type 7).
* ``haa_fraction``: share of voxels with low <= HU <= high (default -600..-250 HU, MESA;
  Podolanczuk et al. 2016 ERJ).
* ``laa_fraction``: share of voxels with HU < threshold (default -950 HU, emphysema index).

Fractions are 0..1 (unit ``1``). Feature names follow the store grammar
``qct__{region}__original__{feature}``.
"""

from __future__ import annotations

import numpy as np

from ildrad.image import Image, Mask, Unit, assert_same_grid, require_unit
from ildrad.lung.counts import percentiles_of_counts
from ildrad.lung.settings import SegmentSettings
from ildrad.lung.zones import CORE, RIND, ZONE_LABELS

__all__ = ["DENSITY_FEATURES", "density_features", "feature_name", "qct_density", "qct_regions"]

#: Whole-number HU spanning fewer levels than this are counted into a histogram (CT: 12 bits).
_MAX_HISTOGRAM_BINS = 65536

#: Density feature name -> unit.
DENSITY_FEATURES: dict[str, str] = {
    "volume_ml": "mL",
    "mld_hu": "HU",
    "sd_hu": "HU",
    "skewness": "1",
    "kurtosis_excess": "1",
    "kurtosis_plain": "1",
    "p10_hu": "HU",
    "p40_hu": "HU",
    "p90_hu": "HU",
    "haa_fraction": "1",
    "laa_fraction": "1",
}


def feature_name(region: str, feature: str, group: str = "qct", image: str = "original") -> str:
    """Store column name ``{group}__{region}__{image}__{feature}`` (DESIGN.md)."""
    return f"{group}__{region}__{image}__{feature}"


def qct_regions(
    lungs: Mask, zones: Mask | None = None, rind: Mask | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The lung's voxels (boolean mask on the grid) and, over them in C order, a selector of
    each QCT region: lung, right, left, the six zones, rind, core.

    Working on the lung's voxels alone (a seventh of a chest CT) avoids a whole-grid mask and
    gather per region.
    """
    lung = lungs.array > 0
    labels = lungs.array[lung]
    regions = {"lung": np.ones(labels.size, dtype=bool), "right": labels == 1, "left": labels == 2}
    if zones is not None:
        assert_same_grid(zones, lungs, "zones and lungs")
        codes = zones.array[lung]
        for code, name in ZONE_LABELS.items():
            regions[name] = codes == code
    if rind is not None:
        assert_same_grid(rind, lungs, "rind/core and lungs")
        shell = rind.array[lung]
        regions["rind"] = shell == RIND
        regions["core"] = shell == CORE
    return lung, regions


def density_features(values: np.ndarray, voxel_ml: float, settings: SegmentSettings | None = None) -> dict[str, float]:
    """Density features of the HU values of one region (see the module docstring).

    Whole-number HU (what a CT stores) are counted into a one-HU histogram, and every feature is
    computed from it, exactly and several times faster than from the values; other values are
    used as they are.
    """
    settings = settings or SegmentSettings()
    values = np.asarray(values, dtype=np.float64).ravel()
    n = values.size
    if n == 0:
        return {name: (0.0 if name == "volume_ml" else float("nan")) for name in DENSITY_FEATURES}
    lowest = float(values.min())
    span = float(values.max()) - lowest
    if span < _MAX_HISTOGRAM_BINS and np.array_equal(values, np.round(values)):
        counts = np.bincount((values - lowest).astype(np.intp)).astype(np.float64)
        levels = lowest + np.arange(counts.size, dtype=np.float64)
    else:
        counts, levels = np.ones(n), values
    mean = float(counts @ levels) / n
    centred = levels - mean
    squared = centred * centred
    m2 = float(counts @ squared) / n
    m3 = float(counts @ (squared * centred)) / n
    m4 = float(counts @ (squared * squared)) / n
    skewness = m3 / m2**1.5 if m2 > 0 else float("nan")
    kurtosis = m4 / m2**2 if m2 > 0 else float("nan")
    p10, p40, p90 = percentiles_of_counts(counts, levels, (10.0, 40.0, 90.0))
    low, high = settings.haa_range_hu
    haa = float(counts[(levels >= low) & (levels <= high)].sum())
    laa = float(counts[levels < settings.laa_threshold_hu].sum())
    return {
        "volume_ml": n * voxel_ml,
        "mld_hu": mean,
        "sd_hu": float(np.sqrt(m2)),
        "skewness": skewness,
        "kurtosis_excess": kurtosis - 3.0,
        "kurtosis_plain": kurtosis,
        "p10_hu": p10,
        "p40_hu": p40,
        "p90_hu": p90,
        "haa_fraction": haa / n,
        "laa_fraction": laa / n,
    }


def qct_density(
    ct: Image,
    lungs: Mask,
    zones: Mask | None = None,
    rind: Mask | None = None,
    settings: SegmentSettings | None = None,
) -> dict[str, float]:
    """Density features of every QCT region, keyed by store column name."""
    require_unit(ct, Unit.HU, purpose="quantitative CT (densitometry)")
    assert_same_grid(lungs, ct, "lung mask and CT")
    voxel_ml = ct.grid.voxel_volume_mm3 / 1000.0
    lung, regions = qct_regions(lungs, zones, rind)
    hu = ct.array[lung]
    out: dict[str, float] = {}
    for region, selector in regions.items():
        for feature, value in density_features(hu[selector], voxel_ml, settings).items():
            out[feature_name(region, feature)] = value
    return out
