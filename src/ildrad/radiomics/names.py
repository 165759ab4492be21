"""IBSI feature tags <-> PyRadiomics feature names (``original_<class>_<Feature>``).

Only features that both define are mapped. The values are always ildrad's IBSI values; where
PyRadiomics' definition differs (noted in :data:`DEFINITION_DIFFERS`), the column carries the
PyRadiomics name but the IBSI value (PyRadiomics-compatible values are a separate mode). Texture
features map to the aggregation PyRadiomics uses for 3D images: GLCM and GLRLM features averaged
over the 13 directions (``_3D_avg``), the other matrices volumetric (``_3D``). IBSI tags without
a PyRadiomics counterpart keep their IBSI tag.
"""

from __future__ import annotations

__all__ = ["DEFINITION_DIFFERS", "IBSI_TO_PYRADIOMICS", "PYRADIOMICS_TO_IBSI", "to_pyradiomics"]

_FIRSTORDER = {
    "stat_energy": "Energy",
    "stat_min": "Minimum",
    "stat_p10": "10Percentile",
    "stat_p90": "90Percentile",
    "stat_max": "Maximum",
    "stat_mean": "Mean",
    "stat_median": "Median",
    "stat_iqr": "InterquartileRange",
    "stat_range": "Range",
    "stat_mad": "MeanAbsoluteDeviation",
    "stat_rmad": "RobustMeanAbsoluteDeviation",
    "stat_rms": "RootMeanSquared",
    "stat_skew": "Skewness",
    "stat_kurt": "Kurtosis",
    "stat_var": "Variance",
    "ih_entropy": "Entropy",
    "ih_uniformity": "Uniformity",
}
_SHAPE = {
    "morph_volume": "MeshVolume",
    "morph_vol_approx": "VoxelVolume",
    "morph_area_mesh": "SurfaceArea",
    "morph_av": "SurfaceVolumeRatio",
    "morph_sphericity": "Sphericity",
    "morph_comp_1": "Compactness1",
    "morph_comp_2": "Compactness2",
    "morph_sph_dispr": "SphericalDisproportion",
    "morph_diam": "Maximum3DDiameter",
    "morph_pca_maj_axis": "MajorAxisLength",
    "morph_pca_min_axis": "MinorAxisLength",
    "morph_pca_least_axis": "LeastAxisLength",
    "morph_pca_elongation": "Elongation",
    "morph_pca_flatness": "Flatness",
}
_GLCM = {
    "cm_auto_corr": "Autocorrelation",
    "cm_joint_avg": "JointAverage",
    "cm_clust_prom": "ClusterProminence",
    "cm_clust_shade": "ClusterShade",
    "cm_clust_tend": "ClusterTendency",
    "cm_contrast": "Contrast",
    "cm_corr": "Correlation",
    "cm_diff_avg": "DifferenceAverage",
    "cm_diff_entr": "DifferenceEntropy",
    "cm_diff_var": "DifferenceVariance",
    "cm_energy": "JointEnergy",
    "cm_joint_entr": "JointEntropy",
    "cm_info_corr1": "Imc1",
    "cm_info_corr2": "Imc2",
    "cm_inv_diff_mom": "Idm",
    "cm_inv_diff_mom_norm": "Idmn",
    "cm_inv_diff": "Id",
    "cm_inv_diff_norm": "Idn",
    "cm_inv_var": "InverseVariance",
    "cm_joint_max": "MaximumProbability",
    "cm_sum_avg": "SumAverage",
    "cm_sum_entr": "SumEntropy",
    "cm_joint_var": "SumSquares",
}
_GLRLM = {
    "rlm_sre": "ShortRunEmphasis",
    "rlm_lre": "LongRunEmphasis",
    "rlm_glnu": "GrayLevelNonUniformity",
    "rlm_glnu_norm": "GrayLevelNonUniformityNormalized",
    "rlm_rlnu": "RunLengthNonUniformity",
    "rlm_rlnu_norm": "RunLengthNonUniformityNormalized",
    "rlm_r_perc": "RunPercentage",
    "rlm_gl_var": "GrayLevelVariance",
    "rlm_rl_var": "RunVariance",
    "rlm_rl_entr": "RunEntropy",
    "rlm_lgre": "LowGrayLevelRunEmphasis",
    "rlm_hgre": "HighGrayLevelRunEmphasis",
    "rlm_srlge": "ShortRunLowGrayLevelEmphasis",
    "rlm_srhge": "ShortRunHighGrayLevelEmphasis",
    "rlm_lrlge": "LongRunLowGrayLevelEmphasis",
    "rlm_lrhge": "LongRunHighGrayLevelEmphasis",
}
_GLSZM = {
    "szm_sze": "SmallAreaEmphasis",
    "szm_lze": "LargeAreaEmphasis",
    "szm_glnu": "GrayLevelNonUniformity",
    "szm_glnu_norm": "GrayLevelNonUniformityNormalized",
    "szm_zsnu": "SizeZoneNonUniformity",
    "szm_zsnu_norm": "SizeZoneNonUniformityNormalized",
    "szm_z_perc": "ZonePercentage",
    "szm_gl_var": "GrayLevelVariance",
    "szm_zs_var": "ZoneVariance",
    "szm_zs_entr": "ZoneEntropy",
    "szm_lgze": "LowGrayLevelZoneEmphasis",
    "szm_hgze": "HighGrayLevelZoneEmphasis",
    "szm_szlge": "SmallAreaLowGrayLevelEmphasis",
    "szm_szhge": "SmallAreaHighGrayLevelEmphasis",
    "szm_lzlge": "LargeAreaLowGrayLevelEmphasis",
    "szm_lzhge": "LargeAreaHighGrayLevelEmphasis",
}
_NGTDM = {
    "ngt_coarseness": "Coarseness",
    "ngt_contrast": "Contrast",
    "ngt_busyness": "Busyness",
    "ngt_complexity": "Complexity",
    "ngt_strength": "Strength",
}
_GLDM = {
    "ngl_lde": "SmallDependenceEmphasis",
    "ngl_hde": "LargeDependenceEmphasis",
    "ngl_glnu": "GrayLevelNonUniformity",
    "ngl_dcnu": "DependenceNonUniformity",
    "ngl_dcnu_norm": "DependenceNonUniformityNormalized",
    "ngl_gl_var": "GrayLevelVariance",
    "ngl_dc_var": "DependenceVariance",
    "ngl_dc_entr": "DependenceEntropy",
    "ngl_lgce": "LowGrayLevelEmphasis",
    "ngl_hgce": "HighGrayLevelEmphasis",
    "ngl_ldlge": "SmallDependenceLowGrayLevelEmphasis",
    "ngl_ldhge": "SmallDependenceHighGrayLevelEmphasis",
    "ngl_hdlge": "LargeDependenceLowGrayLevelEmphasis",
    "ngl_hdhge": "LargeDependenceHighGrayLevelEmphasis",
}


