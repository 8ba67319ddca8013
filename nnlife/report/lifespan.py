"""Figures of single lifespans: one network's curves (the explorer), a batch's curves, and a table
against its replay (``nnlife reproduce``). They read tables; they never train.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import columns as C
from ..analyse.fitting import best_families, fitted_values
from ..errors import ParameterError, TableError
from ..table import Lifespan, read_lifespan
from .style import CURVE_LABELS, empty, pyplot


def plot_network(curves: pd.DataFrame, network_id: str, fits: pd.DataFrame | None = None):
    """One network's lifespan: accuracy (left) and loss (right) over epochs, training and
    validation, with its best-fitting family drawn over the validation accuracy when ``fits``
    holds it."""
    plt, sns = pyplot()
    c = curves[curves["id"] == network_id]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if c.empty:
        return empty(fig, ax1, f"no curve with id {network_id!r}")
    ax1.plot(c[C.EPOCH], c[C.VAL_ACC], "o-", ms=3, label="validation")
    if C.TRAIN_ACC in c.columns and c[C.TRAIN_ACC].notna().any():
        ax1.plot(c[C.EPOCH], c[C.TRAIN_ACC], "s-", ms=2, label="training")
    if fits is not None and len(fits):
        best = best_families(fits[fits["id"] == network_id])
        if len(best):
            fam = best["family"].iloc[0]
            row = fits[(fits["id"] == network_id) & (fits["family"] == fam)].iloc[0]
            grid = np.linspace(float(c[C.EPOCH].min()), float(c[C.EPOCH].max()), 200)
            ax1.plot(
                grid,
                fitted_values(row, grid),
                lw=2,
                color="black",
                alpha=0.7,
                label=f"fit: {fam} (best AICc)",
            )
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


def plot_batch(out_dir, max_curves: int = 200):
    """One figure, two panels: validation accuracy (%) and training loss against epoch for the
    tables in ``out_dir`` (at most ``max_curves``; diverged ones dashed). Returns the Figure."""
    plt, _ = pyplot()
    paths = sorted(Path(out_dir).glob("*.txt"))[:max_curves]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for path in paths:
        try:
            life = read_lifespan(path)
        except TableError:
            continue
        style = "--" if life.diverged else "-"
        c = life.curve
        ax_acc.plot(c["epoch"], c["val_acc"], style, lw=1.2, alpha=0.8, label=life.id)
        ax_loss.plot(c["epoch"], c["train_loss"], style, lw=1.2, alpha=0.8)
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy, nats)", title="training loss")
    if 0 < len(paths) <= 12:
        ax_acc.legend(fontsize=7, loc="best")
    fig.suptitle(f"{Path(out_dir).name}: {len(paths)} lifespans")
    fig.tight_layout()
    return fig


def plot_replay(table, replay=None, metrics=(C.VAL_ACC, C.VAL_LOSS, C.TRAIN_LOSS)):
    """The table's curves (solid) against the replay's (dashed), one panel per metric.

    table: a ``nnlife.generate.reproduce.Comparison`` (then ``replay`` is None), or a table path or
        Lifespan;
    replay: the replay's path or Lifespan. Returns a matplotlib Figure; the title carries the
    verdict when a Comparison is given.
    """
    plt, _ = pyplot()
    verdict = None
    if hasattr(table, "verdict"):  # a Comparison (not imported: this side never loads generation code)
        verdict, replay, table = table.verdict, table.replay, table.table
    if replay is None:
        raise ParameterError("plot_replay needs a Comparison, or a table and its replay")
    table = table if isinstance(table, Lifespan) else read_lifespan(table)
    replay = replay if isinstance(replay, Lifespan) else read_lifespan(replay)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        ax.plot(table.curve[C.EPOCH], table.curve[metric], "-", lw=1.8, label="table")
        ax.plot(replay.curve[C.EPOCH], replay.curve[metric], "--", lw=1.8, label="replay")
        ax.set(xlabel=CURVE_LABELS[C.EPOCH], ylabel=CURVE_LABELS.get(metric, metric))
    axes[0][0].legend(loc="best", fontsize=9)
    fig.suptitle(f"{table.id}: table vs replay" + (f" ({verdict})" if verdict else ""))
    fig.tight_layout()
    return fig


__all__ = ["plot_network", "plot_batch", "plot_replay"]
