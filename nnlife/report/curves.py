"""Figures of the curves: how they run per dataset, which families fit them, their shapes, and how
well early prediction works (the figures of the curve-shapes report; see ``nnlife.report.style``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import columns as C
from ..analyse.fitting import best_families, fitted_values
from .style import CURVE_LABELS, SHAPE_COLUMN, datasets_in, empty, grid, log_ticks, need, palette, pyplot

# --- the data at a glance -------------------------------------------------------------------------

OFF_AXIS = 10.0  # values above this many times the 99th percentile leave a panel's y axis


def axis_top(values) -> float | None:
    """The top of a y axis that shows the bulk of ``values``: None when nothing stands out, else
    the largest value within ``OFF_AXIS`` times the 99th percentile (a loss that explodes,
    up to 1e30 in a run that diverged, would otherwise squash every other curve to a line)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    fence = OFF_AXIS * max(float(np.percentile(np.abs(v), 99.0)), 1e-12)
    if v.max() <= fence:
        return None
    return float(v[v <= fence].max())


def plot_curves_by_dataset(
    curves: pd.DataFrame, metric: str = C.VAL_ACC, max_curves: int = 300, seed: int = 0
):
    """How the curves of each dataset run: one panel per dataset, every curve faint (at most
    ``max_curves``, a seeded sample) and the median over networks at each epoch bold.

    curves: long form (id, dataset, epoch, metric). Returns the figure.
    """
    need(curves, ("id", "dataset", C.EPOCH, metric), "plot_curves_by_dataset")
    plt, sns = pyplot()
    datasets = datasets_in(curves)
    fig, axes = grid(max(1, len(datasets)), 3, sharey=False)
    if not datasets:
        return empty(fig, axes[0], "no curves to show")
    colours = palette(datasets)
    rng = np.random.default_rng(seed)
    for ax, ds in zip(axes, datasets):
        sub = curves[curves["dataset"] == ds]
        ids = pd.unique(sub["id"])
        shown = ids if len(ids) <= max_curves else rng.choice(ids, max_curves, replace=False)
        for _, grp in sub[sub["id"].isin(shown)].groupby("id", sort=False):
            ax.plot(grp[C.EPOCH], grp[metric], color=colours[ds], alpha=0.15, lw=0.8)
        med = sub.groupby(C.EPOCH)[metric].median()
        ax.plot(med.index, med.to_numpy(), color="black", lw=2, label="median over networks")
        title = f"{ds} ({len(ids)} networks)"
        finite = sub[metric].where(np.isfinite(sub[metric]))
        top = axis_top(finite)
        if top is not None:  # say what the cut axis leaves out
            low = min(0.0, float(finite.min()))
            ax.set_ylim(low, top + 0.05 * (top - low))
            above = sub.loc[finite > top, "id"].nunique()
            title += f"\n{above} off the top (up to {finite.max():.2g})"
        ax.set_title(title)
        ax.set_xlabel(CURVE_LABELS[C.EPOCH])
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.legend(loc="best", fontsize=9)
    fig.suptitle(f"{CURVE_LABELS.get(metric, metric).split(' (')[0].capitalize()} over training, per dataset")
    fig.tight_layout()
    return fig


def plot_family_wins(fits: pd.DataFrame, table: pd.DataFrame):
    """Which curve families describe the curves best: for each family, the curves for which it
    has the lowest AICc among the successful fits, per dataset (horizontal bars)."""
    plt, sns = pyplot()
    best = best_families(fits)
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(6, best["family"].nunique() * 2) + 1.5))
    if best.empty:
        return empty(fig, ax, "no successful fits")
    best = best.merge(table[["id", "dataset"]], on="id", how="left")
    order = best["family"].value_counts().index.tolist()
    datasets = datasets_in(best)
    sns.countplot(
        data=best,
        y="family",
        hue="dataset",
        order=order,
        hue_order=datasets,
        palette=palette(datasets),
        ax=ax,
    )
    import matplotlib.ticker as mt

    ax.xaxis.set_major_locator(mt.MaxNLocator(integer=True))
    ax.set_xlabel("curves it fits best (lowest AICc)")
    ax.set_ylabel("curve family")
    ax.set_title("Which curve family wins, per dataset")
    ax.legend(title="dataset", loc="lower right")
    fig.tight_layout()
    return fig


