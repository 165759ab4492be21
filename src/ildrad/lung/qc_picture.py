"""QC montage: axial slices through the three zones and a coronal slice, lung window, overlays.

Zones are filled with translucent colours (right lung reds, left lung blues, darker = lower),
the lung outline is drawn, the oesophagus lumen in yellow, and the oesophagus measurement plane
is one of the axial panels. The PNG is small enough for reports (about 100-250 kB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ildrad.image import Image, Mask

__all__ = ["write_qc_picture"]

_ZONE_COLOURS = {
    11: (1.0, 0.55, 0.55), 12: (0.9, 0.25, 0.25), 13: (0.6, 0.05, 0.05),
    21: (0.55, 0.7, 1.0), 22: (0.25, 0.45, 0.95), 23: (0.05, 0.15, 0.6),
}
_WINDOW = (-1350.0, 150.0)  # lung window: level -600, width 1500


def write_qc_picture(
    path: str | Path,
    ct: Image,
    lungs: Mask,
    zones: Mask,
    oesophagus: Mask | None = None,
    oesophagus_slice: int | None = None,
    title: str = "",
) -> Path:
    """Write the QC montage PNG and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    slices = _axial_levels(zones)
    if oesophagus_slice is not None:
        slices.append(oesophagus_slice)
    lung_index = np.argwhere(lungs.array > 0)
    coronal_row = int(np.median(lung_index[:, 1])) if lung_index.size else ct.shape[1] // 2
    panels = [("axial", k) for k in slices] + [("coronal", coronal_row)]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.3), dpi=80)
    axes = np.atleast_1d(axes)
    sz, sy, sx = ct.spacing
    for ax, (kind, index) in zip(axes, panels):
        if kind == "axial":
            image, zone, lung = ct.array[index], zones.array[index], lungs.array[index]
            oes = None if oesophagus is None else oesophagus.array[index]
            aspect = sy / sx
            label = f"axial {index}" + (" (oesophagus)" if index == oesophagus_slice else "")
        else:
            image, zone, lung = ct.array[:, index], zones.array[:, index], lungs.array[:, index]
            oes = None if oesophagus is None else oesophagus.array[:, index]
            aspect = sz / sx
            label = f"coronal {index}"
        if kind == "coronal" and ct.grid.direction_matrix[2, 0] > 0:  # head at the top
            image, zone, lung = image[::-1], zone[::-1], lung[::-1]
            oes = None if oes is None else oes[::-1]
        ax.imshow(image, cmap="gray", vmin=_WINDOW[0], vmax=_WINDOW[1], aspect=aspect, interpolation="nearest")
        ax.imshow(_zone_rgba(zone), aspect=aspect, interpolation="nearest")
        if lung.any():
            ax.contour(lung > 0, levels=[0.5], colors="lime", linewidths=0.6)
        if oes is not None and oes.any():
            ax.contour(oes > 0, levels=[0.5], colors="yellow", linewidths=0.8)
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _axial_levels(zones: Mask) -> list[int]:
    """One axial slice in the middle of each zone (upper, middle, lower; both lungs)."""
    levels = []
    for zone in (1, 2, 3):
        present = np.flatnonzero(np.isin(zones.array, (10 + zone, 20 + zone)).any(axis=(1, 2)))
        if present.size:
            levels.append(int(present[present.size // 2]))
    return levels or [zones.array.shape[0] // 2]


def _zone_rgba(zone: np.ndarray) -> np.ndarray:
    rgba = np.zeros(zone.shape + (4,), dtype=np.float32)
    for code, colour in _ZONE_COLOURS.items():
        where = zone == code
        rgba[where, :3] = colour
        rgba[where, 3] = 0.28
    return rgba
