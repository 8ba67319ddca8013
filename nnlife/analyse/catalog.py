"""The catalog: many lifespan tables as one DataFrame (one row per lifespan) plus their curves.

``load_catalog(paths)`` reads any number of tables in either layout (folders, single files,
globs, several batches at once) and returns a ``Catalog``:

- ``table``: one row per lifespan: ``id``, ``dataset``, ``status``, ``layout``, ``source`` (the
  table's folder name), ``path``; the structure features of ``nnlife.analyse.structure`` (conv and FC
  layers, parameters, FLOPs, receptive field, final feature-map size, pooling and dropout counts,
  training hyperparameters); the lifecycle features of ``nnlife.analyse.lifecycle`` (final and best
  validation accuracy, overfitting onset, ...); and the shape class of ``nnlife.analyse.shapes``
  (``shape``: diverged, collapsed, no_learning, unstable, overfitting, peaked, still_rising,
  saturating)
  with its evidence (``shape_*`` columns).
- ``curves``: every curve in long form: ``id``, ``dataset``, ``epoch``, ``train_loss``,
  ``train_acc``, ``val_loss``, ``val_acc``, ``elapsed_s`` (accuracies in percent), the input of
  the lifecycle features, the shape classes and the curve fits (``nnlife.analyse``).
- ``broken``: the tables that could not be read, each with its path and the reason. They are left
  out (with one warning), never fatal: a half-written table must not stop an analysis.

``catalog(paths)`` is the same table alone (``DataFrame.attrs["broken"]`` lists the broken ones).

The cache (``nnlife.analyse.cache``): per folder of tables, ``<folder>/.nnlife-catalog/`` holds ``table.parquet``,
``curves.parquet`` and ``manifest.json`` (size and mtime in ns of every table read, the broken
ones with their message, and a key of the code that computed the columns). A later call stats the
tables, reuses every row whose file is unchanged and reads only new or changed tables, so a batch
that grows is cheap to catalog again. A folder that is read-only (its mode has no write bit: the
published samples in ``tests/fixtures``, even for root) gets its cache under
``$NNLIFE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/nnlife`` or ``~/.cache/nnlife``), in
``catalog/<hash of the folder's path>/``; when no cache can be written the catalog still works,
uncached. Derived tables are rebuilt from the raw ones, never the other way (STYLE.md 10).

Speed (see the benchmarks issue: 6000 tables within 5 s on the first build, 0.5 s from the
cache): tables are parsed with ``nnlife.table.parse_record`` (no DataFrame per table); when many
tables are new they are parsed by Dask's multiprocessing scheduler over the machine's cores;
lifecycle features and shape labels are computed for all new curves at once (vectorised).
"""

from __future__ import annotations

import glob
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import columns as C
from ..datasets import canonical_name
from ..errors import ParameterError
from ..table import REPLAY_SUFFIX, TABLE_SUFFIX
from .cache import (
    CACHE_DIRNAME,
    CACHE_ENV,
    CURVE_COLUMNS,
    BrokenTable,
    cache_dir,
    code_key,
    empty_curves,
    load_group,
)

# front columns of the catalog table, before the structure, lifecycle and shape columns
FRONT_COLUMNS = ("id", "dataset", "status", "layout", "source", "path")


