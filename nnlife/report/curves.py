"""Figures for the analysis notebooks and the interactive explorer (seaborn on matplotlib).

Every ``plot_*`` function draws one idea in one new figure and returns it (a matplotlib
``Figure``); axes carry labels with units, datasets keep one colour everywhere, and a figure
with nothing to show says so in its title instead of failing. matplotlib, seaborn and
ipywidgets are imported when a function runs, so ``import nnlife.plots`` stays light.

In a notebook, assign the result (``fig = plot_...(...)``): the inline backend shows the figure
once at the end of the cell; a bare call would show it twice (once as the cell's value).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import columns as C
from .errors import ParameterError
from .structure import POOLED, correlation_matrix, label

DATASET_ORDER = ("CIFAR100", "FashionMNIST", "SVHN")
# The features whose distributions the structure report shows (the rest are in the heatmap).
DISTRIBUTION_FEATURES = ("n_conv", "n_hidden_fc", "n_params", "flops_per_image", "receptive_field",
                         "final_size", "n_pool", "n_conv_dropout", "batch_size", "learning_rate",
                         "momentum", "weight_decay")
# Features whose values span orders of magnitude: drawn on a log axis.
LOG_FEATURES = {"n_params", "flops_per_image", "flat_features", "learning_rate", "weight_decay",
                "momentum", "total_filters", "total_stride", "hidden_fc_units", "batch_size",
                "receptive_field", "rf_fraction"}
CURVE_LABELS = {
    C.EPOCH: "epoch",
    C.VAL_ACC: "validation accuracy (%)",
    C.TRAIN_ACC: "training accuracy (%)",
    C.VAL_LOSS: "validation loss (nats)",
    C.TRAIN_LOSS: "training loss (nats)",
    C.ELAPSED_S: "wall-clock time (s)",
}
SHAPE_COLUMN = "shape"   # the catalog's shape label column (nnlife.shapes)
_THEMED = []


def _plt():
    """pyplot and seaborn, with nnlife's theme set once per process."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    if not _THEMED:
        sns.set_theme(style="whitegrid", context="notebook")
        plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 90, "axes.titleweight": "bold",
                             "figure.autolayout": False})
        _THEMED.append(True)
    return plt, sns


def palette(datasets) -> dict:
    """One colour per dataset, the same in every figure (seaborn's default cycle)."""
    import seaborn as sns
    known = list(DATASET_ORDER) + sorted(set(datasets) - set(DATASET_ORDER))
    colours = sns.color_palette("deep", len(known))
    return {d: colours[i] for i, d in enumerate(known)}


def _datasets(frame: pd.DataFrame) -> list:
    present = list(pd.unique(frame["dataset"].astype(str))) if "dataset" in frame.columns else []
    return [d for d in DATASET_ORDER if d in present] + sorted(set(present) - set(DATASET_ORDER))


def _empty(fig, ax, message: str):
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=12)
    return fig


