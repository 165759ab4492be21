"""Clinical prognostic scores at the scan date: GAP, ILD-GAP, SADL and a quantitative Goh stage.

All functions are vectorised over pandas Series / numpy arrays and give NaN where the score is
not applicable (a needed value missing). Ages are taken in completed years (``floor``), as the
published tables use whole years; lung-function values are % predicted.

- **GAP** (Ley 2012, Ann Intern Med 156:684; table in DOMAIN.md section 1): sex M 1; age
  <= 60 0, 61-65 1, > 65 2; FVC > 75 0, 50-75 1, < 50 2; DLCO > 55 0, 36-55 1, <= 35 2, cannot
  perform 3 (a merely missing DLCO makes the score not applicable). Stage I 0-3, II 4-5, III 6-8.
  Non-integer values between the table's bins go to the bin whose inequality they satisfy
  (FVC 75.0 -> 1 point, 75.1 -> 0; DLCO 35.5 -> 1 point).
- **ILD-GAP** (Ryerson 2014, Chest 145:723): GAP points plus an ILD-subtype term, IPF or
  unclassifiable 0, CTD-ILD / chronic HP / idiopathic NSIP -2; index groups 0-1, 2-3, 4-5, >= 6.
  [unverified: the subtype points and groups come from secondary summaries, not the paper.]
- **SADL** (Morisset 2017, Chest 152:999; points from the secondary summary at
  medicalalgorithms.com, primary table not read [unverified]): ever smoked 1; age < 55 0,
  55-70 1, > 70 2; DLCO > 60 0, 40-60 3, < 40 4; total 0-7; risk low 0-3, moderate 4-5, high 6-7.
- **Goh** (Goh 2008, Am J Respir Crit Care Med 177:1248): extent < 10 % limited, > 30 %
  extensive, 10-30 % by FVC (>= 70 % limited, < 70 % extensive). Here the extent is a
  quantitative CT fraction (a column of the feature table), hence "Goh-like".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ildrad.errors import InputError

__all__ = [
    "clinical_scores",
    "gap_index",
    "gap_stage",
    "goh_extensive",
    "ild_gap_index",
    "sadl_index",
    "sadl_risk_group",
]

#: ILD-GAP subtype points [unverified]; SSc-ILD is a CTD-ILD.
ILD_GAP_SUBTYPE_POINTS: dict[str, int] = {
    "ipf": 0,
    "unclassifiable": 0,
    "ctd": -2,
    "chp": -2,
    "insip": -2,
}
_SMOKERS = {"former", "current", "ever", "yes", "true", "1"}
_NEVER = {"never", "no", "false", "0"}


def _array(values: object) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), float)


def _age_points(age_years: object, cuts: tuple[float, float]) -> np.ndarray:
    """0 / 1 / 2 points for completed years <= cuts[0], <= cuts[1], above."""
    age = np.floor(_array(age_years))
    points = np.where(age <= cuts[0], 0.0, np.where(age <= cuts[1], 1.0, 2.0))
    return np.where(np.isnan(age), np.nan, points)


def gap_index(
    sex: object,
    age_years: object,
    fvc_pct: object,
    dlco_pct: object,
    dlco_cannot_perform: object | None = None,
) -> np.ndarray:
    """GAP index 0-8 (Ley 2012; module docstring); NaN when a needed value is missing."""
    male = pd.Series(sex).astype(str).str.upper().map({"M": 1.0, "F": 0.0}).to_numpy(float)
    age = _age_points(age_years, (60, 65))
    fvc = _array(fvc_pct)
    fvc_points = np.where(fvc > 75, 0.0, np.where(fvc >= 50, 1.0, 2.0))
    fvc_points[np.isnan(fvc)] = np.nan
    dlco = _array(dlco_pct)
    dlco_points = np.where(dlco > 55, 0.0, np.where(dlco > 35, 1.0, 2.0))
    dlco_points[np.isnan(dlco)] = np.nan
    if dlco_cannot_perform is not None:
        cannot = pd.Series(dlco_cannot_perform).fillna(False).astype(bool).to_numpy()
        dlco_points = np.where(cannot, 3.0, dlco_points)
    return male + age + fvc_points + dlco_points


def gap_stage(index: object) -> np.ndarray:
    """GAP stage 1 / 2 / 3 from the index (I 0-3, II 4-5, III 6-8); NaN where the index is NaN."""
    values = _array(index)
    stage = np.where(values <= 3, 1.0, np.where(values <= 5, 2.0, 3.0))
    return np.where(np.isnan(values), np.nan, stage)


def ild_gap_index(gap: object, subtype: str | object = "ctd") -> np.ndarray:
    """ILD-GAP index: GAP points plus the ILD-subtype term (SSc-ILD: ``ctd``, -2) [unverified]."""
    subtypes = pd.Series(subtype if not isinstance(subtype, str) else [subtype] * len(_array(gap)))
    points = subtypes.str.lower().map(ILD_GAP_SUBTYPE_POINTS)
    if points.isna().any():
        raise InputError(
            f"ILD subtype(s) {sorted(set(subtypes[points.isna()]))} unknown "
            f"(known: {sorted(ILD_GAP_SUBTYPE_POINTS)})"
        )
    return _array(gap) + points.to_numpy(float)


def _ever_smoked(smoking: object) -> np.ndarray:
    text = pd.Series(smoking).astype("string").str.strip().str.lower()
    return np.where(text.isin(_SMOKERS), 1.0, np.where(text.isin(_NEVER), 0.0, np.nan))


def sadl_index(smoking: object, age_years: object, dlco_pct: object) -> np.ndarray:
    """SADL points 0-7 (Morisset 2017; module docstring, [unverified] point table)."""
    age = np.floor(_array(age_years))
    age_points = np.where(age < 55, 0.0, np.where(age <= 70, 1.0, 2.0))
    age_points[np.isnan(age)] = np.nan
    dlco = _array(dlco_pct)
    dlco_points = np.where(dlco > 60, 0.0, np.where(dlco >= 40, 3.0, 4.0))
    dlco_points[np.isnan(dlco)] = np.nan
    return _ever_smoked(smoking) + age_points + dlco_points


def sadl_risk_group(index: object) -> np.ndarray:
    """SADL risk group 1 low (0-3), 2 moderate (4-5), 3 high (6-7)."""
    return gap_stage(index)


def goh_extensive(extent_pct: object, fvc_pct: object) -> np.ndarray:
    """1 = extensive, 0 = limited SSc-ILD by Goh's rule (extent in % of lung, FVC % predicted);
    NaN without extent, or with an indeterminate extent and no FVC. The rule itself is
    :func:`ildrad.lung.staging.goh_like_stage`."""
    from ildrad.lung.staging import EXTENSIVE, goh_like_stage

    extent, fvc = _array(extent_pct), _array(fvc_pct)
    out = np.full(len(extent), np.nan)
    for index, (e, f) in enumerate(zip(extent, fvc, strict=True)):
        if not np.isnan(e):
            stage = goh_like_stage(float(e), None if np.isnan(f) else float(f)).stage
            out[index] = np.nan if stage is None else float(stage == EXTENSIVE)
    return out


def clinical_scores(
    manifest: pd.DataFrame, extent: pd.Series | None = None, ild_subtype: str = "ctd"
) -> pd.DataFrame:
    """``clin__*`` columns of the scores at each scan (manifest columns of docs/workspace.md).

    ``extent``: ILD extent in % of lung per manifest row (e.g. a QCT column x 100) for the Goh stage.
    """
    needed = [c for c in ("sex", "age_years", "fvc_pct", "dlco_pct") if c not in manifest.columns]
    if needed:
        raise InputError(f"manifest lacks column(s) {needed} needed for clinical scores")
    cannot = manifest["dlco_cannot_perform"] if "dlco_cannot_perform" in manifest.columns else None
    gap = gap_index(manifest.sex, manifest.age_years, manifest.fvc_pct, manifest.dlco_pct, cannot)
    out = pd.DataFrame(index=manifest.index)
    out["clin__gap_index"] = gap
    out["clin__gap_stage"] = gap_stage(gap)
    out["clin__ild_gap_index"] = ild_gap_index(gap, ild_subtype)
    smoking = (
        manifest["smoking"] if "smoking" in manifest.columns else pd.Series([None] * len(manifest))
    )
    out["clin__sadl_index"] = sadl_index(smoking.to_numpy(), manifest.age_years, manifest.dlco_pct)
    if extent is not None:
        out["clin__goh_extensive"] = goh_extensive(np.asarray(extent, float), manifest.fvc_pct)
    return out
