"""QC montage: axial slices through the three zones and a coronal slice, lung window, overlays.

Zones are filled with translucent colours (right lung reds, left lung blues, darker = lower),
the lung outline is drawn, the oesophagus lumen in yellow, and the oesophagus measurement plane
is one of the axial panels. When the PA/Ao ratio was measured, a last panel shows its plane in a
mediastinal window (level 40, width 400 HU) around the great vessels, with the two measured
diameters drawn as line segments (pulmonary artery cyan, ascending aorta red). The PNG is small
enough for reports (about 100-250 kB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ildrad.image import Image, Mask
from ildrad.lung.counts import position_percentiles
from ildrad.lung.pulmonary_artery import PaAoMeasure

__all__ = ["write_qc_picture"]

_ZONE_COLOURS = {
    11: (1.0, 0.55, 0.55), 12: (0.9, 0.25, 0.25), 13: (0.6, 0.05, 0.05),
    21: (0.55, 0.7, 1.0), 22: (0.25, 0.45, 0.95), 23: (0.05, 0.15, 0.6),
}
_WINDOW = (-1350.0, 150.0)  # lung window: level -600, width 1500
_MEDIASTINAL_WINDOW = (-160.0, 240.0)  # level 40, width 400
_PA_AO_VIEW_MM = 55.0  # half-width of the PA/Ao panel around the two vessels


def write_qc_picture(
    path: str | Path,
    ct: Image,
    lungs: Mask,
    zones: Mask,
    oesophagus: Mask | None = None,
    oesophagus_slice: int | None = None,
    pa_ao: PaAoMeasure | None = None,
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
    lung = lungs.array > 0
    coronal_row = int(position_percentiles(lung, 1, (50.0,))[0]) if lung.any() else ct.shape[1] // 2
    panels = [("axial", k) for k in slices] + [("coronal", coronal_row)]
    if pa_ao is not None and pa_ao.measurement_slice is not None:
        panels.append(("pa_ao", pa_ao.measurement_slice))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 3.3), dpi=80)
    axes = np.atleast_1d(axes)
    sz, sy, sx = ct.spacing
    for ax, (kind, index) in zip(axes, panels):
        if kind == "pa_ao":
            _draw_pa_ao(ax, ct, pa_ao)
            continue
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


def _draw_pa_ao(ax, ct: Image, pa_ao: PaAoMeasure) -> None:
    """Mediastinal-window crop of the PA/Ao plane with both measured diameters drawn."""
    sy, sx = ct.spacing[1:]
    centres = np.array([pa_ao.pulmonary_artery.centre, pa_ao.aorta.centre])
    middle = centres.mean(axis=0)
    rows = slice(max(int(middle[0] - _PA_AO_VIEW_MM / sy), 0), int(middle[0] + _PA_AO_VIEW_MM / sy) + 1)
    columns = slice(max(int(middle[1] - _PA_AO_VIEW_MM / sx), 0), int(middle[1] + _PA_AO_VIEW_MM / sx) + 1)
    ax.imshow(ct.array[pa_ao.measurement_slice][rows, columns], cmap="gray", vmin=_MEDIASTINAL_WINDOW[0],
              vmax=_MEDIASTINAL_WINDOW[1], aspect=sy / sx, interpolation="nearest")
    for section, colour, name in ((pa_ao.pulmonary_artery, "cyan", "PA"), (pa_ao.aorta, "red", "Ao")):
        (r0, c0), (r1, c1) = section.chord
        ax.plot([c0 - columns.start, c1 - columns.start], [r0 - rows.start, r1 - rows.start], color=colour, linewidth=1.2)
        ax.text(section.centre[1] - columns.start, section.centre[0] - rows.start, f"{name} {section.diameter_mm:.0f}",
                color=colour, fontsize=7, ha="center", va="bottom")
    ax.set_title(f"axial {pa_ao.measurement_slice} PA/Ao {pa_ao.ratio:.2f} "
                 f"({pa_ao.pa_diameter_mm:.0f}/{pa_ao.aorta_diameter_mm:.0f} mm)", fontsize=8)
    ax.axis("off")


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
