"""Grad-CAM explanations (MONAI's :class:`monai.visualize.GradCAM`) and PNG overlays.

The map shows the evidence for a higher risk at one horizon (Selvaraju et al. 2017, "Grad-CAM",
ICCV: the gradient-weighted activations of the risk output, whatever risk the scan is predicted
to have), at the feature stage of 1/2 of the input size (:data:`TARGET_LAYERS`: the stem of ResNet
and DenseNet, SwinUNETR-V2's first convolution block; 48 x 48 for 96-voxel 2.5D inputs), upsampled
by MONAI (bilinear / trilinear) to the input size. Grad-CAM is defined at any convolutional stage;
the gradients still come through the whole network, and later stages trade resolution for class
specificity. Lung disease lies in bands a few voxels wide: a perfect map (the true disease mask
averaged over cells of the stage, then upsampled) puts 0.90 of its mass inside the disease of the
test phantoms at 1/2 size, 0.81 at 1/4, 0.67 at 1/8, and the last stage (3 x 3) cannot localise
at all. Measured on networks trained to tell honeycombing from disease-free lungs (six phantoms
other than the test's, disease 0.31 of the lung in the picture), the 1/2 stage put 0.77 / 0.79 / 0.72
of the map in the disease (ResNet-18 / DenseNet-121 / Swin, small variants; 0.75 / 0.76 / 0.77 at
reference size) against 0.63 / 0.76 / 0.65 (0.67 / 0.67 / 0.73) at the 1/4 stage. A map shows
what the network was trained to weigh: networks trained to tell honeycombing from ground glass
(both disease) spread it over the healthy lung as well (0.3-0.4 at every stage).

MONAI's default post-processing maps each map's (min, max) to (1, 0), i.e. it inverts the map
(documented in ``monai.visualize.class_activation_maps.default_normalizer``; Project-MONAI/tutorials
issue 1796). ildrad keeps the magnitudes instead: the ReLU map is set to 0 outside the lung (the
lung mask on the input grid when given, :func:`~ildrad.models.deep.inputs.input_lung_mask`, for
2.5D the union of the three slices' lungs; else the input's nonzero voxels, i.e. the lung dilated
by ``margin_mm``) and divided by its peak. Mass outside the lung explains nothing and lung CAM
studies restrict maps to the lung alike. Overlays show each 2.5D channel (or the middle axial
slice of a 3D input) in grey with the map in colour.

:func:`scan_pictures` writes (or reuses) ``MODEL_DIR/gradcam/<scan_key>_<target>.png`` for
chosen scans with the final network of a deep model folder (``ildrad deep gradcam``; the patient
report calls it), with the map restricted to the scan's stored lung mask.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ildrad.models.deep.heads import RiskModel

__all__ = ["GRADCAM_DIR", "TARGET_LAYERS", "grad_cam", "save_overlay_png", "scan_pictures", "target_layer"]

GRADCAM_DIR = "gradcam"
#: Written to ``gradcam/method.json``; pictures made by another method (before version 2 the maps
#: were inverted and taken at the 1/8 stage, version 2 took the 1/4 stage) are drawn again
#: instead of reused.
METHOD = {"version": 3, "stage": "1/2 of the input", "kept_in": "lung mask"}
#: Feature stage at 1/2 of the input size per architecture family (module names in
#: :class:`RiskModel`): after the stride-2 stem convolution, normalisation and ReLU (ResNet,
#: DenseNet), or SwinUNETR-V2's residual convolution block on the 2-voxel patch embedding.
TARGET_LAYERS = {
    "resnet18": "backbone.body.act",
    "densenet121": "backbone.body.features.relu0",
    # the block module (``layers1c`` is its ModuleList, which has no forward)
    "swin": "backbone.body.layers1c.0",
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


def _keep_magnitudes(maps: torch.Tensor) -> torch.Tensor:
    """Post-processing for MONAI's CAM classes that leaves the upsampled map as it is (MONAI's
    default inverts it)."""
    return maps


def grad_cam(model: RiskModel, x: np.ndarray, arch: str, horizon: int = 0, layer: str | None = None,
             lung: np.ndarray | None = None) -> np.ndarray:
    """Grad-CAM maps (n, *spatial) in [0, 1] of the evidence for a higher risk at ``horizon`` for
    inputs ``x`` (n, channels, *spatial), at ``layer`` (a module name inside the model; default
    :data:`TARGET_LAYERS`); 0 outside ``lung`` (bool, the shape of ``x``: the lung on the input
    grid) or, without it, outside the input's nonzero voxels."""
    from monai.visualize import GradCAM

    from ildrad.errors import InputError

    x = np.asarray(x)
    if lung is not None and np.shape(lung) != x.shape:
        raise InputError(f"Grad-CAM: lung mask shape {np.shape(lung)} differs from the input "
                         f"shape {x.shape}")
    wrapper = _HorizonOutput(model, horizon).eval()
    cam = GradCAM(nn_module=wrapper, target_layers=f"model.{layer or target_layer(arch)}",
                  postprocessing=_keep_magnitudes)
    maps = cam(torch.as_tensor(x), class_idx=0)[:, 0].detach().cpu().numpy()
    inside = (np.asarray(lung) if lung is not None else x > 0).any(axis=1)
    maps = np.where(inside, maps, 0.0)
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape((-1,) + (1,) * (maps.ndim - 1))
    return (maps / np.where(peak > 0, peak, 1.0)).astype(np.float32)


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


def scan_pictures(model_dir: str | Path, workspace: str | Path, scan_keys: list[str],
                  target: str | None = None) -> list[Path]:
    """Grad-CAM PNGs of ``scan_keys`` (those with a lung mask) by the final network of the deep
    model folder ``model_dir`` for ``target`` (default ``mortality_3y`` when trained, else the
    middle horizon); existing pictures of the current :data:`METHOD` are reused. Returns the
    picture paths."""
    from ildrad.errors import InputError
    from ildrad.models.deep.inputs import build_cache, load_inputs, stored_input_lung_masks
    from ildrad.models.deep.workflow import load_final_model

    model, settings, targets = load_final_model(model_dir)
    target = target or ("mortality_3y" if "mortality_3y" in targets else targets[len(targets) // 2])
    if target not in targets:
        raise InputError(f"{model_dir}: the deep model has no target '{target}' (it has {', '.join(targets)})")
    folder = Path(model_dir) / GRADCAM_DIR
    method = folder / "method.json"
    if not (method.is_file() and json.loads(method.read_text()) == METHOD):
        for stale in folder.glob("*.png"):  # drawn by an older method
            stale.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        method.write_text(json.dumps(METHOD))
    paths = {k: folder / f"{k}_{target}.png" for k in scan_keys}
    todo = [k for k, path in paths.items() if not path.is_file()]
    if todo:
        torch.set_num_threads(settings.threads)
        cache = build_cache(workspace, settings, todo)
        todo = [k for k in todo if (cache / f"{k}.npy").is_file()]
    if todo:
        x = load_inputs(cache, todo)
        lung = stored_input_lung_masks(workspace, settings, todo)
        maps = grad_cam(model, x, settings.arch, targets.index(target), lung=lung)
        for key, image, heat in zip(todo, x, maps):
            save_overlay_png(image, heat, paths[key], title=f"{settings.arch} {target}")
    return [path for path in paths.values() if path.is_file()]
