"""Survival discrimination: Harrell's C, Uno's C (IPCW, truncated at tau), time-dependent AUC.

Thin wrappers over scikit-survival (``concordance_index_censored``, ``concordance_index_ipcw``,
``cumulative_dynamic_auc``: cases T <= t, controls T > t, inverse-probability-of-censoring
weights from the reference cohort). Times in years; higher risk = earlier death.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["harrell_c", "td_auc", "uno_c"]

log = logging.getLogger(__name__)
_MIN_TIME = 1.0 / 365.25


def _surv(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    from sksurv.util import Surv

    return Surv.from_arrays(np.asarray(event, bool), np.maximum(np.asarray(time, float), _MIN_TIME))


def harrell_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's concordance index (ties in risk count 1/2)."""
    from sksurv.metrics import concordance_index_censored

    event = np.asarray(event, bool)
    if event.sum() == 0:
        return float("nan")
    return float(
        concordance_index_censored(event, np.asarray(time, float), np.asarray(risk, float))[0]
    )


def uno_c(
    time: np.ndarray,
    event: np.ndarray,
    risk: np.ndarray,
    tau: float | None,
    reference: tuple[np.ndarray, np.ndarray],
) -> float:
    """Uno's IPCW C-index truncated at ``tau``; censoring distribution from ``reference`` (time, event)."""
    from sksurv.metrics import concordance_index_ipcw

    try:
        return float(
            concordance_index_ipcw(
                _surv(*reference), _surv(time, event), np.asarray(risk, float), tau=tau
            )[0]
        )
    except ValueError as err:
        log.warning("Uno's C not computable: %s", err)
        return float("nan")


def td_auc(
    time: np.ndarray,
    event: np.ndarray,
    risk: np.ndarray,
    horizon: float,
    reference: tuple[np.ndarray, np.ndarray],
) -> float:
    """Cumulative/dynamic AUC at ``horizon`` years (Uno 2007 / Hung & Chiang 2010 IPCW estimator)."""
    from sksurv.metrics import cumulative_dynamic_auc

    time = np.asarray(time, float)
    if not (np.any((time <= horizon) & np.asarray(event, bool)) and np.any(time > horizon)):
        return float("nan")
    try:
        return float(
            cumulative_dynamic_auc(
                _surv(*reference), _surv(time, event), np.asarray(risk, float), [horizon]
            )[0][0]
        )
    except ValueError as err:
        log.warning("time-dependent AUC at %g y not computable: %s", horizon, err)
        return float("nan")
