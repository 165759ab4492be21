"""Grad-CAM explanations (MONAI's :class:`monai.visualize.GradCAM`) and PNG overlays.

The map is computed for one horizon's risk at the backbone's last feature stage (Selvaraju et al.
2017, "Grad-CAM", ICCV), upsampled by MONAI to the input size; overlays show a 2.5D channel (or
the middle axial slice of a 3D input) in grey with the map in colour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ildrad.models.deep.heads import RiskModel

__all__ = ["TARGET_LAYERS", "grad_cam", "save_overlay_png", "target_layer"]

#: Last feature stage per architecture family (module names inside :class:`RiskModel`).
TARGET_LAYERS = {
    "resnet18": "backbone.body.layer4",
    "densenet121": "backbone.body.class_layers.relu",  # after norm5 (its in-place ReLU breaks hooks on norm5)
    "swin": "backbone.body.layers4",
}


def target_layer(arch: str) -> str:
    return TARGET_LAYERS[arch.removesuffix("_small")]


class _HorizonOutput(torch.nn.Module):
    """Exposes the risk of one horizon as a (batch, 1) output for MONAI's class index."""

    def __init__(self, model: RiskModel, horizon: int) -> None:
        super().__init__()
        self.model = model
        self.horizon = horizon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, self.horizon : self.horizon + 1]


def grad_cam(model: RiskModel, x: np.ndarray, arch: str, horizon: int = 0, layer: str | None = None) -> np.ndarray:
    """Grad-CAM maps (n, *spatial) in [0, 1] for inputs ``x`` (n, channels, *spatial), at ``layer``
    (a module name inside the model; default :data:`TARGET_LAYERS`)."""
    from monai.visualize import GradCAM

    wrapper = _HorizonOutput(model, horizon).eval()
    cam = GradCAM(nn_module=wrapper, target_layers=f"model.{layer or target_layer(arch)}")
    maps = cam(torch.as_tensor(x), class_idx=0)
    return maps[:, 0].detach().cpu().numpy()


def save_overlay_png(x: np.ndarray, cam: np.ndarray, path: str | Path, title: str = "") -> Path:
    """PNG of one input (channels, *spatial) with its Grad-CAM map: one panel per 2.5D channel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x.ndim == 4:  # 3D: middle axial slice
        middle = x.shape[1] // 2
        panels = [(x[0, middle], cam[middle])]
    else:
        panels = [(x[c], cam) for c in range(x.shape[0])]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2), squeeze=False)
    for ax, (image, heat) in zip(axes[0], panels):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.imshow(heat, cmap="jet", alpha=0.4, vmin=0, vmax=1)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