def _need(frame: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(f"{what} needs the column(s) {missing}; pass the catalog "
                             "(nnlife.catalog.load_catalog) or a table that has them")


def _log_ticks(ax, axis: str = "x") -> None:
    """Label only the decades of a log axis (minor tick labels overlap on narrow panels)."""
    import matplotlib.ticker as mt
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(mt.LogLocator(base=10))
    target.set_major_formatter(mt.LogFormatterSciNotation(base=10))
    target.set_minor_formatter(mt.NullFormatter())


def _grid(n: int, ncols: int, width: float = 4.2, height: float = 3.2, **kw):
    plt, _ = _plt()
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_axis_off()
    return fig, flat[:n]


# --- the data at a glance -----------------------------------------------------------------------
def plot_curves_by_dataset(curves: pd.DataFrame, metric: str = C.VAL_ACC, max_curves: int = 300,
                           seed: int = 0):
    """How the curves of each dataset run: one panel per dataset, every curve faint (at most
    ``max_curves``, a seeded sample) and the median over networks at each epoch bold.

    curves: long form (id, dataset, epoch, metric). Returns the figure.
    """
    _need(curves, ("id", "dataset", C.EPOCH, metric), "plot_curves_by_dataset")
    plt, sns = _plt()
    datasets = _datasets(curves)
    fig, axes = _grid(max(1, len(datasets)), 3, sharey=False)
    if not datasets:
        return _empty(fig, axes[0], "no curves to show")
    colours = palette(datasets)
    rng = np.random.default_rng(seed)
    for ax, ds in zip(axes, datasets):
        sub = curves[curves["dataset"] == ds]
        ids = pd.unique(sub["id"])
        shown = ids if len(ids) <= max_curves else rng.choice(ids, max_curves, replace=False)
        for cid, grp in sub[sub["id"].isin(shown)].groupby("id", sort=False):
            ax.plot(grp[C.EPOCH], grp[metric], color=colours[ds], alpha=0.15, lw=0.8)
        med = sub.groupby(C.EPOCH)[metric].median()
        ax.plot(med.index, med.to_numpy(), color="black", lw=2, label="median over networks")
        ax.set_title(f"{ds} ({len(ids)} networks)")
        ax.set_xlabel(CURVE_LABELS[C.EPOCH])
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.legend(loc="best", fontsize=9)
    fig.suptitle(f"{CURVE_LABELS.get(metric, metric).split(' (')[0].capitalize()} over training, per dataset")
    fig.tight_layout()
    return fig


def plot_fitness_distribution(table: pd.DataFrame, target: str = "final_val_acc"):
    """Where the networks end up: histogram of ``target`` per dataset, chance level marked."""
    _need(table, ("dataset", target), "plot_fitness_distribution")
    plt, sns = _plt()
    datasets = _datasets(table)
    fig, axes = _grid(max(1, len(datasets)), 3)
    if not datasets:
        return _empty(fig, axes[0], "no networks to show")
    colours = palette(datasets)
    for ax, ds in zip(axes, datasets):
        sub = table[table["dataset"] == ds]
        vals = pd.to_numeric(sub[target], errors="coerce")
        vals = vals[np.isfinite(vals)]
        sns.histplot(vals, ax=ax, color=colours[ds], bins=min(30, max(5, len(vals) // 3)))
        if "chance_acc" in sub.columns and target.endswith("acc"):
            ax.axvline(float(sub["chance_acc"].iloc[0]), color="black", ls="--", lw=1.2,
                       label="chance (100 / classes)")
            ax.legend(loc="best", fontsize=9)
        ax.set_title(f"{ds} ({len(vals)} networks)")
        ax.set_xlabel(label(target))
        ax.set_ylabel("networks")
    fig.suptitle(f"Distribution of {label(target)}")
    fig.tight_layout()
    return fig


def spread_ids(table: pd.DataFrame, n: int = 6, column: str = "final_val_acc") -> list:
    """``n`` ids spread over the range of ``column``: the networks at evenly spaced quantiles
    (best, worst and between), for example figures that show the whole range."""
    vals = pd.to_numeric(table[column], errors="coerce") if column in table.columns else None
    if vals is None or not np.isfinite(vals).any():
        return table["id"].head(n).tolist()
    ranked = table.assign(_v=vals).dropna(subset=["_v"]).sort_values("_v", ascending=False)
    pos = np.unique(np.round(np.linspace(0, len(ranked) - 1, min(n, len(ranked)))).astype(int))
    return ranked["id"].iloc[pos].tolist()


# --- curve families -----------------------------------------------------------------------------
def best_families(fits: pd.DataFrame) -> pd.DataFrame:
    """The family with the lowest AICc among the successful fits of each curve: id, family, aicc."""
    _need(fits, ("id", "family", "aicc", "success"), "best_families")
    ok = fits[fits["success"].astype(bool) & np.isfinite(fits["aicc"].astype(float))]
    if ok.empty:
        return pd.DataFrame(columns=["id", "family", "aicc"])
    idx = ok.groupby("id", sort=False)["aicc"].idxmin()
    return ok.loc[idx, ["id", "family", "aicc"]].reset_index(drop=True)


def plot_family_wins(fits: pd.DataFrame, table: pd.DataFrame):
    """Which curve families describe the curves best: for each family, the curves for which it
    has the lowest AICc among the successful fits, per dataset (horizontal bars)."""
    plt, sns = _plt()
    best = best_families(fits)
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(6, best["family"].nunique() * 2) + 1.5))
    if best.empty:
        return _empty(fig, ax, "no successful fits")
    best = best.merge(table[["id", "dataset"]], on="id", how="left")
    order = best["family"].value_counts().index.tolist()
    datasets = _datasets(best)
    sns.countplot(data=best, y="family", hue="dataset", order=order, hue_order=datasets,
                  palette=palette(datasets), ax=ax)
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
    _need(fits, ("family", "sse", "n_points", "success"), "plot_fit_errors")
    plt, sns = _plt()
    ok = fits[fits["success"].astype(bool)].copy()
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(5, ok["family"].nunique()) + 1.5))
    if ok.empty:
        return _empty(fig, ax, "no successful fits")
    ok["rmse"] = np.sqrt(ok["sse"].astype(float) / ok["n_points"].clip(lower=1).astype(float))
    order = ok.groupby("family")["rmse"].median().sort_values().index.tolist()
    # median and interquartile range per family (a box plot without the whiskers' clutter)
    sns.pointplot(data=ok, y="family", x="rmse", order=order, estimator="median",
                  errorbar=("pi", 50), linestyle="none", marker="o", color="0.25", ax=ax)
    ax.set_xscale("log")
    _log_ticks(ax)
    ax.set_xlabel("fit RMSE (validation accuracy, percentage points; log scale)\n"
                  "dot: median over curves, bar: middle half")
    ax.set_ylabel("curve family")
    ax.set_title("Fit error per family (lower is better)")
    fig.tight_layout()
    return fig