@dataclass(frozen=True, eq=False)
class Catalog:
    """Many lifespans: ``table`` (one row per lifespan), ``curves`` (long form), ``broken``.

    ``curves`` is read from the cache on first use when the catalog came from it.
    """

    table: pd.DataFrame
    broken: tuple[BrokenTable, ...] = ()
    _curves: list = field(default_factory=list, repr=False)  # [DataFrame] or [loader]

    @property
    def curves(self) -> pd.DataFrame:
        """Long form: id, dataset, epoch, train_loss, train_acc, val_loss, val_acc, elapsed_s."""
        if not self._curves:
            return empty_curves()
        if callable(self._curves[0]):
            self._curves[0] = self._curves[0]()
        return self._curves[0]

    def broken_frame(self) -> pd.DataFrame:
        """The broken tables as a DataFrame (path, message)."""
        return pd.DataFrame([(b.path, b.message) for b in self.broken], columns=["path", "message"])

    def select(self, datasets=None, ids=None) -> Catalog:
        """The lifespans of ``datasets`` (names matched case-insensitively; None or empty: all)
        and, if given, of ``ids``, with their curves."""
        keep = np.ones(len(self.table), dtype=bool)
        if datasets:
            wanted = {canonical_name(d) for d in datasets}
            keep &= self.table["dataset"].isin(wanted).to_numpy()
        if ids is not None:
            keep &= self.table["id"].isin(list(ids)).to_numpy()
        if keep.all():
            return self
        table = self.table[keep].reset_index(drop=True)
        curves = self.curves
        curves = curves[curves["id"].isin(table["id"])].reset_index(drop=True)
        return Catalog(table=table, broken=self.broken, _curves=[curves])

    def sample(self, n: int, seed=0) -> Catalog:
        """At most ``n`` lifespans drawn without replacement (all when there are fewer), in
        catalog order. seed: int or numpy Generator."""
        if n >= len(self.table):
            return self
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(self.table), n, replace=False))
        return self.select(ids=self.table["id"].iloc[pick])

    def summary(self) -> pd.DataFrame:
        """One row per dataset: networks, diverged ones, and final validation accuracy
        (median and best, percent); a last row "all"."""
        return summarize(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        ds = self.table["dataset"].value_counts().to_dict() if len(self.table) else {}
        return f"Catalog({len(self.table)} lifespans {ds}, {len(self.broken)} broken)"


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset (and "all"): networks, diverged, shape classes present, median and best
    final validation accuracy (percent)."""

    def block(t):
        acc = (
            pd.to_numeric(t["final_val_acc"], errors="coerce")
            if "final_val_acc" in t
            else pd.Series(dtype=float)
        )
        row = {"networks": len(t), "diverged": int((t["status"] == C.STATUS_DIVERGED).sum())}
        if "shape" in t.columns:
            row["never learn"] = int((t["shape"] == "no_learning").sum())
        row["median final val acc (%)"] = float(acc.median()) if len(acc) else np.nan
        row["best final val acc (%)"] = float(acc.max()) if len(acc) else np.nan
        return row

    rows = {ds: block(t) for ds, t in table.groupby("dataset", sort=True)} if len(table) else {}
    rows["all"] = block(table) if len(table) else {"networks": 0, "diverged": 0}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "dataset"
    return out


# --- finding tables -------------------------------------------------------------------------------
def _is_table_name(name: str) -> bool:
    return name.endswith(TABLE_SUFFIX) and not name.endswith(REPLAY_SUFFIX) and not name.startswith(".")


def _walk(folder: str, out: list, skipped: list, ancestors: frozenset = frozenset()) -> None:
    """Append (path, stat) of every table under ``folder``, skipping hidden files and folders.

    What cannot be read as a table is skipped and described in ``skipped``: a folder that is its
    own ancestor (a symlink loop), an entry that cannot be listed or stat'ed, a link to nothing,
    a ``*.txt`` that is not a regular file (a named pipe would block the reader).
    """
    try:
        st = os.stat(folder)
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            skipped.append(f"{folder} (a symlink loop: a folder inside itself)")
            return
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        skipped.append(f"{folder} ({e.strerror or e})")
        return
    inner = ancestors | {key}
    for e in entries:
        if e.name.startswith("."):
            continue
        try:
            if e.is_dir():
                _walk(e.path, out, skipped, inner)
                continue
            if not _is_table_name(e.name):
                continue
            st = e.stat()
        except OSError as err:
            dangling = e.is_symlink() and not os.path.exists(e.path)
            skipped.append(f"{e.path} ({'a link to nothing' if dangling else err.strerror or err})")
            continue
        if not stat.S_ISREG(st.st_mode):
            skipped.append(f"{e.path} (not a regular file)")
            continue
        out.append((e.path, st))


def find_tables(paths) -> list[tuple[Path, os.stat_result]]:
    """Every table that ``paths`` names, with its stat, in order, each once.

    paths: one path or a list of them; each a table file, a folder (every ``*.txt`` under it,
    recursively, except hidden ones and ``*.replay.txt``) or a glob (``data/batches/*/``,
    ``runs/**/*.txt``). Symlink loops, unreadable entries, links to nothing and ``*.txt`` entries
    that are not regular files are skipped, named in one UserWarning. Raises ParameterError when
    a path matches nothing, or when no table is found at all.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ParameterError("no data paths given: pass table files, folders of tables or globs")
    found: list = []
    skipped: list[str] = []
    for p in paths:
        text = os.fspath(p)
        if os.path.isdir(text):
            before = len(found)
            _walk(text, found, skipped)
            if len(found) == before:
                raise ParameterError(
                    f"{text}: the folder holds no tables (*.txt); pass a batch "
                    "folder or the published dataset's table folder"
                )
        elif os.path.isfile(text):
            found.append((text, os.stat(text)))
        elif os.path.lexists(text):
            raise ParameterError(
                f"{text}: neither a table file nor a folder (a link to nothing, a pipe, ...)"
            )
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise ParameterError(f"{text}: the pattern matches no file or folder")
            for m in matches:
                if os.path.isdir(m):
                    _walk(m, found, skipped)
                elif _is_table_name(os.path.basename(m)) and os.path.isfile(m):
                    found.append((m, os.stat(m)))
                elif _is_table_name(os.path.basename(m)):
                    skipped.append(f"{m} (not a regular file)")
        else:
            raise ParameterError(f"{text}: no such file or folder (working directory: {os.getcwd()})")
    if skipped:
        more = f" (and {len(skipped) - 5} more)" if len(skipped) > 5 else ""
        warnings.warn(
            f"nnlife.catalog: skipped {len(skipped)} entries that cannot be read as tables: "
            + "; ".join(skipped[:5])
            + more,
            UserWarning,
            stacklevel=3,
        )
    # each table once, by its real path (a folder given twice, or a file and its folder);
    # realpath per folder, not per file: 6000 realpath calls cost a tenth of a second
    seen, out, real_dirs = set(), [], {}
    for path, st in found:
        folder, name = os.path.split(path)
        real_dir = real_dirs.get(folder)
        if real_dir is None:
            real_dir = real_dirs[folder] = os.path.realpath(folder or ".")
        real = os.path.join(real_dir, name)
        if os.path.islink(path):
            real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append((Path(real), st))
    if not out:
        raise ParameterError(f"no tables (*.txt) found in {[os.fspath(p) for p in paths]}")
    return out


# --- public ---------------------------------------------------------------------------------------
def load_catalog(
    paths,
    cache: bool = True,
    expected_epochs: float | None = None,
    warn: bool = True,
    workers: int | None = None,
) -> Catalog:
    """Read every table that ``paths`` names into a ``Catalog`` (table, curves, broken).

    paths: a table, a folder of tables (searched recursively), a glob, or a list of these; both
        layouts (the published dataset's and nnlife's) may be mixed.
    cache: read and update the Parquet cache (see the module docstring); False reads every table.
    expected_epochs: epochs an original-layout table must cover (e.g. 40 for the published
        dataset); None accepts any complete sequence of records (``nnlife.read_lifespan``).
    warn: issue one UserWarning naming the broken tables (they are in ``Catalog.broken`` anyway).
    workers: processes for parsing many new tables (default: the cores this process may use).
    Returns the catalog, rows in the order of ``paths`` (tables of one folder by file name).
    Raises ParameterError when a path matches nothing or no table is found; a table that cannot
    be read is left out and listed in ``broken``, never raised.
    """
    found = find_tables(paths)
    key = code_key(expected_epochs)
    groups: dict[str, list] = {}
    for path, st in found:
        groups.setdefault(str(path.parent), []).append((path.name, st))
    tables, loaders, broken = [], [], []
    for folder, files in groups.items():
        table, loader, bad = load_group(Path(folder), files, expected_epochs, cache, workers, key)
        if len(table):
            table = table.assign(
                source=Path(folder).name, path=[os.path.join(folder, f) for f in table["_file"]]
            )
        tables.append(table)
        loaders.append(loader)
        broken += [BrokenTable(os.path.join(folder, n), msg) for n, msg in bad]
    table, curve_loader, dup = _assemble(tables, loaders)
    broken += dup
    if warn and broken:
        shown = "; ".join(b.message for b in broken[:5])
        more = f" (and {len(broken) - 5} more)" if len(broken) > 5 else ""
        warnings.warn(
            f"nnlife.catalog: left out {len(broken)} broken table(s): {shown}{more}",
            UserWarning,
            stacklevel=2,
        )
    return Catalog(table=table, broken=tuple(broken), _curves=[curve_loader])


def _assemble(tables, loaders):
    """One table from the folders' tables: front columns first, ids unique (a later duplicate
    is left out and reported), and a loader of the matching curves."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame(columns=list(FRONT_COLUMNS)), empty_curves, []
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0].reset_index(drop=True)
    dup = table["id"].duplicated()
    broken = []
    if dup.any():
        first = dict(zip(table.loc[~dup, "id"], table.loc[~dup, "path"]))
        for _, r in table[dup].iterrows():
            broken.append(
                BrokenTable(
                    r["path"],
                    f"{r['path']}: id {r['id']} is also the id of "
                    f"{first[r['id']]}; left out (the same table given twice?)",
                )
            )
        dropped_paths = set(table.loc[dup, "path"])
        table = table[~dup].reset_index(drop=True)
    else:
        dropped_paths = set()
    front = [c for c in FRONT_COLUMNS if c in table.columns]
    rest = [c for c in table.columns if c not in FRONT_COLUMNS and c != "_file"]
    table = table[front + rest]

    def curves():
        parts = []
        for t, load in zip(tables, loaders):
            c = load()
            if dropped_paths:
                bad_ids = set(t.loc[t["path"].isin(dropped_paths), "id"])
                c = c[~c["id"].isin(bad_ids)]
            parts.append(c)
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        return out[list(CURVE_COLUMNS)]

    return table, curves, broken


def catalog(
    paths,
    cache: bool = True,
    expected_epochs: float | None = None,
    warn: bool = True,
    workers: int | None = None,
) -> pd.DataFrame:
    """One row per lifespan over every table that ``paths`` names (see ``load_catalog``).

    The broken tables are in ``result.attrs["broken"]`` as (path, message) pairs. For the curves
    in long form use ``load_catalog(paths).curves``.
    """
    cat = load_catalog(paths, cache=cache, expected_epochs=expected_epochs, warn=warn, workers=workers)
    table = cat.table
    table.attrs["broken"] = [(b.path, b.message) for b in cat.broken]
    return table


# --- replays beside the tables --------------------------------------------------------------------
def replay_path(table: pd.DataFrame, network_id: str) -> Path | None:
    """Path of the replay table written by ``nnlife reproduce`` next to the network's table
    (``<id>.replay.txt``), or None when there is none."""
    if not network_id or network_id in (".", "..") or Path(network_id).name != network_id:
        return None  # not a plain file name: a replay is looked for beside its table only
    row = table[table["id"] == network_id]
    if row.empty or "path" not in row.columns:
        return None
    p = Path(row["path"].iloc[0]).with_name(f"{network_id}{REPLAY_SUFFIX}")
    return p if p.exists() else None


def replays(table: pd.DataFrame) -> pd.DataFrame:
    """The networks of ``table`` that have a replay table next to theirs: id, path, replay_path."""
    rows = []
    for cid in table["id"] if "path" in table.columns else ():
        found = replay_path(table, cid)
        if found is not None:
            rows.append((cid, str(table.loc[table["id"] == cid, "path"].iloc[0]), str(found)))
    return pd.DataFrame(rows, columns=["id", "path", "replay_path"])


__all__ = [
    "Catalog",
    "BrokenTable",
    "load_catalog",
    "catalog",
    "find_tables",
    "cache_dir",
    "summarize",
    "replay_path",
    "replays",
    "CACHE_DIRNAME",
    "CACHE_ENV",
    "CURVE_COLUMNS",
    "FRONT_COLUMNS",
]
