"""The common opening of the analysis notebooks: one call that loads the catalog and says what is in it.

An analysis notebook is parameters, ``cat = open_analysis(data, datasets, out)``, then figures.
"""

from __future__ import annotations

from pathlib import Path

from ..analyse.catalog import Catalog, load_catalog


def open_analysis(data, datasets=(), out="reports") -> Catalog:
    """The catalog of the tables that ``data`` names, restricted to ``datasets`` (empty: all).

    Also sets pandas' display options for wide tables, creates ``out`` (the folder the notebook
    writes its tables into) and, in a notebook, shows how many lifespans were read and how many
    tables were broken. Raises as ``load_catalog``.
    """
    import pandas as pd

    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 200)
    cat = load_catalog(data, warn=False).select(datasets)
    Path(out).mkdir(parents=True, exist_ok=True)
    try:
        from IPython.display import Markdown, display
    except ImportError:  # not in IPython: nothing to show
        return cat
    display(
        Markdown(
            f"**{len(cat)} lifespans** from {len(data)} data path(s); "
            f"**{len(cat.broken)}** broken table(s) left out."
        )
    )
    return cat


__all__ = ["open_analysis"]
