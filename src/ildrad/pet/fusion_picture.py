"""Fused PET/CT picture for QC: axial and coronal CT slices with SUV in colour and regions outlined."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ildrad.image import Image, Mask

__all__ = ["write_fusion_png"]


def _coronal(array: np.ndarray, row: int) -> np.ndarray:
    return array[:, row, :]


def write_fusion_png(ct: Image, suv_on_ct: Image, path: str | Path, *, lungs: Mask | None = None,
                     references: dict[str, Mask | None] | None = None, suv_max_display: float | None = None) -> Path:
    """Write a two-panel PNG (axial, coronal) of ``suv_on_ct`` over ``ct`` (same grid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if lungs is not None and lungs.array.any():
        z, y, _ = (int(round(c)) for c in np.argwhere(lungs.array > 0).mean(axis=0))
    else:
        z, y = ct.shape[0] // 2, ct.shape[1] // 2
    top = suv_max_display or max(float(np.percentile(suv_on_ct.array, 99.9)), 1.0)
    dz, dy, dx = ct.spacing
    superior_first = ct.grid.direction_matrix[2, 0] < 0
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
    panels = [(ct.array[z], suv_on_ct.array[z], dy / dx, "axial", z, None),
              (_coronal(ct.array, y), _coronal(suv_on_ct.array, y), dz / dx, "coronal", y, superior_first)]
    for axis, (hu, suv, aspect, name, index, superior) in zip(axes, panels, strict=True):
        origin = "upper" if superior in (None, True) else "lower"
        axis.imshow(hu, cmap="gray", vmin=-1000, vmax=300, aspect=aspect, origin=origin)
        shown = axis.imshow(np.ma.masked_less(suv, 0.3), cmap="hot", vmin=0, vmax=top, alpha=0.55,
                            aspect=aspect, origin=origin)
        outlines = {"lungs": (lungs, "cyan")} if lungs is not None else {}
        for key, mask in (references or {}).items():
            if mask is not None:
                outlines[key] = (mask, "lime" if key == "blood_pool" else "magenta")
        for mask, colour in outlines.values():
            plane = mask.array[index] if name == "axial" else _coronal(mask.array, index)
            if plane.any():
                axis.contour(plane > 0, levels=[0.5], colors=colour, linewidths=0.7, origin=origin)
        axis.set_title(f"{name} slice {index}")
        axis.axis("off")
    fig.colorbar(shown, ax=axes, fraction=0.025, label="SUV")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return path
