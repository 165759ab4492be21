"""The metric vocabulary (DESIGN.md) and the binary / regression metrics.

Names: ``roc_auc``, ``pr_auc``, ``brier``, ``cal_intercept``, ``cal_slope``, ``harrell_c``,
``uno_c``, ``td_auc``, ``sensitivity``, ``specificity``, ``net_benefit``, ``rmse``, ``r2``.
Calibration (Van Calster 2016, J Clin Epidemiol 74:167): the slope is the coefficient of a
logistic regression of the outcome on logit(risk); the intercept is calibration-in-the-large,
the intercept of that regression with logit(risk) as an offset (slope fixed at 1). Net benefit
at threshold pt (Vickers & Elkin 2006): TP/n - FP/n * pt / (1 - pt). Weights (IPCW) enter
every binary metric as case weights.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

__all__ = [
    "METRICS",
    "average_precision",
    "binary_metrics",
    "calibration_curve",
    "calibration_intercept_slope",
    "net_benefit",
    "operating_points",
    "recalibration",
    "regression_metrics",
    "roc_auc",
]

METRICS: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "brier",
    "cal_intercept",
    "cal_slope",
    "harrell_c",
    "uno_c",
    "td_auc",
    "sensitivity",
    "specificity",
    "net_benefit",
    "rmse",
    "r2",
)
_EPS = 1e-6


def _logistic_fit(
    x: np.ndarray | None, y: np.ndarray, w: np.ndarray, offset: np.ndarray
) -> np.ndarray:
    """Weighted maximum-likelihood logistic regression by Newton's method: intercept [, slope]."""
    design = np.ones((len(y), 1)) if x is None else np.column_stack([np.ones(len(y)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        p = expit(offset + design @ beta)
        gradient = design.T @ (w * (y - p))
        hessian = design.T @ (design * (w * p * (1 - p))[:, None])
        step = np.linalg.solve(hessian + 1e-10 * np.eye(len(beta)), gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def calibration_intercept_slope(
    y: np.ndarray, risk: np.ndarray, weight: np.ndarray | None = None
) -> tuple[float, float]:
    """(calibration-in-the-large intercept, calibration slope); ideal (0, 1)."""
    y = np.asarray(y, float)
    w = np.ones_like(y) if weight is None else np.asarray(weight, float)
    lp = logit(np.clip(np.asarray(risk, float), _EPS, 1 - _EPS))
    intercept = _logistic_fit(None, y, w, lp)[0]
    slope = _logistic_fit(lp, y, w, np.zeros_like(lp))[1]
    return float(intercept), float(slope)


def recalibration(y: np.ndarray, risk: np.ndarray) -> tuple[float, float]:
    """Logistic recalibration (a, b): updated risk = expit(a + b * logit(risk))."""
    lp = logit(np.clip(np.asarray(risk, float), _EPS, 1 - _EPS))
    a, b = _logistic_fit(lp, np.asarray(y, float), np.ones(len(lp)), np.zeros_like(lp))
    return float(a), float(b)


def _roc_points(
    y: np.ndarray, risk: np.ndarray, weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds descending, weighted true positives, false positives) at each distinct risk."""
    w = np.ones(len(y)) if weight is None else np.asarray(weight, float)
    order = np.argsort(-np.asarray(risk, float), kind="mergesort")
    risk, y, w = np.asarray(risk, float)[order], np.asarray(y, float)[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(risk)), len(risk) - 1]  # last index of each distinct value
    tps = np.cumsum(w * y)[last]
    fps = np.cumsum(w * (1 - y))[last]
    return risk[last], tps, fps


def roc_auc(y: np.ndarray, risk: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Area under the (weighted) ROC curve by the trapezoid rule; equals scikit-learn's roc_auc_score."""
    _, tps, fps = _roc_points(y, risk, weight)
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision(y: np.ndarray, risk: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Average precision sum_k (R_k - R_k-1) P_k (scikit-learn's definition of PR AUC)."""
    _, tps, fps = _roc_points(y, risk, weight)
    precision = tps / (tps + fps)
    recall = np.r_[0.0, tps / tps[-1]]
    return float(np.sum(np.diff(recall) * precision))


def operating_points(
    y: np.ndarray, risk: np.ndarray, fixed_specificity: float, weight: np.ndarray | None = None
) -> dict[str, tuple[float, float, float]]:
    """(threshold, sensitivity, specificity) at the Youden point and at a fixed specificity."""
    thresholds, tps, fps = _roc_points(y, risk, weight)
    thresholds = np.r_[np.inf, thresholds]
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    youden = int(np.argmax(tpr - fpr))
    ok = np.flatnonzero(1 - fpr >= fixed_specificity)
    at_spec = ok[np.argmax(tpr[ok])] if len(ok) else 0
    return {
        "youden": (float(thresholds[youden]), float(tpr[youden]), float(1 - fpr[youden])),
        f"specificity_{fixed_specificity:g}": (
            float(thresholds[at_spec]),
            float(tpr[at_spec]),
            float(1 - fpr[at_spec]),
        ),
    }


def net_benefit(
    y: np.ndarray,
    risk: np.ndarray,
    thresholds: list[float] | np.ndarray,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """Net benefit of treating when risk >= pt, per threshold pt."""
    y = np.asarray(y, float)
    w = np.ones_like(y) if weight is None else np.asarray(weight, float)
    n = w.sum()
    out = []
    for pt in thresholds:
        treat = np.asarray(risk) >= pt
        tp = np.sum(w * treat * y) / n
        fp = np.sum(w * treat * (1 - y)) / n
        out.append(tp - fp * pt / (1 - pt))
    return np.asarray(out)


def calibration_curve(
    y: np.ndarray, risk: np.ndarray, n_bins: int = 10, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean predicted vs observed (weighted) event fraction per risk decile."""
    y = np.asarray(y, float)
    risk = np.asarray(risk, float)
    w = np.ones_like(y) if weight is None else np.asarray(weight, float)
    edges = np.unique(np.quantile(risk, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, risk, side="right") - 1, 0, len(edges) - 2)
    predicted, observed = [], []
    for b in range(len(edges) - 1):
        rows = bins == b
        if rows.any():
            predicted.append(np.average(risk[rows], weights=w[rows]))
            observed.append(np.average(y[rows], weights=w[rows]))
    return np.asarray(predicted), np.asarray(observed)


def binary_metrics(
    y: np.ndarray,
    risk: np.ndarray,
    weight: np.ndarray | None = None,
    fixed_specificity: float = 0.9,
) -> dict[tuple[str, str], float]:
    """{(metric, at): value} of the binary metrics; ``at`` names the operating point or is ''."""
    y = np.asarray(y, float)
    risk = np.asarray(risk, float)
    w = None if weight is None else np.asarray(weight, float)
    out: dict[tuple[str, str], float] = {}
    if len(np.unique(y)) < 2:
        return out
    out[("roc_auc", "")] = roc_auc(y, risk, w)
    out[("pr_auc", "")] = average_precision(y, risk, w)
    if np.all((risk >= 0) & (risk <= 1)):
        out[("brier", "")] = float(np.average((risk - y) ** 2, weights=w))
        intercept, slope = calibration_intercept_slope(y, risk, w)
        out[("cal_intercept", "")] = intercept
        out[("cal_slope", "")] = slope
    for at, (_, sensitivity, specificity) in operating_points(
        y, risk, fixed_specificity, w
    ).items():
        out[("sensitivity", at)] = sensitivity
        out[("specificity", at)] = specificity
    return out


def regression_metrics(y: np.ndarray, prediction: np.ndarray) -> dict[tuple[str, str], float]:
    """RMSE and R² (1 - SSE / SST)."""
    y = np.asarray(y, float)
    prediction = np.asarray(prediction, float)
    residual = y - prediction
    sst = np.sum((y - y.mean()) ** 2)
    return {
        ("rmse", ""): float(np.sqrt(np.mean(residual**2))),
        ("r2", ""): float(1 - np.sum(residual**2) / sst) if sst > 0 else float("nan"),
    }