def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for pyradiomics_class, mapping, suffix in (
        ("firstorder", _FIRSTORDER, ""),
        ("shape", _SHAPE, ""),
        ("glcm", _GLCM, "_3D_avg"),
        ("glrlm", _GLRLM, "_3D_avg"),
        ("glszm", _GLSZM, "_3D"),
        ("ngtdm", _NGTDM, "_3D"),
        ("gldm", _GLDM, "_3D"),
    ):
        for tag, name in mapping.items():
            table[tag + suffix] = f"original_{pyradiomics_class}_{name}"
    return table


#: IBSI tag -> PyRadiomics column name (``original_<class>_<Feature>``).
IBSI_TO_PYRADIOMICS: dict[str, str] = _table()
#: PyRadiomics column name -> IBSI tag.
PYRADIOMICS_TO_IBSI: dict[str, str] = {name: tag for tag, name in IBSI_TO_PYRADIOMICS.items()}

#: IBSI tags whose PyRadiomics namesake is defined differently, and how.
DEFINITION_DIFFERS: dict[str, str] = {
    "stat_kurt": "PyRadiomics Kurtosis is m4/m2^2; IBSI kurtosis is the excess (minus 3)",
    "stat_energy": "PyRadiomics Energy adds voxelArrayShift to every intensity before squaring",
    "ih_entropy": "PyRadiomics Entropy adds machine epsilon inside the logarithm",
}


def to_pyradiomics(features: dict[str, float]) -> dict[str, float]:
    """Rename mapped IBSI tags to PyRadiomics names (others keep their IBSI tag), order kept."""
    return {IBSI_TO_PYRADIOMICS.get(tag, tag): value for tag, value in features.items()}
