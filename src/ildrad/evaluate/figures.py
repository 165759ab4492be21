"""Evaluation figures as PNG: ROC curves, calibration by risk decile, decision curves (one per target)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ildrad.evaluate.metrics import calibration_curve, net_benefit

__all__ = ["write_figures"]


def write_figures(
    predictions: pd.DataFrame, out: str | Path, thresholds: list[float]
) -> list[Path]:
    """Write ``roc_<target>.png``, ``calibration_<target>.png``, ``decision_<target>.png``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    out = Path(out)
    written = []
    for target, group in predictions[predictions.y.notna()].groupby("target"):
        if group.y.nunique() != 2:
            continue
        figures = {
            name: plt.subplots(figsize=(5, 5)) for name in ("roc", "calibration", "decision")
        }
        grid = np.asarray(thresholds, float)
        prevalence = group.drop_duplicates("scan_key").y.mean()
        for model, rows in group.groupby("model"):
            fpr, tpr, _ = roc_curve(rows.y, rows.risk)
            figures["roc"][1].plot(fpr, tpr, label=model)
            if rows.risk.between(0, 1).all():
                predicted, observed = calibration_curve(rows.y.to_numpy(), rows.risk.to_numpy())
                figures["calibration"][1].plot(predicted, observed, "o-", label=model)
                figures["decision"][1].plot(
                    grid, net_benefit(rows.y.to_numpy(), rows.risk.to_numpy(), grid), label=model
                )
        figures["roc"][1].plot([0, 1], [0, 1], "k:", lw=0.8)
        figures["roc"][1].set(
            xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC, {target}"
        )
        figures["calibration"][1].plot([0, 1], [0, 1], "k:", lw=0.8)
        figures["calibration"][1].set(
            xlabel="predicted risk (decile mean)",
            ylabel="observed fraction",
            title=f"Calibration, {target}",
        )
        figures["decision"][1].plot(
            grid,
            prevalence - (1 - prevalence) * grid / (1 - grid),
            "k--",
            lw=0.8,
            label="treat all",
        )
        figures["decision"][1].axhline(0, color="k", lw=0.8, label="treat none")
        figures["decision"][1].set(
            xlabel="threshold probability",
            ylabel="net benefit",
            title=f"Decision curve, {target}",
            ylim=(-0.05, max(prevalence, 0.05) * 1.1),
        )
        for name, (figure, axes) in figures.items():
            axes.legend(fontsize=7)
            path = out / f"{name}_{target}.png"
            figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(figure)
            written.append(path)
    return written
