"""Figures of structure against fitness: the fitness distribution, feature distributions, the
correlation heatmap, and one feature against fitness (the figures of the structure report; see ``nnlife.report.style``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analyse.correlations import correlation_matrix
from ..analyse.structure import label
from .style import (
    DISTRIBUTION_FEATURES,
    LOG_FEATURES,
    datasets_in,
    empty,
    grid,
    log_ticks,
    need,
    palette,
    pyplot,
)


def plot_fitness_distribution(table: pd.DataFrame, target: str = "final_val_acc"):
    """Where the networks end up: histogram of ``target`` per dataset, chance level marked."""
    need(table, ("dataset", target), "plot_fitness_distribution")
    plt, sns = pyplot()
    datasets = datasets_in(table)
    fig, axes = grid(max(1, len(datasets)), 3)
    if not datasets:
        return empty(fig, axes[0], "no networks to show")
    colours = palette(datasets)
    for ax, ds in zip(axes, datasets):
        sub = table[table["dataset"] == ds]
        vals = pd.to_numeric(sub[target], errors="coerce")
        vals = vals[np.isfinite(vals)]
        sns.histplot(vals, ax=ax, color=colours[ds], bins=min(30, max(5, len(vals) // 3)))
        if "chance_acc" in sub.columns and target.endswith("acc"):
            ax.axvline(
                float(sub["chance_acc"].iloc[0]),
                color="black",
                ls="--",
                lw=1.2,
                label="chance (100 / classes)",
            )
            ax.legend(loc="best", fontsize=9)
        ax.set_title(f"{ds} ({len(vals)} networks)")
        ax.set_xlabel(label(target))
        ax.set_ylabel("networks")
    fig.suptitle(f"Distribution of {label(target)}")
    fig.tight_layout()
    return fig


def plot_feature_distributions(table: pd.DataFrame, features=None, ncols: int = 4):
    """What the networks look like: the distribution of each structure feature per dataset
    (histograms as step lines, log axes for features spanning orders of magnitude); default
    features: DISTRIBUTION_FEATURES."""
    plt, sns = pyplot()
    features = [f for f in (features or DISTRIBUTION_FEATURES) if f in table.columns]
    fig, axes = grid(max(1, len(features)), ncols, width=3.6, height=2.8)
    if not features or table.empty:
        return empty(fig, axes[0], "no features to show")
    datasets = datasets_in(table)
    colours = palette(datasets)
    for i, (ax, f) in enumerate(zip(axes, features)):
        vals = pd.to_numeric(table[f], errors="coerce")
        ok = np.isfinite(vals)
        log = f in LOG_FEATURES and bool((vals[ok] > 0).all()) and vals[ok].nunique() > 1
        data = table[ok].assign(**{f: vals[ok]})
        sns.histplot(
            data=data,
            x=f,
            hue="dataset",
            hue_order=datasets,
            palette=colours,
            element="step",
            fill=False,
            stat="count",
            common_norm=False,
            log_scale=log,
            bins=min(20, max(3, int(vals[ok].nunique()))),
            ax=ax,
            legend=(i == 0),
        )
        if log:
            log_ticks(ax)
        ax.set_xlabel(label(f) + (" (log scale)" if log else ""), fontsize=9)
        ax.set_ylabel("networks", fontsize=9)
    fig.suptitle("Structure and training features per dataset")
    fig.tight_layout()
    return fig


def plot_correlation_heatmap(corr: pd.DataFrame, method: str = "spearman", target: str = "final_val_acc"):
    """Which features go with fitness: rank correlation ``r`` of each feature with ``target``,
    per dataset and pooled (and the partial correlation controlling for the dataset when
    present); a star marks Benjamini-Hochberg significance."""
    plt, sns = pyplot()
    m = correlation_matrix(corr, method, target)
    sig = (
        corr[(corr["method"] == method) & (corr["target"] == target)]
        .pivot(index="feature", columns="scope", values="significant")
        .reindex(index=m.index, columns=m.columns)
    )
    partial = corr[(corr["method"] == "partial_spearman") & (corr["target"] == target)]
    if method == "spearman" and not partial.empty:
        p = partial.set_index("feature")
        col = "pooled, controlling for dataset"
        m[col] = p["r"].reindex(m.index)
        sig[col] = p["significant"].reindex(m.index)
    import matplotlib as mpl

    values = m.astype(float).to_numpy()
    stars = sig.eq(True).to_numpy()
    fig, ax = plt.subplots(figsize=(2.6 + 1.5 * m.shape[1], 0.38 * m.shape[0] + 2.0))
    cmap = sns.color_palette("vlag", as_cmap=True).with_extremes(bad="0.92")
    im = ax.imshow(
        np.ma.masked_invalid(values),
        cmap=cmap,
        norm=mpl.colors.Normalize(-1, 1),
        aspect="auto",
        interpolation="nearest",
    )
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{v:.2f}{'*' if stars[i, j] else ''}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if abs(v) > 0.6 else "black",
            )
    ax.set_xticks(range(m.shape[1]), [str(c) for c in m.columns], rotation=30, ha="right")
    ax.set_yticks(range(m.shape[0]), [label(f) for f in m.index])
    ax.grid(False)
    fig.colorbar(im, ax=ax, label=f"{method.replace('_', ' ')} r (grey: undefined)")
    ax.set_xlabel("networks included")
    ax.set_ylabel("feature")
    ax.set_title(
        f"Rank correlation with {label(target)}\n(* significant after Benjamini-Hochberg, FDR 5 %)",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def plot_feature_vs_fitness(table: pd.DataFrame, feature: str, target: str = "final_val_acc", bins: int = 8):
    """One feature against fitness: every network as a dot, coloured by dataset, with the median
    of ``target`` in quantile bins of the feature as each dataset's trend line."""
    need(table, ("dataset", feature, target), "plot_feature_vs_fitness")
    plt, sns = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = pd.to_numeric(table[feature], errors="coerce")
    y = pd.to_numeric(table[target], errors="coerce")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return empty(fig, ax, f"no networks with both {feature} and {target}")
    data = table[ok].assign(**{feature: x[ok], target: y[ok]})
    datasets = datasets_in(data)
    colours = palette(datasets)
    log = feature in LOG_FEATURES and bool((data[feature] > 0).all()) and data[feature].nunique() > 1
    sns.scatterplot(
        data=data,
        x=feature,
        y=target,
        hue="dataset",
        hue_order=datasets,
        palette=colours,
        alpha=0.6,
        s=22,
        ax=ax,
    )
    for ds in datasets:
        sub = data[data["dataset"] == ds]
        if sub[feature].nunique() < 3:
            continue
        q = pd.qcut(sub[feature].rank(method="first"), min(bins, len(sub) // 3 or 1), labels=False)
        trend = sub.groupby(q).agg(xm=(feature, "median"), ym=(target, "median"))
        ax.plot(trend["xm"], trend["ym"], color=colours[ds], lw=2.2, label=f"{ds}: binned median")
    if log:
        ax.set_xscale("log")
        log_ticks(ax)
    ax.set_xlabel(label(feature) + (" (log scale)" if log else ""))
    ax.set_ylabel(label(target))
    ax.set_title(f"{label(target).split(' (')[0].capitalize()} against {label(feature).split(' (')[0]}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


__all__ = [
    "plot_fitness_distribution",
    "plot_feature_distributions",
    "plot_correlation_heatmap",
    "plot_feature_vs_fitness",
]