def fitted_values(fit_row: pd.Series, epochs) -> np.ndarray:
    """Values of one fitted family (a row of ``fit_curves``' table) at ``epochs`` (in epochs)."""
    from .curves import X_PER_EPOCH, get_family
    fam = get_family(fit_row["family"])
    params = [float(fit_row[f"p{j}"]) for j in range(fam.n_params)]
    return fam(X_PER_EPOCH * np.asarray(epochs, dtype=float), *params)


def plot_fit_examples(curves: pd.DataFrame, fits: pd.DataFrame, ids, metric: str = C.VAL_ACC,
                      families=None):
    """Example curves with fitted families drawn over them: one panel per id; by default the
    winning family (lowest AICc) and PENGUIN's penguin3 when it was fitted."""
    _need(curves, ("id", C.EPOCH, metric), "plot_fit_examples")
    plt, sns = _plt()
    ids = list(ids)
    fig, axes = _grid(max(1, len(ids)), 3)
    if not ids:
        return _empty(fig, axes[0], "no curves to show")
    best = best_families(fits).set_index("id")["family"]
    for ax, cid in zip(axes, ids):
        c = curves[curves["id"] == cid]
        ax.plot(c[C.EPOCH], c[metric], "o", ms=3, color="0.3", label="measured")
        fams = list(families) if families else [f for f in (best.get(cid), "penguin3") if f]
        grid = np.linspace(float(c[C.EPOCH].min()), float(c[C.EPOCH].max()), 200)
        for fam in dict.fromkeys(fams):
            row = fits[(fits["id"] == cid) & (fits["family"] == fam)]
            if row.empty or not bool(row["success"].iloc[0]):
                continue
            ax.plot(grid, fitted_values(row.iloc[0], grid), lw=2,
                    label=f"{fam}{' (best AICc)' if fam == best.get(cid) else ''}")
        ds = c["dataset"].iloc[0] if "dataset" in c.columns and len(c) else ""
        ax.set_title(f"{cid[:28]} ({ds})", fontsize=10)
        ax.set_xlabel(CURVE_LABELS[C.EPOCH])
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Fitted families on example curves")
    fig.tight_layout()
    return fig