def plot_fit_errors(fits: pd.DataFrame):
    """How closely each family follows the curves: RMSE of its fit (percentage points) over
    curves, one box per family, families ordered by median RMSE."""
    need(fits, ("family", "sse", "n_points", "success"), "plot_fit_errors")
    plt, sns = pyplot()
    ok = fits[fits["success"].astype(bool)].copy()
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(5, ok["family"].nunique()) + 1.5))
    if ok.empty:
        return empty(fig, ax, "no successful fits")
    ok["rmse"] = np.sqrt(ok["sse"].astype(float) / ok["n_points"].clip(lower=1).astype(float))
    order = ok.groupby("family")["rmse"].median().sort_values().index.tolist()
    # median and interquartile range per family (a box plot without the whiskers' clutter)
    sns.pointplot(
        data=ok,
        y="family",
        x="rmse",
        order=order,
        estimator="median",
        errorbar=("pi", 50),
        linestyle="none",
        marker="o",
        color="0.25",
        ax=ax,
    )
    ax.set_xscale("log")
    log_ticks(ax)
    ax.set_xlabel(
        "fit RMSE (validation accuracy, percentage points; log scale)\n"
        "dot: median over curves, bar: middle half"
    )
    ax.set_ylabel("curve family")
    ax.set_title("Fit error per family (lower is better)")
    fig.tight_layout()
    return fig


def plot_fit_examples(curves: pd.DataFrame, fits: pd.DataFrame, ids, metric: str = C.VAL_ACC, families=None):
    """Example curves with fitted families drawn over them: one panel per id; by default the
    winning family (lowest AICc) and PENGUIN's penguin3 when it was fitted."""
    need(curves, ("id", C.EPOCH, metric), "plot_fit_examples")
    plt, sns = pyplot()
    ids = list(ids)
    fig, axes = grid(max(1, len(ids)), 3)
    if not ids:
        return empty(fig, axes[0], "no curves to show")
    best = best_families(fits).set_index("id")["family"]
    for ax, cid in zip(axes, ids):
        c = curves[curves["id"] == cid]
        ax.plot(c[C.EPOCH], c[metric], "o", ms=3, color="0.3", label="measured")
        fams = list(families) if families else [f for f in (best.get(cid), "penguin3") if f]
        xs = np.linspace(float(c[C.EPOCH].min()), float(c[C.EPOCH].max()), 200)
        for fam in dict.fromkeys(fams):
            row = fits[(fits["id"] == cid) & (fits["family"] == fam)]
            if row.empty or not bool(row["success"].iloc[0]):
                continue
            ax.plot(
                xs,
                fitted_values(row.iloc[0], xs),
                lw=2,
                label=f"{fam}{' (best AICc)' if fam == best.get(cid) else ''}",
            )
        ds = c["dataset"].iloc[0] if "dataset" in c.columns and len(c) else ""
        ax.set_title(f"{cid[:28]} ({ds})", fontsize=10)
        ax.set_xlabel(CURVE_LABELS[C.EPOCH])
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Fitted families on example curves")
    fig.tight_layout()
    return fig


# --- shapes ---------------------------------------------------------------------------------------
def plot_shape_counts(table: pd.DataFrame, column: str = SHAPE_COLUMN):
    """How common each shape class is, per dataset (share of the dataset's networks, %)."""
    need(table, ("dataset", column), "plot_shape_counts")
    plt, sns = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if table.empty:
        return empty(fig, ax, "no networks")
    share = table.groupby("dataset")[column].value_counts(normalize=True) * 100
    share = share.rename("share").reset_index()
    order = table[column].value_counts().index.tolist()
    datasets = datasets_in(table)
    sns.barplot(
        data=share,
        y=column,
        x="share",
        hue="dataset",
        order=order,
        hue_order=datasets,
        palette=palette(datasets),
        ax=ax,
    )
    ax.set_xlabel("share of the dataset's networks (%)")
    ax.set_ylabel("shape class")
    ax.set_title("Shape classes per dataset")
    ax.legend(title="dataset", loc="lower right")
    fig.tight_layout()
    return fig


