"""The look shared by every figure: seaborn's theme, one colour per dataset, axis labels, grids.

Every ``plot_*`` function of ``nnlife.report`` draws one idea in one new figure and returns it (a
matplotlib ``Figure``); axes carry labels with units, datasets keep one colour everywhere, and a
figure with nothing to show says so in its title instead of failing. matplotlib, seaborn and
ipywidgets are imported when a function runs, so importing a figure module stays light.

In a notebook, assign the result (``fig = plot_...(...)``): the inline backend shows the figure
once at the end of the cell; a bare call would show it twice (once as the cell's value).
"""

from __future__ import annotations

import math

import pandas as pd

from .. import columns as C
from ..datasets import NAMES
from ..errors import ParameterError

DATASET_ORDER = tuple(sorted(NAMES))  # the order of datasets in every figure
# The features whose distributions the structure report shows (the rest are in the heatmap).
DISTRIBUTION_FEATURES = (
    "n_conv",
    "n_hidden_fc",
    "n_params",
    "flops_per_image",
    "receptive_field",
    "final_size",
    "n_pool",
    "n_conv_dropout",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
)
# Features whose values span orders of magnitude: drawn on a log axis.
LOG_FEATURES = {
    "n_params",
    "flops_per_image",
    "flat_features",
    "learning_rate",
    "weight_decay",
    "momentum",
    "total_filters",
    "total_stride",
    "hidden_fc_units",
    "batch_size",
    "receptive_field",
    "rf_fraction",
}
CURVE_LABELS = {
    C.EPOCH: "epoch",
    C.VAL_ACC: "validation accuracy (%)",
    C.TRAIN_ACC: "training accuracy (%)",
    C.VAL_LOSS: "validation loss (nats)",
    C.TRAIN_LOSS: "training loss (nats)",
    C.ELAPSED_S: "wall-clock time (s)",
}
SHAPE_COLUMN = "shape"  # the catalog's shape label column (nnlife.analyse.shapes)
_THEMED = []


def pyplot():
    """(pyplot, seaborn), with nnlife's theme set once per process."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not _THEMED:
        sns.set_theme(style="whitegrid", context="notebook")
        plt.rcParams.update(
            {"figure.dpi": 90, "savefig.dpi": 90, "axes.titleweight": "bold", "figure.autolayout": False}
        )
        _THEMED.append(True)
    return plt, sns


def palette(datasets) -> dict:
    """One colour per dataset, the same in every figure (seaborn's default cycle)."""
    import seaborn as sns

    known = list(DATASET_ORDER) + sorted(set(datasets) - set(DATASET_ORDER))
    colours = sns.color_palette("deep", len(known))
    return {d: colours[i] for i, d in enumerate(known)}


def datasets_in(frame: pd.DataFrame) -> list:
    """The datasets of ``frame``'s ``dataset`` column, in figure order."""
    present = list(pd.unique(frame["dataset"].astype(str))) if "dataset" in frame.columns else []
    return [d for d in DATASET_ORDER if d in present] + sorted(set(present) - set(DATASET_ORDER))


def empty(fig, ax, message: str):
    """``fig`` with ``message`` in place of the plot (nothing to show); returns the figure."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=12)
    return fig


def need(frame: pd.DataFrame, cols, what: str) -> None:
    """ParameterError naming the columns ``what`` needs that ``frame`` lacks."""
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"{what} needs the column(s) {missing}; pass the catalog "
            "(nnlife.catalog.load_catalog) or a table that has them"
        )


def log_ticks(ax, axis: str = "x") -> None:
    """Label only the decades of a log axis (minor tick labels overlap on narrow panels)."""
    import matplotlib.ticker as mt

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(mt.LogLocator(base=10))
    target.set_major_formatter(mt.LogFormatterSciNotation(base=10))
    target.set_minor_formatter(mt.NullFormatter())


def grid(n: int, ncols: int, width: float = 4.2, height: float = 3.2, **kw):
    """A figure with ``n`` panels in rows of ``ncols``: (figure, list of the n axes)."""
    plt, _ = pyplot()
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_axis_off()
    return fig, flat[:n]


__all__ = [
    "DATASET_ORDER",
    "DISTRIBUTION_FEATURES",
    "LOG_FEATURES",
    "CURVE_LABELS",
    "SHAPE_COLUMN",
    "pyplot",
    "palette",
    "datasets_in",
    "empty",
    "need",
    "log_ticks",
    "grid",
]
