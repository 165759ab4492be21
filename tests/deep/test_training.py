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
    values = dict(arch=arch, dims="2.5d", epochs=30, patience=30, batch_size=4, learning_rate=3e-3, seed=0)
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


def test_densenet_learns_texture_not_density(texture_cohort) -> None:
    torch.set_num_threads(1)
    auc = _train_and_score(texture_cohort, _settings("densenet121_small"))
    assert auc >= 0.8, f"held-out AUC {auc:.2f}"


@pytest.mark.xfail(reason="16 training scans: ResNet-18/Swin small variants memorise (held-out AUC 0.3-0.6); "
                          "needs a larger texture cohort or patch sampling (issue 9, open)", strict=False)
@pytest.mark.parametrize("arch", ["resnet18_small", "swin_small"])
def test_resnet_and_swin_learn_texture(texture_cohort, arch: str) -> None:
    torch.set_num_threads(1)
    auc = _train_and_score(texture_cohort, _settings(arch, epochs=10, patience=10))
    assert auc >= 0.8, f"{arch}: held-out AUC {auc:.2f}"


def test_interrupted_training_resumes_to_the_same_state(texture_cohort, tmp_path) -> None:
    torch.set_num_threads(1)
    settings = _settings("densenet121_small", epochs=4, patience=4)
    train = _data(texture_cohort, np.arange(12))
    validation = _data(texture_cohort, np.arange(12, 16))
    whole = build_model(settings, 1)
    full = fit(whole, train, validation, settings, checkpoint=tmp_path / "whole.pt")
    interrupted = build_model(settings, 1)
    first = fit(interrupted, train, validation, settings, checkpoint=tmp_path / "parts.pt", stop_after=2)
    assert not first.finished and first.epochs_run == 2
    resumed = build_model(settings, 1)  # a fresh process: new weights, state comes from the file
    second = fit(resumed, train, validation, settings, checkpoint=tmp_path / "parts.pt")
    assert second.finished and second.epochs_run == full.epochs_run == 4
    assert second.best_epoch == full.best_epoch
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-4)
    np.testing.assert_allclose([h["validation_loss"] for h in second.history],
                               [h["validation_loss"] for h in full.history], rtol=1e-4)


def test_auc_agrees_across_thread_counts(texture_cohort) -> None:
    # a converged model: after a few epochs the held-out AUC of 12 scans is still chaotic in the weights
    settings = _settings("densenet121_small")
    aucs = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        aucs.append(_train_and_score(texture_cohort, settings))
    torch.set_num_threads(1)
    assert abs(aucs[0] - aucs[1]) <= 0.01
