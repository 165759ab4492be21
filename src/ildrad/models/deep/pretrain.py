"""Self-supervised pretraining on the cohort's own scans: masked coarse reconstruction.

Objective (a simplified masked autoencoder, He et al. 2022, "Masked autoencoders are scalable
vision learners", CVPR): the input is cut into blocks of 1/8 of its edge; ``mask_fraction`` of the
blocks (drawn anew for every scan and epoch) are set to 0; the backbone embeds the masked input
and a linear decoder reconstructs the *unmasked* input average-pooled to an 8 x 8 (2.5D, per
channel) or 8 x 8 x 8 (3D) grid; the loss is the mean squared error over the grid. No labels and
no downloads; the saved file holds the backbone's ``state_dict`` (under ``state_dict``), loadable
by :func:`ildrad.models.deep.checkpoints.load_weights` and ``ildrad deep train --init``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ildrad.models.deep.networks import Backbone, build_backbone
from ildrad.models.deep.training import peak_learning_rate, recalibrate_batch_norm
from ildrad.models.settings import DeepSettings

__all__ = ["COARSE", "pretrain_backbone", "pretrain_workspace"]

log = logging.getLogger(__name__)

COARSE = 8  #: edge of the reconstructed grid


def _coarse(x: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool3d(x, COARSE) if x.dim() == 5 else F.adaptive_avg_pool2d(x, COARSE)


def _mask_blocks(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    spatial = x.shape[2:]
    keep = (torch.rand((x.shape[0], 1, *([COARSE] * len(spatial))), generator=generator) >= fraction).float()
    return x * F.interpolate(keep, size=spatial, mode="nearest")


def pretrain_backbone(x: np.ndarray, settings: DeepSettings) -> tuple[Backbone, list[float]]:
    """Pretrain ``settings.arch`` on inputs ``x`` (n, channels, ...); return it and the epoch losses."""
    torch.manual_seed(settings.seed)
    backbone = build_backbone(settings.arch, settings.dims, settings.norm)
    channels = x.shape[1]
    decoder = nn.Linear(backbone.features, channels * COARSE ** (x.ndim - 2))
    params = list(backbone.parameters()) + list(decoder.parameters())
    optimiser = torch.optim.AdamW(params, lr=peak_learning_rate(settings), weight_decay=settings.weight_decay)
    losses = []
    for epoch in range(settings.pretrain_epochs):
        generator = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
        order = torch.randperm(len(x), generator=generator).numpy()
        backbone.train()
        total = 0.0
        for start in range(0, len(x), settings.batch_size):
            rows = order[start : start + settings.batch_size]
            if len(rows) < 2:
                continue
            batch = torch.as_tensor(x[rows])
            target = _coarse(batch).flatten(1)
            loss = F.mse_loss(decoder(backbone(_mask_blocks(batch, settings.mask_fraction, generator))), target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / len(x))
        log.info("pretraining epoch %d: reconstruction MSE %.5f", epoch, losses[-1])
    recalibrate_batch_norm(backbone, x, settings.batch_size)
    return backbone, losses


def pretrain_workspace(workspace: str | Path, settings: DeepSettings, out: str | Path) -> dict:
    """Pretrain on every cached input of ``workspace``; write the backbone weights to ``out``."""
    import pandas as pd

    from ildrad.models.deep.inputs import build_cache, load_inputs

    torch.set_num_threads(settings.threads)
    workspace = Path(workspace)
    cache = build_cache(workspace, settings)
    manifest = pd.read_parquet(workspace / "manifest.parquet")
    keys = [k for k in manifest.scan_key if (cache / f"{k}.npy").is_file()]
    backbone, losses = pretrain_backbone(load_inputs(cache, keys), settings)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": backbone.state_dict(), "arch": settings.arch, "dims": settings.dims,
                "objective": "masked coarse reconstruction", "losses": losses}, out)
    return {"scans": len(keys), "first_loss": losses[0], "last_loss": losses[-1]}