# --- shapes -------------------------------------------------------------------------------------
def plot_shape_counts(table: pd.DataFrame, column: str = SHAPE_COLUMN):
    """How common each shape class is, per dataset (share of the dataset's networks, %)."""
    _need(table, ("dataset", column), "plot_shape_counts")
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if table.empty:
        return _empty(fig, ax, "no networks")
    share = table.groupby("dataset")[column].value_counts(normalize=True) * 100
    share = share.rename("share").reset_index()
    order = table[column].value_counts().index.tolist()
    datasets = _datasets(table)
    sns.barplot(data=share, y=column, x="share", hue="dataset", order=order, hue_order=datasets,
                palette=palette(datasets), ax=ax)
    ax.set_xlabel("share of the dataset's networks (%)")
    ax.set_ylabel("shape class")
    ax.set_title("Shape classes per dataset")
    ax.legend(title="dataset", loc="lower right")
    fig.tight_layout()
    return fig


def plot_shape_examples(curves: pd.DataFrame, table: pd.DataFrame, per_class: int = 4,
                        column: str = SHAPE_COLUMN, metric: str = C.VAL_ACC, seed: int = 0):
    """What each shape class looks like: one panel per class with up to ``per_class`` of its
    curves (a seeded sample), coloured by dataset."""
    _need(table, ("id", "dataset", column), "plot_shape_examples")
    plt, sns = _plt()
    classes = table[column].value_counts().index.tolist()
    fig, axes = _grid(max(1, len(classes)), 3)
    if not classes:
        return _empty(fig, axes[0], "no shape classes")
    colours = palette(_datasets(table))
    rng = np.random.default_rng(seed)
    for ax, cls in zip(axes, classes):
        members = table[table[column] == cls]
        pick = members if len(members) <= per_class else members.iloc[
            np.sort(rng.choice(len(members), per_class, replace=False))]
        seen = set()
        for _, r in pick.iterrows():
            c = curves[curves["id"] == r["id"]]
            ds = r["dataset"]
            ax.plot(c[C.EPOCH], c[metric], color=colours.get(ds, "0.3"), lw=1.3,
                    label=ds if ds not in seen else None)
            seen.add(ds)
        ax.set_title(f"{cls} ({len(members)} networks)", fontsize=11)
        ax.set_xlabel(CURVE_LABELS[C.EPOCH])
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.legend(fontsize=8, loc="best", title="dataset", title_fontsize=8)
    fig.suptitle("Example curves of each shape class")
    fig.tight_layout()
    return fig


# --- early prediction ---------------------------------------------------------------------------
def plot_prediction_benchmark(summary: pd.DataFrame, metric: str = "mae"):
    """How well each method predicts final fitness from the first epochs: ``metric`` (a column of
    the benchmark summary: "mae" in percentage points, or "spearman") against the cutoff epoch,
    one line per method."""
    _need(summary, ("method", "cutoff", metric), "plot_prediction_benchmark")
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    summary = summary[np.isfinite(pd.to_numeric(summary[metric], errors="coerce"))]
    if summary.empty:
        return _empty(fig, ax, f"no {metric} to show (too few networks or epochs before the cut-offs)")
    has_ds = "dataset" in summary.columns and summary["dataset"].nunique() > 1
    sns.lineplot(data=summary, x="cutoff", y=metric, hue="method", style="dataset" if has_ds else None,
                 marker="o", ax=ax)
    cuts = sorted(summary["cutoff"].unique())
    if "n" in summary.columns:   # networks predicted at each cut-off (runs shorter drop out)
        n_at = summary.groupby("cutoff")["n"].max()
        ax.set_xticks(cuts, [f"{c:g}\n(n={int(n_at[c])})" for c in cuts])
    else:
        ax.set_xticks(cuts, [f"{c:g}" for c in cuts])
    ax.set_xlabel("epochs observed before predicting (cut-off; n: networks predicted)")
    ylabels = {"mae": "mean absolute error (points)", "rmse": "RMSE (points)",
               "median_ae": "median absolute error (points)", "bias": "bias, predicted - true (points)",
               "spearman": "Spearman rho, predicted vs. true"}
    titles = {"spearman": "Does early prediction rank the networks right?"}
    ax.set_ylabel(ylabels.get(metric, metric))
    ax.set_title(titles.get(metric, "Early prediction of final validation accuracy"))
    ax.legend(loc="best", fontsize=9, title="method")
    fig.tight_layout()
    return fig


