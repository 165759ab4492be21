"""Training: each architecture learns texture (not mean density); resume equals an uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import N_TRAIN, cohort_data, train_on_first

from ildrad.evaluate.metrics import roc_auc
from ildrad.models.deep.training import build_model, fit, predict
from ildrad.models.settings import DeepSettings

MIN_AUC = 0.8  #: 32 held-out scans (16 per class); chance is 0.5


def _settings(arch: str, **extra) -> DeepSettings:
    """The configuration defaults (optimiser, schedule, normalisation, views, epochs), ``arch`` aside."""
    return DeepSettings(arch=arch, dims="2.5d", **extra)


def _held_out_auc(cohort, model) -> float:
    test = np.arange(N_TRAIN, len(cohort["y"]))
    return roc_auc(cohort["y"][test], predict(model, cohort["x"][test])[:, 0])


def test_mean_density_does_not_separate_the_classes(texture_cohort) -> None:
    # the shortcut a network must not rely on: mean lung HU barely differs between the classes
    auc = roc_auc(texture_cohort["y"], texture_cohort["lung_mean_hu"])
    assert 0.2 < auc < 0.8


@pytest.mark.parametrize("arch", ["resnet18_small", "densenet121_small", "swin_small"])
def test_each_architecture_learns_texture_at_its_defaults(texture_cohort, texture_models, arch: str) -> None:
    auc = _held_out_auc(texture_cohort, texture_models(arch))
    print(f"{arch}: held-out AUC {auc:.3f}")
    assert auc >= MIN_AUC, f"{arch}: held-out AUC {auc:.2f}"


def test_interrupted_training_resumes_to_the_same_state(texture_cohort, tmp_path) -> None:
    torch.set_num_threads(1)
    settings = _settings("densenet121_small", epochs=4, patience=4, min_epochs=1)
    train = cohort_data(texture_cohort, np.arange(12))
    validation = cohort_data(texture_cohort, np.arange(12, 16))
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


def test_auc_agrees_across_thread_counts(texture_cohort, texture_models) -> None:
    # the converged default DenseNet (trained with 1 thread) against the same training with 2 threads
    one_thread = _held_out_auc(texture_cohort, texture_models("densenet121_small"))
    torch.set_num_threads(2)
    two_threads = _held_out_auc(texture_cohort, train_on_first(texture_cohort, N_TRAIN, _settings("densenet121_small")))
    torch.set_num_threads(1)
    assert abs(one_thread - two_threads) <= 0.01
