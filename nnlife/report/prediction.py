"""Figures of the prediction report: every method at every cut-off with its intervals, the seed
variance that bounds any predictor, and the savings/regret curve of early termination.

Each ``plot_*`` draws one idea in one new figure and returns it; a figure with nothing to show
says why in its place instead of failing (three published tables are too few to train on).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analyse.structure import seed_spread
from .style import empty, grid, need, pyplot

METHOD_LABELS = {
    "last_value": "last value",
    "penguin": "PENGUIN",
    "nnlife": "family ensemble",
    "learned": "learned (cross-fitted)",
    "predictor": "predictor",
}
METHOD_ORDER = ("last_value", "penguin", "nnlife", "learned", "predictor")
COVERAGE_GOAL = (0.75, 0.85)  # the target band for the 80 % intervals


def _nothing(fig, ax, message: str):
    """``style.empty``, in a framed panel: a page crops a figure to what it draws, and the bare
    message alone would come out as a thin strip."""
    empty(fig, ax, message)
    ax.set_axis_on()
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("0.85")
    return fig


def _methods(frame) -> list:
    present = list(pd.unique(frame["method"]))
    return [m for m in METHOD_ORDER if m in present] + sorted(set(present) - set(METHOD_ORDER))


def _colours(methods) -> dict:
    import seaborn as sns

    c = sns.color_palette("colorblind", len(METHOD_ORDER) + 4)
    return {
        m: c[METHOD_ORDER.index(m)] if m in METHOD_ORDER else c[len(METHOD_ORDER) + k]
        for k, m in enumerate(methods)
    }


def plot_prediction_summary(summary: pd.DataFrame):
    """Four panels against the cut-off, one line per method: mean absolute error, Spearman's rho,
    coverage of the 80 % intervals (the 75-85 % goal shaded) and their mean width.
    summary: ``interval_summary``'s table (method, cutoff, n, mae, spearman, coverage, width)."""
    plt, _ = pyplot()
    if summary is None or len(summary) == 0:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        return _nothing(fig, ax, "no predictions to show (too few networks or epochs)")
    need(summary, ("method", "cutoff", "mae", "spearman", "coverage", "width"), "plot_prediction_summary")
    fig, axes = grid(4, 2, width=5.2, height=3.4)
    methods = _methods(summary)
    col = _colours(methods)
    panels = [
        ("mae", "mean absolute error (points)", "How far off?"),
        ("spearman", "Spearman rho, predicted vs. true", "Does it rank the networks?"),
        ("coverage", "share of truths inside the 80 % interval", "Are the intervals honest?"),
        ("width", "mean width of the 80 % interval (points)", "How wide must they be?"),
    ]
    cuts = sorted(summary["cutoff"].unique())
    for ax, (metric, ylabel, title) in zip(axes, panels):
        if metric == "coverage":
            ax.axhspan(*COVERAGE_GOAL, color="0.85", zorder=0, label="goal 75-85 %")
        for m in methods:
            s = summary[summary["method"] == m].sort_values("cutoff")
            ax.plot(s["cutoff"], s[metric], marker="o", color=col[m], label=METHOD_LABELS.get(m, m))
        ax.set_xscale("log")
        ax.set_xticks(cuts, [f"{c:g}" for c in cuts])
        ax.minorticks_off()
        ax.set_xlabel("epochs observed (cut-off)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    axes[0].legend(fontsize=8, loc="best")
    n = summary.groupby("method")["n"].max()
    fig.suptitle(
        "Early prediction of the final validation accuracy; networks per method: "
        + ", ".join(f"{METHOD_LABELS.get(m, m)} {int(n[m])}" for m in methods),
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_prediction_intervals(results: pd.DataFrame, max_points: int = 150, seed: int = 0):
    """Predicted against true final accuracy with each network's 80 % interval, one panel per
    method (rows) and cut-off (columns); the diagonal is a perfect prediction. results: the
    cross-fitted benchmark table (id, cutoff, method, predicted, lower, upper, truth); at most
    ``max_points`` networks per panel (a seeded sample, the same networks in every panel)."""
    plt, _ = pyplot()
    if results is None or len(results) == 0:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        return _nothing(fig, ax, "no predictions to show (too few networks or epochs)")
    methods = _methods(results)
    cuts = sorted(results["cutoff"].unique())
    ids = pd.unique(results["id"])
    if len(ids) > max_points:
        ids = np.random.default_rng(seed).choice(ids, max_points, replace=False)
    r = results[results["id"].isin(set(ids))]
    fig, axes = plt.subplots(
        len(methods),
        len(cuts),
        figsize=(2.9 * len(cuts), 2.7 * len(methods)),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    col = _colours(methods)
    for i, m in enumerate(methods):
        for j, c in enumerate(cuts):
            ax = axes[i, j]
            s = r[(r["method"] == m) & (r["cutoff"] == c)]
            ax.plot([0, 100], [0, 100], color="0.6", lw=0.8)
            if len(s):
                inside = (s["truth"] >= s["lower"]) & (s["truth"] <= s["upper"])
                ax.errorbar(
                    s["truth"],
                    s["predicted"],
                    yerr=[s["predicted"] - s["lower"], s["upper"] - s["predicted"]],
                    fmt="o",
                    ms=2.5,
                    lw=0.5,
                    color=col[m],
                    alpha=0.6,
                )
                ax.text(
                    0.03,
                    0.97,
                    f"{inside.mean():.0%} inside\nMAE {np.mean(np.abs(s['predicted'] - s['truth'])):.1f}",
                    transform=ax.transAxes,
                    va="top",
                    fontsize=7,
                )
            if i == 0:
                ax.set_title(f"{c:g} epochs seen", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{METHOD_LABELS.get(m, m)}\npredicted (%)", fontsize=8)
            if i == len(methods) - 1:
                ax.set_xlabel("true final val acc (%)", fontsize=8)
    fig.suptitle("Predictions with their 80 % intervals, per method and cut-off", fontsize=10)
    fig.tight_layout()
    return fig


def plot_seed_variance(table: pd.DataFrame, target: str = "final_val_acc"):
    """The floor any predictor faces: the final accuracies of each network trained with several
    seeds, one row per network (sorted by the mean), with the median range in the title."""
    plt, _ = pyplot()
    spread = seed_spread(table, target)
    if spread.empty:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        return _nothing(
            fig,
            ax,
            "no network was trained with several seeds here "
            "(nnlife generate --seeds-per-network 3 makes such groups)",
        )
    t = table[table["net_id"].isin(spread["net_id"])]
    fig, axes = plt.subplots(
        1, 2, figsize=(11, max(3.0, 0.28 * len(spread) + 1.5)), gridspec_kw={"width_ratios": (2, 1)}
    )
    ax = axes[0]
    pos = {n: k for k, n in enumerate(spread["net_id"])}
    for n, grp in t.groupby("net_id"):
        y = pos[n]
        v = grp[target].to_numpy(dtype=float)
        ax.plot([v.min(), v.max()], [y, y], color="0.6", lw=1.5, zorder=1)
        ax.scatter(v, np.full(v.size, y), s=18, zorder=2)
    ax.set_yticks(range(len(spread)), spread["net_id"], fontsize=7)
    ax.set_xlabel(f"{target.replace('_', ' ')} of each seed (%)")
    ax.set_title("One network, several seeds")
    ax2 = axes[1]
    ax2.hist(spread["range"], bins=min(20, max(5, len(spread))), color="0.4")
    ax2.set_xlabel("range over the seeds (points)")
    ax2.set_ylabel("networks")
    ax2.set_title("Spread")
    fig.suptitle(
        f"{len(spread)} networks with {int(spread['seeds'].median())} seeds (median): "
        f"median range {spread['range'].median():.1f} points, median sd "
        f"{spread['sd'].median():.1f}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_savings_regret(stopping: pd.DataFrame):
    """Early termination: training saved against regret (left) and against the recall of the true
    top 10 (right), one line per method; solid: stop when the interval's upper end is below the
    k-th best so far (k falls along the line), dashed: successive halving (eta rises).
    stopping: ``simulate_early_stopping``'s table."""
    plt, _ = pyplot()
    if stopping is None or len(stopping) == 0:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        return _nothing(fig, ax, "no early-stopping replay to show (too few networks)")
    need(
        stopping,
        ("rule", "method", "param", "savings", "regret", "recall", "n_networks"),
        "plot_savings_regret",
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    methods = _methods(stopping)
    col = _colours(methods)
    styles = {
        "upper_below_kth": ("-", "o", "upper < k-th best"),
        "successive_halving": ("--", "s", "successive halving"),
    }
    for rule, (ls, mk, _) in styles.items():
        for m in methods:
            s = stopping[(stopping["rule"] == rule) & (stopping["method"] == m)].sort_values("savings")
            if s.empty:
                continue
            label = f"{METHOD_LABELS.get(m, m)} (n={int(s['n_networks'].max())}), {styles[rule][2]}"
            axes[0].plot(100 * s["savings"], s["regret"], ls=ls, marker=mk, ms=4, color=col[m], label=label)
            axes[1].plot(100 * s["savings"], 100 * s["recall"], ls=ls, marker=mk, ms=4, color=col[m])
    axes[0].set_xlabel("training epochs saved (%)")
    axes[0].set_ylabel("regret: best final acc missed (points)")
    axes[0].set_title("What stopping early costs")
    axes[1].set_xlabel("training epochs saved (%)")
    axes[1].set_ylabel("true top 10 trained to the end (%)")
    axes[1].set_title("Are the best networks kept?")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Replayed searches (n: networks replayed; PENGUIN may run on a sample)", fontsize=10)
    fig.tight_layout()
    return fig


__all__ = [
    "plot_prediction_intervals",
    "plot_prediction_summary",
    "plot_savings_regret",
    "plot_seed_variance",
]