# --- structure against fitness ------------------------------------------------------------------
def plot_feature_distributions(table: pd.DataFrame, features=None, ncols: int = 4):
    """What the networks look like: the distribution of each structure feature per dataset
    (histograms as step lines, log axes for features spanning orders of magnitude); default
    features: DISTRIBUTION_FEATURES."""
    plt, sns = _plt()
    features = [f for f in (features or DISTRIBUTION_FEATURES) if f in table.columns]
    fig, axes = _grid(max(1, len(features)), ncols, width=3.6, height=2.8)
    if not features or table.empty:
        return _empty(fig, axes[0], "no features to show")
    datasets = _datasets(table)
    colours = palette(datasets)
    for i, (ax, f) in enumerate(zip(axes, features)):
        vals = pd.to_numeric(table[f], errors="coerce")
        ok = np.isfinite(vals)
        log = f in LOG_FEATURES and bool((vals[ok] > 0).all()) and vals[ok].nunique() > 1
        data = table[ok].assign(**{f: vals[ok]})
        sns.histplot(data=data, x=f, hue="dataset", hue_order=datasets, palette=colours,
                     element="step", fill=False, stat="count", common_norm=False, log_scale=log,
                     bins=min(20, max(3, int(vals[ok].nunique()))), ax=ax, legend=(i == 0))
        if log:
            _log_ticks(ax)
        ax.set_xlabel(label(f) + (" (log scale)" if log else ""), fontsize=9)
        ax.set_ylabel("networks", fontsize=9)
    fig.suptitle("Structure and training features per dataset")
    fig.tight_layout()
    return fig


