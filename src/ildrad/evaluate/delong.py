"""ROC AUC variance and paired comparison by DeLong's method, clustered after Obuchowski.

DeLong, DeLong & Clarke-Pearson 1988 (Biometrics 44:837) give the variance of the empirical
AUC from the structural components V10 (per positive case: the fraction of negatives it
out-scores, ties counting 1/2) and V01 (per negative). With several scans per patient these
components are correlated; Obuchowski 1997 (Biometrics 53:567) sums them per cluster
(patient) and estimates

    S10 = I10 / ((I10 - 1) M) * sum_k (V10_k - m_k AUC)^2
    S01 = I01 / ((I01 - 1) N) * sum_k (V01_k - n_k AUC)^2
    S11 = K / (K - 1)         * sum_k (V10_k - m_k AUC)(V01_k - n_k AUC)
    var = S10 / M + S01 / N + 2 S11 / (M N)

(M, N positives and negatives; m_k, n_k those of cluster k; I10, I01 the clusters holding
positives, negatives; K all clusters); covariances of two scores use the same sums of cross
products. With one scan per patient this is exactly DeLong's estimator, which pROC's
``roc.test(method = "delong")`` computes (checked on committed R fixtures).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ildrad.errors import InputError

__all__ = ["AucComparison", "auc_covariance", "delong_test", "structural_components"]


def structural_components(y: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(AUC, V10 per positive, V01 per negative) with ties counted 1/2; higher score = positive."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, float)
    pos, neg = np.sort(score[y]), np.sort(score[~y])
    if len(pos) == 0 or len(neg) == 0:
        raise InputError("AUC needs at least one positive and one negative case")
    below = np.searchsorted(neg, score[y], side="left")
    tied = np.searchsorted(neg, score[y], side="right") - below
    v10 = (below + 0.5 * tied) / len(neg)
    above_left = np.searchsorted(pos, score[~y], side="left")
    above_right = np.searchsorted(pos, score[~y], side="right")
    v01 = (len(pos) - above_right + 0.5 * (above_right - above_left)) / len(pos)
    return float(v10.mean()), v10, v01


def auc_covariance(
    y: np.ndarray, scores: list[np.ndarray], clusters: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of several scores on the same cases and their (clustered) DeLong covariance matrix."""
    y = np.asarray(y).astype(bool)
    if clusters is None:
        clusters = np.arange(len(y))
    _, cluster_index = np.unique(np.asarray(clusters), return_inverse=True)
    n_clusters = cluster_index.max() + 1
    m, n = int(y.sum()), int((~y).sum())
    m_k = np.bincount(cluster_index[y], minlength=n_clusters).astype(float)
    n_k = np.bincount(cluster_index[~y], minlength=n_clusters).astype(float)
    i10, i01 = int((m_k > 0).sum()), int((n_k > 0).sum())
    if i10 < 2 or i01 < 2:
        raise InputError(
            "DeLong variance needs positives and negatives from at least two patients each"
        )
    aucs, d10, d01 = [], [], []
    for score in scores:
        auc, v10, v01 = structural_components(y, score)
        aucs.append(auc)
        d10.append(np.bincount(cluster_index[y], weights=v10, minlength=n_clusters) - m_k * auc)
        d01.append(np.bincount(cluster_index[~y], weights=v01, minlength=n_clusters) - n_k * auc)
    d10, d01 = np.asarray(d10), np.asarray(d01)
    s10 = i10 / ((i10 - 1) * m) * d10 @ d10.T
    s01 = i01 / ((i01 - 1) * n) * d01 @ d01.T
    s11 = n_clusters / (n_clusters - 1) * d10 @ d01.T
    covariance = s10 / m + s01 / n + (s11 + s11.T) / (m * n)
    return np.asarray(aucs), covariance


@dataclass(frozen=True)
class AucComparison:
    """Paired comparison of two AUCs on the same cases (two-sided z test)."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float


def delong_test(
    y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, clusters: np.ndarray | None = None
) -> AucComparison:
    """DeLong (or, with ``clusters`` = patient keys, Obuchowski's clustered) test of AUC_a - AUC_b."""
    aucs, cov = auc_covariance(y, [score_a, score_b], clusters)
    variance = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    difference = float(aucs[0] - aucs[1])
    se = float(np.sqrt(max(variance, 0.0)))
    z = difference / se if se > 0 else 0.0
    p = float(2 * stats.norm.sf(abs(z)))
    half = stats.norm.ppf(0.975) * se
    return AucComparison(
        float(aucs[0]), float(aucs[1]), difference, se, z, p, difference - half, difference + half
    )
