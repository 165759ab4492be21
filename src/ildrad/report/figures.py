"""Report figures as PNG bytes: ROC, calibration, decision and Kaplan-Meier curves, importance,
harmonisation PCA, distributions and longitudinal plots.

Every function takes tables already computed by the evaluation and model modules and only draws
them (the curves' points come from :mod:`ildrad.evaluate.metrics`, so a figure can never disagree
with ``metrics.csv``). Each returns PNG bytes ready for :func:`ildrad.report.html.figure_tag`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ildrad.report.html import figure_png

__all__ = [
    "calibration_figure",
    "decision_figure",
    "distribution_figure",
    "importance_figure",
    "kaplan_meier_figure",
    "longitudinal_figure",
    "pca_figure",
    "roc_figure",
]


def _axes(width: float = 5.0, height: float = 4.2, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return figure, axes[0]


def roc_figure(
    predictions: pd.DataFrame, target: str, auc: Mapping[str, tuple[float, float, float]]
) -> bytes:
    """ROC curve of each model for ``target``; ``auc[model] = (value, ci_low, ci_high)`` from
    ``metrics.csv`` labels the legend."""
    from sklearn.metrics import roc_curve

    figure, (axes,) = _axes()
    for model, rows in predictions.groupby("model", sort=True):
        if rows.y.nunique() < 2:
            continue
        fpr, tpr, _ = roc_curve(rows.y, rows.risk)
        value, low, high = auc.get(model, (float("nan"),) * 3)
        axes.plot(fpr, tpr, label=f"{model}: AUC {value:.3f} ({low:.3f}-{high:.3f})")
    axes.plot([0, 1], [0, 1], "k:", lw=0.8)
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC, {target}")
    axes.legend(fontsize=7, loc="lower right")
    return figure_png(figure)


def calibration_figure(predictions: pd.DataFrame, target: str) -> bytes:
    """Observed event fraction against mean predicted risk by risk decile, per model."""
    from ildrad.evaluate.metrics import calibration_curve

    figure, (axes,) = _axes()
    for model, rows in predictions.groupby("model", sort=True):
        if rows.risk.between(0, 1).all() and rows.y.nunique() == 2:
            predicted, observed = calibration_curve(
                rows.y.to_numpy(float), rows.risk.to_numpy(float)
            )
            axes.plot(predicted, observed, "o-", label=model)
    axes.plot([0, 1], [0, 1], "k:", lw=0.8, label="ideal")
    axes.set(
        xlabel="predicted risk (decile mean)",
        ylabel="observed fraction",
        title=f"Calibration, {target}",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    axes.legend(fontsize=7)
    return figure_png(figure)


def decision_figure(predictions: pd.DataFrame, target: str, thresholds: Sequence[float]) -> bytes:
    """Net benefit per threshold probability, per model, with treat-all and treat-none."""
    from ildrad.evaluate.metrics import net_benefit

    grid = np.asarray(thresholds, float)
    figure, (axes,) = _axes()
    prevalence = float(predictions.drop_duplicates("scan_key").y.mean())
    for model, rows in predictions.groupby("model", sort=True):
        if rows.risk.between(0, 1).all():
            axes.plot(
                grid,
                net_benefit(rows.y.to_numpy(float), rows.risk.to_numpy(float), grid),
                "o-",
                label=model,
            )
    axes.plot(
        grid, prevalence - (1 - prevalence) * grid / (1 - grid), "k--", lw=0.8, label="treat all"
    )
    axes.axhline(0, color="k", lw=0.8, label="treat none")
    axes.set(
        xlabel="threshold probability",
        ylabel="net benefit",
        title=f"Decision curve, {target}",
        ylim=(-0.05, max(prevalence, 0.05) * 1.1),
    )
    axes.legend(fontsize=7)
    return figure_png(figure)


def kaplan_meier_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str) -> bytes:
    """Step plots of Kaplan-Meier survivor curves (``curves[label] = (time_years, survival)``)."""
    figure, (axes,) = _axes()
    for label, (time, survival) in curves.items():
        axes.step(
            np.concatenate([[0.0], time]),
            np.concatenate([[1.0], survival]),
            where="post",
            label=label,
        )
    axes.set(xlabel="years from scan", ylabel="survival", title=title, ylim=(0, 1.02))
    axes.legend(fontsize=7)
    return figure_png(figure)


def importance_figure(importance: pd.Series, title: str) -> bytes:
    """Horizontal bars of the largest importances (index = feature names)."""
    top = importance.sort_values(ascending=True).tail(15)
    figure, (axes,) = _axes(7.0, 0.3 * len(top) + 1.2)
    axes.barh(range(len(top)), top.to_numpy(float))
    axes.set_yticks(range(len(top)), [str(n) for n in top.index], fontsize=7)
    axes.set(xlabel="importance", title=title)
    return figure_png(figure)


def pca_figure(panels: Mapping[str, np.ndarray], batches: np.ndarray, title: str) -> bytes:
    """Side-by-side scatter of the first two principal components per panel, coloured by batch."""
    figure, axes = _axes(4.6, 4.2, ncols=len(panels))
    levels = sorted(set(batches.tolist()))
    for ax, (name, scores) in zip(axes, panels.items(), strict=True):
        for level in levels:
            rows = batches == level
            ax.scatter(scores[rows, 0], scores[rows, 1], s=14, label=str(level)[:40])
        ax.set(xlabel="PC 1", ylabel="PC 2", title=name)
    axes[-1].legend(fontsize=6, title="scanner")
    figure.suptitle(title)
    return figure_png(figure)


def distribution_figure(values: Mapping[str, np.ndarray], title: str, xlabel: str) -> bytes:
    """Box plots of several variables (NaN dropped)."""
    figure, (axes,) = _axes(7.0, 0.35 * len(values) + 1.4)
    names = list(values)
    axes.boxplot(
        [np.asarray(values[n], float)[np.isfinite(values[n])] for n in names],
        orientation="horizontal",
        tick_labels=names,
    )
    axes.tick_params(axis="y", labelsize=7)
    axes.set(xlabel=xlabel, title=title)
    return figure_png(figure)


def longitudinal_figure(
    frame: pd.DataFrame, panels: Mapping[str, Sequence[str]], title: str
) -> bytes:
    """One panel per entry, each plotting columns of ``frame`` against ``frame.years``."""
    figure, axes = _axes(4.2, 3.4, ncols=len(panels))
    for ax, (name, columns) in zip(axes, panels.items(), strict=True):
        for column in columns:
            rows = frame[["years", column]].dropna()
            if len(rows):
                ax.plot(rows.years, rows[column], "o-", label=column)
        ax.set(xlabel="years from first scan", title=name)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    figure.suptitle(title)
    return figure_png(figure)
