"""Risk heads over a backbone embedding, and their censoring-aware losses.

Horizon head (default): one discrete-time hazard per interval between the horizons
(0-1, 1-3, 3-5 years for mortality_1y/3y/5y), ``h_k = softplus(a_k) >= 0``; the cumulative hazard
``H_k = sum_{j<=k} h_j`` and the risk of death by horizon k ``r_k = 1 - exp(-H_k)`` are therefore
non-decreasing across horizons by construction. The loss is the binary cross-entropy of
``r_k`` against the horizon label, a term masked out (weight 0) when the scan is not assessable
for that horizon (censored before it), averaged over the assessable terms (Gensheimer & Narasimhan
2019, "A scalable discrete-time survival model for neural networks", PeerJ 7:e6257).

Cox head (optional): one linear score, loss the negative Breslow partial log-likelihood within
the batch (Katzman et al. 2018, DeepSurv); it uses every scan, censored ones included. Its risk
for every horizon is ``sigmoid(score)``: a ranking score, not a calibrated probability.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["CoxHead", "HorizonHead", "RiskModel", "cox_loss", "horizon_loss"]


class HorizonHead(nn.Module):
    """Monotone risks for ``n_horizons`` increasing horizons from an embedding."""

    def __init__(self, features: int, n_horizons: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, n_horizons)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        cumulative_hazard = torch.cumsum(F.softplus(self.linear(embedding)), dim=1)
        return -torch.expm1(-cumulative_hazard)  # 1 - exp(-H), accurate for small H


class CoxHead(nn.Module):
    """A linear log-risk score; :meth:`forward` gives ``sigmoid(score)`` for every horizon."""

    def __init__(self, features: int, n_horizons: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.n_horizons = n_horizons

    def score(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.linear(embedding)[:, 0]

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.score(embedding))[:, None].expand(-1, self.n_horizons)


class RiskModel(nn.Module):
    """Backbone + head; ``forward`` returns risks (batch, horizons)."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def horizon_loss(risk: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Masked binary cross-entropy; ``y`` (batch, horizons) holds 0/1, NaN where not assessable."""
    known = ~torch.isnan(y)
    if not known.any():
        return risk.sum() * 0.0
    r = risk[known].clamp(1e-6, 1 - 1e-6)
    return F.binary_cross_entropy(r, y[known])


def cox_loss(score: torch.Tensor, time: torch.Tensor, event: torch.Tensor) -> torch.Tensor:
    """Negative Breslow partial log-likelihood per event (0 when the batch holds no event)."""
    order = torch.argsort(time, descending=True)
    s, e = score[order], event[order].to(score.dtype)
    log_risk_set = torch.logcumsumexp(s, dim=0)  # sum over scans with time >= t_i
    n_events = e.sum()
    if n_events == 0:
        return score.sum() * 0.0
    return -((s - log_risk_set) * e).sum() / n_events