def plot_shape_examples(
    curves: pd.DataFrame,
    table: pd.DataFrame,
    per_class: int = 4,
    column: str = SHAPE_COLUMN,
    metric: str = C.VAL_ACC,
    seed: int = 0,
):
    """What each shape class looks like: one panel per class with up to ``per_class`` of its
    curves (a seeded sample), coloured by dataset."""
    need(table, ("id", "dataset", column), "plot_shape_examples")
    plt, sns = pyplot()
    classes = table[column].value_counts().index.tolist()
    fig, axes = grid(max(1, len(classes)), 3)
    if not classes:
        return empty(fig, axes[0], "no shape classes")
    colours = palette(datasets_in(table))
    rng = np.random.default_rng(seed)
    for ax, cls in zip(axes, classes):
        members = table[table[column] == cls]
        pick = (
            members
            if len(members) <= per_class
            else members.iloc[np.sort(rng.choice(len(members), per_class, replace=False))]
        )
        seen = set()
        for _, r in pick.iterrows():
            c = curves[curves["id"] == r["id"]]
            ds = r["dataset"]
            ax.plot(
                c[C.EPOCH],
                c[metric],
                color=colours.get(ds, "0.3"),
                lw=1.3,
                label=ds if ds not in seen else None,
            )
            seen.add(ds)
        ax.set_title(f"{cls} ({len(members)} networks)", fontsize=11)
        ax.set_xlabel(CURVE_LABELS[C.EPOCH])
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.legend(fontsize=8, loc="best", title="dataset", title_fontsize=8)
    fig.suptitle("Example curves of each shape class")
    fig.tight_layout()
    return fig


# --- early prediction -----------------------------------------------------------------------------
def plot_prediction_benchmark(summary: pd.DataFrame, metric: str = "mae"):
    """How well each method predicts final fitness from the first epochs: ``metric`` (a column of
    the benchmark summary: "mae" in percentage points, or "spearman") against the cutoff epoch,
    one line per method."""
    need(summary, ("method", "cutoff", metric), "plot_prediction_benchmark")
    plt, sns = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    summary = summary[np.isfinite(pd.to_numeric(summary[metric], errors="coerce"))]
    if summary.empty:
        return empty(fig, ax, f"no {metric} to show (too few networks or epochs before the cut-offs)")
    has_ds = "dataset" in summary.columns and summary["dataset"].nunique() > 1
    sns.lineplot(
        data=summary,
        x="cutoff",
        y=metric,
        hue="method",
        style="dataset" if has_ds else None,
        marker="o",
        ax=ax,
    )
    cuts = sorted(summary["cutoff"].unique())
    if "n" in summary.columns:  # networks predicted at each cut-off (runs shorter drop out)
        n_at = summary.groupby("cutoff")["n"].max()
        ax.set_xticks(cuts, [f"{c:g}\n(n={int(n_at[c])})" for c in cuts])
    else:
        ax.set_xticks(cuts, [f"{c:g}" for c in cuts])
    ax.set_xlabel("epochs observed before predicting (cut-off; n: networks predicted)")
    ylabels = {
        "mae": "mean absolute error (points)",
        "rmse": "RMSE (points)",
        "median_ae": "median absolute error (points)",
        "bias": "bias, predicted - true (points)",
        "spearman": "Spearman rho, predicted vs. true",
    }
    titles = {"spearman": "Does early prediction rank the networks right?"}
    ax.set_ylabel(ylabels.get(metric, metric))
    ax.set_title(titles.get(metric, "Early prediction of final validation accuracy"))
    ax.legend(loc="best", fontsize=9, title="method")
    fig.tight_layout()
    return fig


__all__ = [
    "plot_curves_by_dataset",
    "plot_family_wins",
    "plot_fit_errors",
    "plot_fit_examples",
    "plot_shape_counts",
    "plot_shape_examples",
    "plot_prediction_benchmark",
]
