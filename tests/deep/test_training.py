"""Training: each architecture learns texture (not mean density); resume equals an uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ildrad.evaluate.metrics import roc_auc
from ildrad.models.deep.training import DeepData, build_model, fit, inner_split, predict
from ildrad.models.settings import DeepSettings

N_TRAIN = 20


def _data(cohort, rows) -> DeepData:
    y = cohort["y"][rows]
    return DeepData(cohort["x"][rows], y[:, None], np.full(len(rows), 2.0), y.astype(bool),
                    np.array([f"p{i}" for i in rows]))


def _settings(arch: str, **extra) -> DeepSettings:
    values = dict(arch=arch, dims="2.5d", epochs=12, patience=12, batch_size=4, learning_rate=3e-3, seed=0)
    return DeepSettings(**{**values, **extra})


def _train_and_score(cohort, settings: DeepSettings) -> float:
    train = _data(cohort, np.arange(N_TRAIN))
    fit_rows, val_rows = inner_split(train.patient, 0.2, 0)
    model = build_model(settings, 1)
    fit(model, train.subset(fit_rows), train.subset(val_rows), settings)
    test = np.arange(N_TRAIN, len(cohort["y"]))
    return roc_auc(cohort["y"][test], predict(model, cohort["x"][test])[:, 0])


def test_mean_density_does_not_separate_the_classes(texture_cohort) -> None:
    # the shortcut a network must not rely on: mean lung HU barely differs between the classes
    auc = roc_auc(texture_cohort["y"], texture_cohort["lung_mean_hu"])
    assert 0.2 < auc < 0.8


@pytest.mark.parametrize("arch", ["resnet18_small", "densenet121_small", "swin_small"])
def test_each_architecture_learns_texture(texture_cohort, arch: str) -> None:
    torch.set_num_threads(1)
    auc = _train_and_score(texture_cohort, _settings(arch))
    assert auc >= 0.8, f"{arch}: held-out AUC {auc:.2f}"
