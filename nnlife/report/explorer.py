"""The interactive explorer for JupyterLab (ipywidgets): pick a dataset, a shape class and a
network; see its curves, fitted families, structure and replay."""

from __future__ import annotations

import pandas as pd

from ..analyse.catalog import replay_path
from ..analyse.fitting import fit_curves
from ..analyse.structure import describe_network
from .lifespan import plot_network
from .style import DISTRIBUTION_FEATURES, SHAPE_COLUMN, datasets_in, pyplot


def explorer(
    table: pd.DataFrame,
    curves: pd.DataFrame,
    families=("penguin3", "pow3", "exp4", "mmf4"),
    shape_column: str = SHAPE_COLUMN,
):
    """An ipywidgets explorer for JupyterLab: pick a dataset, a shape class and a network and see
    its curves, the families in ``families`` fitted to its validation accuracy (on demand, the
    best by AICc drawn) and its structure. Returns the widget (display it as the cell's value)."""
    import ipywidgets as w
    from IPython.display import display

    plt, _ = pyplot()
    has_shape = shape_column in table.columns
    datasets = datasets_in(table)
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
        net_box.options = [
            (f"{r['id']}  ({r[key]:.1f} %)" if key != "id" else r["id"], r["id"]) for _, r in sel.iterrows()
        ]
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
            cols = [
                c
                for c in (
                    "dataset",
                    shape_column,
                    "final_val_acc",
                    "best_val_acc",
                    *DISTRIBUTION_FEATURES,
                    "architecture",
                    "path",
                )
                if c in table.columns
            ]
            display(describe_network(table[["id"] + cols], nid).loc[cols])
            if nid in fitted:
                display(fitted[nid][["family", "sse", "aicc", "success"]].sort_values("aicc"))
            replay = replay_path(table, nid)
            if replay is not None:
                print(f"replay table: {replay} (see the replay cell below)")

    ds_box.observe(on_dataset, names="value")
    shape_box.observe(on_shape, names="value")
    net_box.observe(show, names="value")
    on_dataset()  # fills the boxes; choosing the first network draws it
    return w.VBox([w.HBox([ds_box, shape_box]), net_box, out])


__all__ = ["explorer"]
