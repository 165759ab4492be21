"""Pretraining is judged downstream: a ridge probe on embeddings predicts the true ILD extent."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ildrad.models.deep.checkpoints import load_weights
from ildrad.models.deep.networks import build_backbone
from ildrad.models.deep.pretrain import pretrain_backbone
from ildrad.models.deep.training import embed, recalibrate_batch_norm
from ildrad.models.settings import DeepSettings


def probe_r2(embedding: np.ndarray, extent: np.ndarray) -> float:
    """Cross-validated R^2 (5 folds) of a ridge regression of the extent on the embeddings."""
    probe = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
    predicted = cross_val_predict(probe, embedding, extent, cv=KFold(5, shuffle=True, random_state=0))
    return r2_score(extent, predicted)


def test_pretrained_embeddings_predict_extent_better_than_random(extent_cohort, tmp_path) -> None:
    torch.set_num_threads(1)
    settings = DeepSettings(arch="densenet121_small", dims="2.5d", pretrain_epochs=15, batch_size=4,
                            learning_rate=3e-3)
    x, extent = extent_cohort["x"], extent_cohort["extent"]
    pretrained, losses = pretrain_backbone(x, settings)
    assert losses[-1] < losses[0]
    torch.manual_seed(settings.seed)
    random = build_backbone(settings.arch, settings.dims)
    recalibrate_batch_norm(random, x, settings.batch_size)  # same BN treatment for a fair probe
    r2_pre, r2_rand = probe_r2(embed(pretrained, x), extent), probe_r2(embed(random, x), extent)
    print(f"linear probe R2: pretrained {r2_pre:.3f}, random {r2_rand:.3f}, difference {r2_pre - r2_rand:.3f}")
    assert r2_pre > r2_rand

    # the pretraining file loads into a fresh backbone, every layer matched
    path = tmp_path / "pre.pt"
    torch.save({"state_dict": pretrained.state_dict()}, path)
    report = load_weights(build_backbone(settings.arch, settings.dims), path)
    assert not report.missing and not report.mismatched