def plot_correlation_heatmap(corr: pd.DataFrame, method: str = "spearman",
                             target: str = "final_val_acc"):
    """Which features go with fitness: rank correlation ``r`` of each feature with ``target``,
    per dataset and pooled (and the partial correlation controlling for the dataset when
    present); a star marks Benjamini-Hochberg significance."""
    plt, sns = _plt()
    m = correlation_matrix(corr, method, target)
    sig = corr[(corr["method"] == method) & (corr["target"] == target)].pivot(
        index="feature", columns="scope", values="significant").reindex(index=m.index, columns=m.columns)
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
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=mpl.colors.Normalize(-1, 1),
                   aspect="auto", interpolation="nearest")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}{'*' if stars[i, j] else ''}", ha="center", va="center",
                    fontsize=8, color="white" if abs(v) > 0.6 else "black")
    ax.set_xticks(range(m.shape[1]), [str(c) for c in m.columns], rotation=30, ha="right")
    ax.set_yticks(range(m.shape[0]), [label(f) for f in m.index])
    ax.grid(False)
    fig.colorbar(im, ax=ax, label=f"{method.replace('_', ' ')} r (grey: undefined)")
    ax.set_xlabel("networks included")
    ax.set_ylabel("feature")
    ax.set_title(f"Rank correlation with {label(target)}\n(* significant after "
                 "Benjamini-Hochberg, FDR 5 %)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_feature_vs_fitness(table: pd.DataFrame, feature: str, target: str = "final_val_acc",
                            bins: int = 8):
    """One feature against fitness: every network as a dot, coloured by dataset, with the median
    of ``target`` in quantile bins of the feature as each dataset's trend line."""
    _need(table, ("dataset", feature, target), "plot_feature_vs_fitness")
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = pd.to_numeric(table[feature], errors="coerce")
    y = pd.to_numeric(table[target], errors="coerce")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return _empty(fig, ax, f"no networks with both {feature} and {target}")
    data = table[ok].assign(**{feature: x[ok], target: y[ok]})
    datasets = _datasets(data)
    colours = palette(datasets)
    log = feature in LOG_FEATURES and bool((data[feature] > 0).all()) and data[feature].nunique() > 1
    sns.scatterplot(data=data, x=feature, y=target, hue="dataset", hue_order=datasets,
                    palette=colours, alpha=0.6, s=22, ax=ax)
    for ds in datasets:
        sub = data[data["dataset"] == ds]
        if sub[feature].nunique() < 3:
            continue
        q = pd.qcut(sub[feature].rank(method="first"), min(bins, len(sub) // 3 or 1), labels=False)
        trend = sub.groupby(q).agg(xm=(feature, "median"), ym=(target, "median"))
        ax.plot(trend["xm"], trend["ym"], color=colours[ds], lw=2.2, label=f"{ds}: binned median")
    if log:
        ax.set_xscale("log")
        _log_ticks(ax)
    ax.set_xlabel(label(feature) + (" (log scale)" if log else ""))
    ax.set_ylabel(label(target))
    ax.set_title(f"{label(target).split(' (')[0].capitalize()} against {label(feature).split(' (')[0]}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def strongest_features(corr: pd.DataFrame, target: str = "final_val_acc", n: int = 3,
                       method: str = "spearman") -> list:
    """The ``n`` features with the largest |r| (pooled, or partial when present) with ``target``."""
    sub = corr[(corr["target"] == target) & (corr["scope"] == POOLED)]
    pref = sub[sub["method"] == "partial_spearman"]
    sub = pref if not pref.empty and pref["r"].notna().any() else sub[sub["method"] == method]
    sub = sub[np.isfinite(sub["r"].astype(float))]
    return sub.reindex(sub["r"].abs().sort_values(ascending=False).index)["feature"].head(n).tolist()


# --- one network (the explorer) -----------------------------------------------------------------
def plot_network(curves: pd.DataFrame, network_id: str, fits: pd.DataFrame | None = None):
    """One network's lifespan: accuracy (left) and loss (right) over epochs, training and
    validation, with its best-fitting family drawn over the validation accuracy when ``fits``
    holds it."""
    plt, sns = _plt()
    c = curves[curves["id"] == network_id]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if c.empty:
        return _empty(fig, ax1, f"no curve with id {network_id!r}")
    ax1.plot(c[C.EPOCH], c[C.VAL_ACC], "o-", ms=3, label="validation")
    if C.TRAIN_ACC in c.columns and c[C.TRAIN_ACC].notna().any():
        ax1.plot(c[C.EPOCH], c[C.TRAIN_ACC], "s-", ms=2, label="training")
    if fits is not None and len(fits):
        best = best_families(fits[fits["id"] == network_id])
        if len(best):
            fam = best["family"].iloc[0]
            row = fits[(fits["id"] == network_id) & (fits["family"] == fam)].iloc[0]
            grid = np.linspace(float(c[C.EPOCH].min()), float(c[C.EPOCH].max()), 200)
            ax1.plot(grid, fitted_values(row, grid), lw=2, color="black", alpha=0.7,
                     label=f"fit: {fam} (best AICc)")
    ax1.set_xlabel(CURVE_LABELS[C.EPOCH])
    ax1.set_ylabel("accuracy (%)")
    ax1.set_title("Accuracy")
    ax1.legend(fontsize=9, loc="best")
    ax2.plot(c[C.EPOCH], c[C.VAL_LOSS], "o-", ms=3, label="validation")
    ax2.plot(c[C.EPOCH], c[C.TRAIN_LOSS], "s-", ms=2, label="training")
    ax2.set_xlabel(CURVE_LABELS[C.EPOCH])
    ax2.set_ylabel("cross-entropy loss (nats)")
    ax2.set_title("Loss")
    ax2.legend(fontsize=9, loc="best")
    ds = c["dataset"].iloc[0] if "dataset" in c.columns else ""
    fig.suptitle(f"{network_id} ({ds})")
    fig.tight_layout()
    return fig


def describe_network(table: pd.DataFrame, network_id: str) -> pd.DataFrame:
    """One network's catalog row as a two-column table (what, value), labelled with units."""
    row = table[table["id"] == network_id]
    if row.empty:
        raise ParameterError(f"no network with id {network_id!r} in the catalog")
    r = row.iloc[0]
    return pd.DataFrame({"what": [label(c) for c in row.columns], "value": [r[c] for c in row.columns]},
                        index=list(row.columns))


def replay_path(table: pd.DataFrame, network_id: str):
    """Path of the replay table written by ``nnlife reproduce`` next to the network's table
    (``<id>.replay.txt``), or None when there is none."""
    from pathlib import Path
    row = table[table["id"] == network_id]
    if row.empty or "path" not in row.columns:
        return None
    p = Path(row["path"].iloc[0]).with_name(f"{network_id}.replay.txt")
    return p if p.exists() else None


def replays(table: pd.DataFrame) -> pd.DataFrame:
    """The networks of ``table`` that have a replay table next to theirs: id, path, replay_path."""
    import os
    rows = []
    if "path" in table.columns:
        for cid, path in zip(table["id"], table["path"]):
            rp = os.path.join(os.path.dirname(path), f"{cid}.replay.txt")
            if os.path.exists(rp):
                rows.append((cid, path, rp))
    return pd.DataFrame(rows, columns=["id", "path", "replay_path"])


def explorer(table: pd.DataFrame, curves: pd.DataFrame, families=("penguin3", "pow3", "exp4", "mmf4"),
             shape_column: str = SHAPE_COLUMN):
    """An ipywidgets explorer for JupyterLab: pick a dataset, a shape class and a network and see
    its curves, the families in ``families`` fitted to its validation accuracy (on demand, the
    best by AICc drawn) and its structure. Returns the widget (display it as the cell's value)."""
    import ipywidgets as w
    from IPython.display import display

    from .curves import fit_curves

    plt, _ = _plt()
    has_shape = shape_column in table.columns
    datasets = _datasets(table)
    ds_box = w.Dropdown(options=datasets, description="dataset")
    shape_box = w.Dropdown(options=["(all)"], description="shape")
    net_box = w.Dropdown(options=[], description="network", layout=w.Layout(width="480px"))
    out = w.Output()
    fitted = {}

    def members():
        sel = table[table["dataset"] == ds_box.value]
        if has_shape and shape_box.value not in (None, "(all)"):
            sel = sel[sel[shape_column] == shape_box.value]
        return sel

    def on_dataset(_=None):
        sel = table[table["dataset"] == ds_box.value]
        shapes = sorted(sel[shape_column].astype(str).unique()) if has_shape else []
        shape_box.options = ["(all)"] + shapes
        shape_box.value = "(all)"
        on_shape()

    def on_shape(_=None):
        sel = members()
        key = "final_val_acc" if "final_val_acc" in sel.columns else "id"
        sel = sel.sort_values(key, ascending=False)
        net_box.options = [(f"{r['id']}  ({r[key]:.1f} %)" if key != "id" else r["id"], r["id"])
                           for _, r in sel.iterrows()]
        if len(sel):
            net_box.value = sel["id"].iloc[0]

    def show(_=None):
        out.clear_output(wait=True)
        nid = net_box.value
        if nid is None:
            return
        if families and nid not in fitted:
            fitted[nid] = fit_curves(curves[curves["id"] == nid], families=list(families))
        with out:
            fig = plot_network(curves, nid, fitted.get(nid))
            plt.show(fig)
            cols = [c for c in ("dataset", shape_column, "final_val_acc", "best_val_acc", "n_conv",
                                "n_hidden_fc", "n_params", "flops_per_image", "receptive_field",
                                "final_size", "n_pool", "n_conv_dropout", "batch_size",
                                "learning_rate", "momentum", "weight_decay", "architecture", "path")
                    if c in table.columns]
            display(describe_network(table[["id"] + cols], nid).loc[cols])
            if nid in fitted:
                display(fitted[nid][["family", "sse", "aicc", "success"]].sort_values("aicc"))
            replay = replay_path(table, nid)
            if replay is not None:
                print(f"replay table: {replay} (see the replay cell below)")

    ds_box.observe(on_dataset, names="value")
    shape_box.observe(on_shape, names="value")
    net_box.observe(show, names="value")
    on_dataset()   # fills the boxes; choosing the first network draws it
    return w.VBox([w.HBox([ds_box, shape_box]), net_box, out])


__all__ = ["DATASET_ORDER", "DISTRIBUTION_FEATURES", "LOG_FEATURES", "CURVE_LABELS", "palette",
           "spread_ids", "best_families", "fitted_values",
           "plot_curves_by_dataset", "plot_fitness_distribution", "plot_family_wins",
           "plot_fit_errors", "plot_fit_examples", "plot_shape_counts", "plot_shape_examples",
           "plot_prediction_benchmark", "plot_feature_distributions", "plot_correlation_heatmap",
           "plot_feature_vs_fitness", "strongest_features", "plot_network", "describe_network",
           "replay_path", "replays", "explorer"]
